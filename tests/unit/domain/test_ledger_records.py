"""The ledger and the caller-ID pool survive a restart: what they count is kept apart per
local day for the store, and a new ledger given the stored days reports the same windows."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.compliance import (
    AmdResult,
    ComplianceLedger,
    DayCounts,
    LedgerConfig,
    Window,
)
from callcenter.domain.dialing_policy import (
    CallerIdCapReached,
    CallerIdPool,
    CallerIdUsage,
    Reason,
    choose_caller_id,
)

SHANGHAI = "Asia/Shanghai"
# Monday 4 May 2026, 09:00 in Shanghai (01:00 UTC)
MONDAY_9AM = dt.datetime(2026, 5, 4, 1, 0, tzinfo=dt.UTC).timestamp()
HOUR = 3600.0
DAY = 86_400.0


def ledger() -> ComplianceLedger:
    return ComplianceLedger("spring-sale", LedgerConfig(time_zone=SHANGHAI))


class Store:
    """What a store does with the ledger's unsaved counts: add them per day."""

    def __init__(self) -> None:
        self.days: dict[dt.date, DayCounts] = {}

    def save(self, book: ComplianceLedger) -> None:
        for day, counts in book.take_unsaved().items():
            self.days.setdefault(day, DayCounts()).add(counts)

    def restore_into(self, book: ComplianceLedger, today: dt.date) -> None:
        totals = DayCounts()
        for counts in self.days.values():
            totals.add(counts)
        recent = {d: c for d, c in self.days.items() if (today - d).days < 30 and d <= today}
        book.restore(totals, recent)


# --- the ledger --------------------------------------------------------------------


def test_what_the_ledger_records_waits_per_local_day_until_the_store_takes_it() -> None:
    """Two answers either side of Shanghai midnight and an AMD verdict: two days of
    increments, handed over once, then nothing is left to save."""
    book = ledger()
    late = MONDAY_9AM + 14.5 * HOUR  # 23:30 Monday in Shanghai
    book.record_live_answer(late, None, safe_harbour_played=True)
    book.record_live_answer(late + HOUR, late + HOUR + 1.0)  # 00:30 Tuesday
    book.record_amd(AmdResult.MACHINE, late + HOUR)
    assert book.has_unsaved
    unsaved = book.take_unsaved()
    assert unsaved == {
        dt.date(2026, 5, 4): DayCounts(live=1, abandoned=1),
        dt.date(2026, 5, 5): DayCounts(live=1, amd_machine=1),
    }
    assert not book.has_unsaved and book.take_unsaved() == {}


def test_counts_whose_saving_failed_are_saved_with_the_next_ones() -> None:
    """The store was down: the taken counts go back and join what came since."""
    book = ledger()
    book.record_live_answer(MONDAY_9AM, None)
    failed = book.take_unsaved()
    book.record_live_answer(MONDAY_9AM + 60, MONDAY_9AM + 61)
    book.keep_unsaved(failed)
    expected = DayCounts(live=2, abandoned=1, abandoned_without_message=1)
    assert book.take_unsaved() == {dt.date(2026, 5, 4): expected}
    assert book.totals == expected  # counted once, whatever the store


def test_a_restored_ledger_holds_every_window_and_the_spent_budget() -> None:
    """A campaign abandoned 3 of 100 this morning and 1 of 50 a week ago. After a
    restart the new ledger reports the same three windows, the budget is as spent as
    before, and the restored counts are not saved a second time."""
    book, store = ledger(), Store()
    week_ago = MONDAY_9AM - 7 * DAY
    for i in range(50):
        book.record_live_answer(week_ago + i, None if i < 1 else week_ago + i + 1)
    for i in range(100):
        book.record_live_answer(MONDAY_9AM + i, None if i < 3 else MONDAY_9AM + i + 1)
    store.save(book)
    now = MONDAY_9AM + 2 * HOUR

    again = ledger()
    store.restore_into(again, again.local_date(now))
    assert again.restored and not again.has_unsaved
    assert again.report(now) == book.report(now)
    day = again.report(now).calendar_day
    assert (day.live, day.abandoned, day.window) == (100, 3, Window.CALENDAR_DAY)
    assert again.budget(now).remaining == book.budget(now).remaining == 0.0


def test_a_day_too_old_for_any_window_still_counts_for_the_whole_campaign() -> None:
    """Forty days ago: in the campaign's totals, in neither the 30 days nor today."""
    store = Store()
    store.days[dt.date(2026, 3, 25)] = DayCounts(live=10, abandoned=4)
    store.days[dt.date(2026, 5, 4)] = DayCounts(live=10)
    book = ledger()
    store.restore_into(book, dt.date(2026, 5, 4))
    report = book.report(MONDAY_9AM)
    assert (report.campaign.live, report.campaign.abandoned) == (20, 4)
    assert (report.rolling_30_days.live, report.rolling_30_days.abandoned) == (10, 0)
    assert report.calendar_day.live == 10


EVENT = st.tuples(
    st.floats(min_value=0, max_value=45 * DAY),  # when, over six weeks
    st.sampled_from(["connected", "abandoned", "machine", "false-positive"]),
)


