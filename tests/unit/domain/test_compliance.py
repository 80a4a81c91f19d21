"""The compliance ledger: abandoned calls per window, AMD false positives, can_start."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.compliance import (
    MAX_DROP_TIMEOUT,
    MIN_RING_TIME,
    ROLLING_DAYS,
    AbandonBudget,
    AbandonTargetTooHigh,
    AmdResult,
    CallerIdMissing,
    CampaignComplianceSettings,
    ComplianceLedger,
    ComplianceViolation,
    DropTimeoutTooLong,
    LedgerConfig,
    RingTimeTooShort,
    SafeHarbourMessageMissing,
    Window,
    can_start,
)
from callcenter.domain.errors import DomainError


def ts(iso: str) -> float:
    """A POSIX timestamp from an ISO-8601 instant with its offset."""
    return dt.datetime.fromisoformat(iso).timestamp()


def ledger(zone: str = "UTC", **config: object) -> ComplianceLedger:
    return ComplianceLedger("spring-sale", LedgerConfig(time_zone=zone, **config))  # type: ignore[arg-type]


def answer_many(
    book: ComplianceLedger, at: float, *, connected: int, abandoned: int, step: float = 1.0
) -> None:
    for i in range(connected):
        book.record_live_answer(at + i * step, at + i * step + 0.5)
    for i in range(abandoned):
        book.record_live_answer(at + i * step, None, safe_harbour_played=True)


# --- what counts as abandoned ------------------------------------------------------


def test_a_person_connected_within_two_seconds_is_not_abandoned() -> None:
    """The agent joins 1.9 s and exactly 2 s after the answer: both calls are fine."""
    book = ledger()
    assert book.record_live_answer(100.0, 101.9) is False
    assert book.record_live_answer(200.0, 200.0 + MAX_DROP_TIMEOUT) is False
    assert book.totals.live == 2
    assert book.totals.abandoned == 0


def test_a_person_left_waiting_past_two_seconds_is_abandoned() -> None:
    """One waits 2.01 s, one never gets an agent: both are abandoned live calls."""
    book = ledger()
    assert book.record_live_answer(100.0, 102.01, safe_harbour_played=True) is True
    assert book.record_live_answer(200.0, None, safe_harbour_played=True) is True
    assert (book.totals.live, book.totals.abandoned) == (2, 2)
    assert book.totals.abandoned_without_message == 0


def test_an_abandoned_call_without_the_safe_harbour_message_is_counted_apart() -> None:
    """The message did not play: the call is abandoned and flagged for the supervisor."""
    book = ledger()
    book.record_live_answer(100.0, None, safe_harbour_played=False)
    assert book.totals.abandoned == 1
    assert book.totals.abandoned_without_message == 1


# --- the rate and the budget --------------------------------------------------------


def test_three_abandoned_in_a_hundred_live_answers_is_exactly_at_the_limit() -> None:
    """97 connected and 3 abandoned: 3%, no room left; a fourth breaks the rule."""
    book = ledger()
    answer_many(book, ts("2026-05-04T10:00:00+00:00"), connected=97, abandoned=3)
    now = ts("2026-05-04T12:00:00+00:00")
    budget = book.budget(now)
    assert budget.rate == pytest.approx(0.03)
    assert budget.remaining == pytest.approx(0.0)
    assert not budget.exceeded
    assert book.report(now).compliant
    book.record_live_answer(now, None, safe_harbour_played=True)
    assert book.budget(now).exceeded
    assert not book.report(now).compliant


def test_an_empty_ledger_has_a_zero_rate_and_no_room_until_people_answer() -> None:
    """Before the first answer the rate is 0 and the room grows with live answers."""
    budget = ledger().budget(0.0)
    assert budget.rate == 0.0
    assert budget.remaining == 0.0
    assert budget.allowed(100) == pytest.approx(3.0)


def test_the_budget_allows_more_abandons_as_more_people_answer() -> None:
    """200 live answers with 2 abandoned: 4 more allowed now, 7 after 100 more answers."""
    budget = AbandonBudget(live=200, abandoned=2)
    assert budget.remaining == pytest.approx(4.0)
    assert budget.allowed(100) == pytest.approx(7.0)


# --- calendar days in the campaign's time zone --------------------------------------


def test_the_calendar_day_follows_the_campaigns_time_zone() -> None:
    """Shanghai midnight is 16:00 UTC: calls either side of it land on different days."""
    book = ledger("Asia/Shanghai")
    book.record_live_answer(ts("2026-05-04T15:59:00+00:00"), None)
    book.record_live_answer(ts("2026-05-04T16:01:00+00:00"), 0.0 + ts("2026-05-04T16:01:01+00:00"))
    assert book.day_counts(dt.date(2026, 5, 4)).abandoned == 1
    assert book.day_counts(dt.date(2026, 5, 5)).live == 1
    assert book.day_counts(dt.date(2026, 5, 5)).abandoned == 0
    today = book.report(ts("2026-05-04T17:00:00+00:00")).calendar_day
    assert (today.live, today.abandoned, today.window) == (1, 0, Window.CALENDAR_DAY)


def test_a_bad_morning_yesterday_does_not_count_against_today() -> None:
    """UK rule: yesterday's 10% stays in yesterday; today starts clean, the campaign not."""
    book = ledger("Europe/London")
    answer_many(book, ts("2026-06-01T09:00:00+01:00"), connected=90, abandoned=10)
    answer_many(book, ts("2026-06-02T09:00:00+01:00"), connected=50, abandoned=0)
    report = book.report(ts("2026-06-02T18:00:00+01:00"))
    assert report.calendar_day.rate == 0.0
    assert report.campaign.abandoned == 10
    assert report.rolling_30_days.live == 150
    assert report.binding.window in (Window.CAMPAIGN, Window.ROLLING_30_DAYS)
    assert not report.compliant


