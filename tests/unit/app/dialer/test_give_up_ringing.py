"""Giving up ringing calls (提前放弃振铃) on SimSwitch with a virtual clock: a predictive
campaign that chose it ends a call that has rung the legal 15 s when no agent is expected
for its answer; the call is not abandoned, the lead is retried as not answered, and its
ring time does not teach the model. Without the choice, or with agents free, calls ring
out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.runtime import GIVE_UP_MIN_RING, PREDICTIVE_GIVING_UP
from callcenter.domain.dialing_policy import Outcome as LeadOutcome
from callcenter.domain.pacing import PredictivePacer
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = ("+8613900000001", "+8613900000002", "+8613900000003")
UNANSWERED = Fate(Outcome.NO_ANSWER, ring_after=1.0, answer_after=1.0)


@asynccontextmanager
async def floor(
    *, agents: tuple[str, ...], fate: Fate = UNANSWERED, **kwargs: Any
) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(
        DialingMode.PREDICTIVE, agents=agents, numbers=NUMBERS, ring_timeout=30.0, **kwargs
    )
    try:
        for number in NUMBERS:
            f.book.script(number, fate)
        yield f
    finally:
        await f.close()


async def dial_all_then_run(f: DialerFloor, seconds: float) -> float:
    """Dial the three leads by hand, run the dialer's loop; returns the dial time."""
    dialled_at: float = f.clock.now()
    assert await f.dialer.dial_leads(len(NUMBERS), dialled_at) == len(NUMBERS)
    await f.dialer.start()
    await f.run(seconds)
    return dialled_at


async def test_the_choice_picks_the_giving_up_controller() -> None:
    async with floor(agents=("1001",), give_up_ringing=True) as f:
        assert isinstance(f.dialer.pacer, PredictivePacer)
        assert f.dialer.pacer.config == PREDICTIVE_GIVING_UP
    async with floor(agents=("1001",)) as f:
        assert isinstance(f.dialer.pacer, PredictivePacer)
        assert f.dialer.pacer.config.give_up_after is None


async def test_with_no_agent_to_take_them_calls_are_given_up_after_15_s_of_ringing() -> None:
    """The only agent is paused: nobody could take an answer. The calls ring 15 s (from
    the ringing, 1 s after the dial) and are then given up, not before."""
    async with floor(agents=("1001",), give_up_ringing=True) as f:
        await f.engine.not_ready("pause-1001", "1001", "break")
        dialled_at = await dial_all_then_run(f, GIVE_UP_MIN_RING + 0.5)
        assert f.ended == []  # 15.5 s after the dial: 14.5 s of ringing
        await f.run(2.0)
        assert len(f.ended) == len(NUMBERS)
        for end in f.ended:
            assert end.outcome.value == "no-answer"
            assert end.answered_at is None
            assert end.at - (dialled_at + 1.0) >= GIVE_UP_MIN_RING  # rang at least 15 s
            assert end.at - dialled_at < 30.0  # before the ring time
        assert f.dialer.given_up == len(NUMBERS)
        assert f.dialer.status().abandoned == 0
        assert f.dialer.status().given_up == len(NUMBERS)
        assert f.dialer.model.dials == 0  # censored: they might have been answered later
        for lead_id in ("L0", "L1", "L2"):
            assert f.leads.lead(lead_id).last_outcome is LeadOutcome.NO_ANSWER


async def test_with_agents_free_the_calls_are_kept_and_ring_out() -> None:
    """Three ready agents for three calls: every answer would find an agent, so the calls
    are kept at 16 s and ring the full 30 s."""
    async with floor(agents=("1001", "1002", "1003"), give_up_ringing=True) as f:
        dialled_at = await dial_all_then_run(f, 20.0)
        assert f.ended == []
        assert all(flight.kept for flight in f.dialer._flights.values())
        await f.run(12.0)
        assert len(f.ended) == len(NUMBERS)
        assert all(end.at - dialled_at >= 30.0 for end in f.ended)
        assert f.dialer.given_up == 0


async def test_without_the_choice_calls_ring_out_even_with_no_agent() -> None:
    async with floor(agents=("1001",)) as f:
        await f.engine.not_ready("pause-1001", "1001", "break")
        dialled_at = await dial_all_then_run(f, 25.0)
        assert f.ended == []
        await f.run(7.0)
        assert all(end.at - dialled_at >= 30.0 for end in f.ended)
        assert len(f.ended) == len(NUMBERS) and f.dialer.given_up == 0


async def test_an_answered_call_is_never_given_up() -> None:
    """The engine gives up only a call nobody answered: one answered meanwhile goes on."""
    person = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=60.0, patience=60.0)
    async with floor(agents=("1001",), fate=person, give_up_ringing=True) as f:
        assert await f.dialer.dial_leads(1, f.clock.now()) == 1
        await f.run(3.0)
        (call_id,) = [c.call_id for c in f.engine.calls()]
        assert not await f.engine.give_up_call(call_id)
        await f.run(1.0)
        assert f.ended == [] and f.dialer.connects == 1