@settings(max_examples=60, deadline=None)
@given(events=st.lists(EVENT, max_size=60), cut=st.integers(min_value=0, max_value=60))
def test_saving_and_restoring_anywhere_changes_no_window(
    events: list[tuple[float, str]], cut: int
) -> None:
    """Whatever happened, and wherever the restart falls, the restored ledger that goes
    on recording reports what one ledger that never stopped would."""
    events = sorted(events)
    whole, before, store = ledger(), ledger(), Store()

    def record(book: ComplianceLedger, at: float, kind: str) -> None:
        at += MONDAY_9AM
        if kind == "connected":
            book.record_live_answer(at, at + 1.0)
        elif kind == "abandoned":
            book.record_live_answer(at, None, safe_harbour_played=True)
        elif kind == "machine":
            book.record_amd(AmdResult.MACHINE, at)
        else:
            book.record_amd_false_positive(at)

    for at, kind in events:
        record(whole, at, kind)
    done = events[:cut]
    for at, kind in done:
        record(before, at, kind)
    store.save(before)
    restart = MONDAY_9AM + (done[-1][0] if done else 0.0)
    after = ledger()
    store.restore_into(after, after.local_date(restart))
    for at, kind in events[cut:]:
        record(after, at, kind)
    now = MONDAY_9AM + 46 * DAY if not events else MONDAY_9AM + events[-1][0]
    assert after.report(now) == whole.report(now)


# --- the caller-ID pool --------------------------------------------------------------


POOL = CallerIdPool(("+861058001001", "+861058001002", "+861058001003"), daily_cap=2)


def test_calls_spread_evenly_over_the_pool_and_ties_go_to_the_first_listed() -> None:
    """Six calls with three numbers capped at two: each number presents two, in turn."""
    usage = CallerIdUsage(SHANGHAI)
    presented = []
    for i in range(6):
        decision = choose_caller_id(POOL, usage, MONDAY_9AM + i)
        assert decision.allowed and decision.caller_id is not None
        presented.append(decision.caller_id)
        usage.count(decision.caller_id, MONDAY_9AM + i)
    assert presented == list(POOL.numbers) * 2
    assert usage.today(MONDAY_9AM) == dict.fromkeys(POOL.numbers, 2)
    assert POOL.room(usage.today(MONDAY_9AM)) == 0


def test_when_every_number_is_at_its_cap_nothing_dials_until_local_midnight() -> None:
    """The policy says caller-id-cap and when the day turns in Shanghai (16:00 UTC);
    the next day every number starts from zero."""
    usage = CallerIdUsage(SHANGHAI)
    for number in POOL.numbers:
        usage.count(number, MONDAY_9AM)
        usage.count(number, MONDAY_9AM)
    decision = choose_caller_id(POOL, usage, MONDAY_9AM + HOUR)
    midnight = dt.datetime(2026, 5, 4, 16, 0, tzinfo=dt.UTC).timestamp()
    assert not decision.allowed and decision.reason is Reason.CALLER_ID_CAP
    assert decision.retry_at == midnight
    tuesday = choose_caller_id(POOL, usage, midnight)
    assert tuesday.allowed and tuesday.caller_id == POOL.numbers[0]
    assert usage.today(midnight) == {}


def test_the_cap_reason_speaks_chinese_and_english() -> None:
    why = CallerIdCapReached(cap=200, resumes="2026-05-05T00:00:00+08:00")
    assert why.code == "caller-id-cap"
    assert "200" in why.message("zh") and "主叫号码" in why.message("zh")
    assert "200" in why.message("en") and "caller ID" in why.message("en")


def test_a_pool_without_a_cap_never_runs_out_and_an_empty_pool_names_no_number() -> None:
    usage = CallerIdUsage(SHANGHAI)
    uncapped = CallerIdPool(("+861058001001",))
    for _ in range(1000):
        usage.count("+861058001001", MONDAY_9AM)
    decision = choose_caller_id(uncapped, usage, MONDAY_9AM)
    assert decision.allowed and decision.caller_id == "+861058001001"
    assert uncapped.room(usage.today(MONDAY_9AM)) is None
    empty = choose_caller_id(CallerIdPool(), usage, MONDAY_9AM)
    assert empty.allowed and empty.caller_id is None


def test_the_day_s_counts_come_back_after_a_restart_and_unsaved_ones_are_kept_apart() -> None:
    """Before the restart two calls went out on one number; the store gives them back,
    so the pool goes on with the other numbers; a failed save keeps its counts."""
    usage = CallerIdUsage(SHANGHAI)
    usage.count(POOL.numbers[0], MONDAY_9AM)
    usage.count(POOL.numbers[0], MONDAY_9AM + 1)
    saved = usage.take_unsaved()
    assert saved == {(dt.date(2026, 5, 4), POOL.numbers[0]): 2}

    again = CallerIdUsage(SHANGHAI)
    again.restore(dt.date(2026, 5, 4), {POOL.numbers[0]: 2})
    assert not again.has_unsaved
    assert choose_caller_id(POOL, again, MONDAY_9AM + 2).caller_id == POOL.numbers[1]
    again.count(POOL.numbers[1], MONDAY_9AM + 2)
    failed = again.take_unsaved()
    again.keep_unsaved(failed)
    assert again.take_unsaved() == {(dt.date(2026, 5, 4), POOL.numbers[1]): 1}
    stale = CallerIdUsage(SHANGHAI)
    stale.restore(dt.date(2026, 5, 3), {POOL.numbers[0]: 2})  # yesterday's: not today's
    assert stale.today(MONDAY_9AM) == {}
