"""The preview desk tells what happens to each offer, withdraws them when the campaign
stops, shows an agent one lead at a time, and survives a step during an accept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.preview import (
    NoPreviewOffer,
    PreviewChange,
    PreviewDesk,
    PreviewEnded,
    PreviewOffered,
)
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = tuple(f"+8613700000{i:03d}" for i in range(4))
PERSON = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=30.0, patience=60.0)


@asynccontextmanager
async def floor(**kwargs: Any) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(DialingMode.PREVIEW, numbers=NUMBERS, **kwargs)
    try:
        yield f
    finally:
        await f.close()


def told(desk: PreviewDesk) -> list[PreviewChange]:
    changes: list[PreviewChange] = []
    desk.listeners.append(changes.append)
    return changes


def summary(changes: list[PreviewChange]) -> list[tuple[str, str, str]]:
    return [
        ("offered", c.offer.lead.lead_id, "")
        if isinstance(c, PreviewOffered)
        else ("ended", c.offer.lead.lead_id, c.reason.value)
        for c in changes
    ]


async def test_each_offer_is_told_when_made_and_when_it_ends_and_why() -> None:
    """L0 is skipped with a reason, L1 accepted: the listener hears both offers and
    both ends, the accepted one with the call placed."""
    async with floor() as f:
        desk = PreviewDesk(f.dialer, skip_delay=60.0)
        changes = told(desk)
        f.book.script(NUMBERS[1], PERSON)
        await f.dialer.step()
        await desk.skip("1001", "customer asked for the evening")
        await f.dialer.step()
        call_id = await desk.accept("1001")
        assert summary(changes) == [
            ("offered", "L0", ""),
            ("ended", "L0", "skipped"),
            ("offered", "L1", ""),
            ("ended", "L1", "accepted"),
        ]
        accepted = changes[-1]
        assert isinstance(accepted, PreviewEnded) and accepted.call_id == call_id
        assert f.leads.lead("L0").attempts_lifetime == 0
        assert f.leads.lead("L1").attempts_lifetime == 1


async def test_without_dial_on_timeout_the_deadline_sends_the_lead_back() -> None:
    async with floor(preview_timeout=10.0) as f:
        desk = PreviewDesk(f.dialer, dial_on_timeout=False, skip_delay=600.0)
        changes = told(desk)
        await f.dialer.start()
        await f.run(10.5)
        assert ("ended", "L0", "skipped-on-timeout") in summary(changes)
        assert f.engine.calls() == []
        await f.run(1.0)
        offer = desk.offer_for("1001")
        assert offer is not None and offer.lead.lead_id == "L1"  # L0 waits its delay


async def test_an_offer_lapses_when_the_agent_pauses() -> None:
    async with floor(preview_timeout=30.0) as f:
        desk = PreviewDesk(f.dialer)
        changes = told(desk)
        await f.dialer.step()
        await f.engine.not_ready("nr-1", "1001", "rest")
        await f.run(6.0)  # the dialer looks its agents up again every few seconds
        await f.dialer.step()
        assert desk.offer_for("1001") is None
        assert summary(changes)[-1] == ("ended", "L0", "lapsed")
        assert f.engine.calls() == []


async def test_stopping_the_campaign_withdraws_its_offers() -> None:
    async with floor(agents=("1001", "1002")) as f:
        desk = PreviewDesk(f.dialer)
        changes = told(desk)
        await f.dialer.step()
        assert len(desk.offers()) == 2
        await desk.withdraw_all()
        assert desk.offers() == []
        assert sorted(summary(changes)[2:]) == [
            ("ended", "L0", "withdrawn"),
            ("ended", "L1", "withdrawn"),
        ]
        with pytest.raises(NoPreviewOffer):
            await desk.accept("1001")


async def test_an_agent_on_preview_elsewhere_is_not_offered_a_second_lead() -> None:
    async with floor(agents=("1001", "1002")) as f:
        desk = PreviewDesk(f.dialer, busy_elsewhere=lambda agent_no: agent_no == "1001")
        await f.dialer.step()
        assert [o.agent_no for o in desk.offers()] == ["1002"]


async def test_a_step_while_the_call_is_being_placed_leaves_the_accepted_offer_alone() -> None:
    """The accept awaits the switch; a dialer step in between finds the agent reserved
    and must neither withdraw the lead under the call nor offer another."""
    async with floor() as f:
        desk = PreviewDesk(f.dialer)
        changes = told(desk)
        f.book.script(NUMBERS[0], PERSON)
        await f.dialer.step()
        accepting = asyncio.ensure_future(desk.accept("1001"))
        await asyncio.sleep(0)
        await f.dialer.step()
        call_id = await accepting
        assert summary(changes) == [("offered", "L0", ""), ("ended", "L0", "accepted")]
        assert f.leads.lead("L0").attempts_lifetime == 1
        await f.run(4.0)
        assert f.engine.call(call_id).agent_no == "1001"
        assert desk.offer_for("1001") is None
