"""The SQL sink stores a campaign call's campaign and lead as the store's own ids."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.app.cti.cdr import CallRecord
from callcenter.clock import VirtualClock
from callcenter.store.cdr import MAX_CAMPAIGN_ID, MAX_LEAD_ID, SqlCdrSink, stored_id, wall_clock_for
from callcenter.store.db import make_async_engine
from callcenter.store.tables import CallRow

EPOCH = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def test_only_the_stores_own_ids_are_kept() -> None:
    """The platform opens campaigns with its integer ids as text; anything else (a test
    engine's "c1", a number too big for the column, zero, other scripts' digits) is
    not one of ours and is kept as null."""
    assert stored_id("7", MAX_CAMPAIGN_ID) == 7
    assert stored_id("9000000000", MAX_LEAD_ID) == 9_000_000_000
    for other in (None, "c1", "L0", "", "0", "-3", "٣", "7.0", str(MAX_CAMPAIGN_ID + 1)):
        assert stored_id(other, MAX_CAMPAIGN_ID) is None, other
    assert stored_id(str(MAX_LEAD_ID + 1), MAX_LEAD_ID) is None


async def test_a_campaign_call_is_written_with_its_ids_and_a_strange_id_holds_nothing_up(
    database_url: str,
) -> None:
    """Three calls at once: a campaign's (campaign 7, lead 12), an inbound one, and a
    campaign call from an engine whose ids are not the store's. All three are written in
    one go, the first naming campaign 7 and lead 12, the others nothing."""
    engine = make_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sink = SqlCdrSink(sessions, wall_clock_for(VirtualClock(), at=EPOCH.timestamp()))
    sink.record_call(
        CallRecord("out", "outbound", "ended", "+862000000000", "13900139000", 0.0,
                   ended_at=9.0, campaign_id="7", lead_id="12")
    )  # fmt: skip
    sink.record_call(CallRecord("in", "inbound", "queued", "13800138000", "4008001000", 1.0))
    sink.record_call(
        CallRecord("odd", "outbound", "created", "+862000000000", "13900139001", 2.0,
                   campaign_id="c1", lead_id="99999999999999999999")
    )  # fmt: skip
    await sink.drain()
    async with sessions() as session:
        rows = (await session.scalars(select(CallRow).order_by(CallRow.call_id))).all()
    assert [(r.call_id, r.campaign_id, r.lead_id) for r in rows] == [
        ("in", None, None),
        ("odd", None, None),
        ("out", 7, 12),
    ]
    assert sink.failures == 0
    await engine.dispose()
