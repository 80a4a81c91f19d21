"""The pre-dial policy: every reason a lead may not be dialled, and when it may be."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.dialing_policy import (
    DAY,
    CallingWindow,
    CampaignRules,
    Decision,
    Lead,
    Outcome,
    Reason,
    RetryRule,
    in_window,
    may_dial,
    next_opening,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS = frozenset(range(5))


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """A POSIX timestamp for a wall-clock time in ``zone``."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()


def lead(**changes: object) -> Lead:
    base = Lead("L-1", "+8613800138000", "Asia/Shanghai")
    return replace(base, **changes)  # type: ignore[arg-type]


def office_hours(**changes: object) -> CampaignRules:
    """Weekdays 09:00-12:00 and 14:00-20:00, lead's local time."""
    windows = (
        CallingWindow(dt.time(9), dt.time(12), WEEKDAYS),
        CallingWindow(dt.time(14), dt.time(20), WEEKDAYS),
    )
    return replace(CampaignRules(windows=windows), **changes)  # type: ignore[arg-type]


# Wednesday 6 May 2026, 10:00 in Shanghai: inside the morning window.
WED_10 = at(SHANGHAI, 2026, 5, 6, 10)


def test_a_fresh_lead_in_a_window_may_be_dialled() -> None:
    """Nothing against it, Wednesday 10:00 local: allowed."""
    assert may_dial(lead(), office_hours(), WED_10) == Decision(True, Reason.ALLOWED)


# --- refusals without a retry time ----------------------------------------------------


def test_a_stopped_campaign_dials_nobody() -> None:
    """A paused or stopped campaign refuses every lead, with no retry time."""
    decision = may_dial(lead(), office_hours(running=False), WED_10)
    assert decision == Decision(False, Reason.CAMPAIGN_NOT_RUNNING)


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ("locked", Reason.LOCKED),
        ("do_not_call", Reason.DO_NOT_CALL),
        ("blacklisted", Reason.BLACKLISTED),
        ("opted_out", Reason.OPTED_OUT),
    ],
)
def test_flagged_leads_are_never_dialled(flag: str, reason: Reason) -> None:
    """Locked, on a do-not-call list, blacklisted or opted out: refused, no retry time."""
    decision = may_dial(lead(**{flag: True}), office_hours(), WED_10)
    assert decision == Decision(False, reason, None)
    assert decision.reason.value == reason.value


def test_a_lead_in_an_unknown_time_zone_is_not_dialled() -> None:
    """Its local hours cannot be known, so neither can the calling window."""
    decision = may_dial(lead(time_zone="Mars/Olympus_Mons"), office_hours(), WED_10)
    assert decision.reason is Reason.UNKNOWN_TIME_ZONE


@pytest.mark.parametrize("outcome", [Outcome.SALE, Outcome.INVALID_NUMBER])
def test_a_final_outcome_ends_the_leads_dialling(outcome: Outcome) -> None:
    """A sale or an invalid number: never again."""
    decision = may_dial(
        lead(last_outcome=outcome, last_attempt_at=WED_10 - DAY), office_hours(), WED_10
    )
    assert decision == Decision(False, Reason.FINAL_OUTCOME)


def test_lifetime_attempts_are_capped_by_campaign_and_by_outcome() -> None:
    """Ten attempts in all is the campaign's cap; after a machine, four is this rule's."""
    rules = office_hours(retry={Outcome.MACHINE: RetryRule(delay=60.0, max_lifetime=4)})
    worn = lead(attempts_lifetime=10, last_attempt_at=WED_10 - DAY)
    assert may_dial(worn, rules, WED_10).reason is Reason.MAX_ATTEMPTS_LIFETIME
    machine = lead(attempts_lifetime=4, last_attempt_at=WED_10 - DAY, last_outcome=Outcome.MACHINE)
    assert may_dial(machine, rules, WED_10).reason is Reason.MAX_ATTEMPTS_LIFETIME
    assert may_dial(replace(machine, attempts_lifetime=3), rules, WED_10).allowed


def test_after_the_campaigns_last_day_nobody_is_dialled() -> None:
    """The campaign ended on Tuesday; on Wednesday nobody is dialled, ever."""
    rules = office_hours(last_day=dt.date(2026, 5, 5))
    assert may_dial(lead(), rules, WED_10) == Decision(False, Reason.OUTSIDE_DATE_RANGE)


# --- refusals with a retry time ---------------------------------------------------------


