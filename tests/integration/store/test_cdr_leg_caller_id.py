"""The SQL sink writes the caller ID each leg presented; the call log finds calls by it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.app import calls
from callcenter.app.bus import EventBus
from callcenter.app.cti.cdr import CallRecord, LegRecord
from callcenter.clock import VirtualClock
from callcenter.store.cdr import SqlCdrSink, wall_clock_for
from callcenter.store.db import make_async_engine
from callcenter.store.tables import LegRow
from callcenter.store.uow import UnitOfWork

EPOCH = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def test_a_number_asked_for_matches_the_forms_it_may_be_stored_in() -> None:
    """A pool's number is stored as typed; asked for in any usual form, all are tried.
    Text that is no number (a withheld "anonymous") is matched as it is."""
    forms = {"01058009999", "+861058009999", "861058009999"}
    for asked in ("010-5800-9999", "+86 10 5800 9999", "01058009999", "861058009999"):
        assert calls.caller_id_forms(asked) >= forms, asked
    assert calls.caller_id_forms(" anonymous ") == {"anonymous"}
    assert calls.caller_id_forms("4008001000") == {"4008001000", "+864008001000", "864008001000"}


async def test_legs_are_written_with_their_caller_id_and_a_later_record_keeps_it(
    database_url: str,
) -> None:
    """A campaign call's customer leg presents a pool number, its agent's leg nothing; the
    customer leg is written ringing, then ended (an upsert that keeps the number). An
    inbound call's legs name nothing. The call log then finds the campaign call by the
    number in its E.164 form and not the inbound call; each leg shows what it presented."""
    engine = make_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sink = SqlCdrSink(sessions, wall_clock_for(VirtualClock(), at=EPOCH.timestamp()))
    sink.record_call(CallRecord("out", "outbound", "ended", "1001", "13900139000", 0.0))
    sink.record_call(CallRecord("in", "inbound", "ended", "13800138000", "4008001000", 1.0))
    customer = LegRecord("out-c1", "out", "customer", "13900139000", 0.5, caller_id="01058009999")
    sink.record_leg(customer)
    sink.record_leg(LegRecord("out-a1", "out", "agent", "agent:1001", 0.0, agent_no="1001"))
    sink.record_leg(LegRecord("in-1", "in", "customer", "13800138000", 1.0))
    await sink.drain()
    sink.record_leg(dataclasses.replace(customer, ended_at=9.0, cause="normal"))
    await sink.drain()
    assert sink.failures == 0

    async with sessions() as session:
        rows = (await session.scalars(select(LegRow).order_by(LegRow.leg_id))).all()
    assert [(r.leg_id, r.caller_id, r.cause) for r in rows] == [
        ("in-1", None, None),
        ("out-a1", None, None),
        ("out-c1", "01058009999", "normal"),
    ]

    async with UnitOfWork(sessions, EventBus()) as uow:
        asked = calls.CallQuery(caller_ids=calls.caller_id_forms("+861058009999"))
        found, total = await calls.search(uow, asked)
        assert total == 1 and [c.call_id for c in found] == ["out"]
        assert {leg.leg_id: leg.caller_id for leg in found[0].legs} == {
            "out-a1": None,
            "out-c1": "01058009999",
        }
        other = calls.CallQuery(caller_ids=calls.caller_id_forms("01058008888"))
        assert await calls.search(uow, other) == ([], 0)
        everything, total = await calls.search(uow, calls.CallQuery())
        assert total == 2 and {c.call_id for c in everything} == {"in", "out"}
    await engine.dispose()