def test_the_binding_window_is_the_one_with_least_room() -> None:
    """A clean month but a bad day so far: today's window is what limits the dialer."""
    book = ledger("Europe/London")
    answer_many(book, ts("2026-06-01T09:00:00+01:00"), connected=1000, abandoned=0)
    answer_many(book, ts("2026-06-02T09:00:00+01:00"), connected=20, abandoned=2)
    binding = book.budget(ts("2026-06-02T12:00:00+01:00"))
    assert binding.window is Window.CALENDAR_DAY
    assert binding.remaining == pytest.approx(0.03 * 22 - 2)


def test_spring_forward_day_starts_at_local_midnight() -> None:
    """London springs forward on 29 March 2026: 00:30 GMT is already the 29th."""
    book = ledger("Europe/London")
    book.record_live_answer(ts("2026-03-28T23:30:00+00:00"), None)
    book.record_live_answer(ts("2026-03-29T00:30:00+00:00"), None)
    book.record_live_answer(ts("2026-03-29T22:30:00+00:00"), None)  # 23:30 BST
    assert book.day_counts(dt.date(2026, 3, 28)).live == 1
    assert book.day_counts(dt.date(2026, 3, 29)).live == 2


def test_fall_back_day_has_twenty_five_hours_in_one_bucket() -> None:
    """London falls back on 25 October 2026: 23:00 UTC on the 24th is already the 25th."""
    book = ledger("Europe/London")
    book.record_live_answer(ts("2026-10-24T22:59:00+00:00"), None)  # 23:59 BST, the 24th
    book.record_live_answer(ts("2026-10-24T23:00:00+00:00"), None)  # 00:00 BST, the 25th
    book.record_live_answer(ts("2026-10-25T00:30:00+00:00"), None)  # 01:30 BST
    book.record_live_answer(ts("2026-10-25T01:30:00+00:00"), None)  # 01:30 GMT, again
    book.record_live_answer(ts("2026-10-25T23:59:00+00:00"), None)  # 23:59 GMT
    book.record_live_answer(ts("2026-10-26T00:00:00+00:00"), None)  # the 26th
    assert book.day_counts(dt.date(2026, 10, 24)).live == 1
    assert book.day_counts(dt.date(2026, 10, 25)).live == 4
    assert book.day_counts(dt.date(2026, 10, 26)).live == 1


def test_new_york_spring_forward_keeps_the_day_together() -> None:
    """New York skips 02:00-03:00 on 8 March 2026; 01:59 EST and 03:00 EDT share a day."""
    book = ledger("America/New_York")
    book.record_live_answer(ts("2026-03-08T01:59:00-05:00"), None)
    book.record_live_answer(ts("2026-03-08T03:00:00-04:00"), None)
    book.record_live_answer(ts("2026-03-08T23:59:00-04:00"), None)
    book.record_live_answer(ts("2026-03-09T00:00:00-04:00"), None)
    assert book.day_counts(dt.date(2026, 3, 8)).live == 3
    assert book.day_counts(dt.date(2026, 3, 9)).live == 1


# --- the rolling 30 days -------------------------------------------------------------