def test_before_the_campaigns_first_day_the_lead_waits_for_its_first_window() -> None:
    """The campaign starts Friday: the lead may be dialled Friday at 09:00."""
    rules = office_hours(first_day=dt.date(2026, 5, 8))
    decision = may_dial(lead(), rules, WED_10)
    assert decision == Decision(False, Reason.OUTSIDE_DATE_RANGE, at(SHANGHAI, 2026, 5, 8, 9))


def test_an_abandoned_lead_cools_off_for_72_hours() -> None:
    """Abandoned Monday 10:00: no call again before Thursday 10:00 (Ofcom)."""
    abandoned = at(SHANGHAI, 2026, 5, 4, 10)
    subject = lead(abandoned_at=abandoned, last_attempt_at=abandoned, attempts_lifetime=1)
    decision = may_dial(subject, office_hours(), WED_10)
    assert decision == Decision(False, Reason.ABANDONED_COOLOFF, at(SHANGHAI, 2026, 5, 7, 10))
    later = may_dial(subject, office_hours(), at(SHANGHAI, 2026, 5, 7, 10, 1))
    assert later.allowed


def test_a_callback_waits_for_its_time_then_goes_to_its_agent() -> None:
    """Callback at 11:00 for agent 1007: refused at 10:00, then allowed, past the delay."""
    callback = lead(
        callback_at=WED_10 + 3600,
        callback_agent_id="1007",
        last_attempt_at=WED_10 - 600,
        last_outcome=Outcome.ANSWERED,  # its retry delay is a day
        attempts_today=1,
        attempts_24h=1,
    )
    assert may_dial(callback, office_hours(), WED_10) == Decision(
        False, Reason.CALLBACK_NOT_DUE, WED_10 + 3600
    )
    due = may_dial(callback, office_hours(), WED_10 + 3600)
    assert due == Decision(True, Reason.CALLBACK_DUE, None, "1007", callback_from=WED_10 + 3600)


def test_a_due_callback_still_keeps_to_the_calling_window() -> None:
    """A callback due at 12:30 (lunch, no window): it is dialled at 14:00."""
    callback = lead(callback_at=at(SHANGHAI, 2026, 5, 6, 12, 30), callback_agent_id="1007")
    decision = may_dial(callback, office_hours(), at(SHANGHAI, 2026, 5, 6, 12, 45))
    assert decision == Decision(False, Reason.OUTSIDE_WINDOW, at(SHANGHAI, 2026, 5, 6, 14))
    # Its agent's wait runs from 14:00, when it could first be dialled, not from 12:30.
    later = may_dial(callback, office_hours(), at(SHANGHAI, 2026, 5, 6, 14, 5))
    assert later.allowed and later.agent_id == "1007"
    assert later.callback_from == at(SHANGHAI, 2026, 5, 6, 14)


def test_three_attempts_today_wait_for_tomorrows_first_window() -> None:
    """Three no-answers by 10:00 Wednesday: Thursday 09:00 local is the next chance."""
    busy_day = lead(
        attempts_today=3,
        attempts_24h=3,
        last_attempt_at=WED_10 - 60,
        last_outcome=Outcome.BUSY,
    )
    decision = may_dial(busy_day, office_hours(), WED_10)
    assert decision == Decision(False, Reason.MAX_ATTEMPTS_DAY, at(SHANGHAI, 2026, 5, 7, 9))


def test_yesterdays_attempt_counter_is_stale_today() -> None:
    """Three attempts counted on Tuesday do not count on Wednesday."""
    tuesday = lead(
        attempts_today=3,
        last_attempt_at=at(SHANGHAI, 2026, 5, 5, 19),
        last_outcome=Outcome.BUSY,
    )
    assert may_dial(tuesday, office_hours(), WED_10).allowed


def test_a_per_outcome_daily_limit_is_tighter_than_the_campaigns() -> None:
    """After a machine, one attempt a day."""
    rules = office_hours(retry={Outcome.MACHINE: RetryRule(delay=60.0, max_per_day=1)})
    machine = lead(attempts_today=1, last_attempt_at=WED_10 - 600, last_outcome=Outcome.MACHINE)
    assert may_dial(machine, rules, WED_10).reason is Reason.MAX_ATTEMPTS_DAY


