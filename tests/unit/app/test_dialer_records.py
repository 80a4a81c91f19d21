"""A campaign's dialer keeps its compliance ledger and its caller IDs' daily counts in a
store: written once per step, read back by the dialer that starts after a restart.

The floor is the CTI engine on SimSwitch with a virtual clock (tests/cctest.py); the
store is the in-memory one, so what is tested here is the runtime's side of the port
(the SQL store has its own tests on both databases).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from callcenter.app.dialer import CampaignDialer, DialingMode
from callcenter.app.dialer.records import CallerIdDays, LedgerDays, MemoryRecords, SavedCounts
from callcenter.domain.compliance import DayCounts, LedgerConfig
from callcenter.domain.dialing_policy import Outcome as LeadOutcome
from callcenter.domain.trunk_routing import Trunk, TrunkRouter
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = tuple(f"+8613700001{i:03d}" for i in range(6))
POOL = ("+861058001001", "+861058001002")
START = 1_777_856_400.0  # Monday 4 May 2026, 09:00 in Shanghai
SHANGHAI = LedgerConfig(time_zone="Asia/Shanghai")  # the campaign's calendar days


def person() -> Fate:
    return Fate(Outcome.HUMAN, ring_after=1.0, answer_after=5.0, talk_time=60.0, patience=60.0)


def no_answer() -> Fate:
    return Fate(Outcome.NO_ANSWER, ring_after=1.0)


async def floor_with(records: Any, mode: DialingMode, **settings: Any) -> DialerFloor:
    """A dialer floor whose dialer keeps its records in ``records``."""
    f = await DialerFloor.open(mode, numbers=NUMBERS, **settings)
    old = f.dialer
    f.dialer = CampaignDialer(
        f.engine,
        f.clock,
        old.settings,
        f.leads,
        pacer=old.pacer,
        trunks=old.trunks,
        records=records,
    )
    f.dialer.on_end.append(f.ended.append)
    await f.dialer.open()
    return f


class FailingOnce(MemoryRecords):
    """A store that is down for its first save."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def save(self, campaign_id: str, ledger: LedgerDays, caller_ids: CallerIdDays) -> None:
        if self.down:
            self.down = False
            raise ConnectionError("the database went away")
        await super().save(campaign_id, ledger, caller_ids)


async def test_a_restarted_dialer_keeps_every_window_and_the_budget_spent_before() -> None:
    """One agent, two lines: both people answer, one is abandoned. The dialer writes
    the ledger during its next step; a dialer started later that day on a new engine
    (a restart) reads it back: every window holds the live answer and the abandoned
    call, and the abandonment budget is as spent as before."""
    records = MemoryRecords()
    f = await floor_with(records, DialingMode.POWER, lines_per_agent=2.0)
    try:
        f.book.script(NUMBERS[0], person())
        f.book.script(NUMBERS[1], person())
        assert await f.dialer.step() == 2
        await f.run(12.0)  # answered at 6 s, one dropped at 8 s after its message
        assert f.dialer.abandoned == 1
        await f.dialer.step()  # no lead left to dial; the step writes what was counted
        await f.run(0.1)
        saved = await records.load("c1", dt.date(2026, 5, 4))
        assert saved.totals.live == 1 and saved.totals.abandoned == 1
        before = f.dialer.ledger.report(f.clock.now())
        budget = f.dialer.budget(f.clock.now())
    finally:
        await f.close()

    later = await floor_with(records, DialingMode.POWER, start=START + 3600.0)
    try:
        now = later.clock.now()
        after = later.dialer.ledger.report(now)
        for window, was in zip(after.windows, before.windows, strict=True):
            assert (window.window, window.live, window.abandoned) == (was.window, 1.0, 1.0)
        assert later.dialer.budget(now).remaining == budget.remaining < 0
        status = later.dialer.status()
        assert status.ledger["calendar-day"]["abandoned"] == 1.0
        assert status.abandon_rates["rolling-30-days"] == 1.0
        assert status.abandoned == 0  # this dialer's own count starts again; the ledger does not
    finally:
        await later.close()


async def test_stopping_writes_at_once_and_a_handed_over_ledger_is_not_read_twice() -> None:
    """Stopping writes at once. A successor given the old dialer's ledger (a new
    approved version) keeps it as it is instead of adding the stored counts again."""
    records = MemoryRecords()
    f = await floor_with(records, DialingMode.POWER, lines_per_agent=2.0)
    try:
        f.book.script(NUMBERS[0], person())
        f.book.script(NUMBERS[1], person())
        await f.dialer.step()
        await f.run(12.0)
        await f.dialer.stop()
        assert (await records.load("c1", dt.date(2026, 5, 4))).totals.abandoned == 1
        successor = CampaignDialer(f.engine, f.clock, f.dialer.settings, f.leads, records=records)
        successor.ledger = f.dialer.ledger
        await successor.open()
        assert successor.ledger.totals == DayCounts(
            live=1, abandoned=1, abandoned_without_message=0
        )
        f.dialer = successor
    finally:
        await f.close()


async def test_counts_the_store_refused_are_written_by_a_later_step() -> None:
    records = FailingOnce()
    f = await floor_with(records, DialingMode.POWER, lines_per_agent=2.0)
    try:
        f.book.script(NUMBERS[0], person())
        f.book.script(NUMBERS[1], person())
        await f.dialer.step()
        await f.run(12.0)
        await f.dialer.step()
        await f.run(1.0)
        assert f.dialer.save_failures == 1
        await f.dialer.step()
        await f.run(1.0)
        saved = await records.load("c1", dt.date(2026, 5, 4))
        assert (saved.totals.live, saved.totals.abandoned) == (1, 1)
        assert saved.caller_ids == {"+862000000000": 2}
    finally:
        await f.close()