def test_the_rolling_window_holds_thirty_days_and_then_forgets() -> None:
    """An awful first day weighs for 30 days; on day 31 it leaves the window."""
    book = ledger("America/New_York")
    first = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    answer_many(book, first.timestamp(), connected=0, abandoned=5)

    def calls_on(day: int) -> None:
        at = (first + dt.timedelta(days=day)).timestamp()
        answer_many(book, at, connected=10, abandoned=0)

    for day in range(1, 30):
        calls_on(day)
    day30 = (first + dt.timedelta(days=29)).timestamp()
    assert book.rolling_counts(day30).abandoned == 5
    assert book.rolling_counts(day30).live == 5 + 29 * 10
    calls_on(30)
    day31 = (first + dt.timedelta(days=30)).timestamp()
    assert book.rolling_counts(day31).abandoned == 0
    assert book.rolling_counts(day31).live == 300
    assert book.totals.abandoned == 5
    assert book.report(day31).rolling_30_days.rate == 0.0
    assert book.report(day31).campaign.rate == pytest.approx(5 / 305)


def test_a_long_campaign_keeps_only_thirty_day_buckets() -> None:
    """A year of calls: memory stays at 30 days of counters; the totals stay whole."""
    book = ledger("Asia/Shanghai")
    start = ts("2026-01-01T10:00:00+08:00")
    for day in range(365):
        book.record_live_answer(start + day * 86400.0, None)
    assert book.kept_days == ROLLING_DAYS
    assert book.totals.live == 365
    assert book.rolling_counts(start + 364 * 86400.0).live == ROLLING_DAYS


def test_a_late_report_older_than_the_window_counts_only_for_the_campaign() -> None:
    """A false positive found 40 days later changes the campaign totals only."""
    book = ledger()
    now = ts("2026-07-10T12:00:00+00:00")
    book.record_live_answer(now, None)
    book.record_amd_false_positive(now - 40 * 86400.0, call_id="c-old")
    assert book.totals.amd_false_positives == 1
    assert book.rolling_counts(now).amd_false_positives == 0
    assert book.kept_days == 1


def test_a_rolling_window_is_one_to_thirty_days() -> None:
    """Asking for a 31-day window is a programming error."""
    with pytest.raises(ValueError):
        ledger().rolling_counts(0.0, days=31)


# --- AMD -----------------------------------------------------------------------------


def test_amd_false_positives_count_as_abandoned_live_calls() -> None:
    """Ofcom: a person taken for a machine and hung up on is an abandoned live call."""
    book = ledger()
    answer_many(book, 1000.0, connected=98, abandoned=0)
    for _ in range(30):
        book.record_amd(AmdResult.MACHINE, 1000.0)
    book.record_amd(AmdResult.HUMAN, 1000.0)
    book.record_amd(AmdResult.UNSURE, 1000.0)
    book.record_amd_false_positive(1000.0, call_id="c-42")
    book.record_amd_false_positive(1000.0, call_id="c-43")
    budget = book.budget(2000.0)
    assert (budget.live, budget.abandoned) == (100, 2)
    assert budget.rate == pytest.approx(0.02)
    counts = book.totals
    assert (counts.amd_machine, counts.amd_human, counts.amd_unsure) == (30, 1, 1)


def test_amd_false_positives_can_be_left_out_where_the_rule_does_not_count_them() -> None:
    """A rule that ignores false positives sees only the calls agents missed."""
    book = ledger(count_amd_false_positives=False)
    answer_many(book, 1000.0, connected=10, abandoned=0)
    book.record_amd_false_positive(1000.0)
    assert book.budget(2000.0).abandoned == 0
    assert book.budget(2000.0).live == 10


def test_an_assumed_false_positive_rate_covers_what_was_not_found() -> None:
    """Ofcom wants a reasoned estimate: 2% of 200 machine hits is 4 assumed people."""
    book = ledger(assumed_false_positive_rate=0.02)
    answer_many(book, 1000.0, connected=196, abandoned=0)
    for _ in range(200):
        book.record_amd(AmdResult.MACHINE, 1000.0)
    book.record_amd_false_positive(1000.0)
    budget = book.budget(2000.0)
    assert budget.abandoned == pytest.approx(4.0)
    assert budget.live == pytest.approx(200.0)
    assert budget.rate == pytest.approx(0.02)


# --- properties ----------------------------------------------------------------------


events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=90 * 86400.0),
        st.sampled_from(["connected", "abandoned", "fp"]),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(events=events, zone=st.sampled_from(["UTC", "Europe/London", "Asia/Shanghai"]))
