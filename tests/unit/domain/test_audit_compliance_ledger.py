"""Audit of the compliance ledger's edges as a compliance officer would test them: the
local midnight of the campaign's zone, the 30th day, an abandoned call with and without
the safe-harbour message, and the counts a restart reads back on either side of midnight."""

from __future__ import annotations

import datetime as dt

from callcenter.domain.compliance import ComplianceLedger, DayCounts, LedgerConfig


def at(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def ledger(zone: str) -> ComplianceLedger:
    return ComplianceLedger("audit", LedgerConfig(time_zone=zone))


def test_an_abandon_a_second_before_and_one_after_local_midnight_fall_on_two_days() -> None:
    """Shanghai: 23:59:59 and 00:00:01 local are two calendar days (UK window), though
    both are 15:59 UTC; the rolling 30 days and the campaign hold both."""
    book = ledger("Asia/Shanghai")
    book.record_live_answer(at("2026-03-09T23:59:59+08:00"), None, safe_harbour_played=True)
    book.record_live_answer(at("2026-03-10T00:00:01+08:00"), None, safe_harbour_played=True)
    assert book.day_counts(dt.date(2026, 3, 9)).abandoned == 1
    assert book.day_counts(dt.date(2026, 3, 10)).abandoned == 1
    report = book.report(at("2026-03-10T00:00:02+08:00"))
    assert (report.calendar_day.live, report.calendar_day.abandoned) == (1, 1)
    assert (report.rolling_30_days.live, report.rolling_30_days.abandoned) == (2, 2)
    assert (report.campaign.live, report.campaign.abandoned) == (2, 2)
    # the same two instants in UTC are one day
    utc = ledger("UTC")
    utc.record_live_answer(at("2026-03-09T23:59:59+08:00"), None)
    utc.record_live_answer(at("2026-03-10T00:00:01+08:00"), None)
    assert utc.day_counts(dt.date(2026, 3, 9)).abandoned == 2


def test_the_thirtieth_local_day_still_counts_and_the_thirty_first_does_not() -> None:
    """London, across the spring clock change: an abandon at 09:00 on 1 March weighs in
    the rolling window through 30 March (its 30th day) and leaves it at midnight."""
    book = ledger("Europe/London")
    book.record_live_answer(at("2026-03-01T09:00:00+00:00"), None, safe_harbour_played=True)
    book.record_live_answer(at("2026-03-30T23:59:59+01:00"), at("2026-03-31T00:00:00+01:00"))
    assert book.report(at("2026-03-30T23:59:59+01:00")).rolling_30_days.abandoned == 1
    later = book.report(at("2026-03-31T00:00:00+01:00"))
    assert (later.rolling_30_days.live, later.rolling_30_days.abandoned) == (1, 0)
    assert (later.campaign.live, later.campaign.abandoned) == (2, 1)


def test_an_abandoned_call_counts_the_same_with_or_without_its_message() -> None:
    """The message does not excuse the call: both are abandoned; only the one without
    the message is counted apart, and a connect at exactly 2 s is not abandoned."""
    book = ledger("UTC")
    t = at("2026-05-04T09:00:00+00:00")
    assert book.record_live_answer(t, None, safe_harbour_played=True)
    assert book.record_live_answer(t, t + 2.5, safe_harbour_played=False)
    assert not book.record_live_answer(t, t + 2.0)
    totals = book.totals
    assert (totals.live, totals.abandoned, totals.abandoned_without_message) == (3, 2, 1)


def test_counts_saved_on_either_side_of_local_midnight_come_back_on_their_own_days() -> None:
    """What a dialer saved as it counted (23:59:59 and 00:00:01 Shanghai) comes back on
    the same two local days in a new ledger: today's window and the 30 days as before."""
    book = ledger("Asia/Shanghai")
    book.record_live_answer(at("2026-03-09T23:59:59+08:00"), None, safe_harbour_played=True)
    book.record_live_answer(at("2026-03-10T00:00:01+08:00"), at("2026-03-10T00:00:02+08:00"))
    saved = book.take_unsaved()
    assert set(saved) == {dt.date(2026, 3, 9), dt.date(2026, 3, 10)}
    totals = DayCounts()
    for counts in saved.values():
        totals.add(counts)
    again = ledger("Asia/Shanghai")
    again.restore(totals, saved)
    now = at("2026-03-10T08:00:00+08:00")
    assert again.report(now) == book.report(now)
    assert (again.report(now).calendar_day.live, again.report(now).calendar_day.abandoned) == (1, 0)
    assert not again.has_unsaved
