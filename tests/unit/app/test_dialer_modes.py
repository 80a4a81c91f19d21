"""Each dialing mode on SimSwitch with a virtual clock: what gets dialled, and when."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from callcenter.app.cti.outbound import Broadcast, CampaignSetup
from callcenter.app.dialer import DialingMode, PreviewDesk
from callcenter.domain.agent import AgentState
from callcenter.domain.dialing_policy import Outcome as LeadOutcome
from callcenter.domain.pacing import PredictivePacer
from callcenter.switch.sim.customers import CustomerProfile, Fate, Fixed, Outcome
from callcenter.switch.sim.network import LegState
from cctest import DialerFloor


def person(answer_after: float = 5.0, talk: float = 30.0) -> Fate:
    return Fate(Outcome.HUMAN, ring_after=1.0, answer_after=answer_after, talk_time=talk,
                patience=60.0)  # fmt: skip


NUMBERS = tuple(f"+8613900000{i:03d}" for i in range(12))


@asynccontextmanager
async def floor(mode: DialingMode, **kwargs: Any) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(mode, numbers=kwargs.pop("numbers", NUMBERS), **kwargs)
    try:
        yield f
    finally:
        await f.close()


async def test_manual_mode_dials_nothing() -> None:
    """Manual: agents click to dial on the desk; the dialer's step launches no call."""
    async with floor(DialingMode.MANUAL) as f:
        assert await f.dialer.step() == 0
        assert f.engine.calls() == []
        assert f.dialer.status().mode == "manual"


async def test_progressive_dials_one_line_per_ready_agent_and_connects_each() -> None:
    """Two ready agents, two lines; both people answer after 5 s and reach an agent at
    once (no ring on the agents' side); nothing more is dialled while they talk."""
    async with floor(DialingMode.PROGRESSIVE, agents=("1001", "1002")) as f:
        for number in NUMBERS[:2]:
            f.book.script(number, person())
        assert await f.dialer.step() == 2
        assert await f.dialer.step() == 0  # the two calls in flight cover both agents
        await f.run(5.0)
        assert {f.engine.agent(a).state for a in ("1001", "1002")} == {AgentState.TALKING}
        assert f.dialer.connects == 2
        await f.run(30.0)
        assert f.outcomes() == {"L0": "connected", "L1": "connected"}
        assert f.leads.lead("L0").last_outcome is LeadOutcome.ANSWERED
        assert f.leads.lead("L0").attempts_lifetime == 1
        status = f.dialer.status()
        assert status.dials == 2 and status.connects == 2 and status.abandoned == 0
        assert status.abandon_rates["calendar-day"] == 0.0


async def test_power_mode_dials_a_fixed_number_of_lines_per_ready_agent() -> None:
    """Power dialing at 3 lines per agent: one ready agent, three calls at once."""
    async with floor(DialingMode.POWER, lines_per_agent=3.0) as f:
        assert await f.dialer.step() == 3
        status = f.dialer.status()
        assert (status.in_flight, status.ringing, status.level) == (3, 3, 3.0)


async def test_predictive_dials_ahead_of_the_agents_and_learns() -> None:
    """Predictive on a small floor over ten minutes: more lines than ready agents, every
    call accounted for, and the model has seen the dials."""
    numbers = tuple(f"+8613800{i:05d}" for i in range(400))
    async with floor(
        DialingMode.PREDICTIVE, agents=("1001", "1002", "1003", "1004"), numbers=numbers
    ) as f:
        f.book.default = CustomerProfile()
        assert isinstance(f.dialer.pacer, PredictivePacer)
        first = await f.dialer.step()
        assert first > 4
        await f.dialer.start()
        await f.run(600.0)
        await f.dialer.stop()
        assert f.dialer.dials > f.dialer.connects > 0
        assert f.dialer.model.dials >= 40
        assert sum(f.dialer.outcomes.values()) == len(f.ended)


async def test_preview_offers_the_lead_first_then_skip_and_accept() -> None:
    """The agent sees L0, skips it, is offered L1 at the next step, accepts: the agent's
    phone rings first, then the lead's number; the call is connected and reported."""
    async with floor(DialingMode.PREVIEW) as f:
        desk = PreviewDesk(f.dialer)
        f.book.script(NUMBERS[1], person())
        await f.dialer.step()
        offer = desk.offer_for("1001")
        assert offer is not None and offer.lead.lead_id == "L0"
        assert f.engine.calls() == []  # nothing dialled before the agent says so
        await desk.skip("1001")
        await f.dialer.step()
        offer = desk.offer_for("1001")
        assert offer is not None and offer.lead.lead_id == "L1"
        call_id = await desk.accept("1001")
        await f.run(6.0)
        call = f.engine.call(call_id)
        assert call.agent_no == "1001" and call.bridge is not None
        await f.run(30.0)
        assert f.outcomes() == {"L1": "connected"}
        assert desk.skipped == 1
        assert f.leads.lead("L0").attempts_lifetime == 0


async def test_preview_places_the_call_when_the_timer_runs_out() -> None:
    """Nobody clicks: at the deadline the lead is dialled for the agent."""
    async with floor(DialingMode.PREVIEW, preview_timeout=20.0) as f:
        desk = PreviewDesk(f.dialer)
        f.book.script(NUMBERS[0], person())
        await f.dialer.start()
        await f.run(19.5)
        assert f.engine.calls() == []
        await f.run(1.0)
        assert len(f.engine.calls()) == 1
        assert desk.offer_for("1001") is None


BROADCAST = CampaignSetup(
    "c1",
    frozenset({"out"}),
    safe_harbour_prompt="safe-harbour",
    broadcast=Broadcast("promo-message"),
)


@pytest.mark.parametrize(
    ("key", "outcome"),
    [("9", "opted-out"), ("1", "connected"), ("5", "broadcast-heard")],
)
async def test_broadcast_keys_reach_an_agent_or_opt_out(key: str, outcome: str) -> None:
    """IVR broadcast: whoever answers hears the message; 1 reaches an agent, 9 opts out
    (recorded at once, before the call ends), any other key ends the call."""
    async with floor(DialingMode.BROADCAST, setup=BROADCAST, broadcast_lines=1) as f:
        f.book.default = CustomerProfile(keys={key: 1.0}, key_delay=Fixed(1.0))
        f.book.script(NUMBERS[0], person(answer_after=3.0, talk=20.0))
        await f.dialer.step()
        await f.run(4.5)
        if key == "9":
            assert f.leads.lead("L0").opted_out  # at once
            assert f.engine.calls() != []  # the confirmation is still playing
        await f.run(30.0)
        assert f.outcomes()["L0"] == outcome
        assert f.dialer.connects == (1 if key == "1" else 0)
        assert f.dialer.ledger.totals.live == 0  # nobody was waiting for an agent


async def test_broadcast_needs_no_agent() -> None:
    """No agent logged in: the broadcast still dials its lines."""
    async with floor(DialingMode.BROADCAST, setup=BROADCAST, agents=(), broadcast_lines=4) as f:
        assert await f.dialer.step() == 4
        leg = f.switch.active_legs()[0]
        assert f.switch.leg_state(leg) is LegState.DIALLING
