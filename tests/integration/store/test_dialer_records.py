"""The dialer's records in SQL, on SQLite and PostgreSQL: saves add up per campaign and
local day, the load gives back the totals, the recent days and today's caller IDs, and
a dialer on a new engine over the same database (a restart) goes on from them; a number
shared by campaigns counts every campaign's rows of the date after a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app.bus import EventBus
from callcenter.app.cti.outbound import CampaignSetup
from callcenter.app.dialer import CampaignDialer, DialingMode
from callcenter.domain.compliance import DayCounts, LedgerConfig
from callcenter.store.db import make_async_engine
from callcenter.store.dialer_records import SqlDialerRecords
from callcenter.store.dialer_tables import CallerIdDayRow, LedgerDayRow
from callcenter.store.tables import CampaignRow
from callcenter.store.uow import UnitOfWork
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import CampaignsFloor, DialerFloor

TODAY = dt.date(2026, 5, 4)
START = 1_777_856_400.0  # Monday 4 May 2026, 09:00 in Shanghai
NUMBERS = ("+8613700002001", "+8613700002002")
CALLER = "+861058001001"
TRUNK_NUMBER = "+861058004001"  # in both campaigns' pools (the shared-cap test)
SECOND = "+861058004002"  # the first campaign's second number


@dataclass
class Store:
    records: SqlDialerRecords
    sessions: async_sessionmaker[AsyncSession]
    first: int  # two campaigns
    second: int


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """The SQL records over a migrated database holding two campaigns."""
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
        yield Store(SqlDialerRecords(factory), sessions, rows[0].id, rows[1].id)
    finally:
        await engine.dispose()


async def test_saves_add_up_per_day_and_a_load_gives_back_the_windows_days(
    store: Store,
) -> None:
    """Two saves of today and one of forty days ago: the totals hold all three, the
    days only those a window may need; the other campaign's counts stay its own."""
    records, first, second = store.records, store.first, store.second
    old = TODAY - dt.timedelta(days=40)
    await records.save(
        str(first),
        {
            TODAY: DayCounts(live=10, abandoned=1, amd_machine=4),
            old: DayCounts(live=5, abandoned=2),
        },
        {(TODAY, CALLER): 3},
    )
    await records.save(
        str(first),
        {TODAY: DayCounts(live=2, abandoned=1, abandoned_without_message=1)},
        {(TODAY, CALLER): 2, (TODAY - dt.timedelta(days=1), CALLER): 9},
    )
    await records.save(str(second), {TODAY: DayCounts(live=7)}, {(TODAY, CALLER): 1})

    saved = await records.load(str(first), TODAY)
    assert saved.totals == DayCounts(
        live=17, abandoned=4, abandoned_without_message=1, amd_machine=4
    )
    assert saved.days == {
        TODAY: DayCounts(live=12, abandoned=2, abandoned_without_message=1, amd_machine=4)
    }
    assert saved.caller_ids == {CALLER: 5}
    assert (await records.load(str(second), TODAY)).totals == DayCounts(live=7)
    empty = await records.load(str(first), TODAY + dt.timedelta(days=60))
    assert empty.days == {} and empty.caller_ids == {} and empty.totals.live == 17


async def test_savers_of_one_campaign_at_the_same_time_lose_no_count(
    store: Store,
) -> None:
    """An old dialer hearing its last calls end and its successor save together."""
    records, first = store.records, store.first
    await asyncio.gather(
        *(
            records.save(
                str(first), {TODAY: DayCounts(live=1, abandoned=i % 2)}, {(TODAY, CALLER): 1}
            )
            for i in range(8)
        )
    )
    saved = await records.load(str(first), TODAY)
    assert (saved.totals.live, saved.totals.abandoned) == (8, 4)
    assert saved.caller_ids == {CALLER: 8}


async def test_a_dialer_restarted_over_the_same_database_keeps_the_spent_budget(
    store: Store,
) -> None:
    """One agent, two lines, both people answer: one is abandoned. The dialer is
    stopped (the platform goes down), then a new engine and dialer start over the
    same database later that day: every window still holds one live answer and one
    abandoned call, the budget is still spent, and the caller ID's two calls count."""
    records, first = store.records, store.first
    setup = CampaignSetup(str(first), frozenset({"out"}), safe_harbour_prompt="safe-harbour")
    person = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=5.0, talk_time=60.0, patience=60.0)
    settings: dict[str, Any] = {
        "setup": setup,
        "lines_per_agent": 2.0,
        "caller_ids": (CALLER,),
        "caller_id_daily_cap": 100,
        "ledger": LedgerConfig(time_zone="Asia/Shanghai"),
    }

    async def floor(start: float) -> DialerFloor:
        f = await DialerFloor.open(DialingMode.POWER, numbers=NUMBERS, start=start, **settings)
        f.dialer = CampaignDialer(f.engine, f.clock, f.dialer.settings, f.leads, records=records)
        await f.dialer.open()
        return f

    f = await floor(START)
    try:
        for number in NUMBERS:
            f.book.script(number, person)
        assert await f.dialer.step() == 2
        await f.run(12.0)
        before = f.dialer.ledger.report(f.clock.now())
        assert (before.calendar_day.live, before.calendar_day.abandoned) == (1, 1)
    finally:
        await f.close()  # stops the dialer: what it counted is written

    again = await floor(START + 2 * 3600.0)
    try:
        now = again.clock.now()
        after = again.dialer.ledger.report(now)
        assert after == before
        assert again.dialer.budget(now).remaining < 0  # no room: nothing more may be abandoned
        assert again.dialer.caller_ids.today(now) == {CALLER: 2}
    finally:
        await again.close()
    async with store.sessions() as session:
        days = (await session.scalars(select(LedgerDayRow))).all()
        assert [(d.campaign_id, d.day, d.live, d.abandoned) for d in days] == [(first, TODAY, 1, 1)]
        calls = (await session.scalars(select(CallerIdDayRow))).all()
        assert [(c.caller_id, c.calls) for c in calls] == [(CALLER, 2)]


async def test_a_restarted_platform_counts_every_campaigns_calls_of_a_shared_number(
    store: Store,
) -> None:
    """Two campaigns share the trunk number, 2 calls a day: the second places its two
    on it, the first presents its own second number. The platform stops and starts
    again that day with the first campaign alone: the trunk number's two calls by the
    other campaign still count, so nothing dials; each campaign's rows are its own."""
    records, first, second = store.records, str(store.first), str(store.second)
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
