"""Every call record of a campaign's call names its campaign and lead, from the first.

A dialled lead and a lead placed for an agent (preview, callbacks) carry them from the
record that creates the call to the one that ends it; the same agent's manual call
afterwards names none: the engine does not know it belongs to a campaign.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from callcenter.app.cti.cdr import CallRecord, MemoryCdr
from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.preview import PreviewDesk
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = ("+8613700000001", "+8613700000002")
MANUAL = "+8613700000099"
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=5.0)


@asynccontextmanager
async def floor(mode: DialingMode, **kwargs: Any) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(mode, numbers=NUMBERS, wrap_up=1.0, **kwargs)
    try:
        yield f
    finally:
        await f.close()


def records_of(f: DialerFloor, call_id: str) -> list[CallRecord]:
    cdr = f.engine.cdr
    assert isinstance(cdr, MemoryCdr)
    return [r for r in cdr.calls if r.call_id == call_id]


def named(records: list[CallRecord]) -> list[tuple[str, str | None, str | None]]:
    return [(r.state, r.campaign_id, r.lead_id) for r in records]


async def test_a_dialled_leads_records_name_its_campaign_and_lead_from_created_to_ended() -> None:
    """Progressive dialling: the lead answers, an agent talks, the customer hangs up."""
    async with floor(DialingMode.PROGRESSIVE) as f:
        f.book.script(NUMBERS[0], TALK)
        assert await f.dialer.step() == 1
        (call,) = f.engine.calls()
        await f.run(15.0)
        records = records_of(f, call.call_id)
        assert records[0].state == "created" and records[-1].state == "ended"
        assert {(c, lead) for _, c, lead in named(records)} == {("c1", "L0")}
        assert f.outcomes() == {"L0": "connected"}


async def test_a_lead_placed_for_an_agent_is_named_from_its_first_record() -> None:
    """Preview: the agent accepts L0; the call's very first record (the agent's phone
    ringing, before the customer is dialled) already names the campaign and L0, and so
    does every later one. The agent's own manual call afterwards names nothing."""
    async with floor(DialingMode.PREVIEW) as f:
        f.book.script(NUMBERS[0], TALK)
        f.book.script(MANUAL, TALK)
        desk = PreviewDesk(f.dialer, skip_delay=600.0)
        await f.dialer.step()
        call_id = await desk.accept("1001")
        assert named(records_of(f, call_id))[0] == ("created", "c1", "L0")
        assert f.engine.snapshot()["calls"][0]["lead_id"] == "L0"
        await f.run(15.0)
        records = records_of(f, call_id)
        assert records[-1].state == "ended" and records[-1].answered_at is not None
        assert {(c, lead) for _, c, lead in named(records)} == {("c1", "L0")}
        assert f.outcomes() == {"L0": "connected"}

        await desk.withdraw_all()  # the desk would offer L1 next; this call is the agent's
        manual = await f.engine.dial("manual-1", "1001", MANUAL)
        await f.run(15.0)
        mine = records_of(f, manual)
        assert mine[-1].state == "ended"
        assert {(c, lead) for _, c, lead in named(mine)} == {(None, None)}