def test_windows_never_count_more_than_the_campaign(
    events: list[tuple[float, str]], zone: str
) -> None:
    """Whatever arrives in whatever order, each window is a part of the whole campaign."""
    book = ledger(zone)
    base = ts("2026-01-01T00:00:00+00:00")
    for offset, kind in events:
        if kind == "connected":
            book.record_live_answer(base + offset, base + offset + 1.0)
        elif kind == "abandoned":
            book.record_live_answer(base + offset, None, safe_harbour_played=True)
        else:
            book.record_amd_false_positive(base + offset)
    now = base + 90 * 86400.0
    report = book.report(now)
    assert book.kept_days <= ROLLING_DAYS
    for window in (report.rolling_30_days, report.calendar_day):
        assert window.live <= report.campaign.live
        assert window.abandoned <= report.campaign.abandoned
    assert report.calendar_day.live <= report.rolling_30_days.live
    assert report.binding.remaining == min(w.remaining for w in report.windows)
    assert report.campaign.live == len(events)


# --- may the campaign start? --------------------------------------------------------


def good_settings(**changes: object) -> CampaignComplianceSettings:
    values: dict[str, object] = {
        "campaign_id": "spring-sale",
        "drop_timeout": 2.0,
        "safe_harbour_prompt": "prompts/safe-harbour-zh.wav",
        "ring_timeout": 20.0,
        "caller_id": "+86 21 5555 0100",
    }
    values.update(changes)
    return CampaignComplianceSettings(**values)  # type: ignore[arg-type]


def test_a_compliant_campaign_may_start() -> None:
    """2 s drop timeout, a message, 20 s of ringing and a caller ID: nothing to refuse."""
    assert can_start(good_settings()) == []
    assert can_start(good_settings(ring_timeout=MIN_RING_TIME)) == []


def test_a_drop_timeout_over_two_seconds_is_refused() -> None:
    """Letting a person wait 3 s for an agent is not allowed."""
    (violation,) = can_start(good_settings(drop_timeout=3.0))
    assert isinstance(violation, DropTimeoutTooLong)
    assert violation.code == "campaign-drop-timeout-too-long"
    assert violation.details["drop_timeout"] == 3.0
    assert "3.0" in violation.message("en")
    assert "3.0 秒" in violation.message("zh-CN")


def test_a_campaign_without_a_safe_harbour_message_is_refused() -> None:
    """No message (or a blank one) for abandoned calls: refused."""
    for prompt in (None, "", "   "):
        (violation,) = can_start(good_settings(safe_harbour_prompt=prompt))
        assert isinstance(violation, SafeHarbourMessageMissing)
        assert "safe-harbour" in violation.message("en")
        assert "提示语音" in violation.message("zh")


def test_a_ring_time_under_fifteen_seconds_is_refused() -> None:
    """Hanging up an unanswered call after 12 s is too early."""
    (violation,) = can_start(good_settings(ring_timeout=12.0))
    assert isinstance(violation, RingTimeTooShort)
    assert violation.details == {"campaign_id": "spring-sale", "ring_timeout": 12.0, "limit": 15.0}


def test_a_campaign_without_a_caller_id_is_refused() -> None:
    """No number, an empty one, or a withheld 'anonymous' one: refused."""
    for caller_id in (None, "", "anonymous"):
        (violation,) = can_start(good_settings(caller_id=caller_id))
        assert isinstance(violation, CallerIdMissing)
        assert violation.message("en") == "Campaign spring-sale presents no caller ID"


def test_an_abandonment_target_over_three_percent_is_refused() -> None:
    """A campaign may aim lower than 3%, never higher."""
    assert can_start(good_settings(abandon_target=0.02)) == []
    (violation,) = can_start(good_settings(abandon_target=0.05))
    assert isinstance(violation, AbandonTargetTooHigh)


def test_every_broken_rule_is_reported_at_once() -> None:
    """A campaign breaking four rules hears about all four, each a DomainError (422)."""
    found = can_start(
        good_settings(drop_timeout=5.0, safe_harbour_prompt=None, ring_timeout=10.0, caller_id=None)
    )
    assert [type(v) for v in found] == [
        DropTimeoutTooLong,
        SafeHarbourMessageMissing,
        RingTimeTooShort,
        CallerIdMissing,
    ]
    codes = {v.code for v in found}
    assert len(codes) == 4
    for violation in found:
        assert isinstance(violation, ComplianceViolation)
        assert isinstance(violation, DomainError)
        assert violation.status == 422
        assert violation.message("zh-CN") != violation.message("en")
