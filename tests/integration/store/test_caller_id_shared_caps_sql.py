"""A caller ID's calls from every campaign outlive a restart, on SQLite and PostgreSQL
(issue 6): each campaign writes its own rows, the count of a number a restarted
platform decides with is every campaign's rows of the date summed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app.bus import EventBus
from callcenter.store.db import make_async_engine
from callcenter.store.dialer_records import SqlDialerRecords
from callcenter.store.dialer_tables import CallerIdDayRow
from callcenter.store.tables import CampaignRow
from callcenter.store.uow import UnitOfWork
from cctest import CampaignsFloor

TODAY = dt.date(2026, 5, 4)
START = 1_777_856_400.0  # Monday 4 May 2026, 09:00 in Shanghai
TRUNK_NUMBER = "+861058004001"  # in both campaigns' pools
SECOND = "+861058004002"  # the first campaign's second number


@dataclass
class Store:
    records: SqlDialerRecords
    sessions: async_sessionmaker[AsyncSession]
    first: str  # two campaigns' ids
    second: str


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """The SQL records over a migrated database holding two running campaigns."""
    engine = make_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    bus = EventBus()
    factory: Callable[[], UnitOfWork] = lambda: UnitOfWork(sessions, bus)  # noqa: E731
    now = dt.datetime.now(dt.UTC)
    async with sessions() as session, session.begin():
        rows = [
            CampaignRow(name=name, state="running", created_at=now, updated_at=now)
            for name in ("回访", "新品")
        ]
        session.add_all(rows)
    try:
        yield Store(SqlDialerRecords(factory), sessions, str(rows[0].id), str(rows[1].id))
    finally:
        await engine.dispose()


async def test_a_restarted_platform_counts_every_campaigns_calls_of_a_shared_number(
    store: Store,
) -> None:
    """Two campaigns share the trunk number, 2 calls a day: the second places its two
    on it, the first presents its own second number. The platform stops and starts
    again that day with the first campaign alone: the trunk number's two calls by the
    other campaign still count, so nothing dials; each campaign's rows are its own."""
    records, first, second = store.records, store.first, store.second
    f = await CampaignsFloor.open(records, start=START)
    try:
        assert await (await f.campaign(second, (TRUNK_NUMBER,), 2)).step() == 2
        assert await (await f.campaign(first, (TRUNK_NUMBER, SECOND), 2)).step() == 2
        assert f.presented(first) == {SECOND: 2}
    finally:
        await f.close()  # each dialer writes what it counted

    assert await records.caller_id_day(TODAY) == {TRUNK_NUMBER: 2, SECOND: 2}
    async with store.sessions() as session:
        rows = (await session.scalars(select(CallerIdDayRow))).all()
        stored = sorted((str(r.campaign_id), r.day, r.caller_id, r.calls) for r in rows)
    assert stored == sorted([(first, TODAY, SECOND, 2), (second, TODAY, TRUNK_NUMBER, 2)])

    again = await CampaignsFloor.open(records, start=START + 2 * 3600.0)
    try:
        dialer = await again.campaign(first, (TRUNK_NUMBER, SECOND), 2)
        now = again.base.clock.now()
        assert dialer.caller_ids.today(now) == {TRUNK_NUMBER: 2, SECOND: 2}
        assert dialer.caller_ids.own(now) == {SECOND: 2}
        assert await dialer.step() == 0
        assert dialer.not_dialled["caller-id-cap"] == 6
        status = dialer.status().caller_ids
        assert status["spent"] is True
        assert "(2 of them by other campaigns)" in status["message"]["en"]
    finally:
        await again.close()