async def test_calls_take_turns_on_the_pool_and_stop_at_the_daily_cap_with_a_reason() -> None:
    """Six lines wanted, two caller IDs capped at two calls a day: four calls go out,
    two on each number; the other leads wait for the local midnight, and the status
    says why in Chinese and English."""
    records = MemoryRecords()
    f = await floor_with(
        records,
        DialingMode.POWER,
        lines_per_agent=6.0,
        caller_ids=POOL,
        caller_id_daily_cap=2,
        ledger=SHANGHAI,
    )
    try:
        for number in NUMBERS:
            f.book.script(number, no_answer())
        assert await f.dialer.step() == 4
        presented = sorted(call.caller for call in f.engine.calls())
        assert presented == [POOL[0], POOL[0], POOL[1], POOL[1]]
        assert f.dialer.not_dialled["caller-id-cap"] == 2
        status = f.dialer.status()
        assert status.caller_ids["today"] == {POOL[0]: 2, POOL[1]: 2}
        assert status.caller_ids["spent"] is True
        assert status.caller_ids["resumes_at"] == "2026-05-05T00:00:00+08:00"
        assert "主叫号码" in status.caller_ids["message"]["zh"]
        assert "caller ID" in status.caller_ids["message"]["en"]
        await f.run(40.0)  # the four calls ring out unanswered
        assert await f.dialer.step() == 0
        assert f.dialer.not_dialled["caller-id-cap"] > 2
        assert f.leads.fresh == 2  # the two leads never dialled are still there
    finally:
        await f.close()

    restarted = await floor_with(
        records,
        DialingMode.POWER,
        start=START + 600.0,
        lines_per_agent=6.0,
        caller_ids=POOL,
        caller_id_daily_cap=2,
        ledger=SHANGHAI,
    )
    try:
        assert restarted.dialer.caller_ids.today(restarted.clock.now()) == {POOL[0]: 2, POOL[1]: 2}
        assert await restarted.dialer.step() == 0  # the day's calls were made before the restart
        assert restarted.dialer.status().not_dialled["caller-id-cap"] == 6
    finally:
        await restarted.close()


async def test_a_call_failing_over_once_the_numbers_are_spent_ends_its_attempt() -> None:
    """One number with a cap of one call: the call is refused with 503 and would fail
    over to the backup trunk, but it would be a second call on the number today, so
    the attempt fails and the cap is the reason."""
    trunks = TrunkRouter([Trunk("cheap", 0.01), Trunk("backup", 0.03)])
    f = await floor_with(
        MemoryRecords(),
        DialingMode.PROGRESSIVE,
        trunks=trunks,
        caller_ids=POOL[:1],
        caller_id_daily_cap=1,
    )
    try:
        f.book.script(NUMBERS[0], Fate(Outcome.CONGESTION, fail_after=0.5))
        assert await f.dialer.step() == 1
        await f.run(1.0)
        assert await f.dialer.step() == 0
        await f.run(0.5)
        assert f.leads.lead("L0").last_outcome is LeadOutcome.FAILED
        assert f.dialer.not_dialled["caller-id-cap"] >= 1
        assert trunks.in_use("cheap") == trunks.in_use("backup") == 0
    finally:
        await f.close()


async def test_without_a_store_the_dialer_counts_in_memory_only() -> None:
    """The benchmark's dialer has no store: nothing waits to be written, step after step."""
    f = await DialerFloor.open(DialingMode.POWER, numbers=NUMBERS, lines_per_agent=2.0)
    try:
        f.book.script(NUMBERS[0], person())
        f.book.script(NUMBERS[1], person())
        await f.dialer.step()
        await f.run(70.0)  # one talked for a minute and hung up, one was dropped
        await f.dialer.step()
        assert f.dialer.records is None
        assert not f.dialer.ledger.has_unsaved and not f.dialer.caller_ids.has_unsaved
        assert (f.dialer.ledger.totals.live, f.dialer.ledger.totals.abandoned) == (2, 1)
    finally:
        await f.close()


def test_the_memory_store_adds_saves_and_reads_a_campaign_back() -> None:
    """Two savers of one campaign add up; another campaign's rows stay apart."""
    import asyncio

    async def story() -> SavedCounts:
        records = MemoryRecords()
        day = dt.date(2026, 5, 4)
        await records.save("7", {day: DayCounts(live=3, abandoned=1)}, {(day, POOL[0]): 3})
        await records.save("7", {day: DayCounts(live=2)}, {(day, POOL[0]): 1})
        await records.save("8", {day: DayCounts(live=9)}, {})
        return await records.load("7", day)

    saved = asyncio.run(story())
    assert saved.totals == DayCounts(live=5, abandoned=1)
    assert saved.days == {dt.date(2026, 5, 4): DayCounts(live=5, abandoned=1)}
    assert saved.caller_ids == {POOL[0]: 4}


class Unreadable(MemoryRecords):
    """A store that cannot be read."""

    async def load(self, campaign_id: str, today: dt.date) -> SavedCounts:
        raise ConnectionError("the database went away")


async def test_a_dialer_that_cannot_read_its_ledger_does_not_dial() -> None:
    """Dialling with an empty ledger could abandon the day's budget a second time: the
    dialer refuses to open, and stays unopened for the next try."""
    f = await DialerFloor.open(DialingMode.POWER, numbers=NUMBERS, lines_per_agent=2.0)
    try:
        dialer = CampaignDialer(f.engine, f.clock, f.dialer.settings, f.leads, records=Unreadable())
        with pytest.raises(ConnectionError):
            await dialer.step()
        assert dialer.dials == 0 and not dialer.ledger.restored
    finally:
        await f.close()