def test_the_rolling_24_hours_limit_waits_for_the_oldest_attempt_to_age_out() -> None:
    """Four attempts since Tuesday 11:00: dialable again Wednesday 11:00, not before."""
    rules = office_hours(max_per_day=10)
    tired = lead(
        attempts_today=2,
        attempts_24h=4,
        oldest_attempt_24h_at=at(SHANGHAI, 2026, 5, 5, 11),
        last_attempt_at=WED_10 - 1800,
        last_outcome=Outcome.BUSY,
    )
    decision = may_dial(tired, rules, WED_10)
    assert decision == Decision(False, Reason.MAX_ATTEMPTS_24H, at(SHANGHAI, 2026, 5, 6, 11))


def test_without_the_oldest_attempt_time_the_last_one_bounds_the_wait() -> None:
    """Only the count is known: 24 hours after the last attempt is surely enough."""
    rules = office_hours(max_per_day=10)
    tired = lead(attempts_24h=4, last_attempt_at=WED_10 - 1800, last_outcome=Outcome.BUSY)
    decision = may_dial(tired, rules, WED_10)
    assert decision.reason is Reason.MAX_ATTEMPTS_24H
    assert decision.retry_at == WED_10 - 1800 + DAY


def test_the_retry_delay_of_the_last_outcome_is_kept() -> None:
    """No answer at 9:30; two hours' delay: 11:30."""
    tried = lead(attempts_today=1, last_attempt_at=WED_10 - 1800, last_outcome=Outcome.NO_ANSWER)
    decision = may_dial(tried, office_hours(), WED_10)
    assert decision == Decision(False, Reason.RETRY_DELAY, WED_10 + 5400)


def test_a_retry_delay_ending_after_hours_moves_to_the_next_window() -> None:
    """No answer at 19:00 Friday; the two hours end at 21:00: Monday 09:00 it is."""
    friday = at(SHANGHAI, 2026, 5, 8, 19)
    tried = lead(attempts_today=1, last_attempt_at=friday, last_outcome=Outcome.NO_ANSWER)
    decision = may_dial(tried, office_hours(), friday + 600)
    assert decision == Decision(False, Reason.RETRY_DELAY, at(SHANGHAI, 2026, 5, 11, 9))


def test_on_a_holiday_the_lead_waits_for_the_next_working_day() -> None:
    """Labour Day week: 6 and 7 May are holidays here; Friday 09:00 is next."""
    rules = office_hours(holidays=frozenset({dt.date(2026, 5, 6), dt.date(2026, 5, 7)}))
    decision = may_dial(lead(), rules, WED_10)
    assert decision == Decision(False, Reason.HOLIDAY, at(SHANGHAI, 2026, 5, 8, 9))


@pytest.mark.parametrize(
    ("hour", "minute", "opens"),
    [
        (7, 30, (2026, 5, 6, 9)),  # before the morning window
        (12, 0, (2026, 5, 6, 14)),  # lunch: the end is exclusive
        (20, 0, (2026, 5, 7, 9)),  # evening: tomorrow morning
    ],
)
def test_outside_the_window_the_lead_waits_for_the_next_one(
    hour: int, minute: int, opens: tuple[int, int, int, int]
) -> None:
    """Early morning, lunch, evening: the retry time is the next window's opening."""
    decision = may_dial(lead(), office_hours(), at(SHANGHAI, 2026, 5, 6, hour, minute))
    assert decision == Decision(False, Reason.OUTSIDE_WINDOW, at(SHANGHAI, *opens))


def test_weekend_calls_wait_for_monday() -> None:
    """Saturday 10:00 with weekday windows: Monday 09:00."""
    decision = may_dial(lead(), office_hours(), at(SHANGHAI, 2026, 5, 9, 10))
    assert decision == Decision(False, Reason.OUTSIDE_WINDOW, at(SHANGHAI, 2026, 5, 11, 9))


def test_a_campaign_without_windows_has_no_opening() -> None:
    """No calling window at all: refused, with nothing to wait for."""
    decision = may_dial(lead(), office_hours(windows=()), WED_10)
    assert decision == Decision(False, Reason.NO_WINDOW)


def test_a_window_must_end_after_it_starts() -> None:
    """Windows across midnight are not supported; a reversed window is refused."""
    with pytest.raises(ValueError):
        CallingWindow(dt.time(20), dt.time(9))


# --- time zones and DST ---------------------------------------------------------------


def test_the_same_instant_is_morning_in_shanghai_and_night_in_new_york() -> None:
    """Wednesday 10:00 Shanghai is Tuesday 22:00 in New York: one lead waits."""
    assert may_dial(lead(), office_hours(), WED_10).allowed
    american = lead(time_zone="America/New_York", phone="+12125550100")
    decision = may_dial(american, office_hours(), WED_10)
    assert decision == Decision(False, Reason.OUTSIDE_WINDOW, at(NEW_YORK, 2026, 5, 6, 9))


def test_default_hours_are_the_legal_8_to_9_local() -> None:
    """16 CFR 310.4(c): not before 8 am nor after 9 pm at the called person's location."""
    rules = CampaignRules()
    american = lead(time_zone="America/New_York")
    assert may_dial(american, rules, at(NEW_YORK, 2026, 5, 6, 8)).allowed
    assert not may_dial(american, rules, at(NEW_YORK, 2026, 5, 6, 7, 59)).allowed
    assert not may_dial(american, rules, at(NEW_YORK, 2026, 5, 6, 21)).allowed


def test_windows_follow_the_wall_clock_across_the_spring_dst_change() -> None:
    """New York springs forward on 8 March 2026: 08:00 is 13:00 UTC on the 7th, 12:00 after."""
    rules = CampaignRules()
    saturday = next_opening(rules, NEW_YORK, at(NEW_YORK, 2026, 3, 7, 6))
    sunday = next_opening(rules, NEW_YORK, at(NEW_YORK, 2026, 3, 8, 1))
    assert saturday == dt.datetime(2026, 3, 7, 13, tzinfo=dt.UTC).timestamp()
    assert sunday == dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC).timestamp()


def test_the_autumn_dst_change_keeps_the_evening_cut_off_local() -> None:
    """London falls back on 25 October 2026: the 21:00 cut-off is 21:00 GMT that day."""
    rules = CampaignRules()
    cut_off = dt.datetime(2026, 10, 25, 21, tzinfo=dt.UTC).timestamp()
    british = lead(time_zone="Europe/London")
    assert may_dial(british, rules, cut_off - 60).allowed
    assert not may_dial(british, rules, cut_off).allowed
    assert not in_window(rules, LONDON, at(LONDON, 2026, 10, 25, 7, 59))


def test_a_day_limit_resets_at_local_midnight_not_utc() -> None:
    """Three attempts on Tuesday evening New York time; Wednesday 09:00 there is fine."""
    american = lead(
        time_zone="America/New_York",
        attempts_today=3,
        last_attempt_at=at(NEW_YORK, 2026, 5, 5, 19),
        last_outcome=Outcome.BUSY,
    )
    rules = office_hours()
    assert may_dial(american, rules, at(NEW_YORK, 2026, 5, 6, 9)).allowed
    refused = may_dial(american, rules, at(NEW_YORK, 2026, 5, 5, 19, 30))
    assert refused == Decision(False, Reason.MAX_ATTEMPTS_DAY, at(NEW_YORK, 2026, 5, 6, 9))


# --- properties -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    offset=st.floats(min_value=0.0, max_value=30 * DAY),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London"]),
    outcome=st.sampled_from([None, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.MACHINE]),
    since_last=st.one_of(st.none(), st.floats(min_value=0.0, max_value=3 * DAY)),
    attempts=st.integers(min_value=0, max_value=5),
    abandoned_ago=st.one_of(st.none(), st.floats(min_value=0.0, max_value=4 * DAY)),
)
def test_a_lead_refused_for_a_while_is_allowed_at_its_retry_time(
    offset: float,
    zone: str,
    outcome: Outcome | None,
    since_last: float | None,
    attempts: int,
    abandoned_ago: float | None,
) -> None:
    """Allowed means inside a window; a retry time is in a window and then allowed."""
    now = at(SHANGHAI, 2026, 3, 1, 0) + offset
    subject = lead(
        time_zone=zone,
        last_outcome=outcome if since_last is not None else None,
        last_attempt_at=None if since_last is None else now - since_last,
        attempts_today=attempts,
        attempts_24h=attempts,
        attempts_lifetime=attempts,
        abandoned_at=None if abandoned_ago is None else now - abandoned_ago,
    )
    rules = office_hours(holidays=frozenset({dt.date(2026, 3, 17)}))
    decision = may_dial(subject, rules, now)
    if decision.allowed:
        assert in_window(rules, ZoneInfo(zone), now)
    else:
        assert decision.retry_at is not None
        assert decision.retry_at > now
        assert in_window(rules, ZoneInfo(zone), decision.retry_at)
        assert may_dial(subject, rules, decision.retry_at).allowed
