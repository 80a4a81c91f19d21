"""An operator's audit of the pre-dial policy at the edges of time and of its settings.

Each test is a question a telemarketing operator or a compliance officer asks: where
the calling hours are measured, whether the last day is included, what a DST change
does, in whose day the daily limit counts, and whether the settings the form offers
(the abandoned-call cool-off) take effect.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from callcenter.domain.campaign import CampaignSettings, InvalidCampaignSettings, policy_rules
from callcenter.domain.dialing_policy import (
    DAY,
    CallingWindow,
    CampaignRules,
    Decision,
    Lead,
    Outcome,
    Reason,
    may_dial,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_EIGHT = CampaignRules(windows=(CallingWindow(dt.time(9), dt.time(20)),))


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()


def lead_in(zone: ZoneInfo, **changes: object) -> Lead:
    return Lead("L-1", "+8613800138000", str(zone), **changes)  # type: ignore[arg-type]


def rules_from(**settings: object) -> CampaignRules:
    """The rules an operator gets from the campaign form (missing keys: defaults)."""
    return policy_rules(CampaignSettings.parse(settings), running=True)


def test_the_abandoned_call_cool_off_the_operator_sets_is_the_wait() -> None:
    """Cool-off set to 24 hours: the lead abandoned Monday 10:00 is called Tuesday 10:00.

    The retry rule of an abandoned call does not add a wait of its own (it used to
    keep the default 72 hours whatever the cool-off said), and left alone the cool-off
    is still 72 hours.
    """
    abandoned = at(SHANGHAI, 2026, 5, 4, 10)
    subject = lead_in(
        SHANGHAI,
        abandoned_at=abandoned,
        last_attempt_at=abandoned,
        last_outcome=Outcome.ABANDONED,
        attempts_today=1,
        attempts_24h=1,
        attempts_lifetime=1,
    )
    one_day = rules_from(abandoned_cooloff_hours=24)
    assert may_dial(subject, one_day, abandoned + 23 * 3600) == Decision(
        False, Reason.ABANDONED_COOLOFF, abandoned + DAY
    )
    assert may_dial(subject, one_day, abandoned + DAY).allowed

    by_default = rules_from()
    assert may_dial(subject, by_default, abandoned + DAY) == Decision(
        False, Reason.ABANDONED_COOLOFF, abandoned + 3 * DAY
    )
    assert may_dial(subject, by_default, abandoned + 3 * DAY).allowed


def test_an_abandoned_outcome_without_its_time_cools_off_from_the_last_attempt() -> None:
    """A disposition saying "abandoned" leaves no abandoned time: the attempt's is used."""
    attempt = at(SHANGHAI, 2026, 5, 4, 10)
    subject = lead_in(SHANGHAI, last_attempt_at=attempt, last_outcome=Outcome.ABANDONED)
    assert may_dial(subject, rules_from(), attempt + DAY) == Decision(
        False, Reason.ABANDONED_COOLOFF, attempt + 3 * DAY
    )


def test_an_explicit_retry_delay_after_an_abandoned_call_still_holds() -> None:
    """The operator asks for four days after an abandoned call: the longer wait wins."""
    abandoned = at(SHANGHAI, 2026, 5, 4, 10)
    subject = lead_in(
        SHANGHAI,
        abandoned_at=abandoned,
        last_attempt_at=abandoned,
        last_outcome=Outcome.ABANDONED,
    )
    rules = rules_from(retry={"abandoned": {"delay": 4 * DAY}})
    assert may_dial(subject, rules, abandoned + 3 * DAY) == Decision(
        False, Reason.RETRY_DELAY, abandoned + 4 * DAY
    )


def test_calling_hours_are_the_leads_own_on_both_sides_of_the_campaigns_zone() -> None:
    """09:30 in Shanghai is 07:30 in Urumqi (too early) and 18:30 in Los Angeles (fine)."""
    now = at(SHANGHAI, 2026, 3, 10, 9, 30)
    assert may_dial(lead_in(SHANGHAI), NINE_TO_EIGHT, now).allowed
    assert may_dial(lead_in(URUMQI), NINE_TO_EIGHT, now) == Decision(
        False, Reason.OUTSIDE_WINDOW, at(URUMQI, 2026, 3, 10, 9)
    )
    assert may_dial(lead_in(LOS_ANGELES), NINE_TO_EIGHT, now).allowed
    late = at(LOS_ANGELES, 2026, 3, 9, 20)  # the window's end is exclusive
    assert may_dial(lead_in(LOS_ANGELES), NINE_TO_EIGHT, late - 1).allowed
    assert may_dial(lead_in(LOS_ANGELES), NINE_TO_EIGHT, late) == Decision(
        False, Reason.OUTSIDE_WINDOW, at(LOS_ANGELES, 2026, 3, 10, 9)
    )


def test_on_both_dst_changes_the_window_keeps_the_new_york_wall_clock() -> None:
    """9:00 on 8 March 2026 is 13:00 UTC (EDT); on 1 November it is 14:00 UTC (EST)."""
    for day, utc_hour in ((dt.date(2026, 3, 8), 13), (dt.date(2026, 11, 1), 14)):
        opens = dt.datetime(day.year, day.month, day.day, utc_hour, tzinfo=dt.UTC).timestamp()
        refused = may_dial(lead_in(NEW_YORK), NINE_TO_EIGHT, opens - 60)
        assert refused == Decision(False, Reason.OUTSIDE_WINDOW, opens), day
        assert may_dial(lead_in(NEW_YORK), NINE_TO_EIGHT, opens).allowed, day


def test_holidays_weekdays_and_the_last_day_are_dates_of_the_leads_zone() -> None:
    """Documented: holidays, weekdays and the campaign's dates are the lead's local dates.

    Thursday 1 October 2026 is a holiday. At 10:00 Friday in Shanghai it is still
    Thursday 19:00 in Los Angeles: the Los Angeles lead waits for Friday 09:00 of its
    own. A weekdays-only campaign calls that lead on its Friday, Saturday in Shanghai.
    The last day is included up to its window's end.
    """
    holiday = CampaignRules(
        windows=NINE_TO_EIGHT.windows, holidays=frozenset({dt.date(2026, 10, 1)})
    )
    friday_shanghai = at(SHANGHAI, 2026, 10, 2, 10)
    assert may_dial(lead_in(SHANGHAI), holiday, friday_shanghai).allowed
    assert may_dial(lead_in(LOS_ANGELES), holiday, friday_shanghai) == Decision(
        False, Reason.HOLIDAY, at(LOS_ANGELES, 2026, 10, 2, 9)
    )

    weekdays = CampaignRules(windows=(CallingWindow(dt.time(9), dt.time(20), frozenset(range(5))),))
    friday_los_angeles = at(LOS_ANGELES, 2026, 3, 13, 10)  # Saturday 02:00 in Shanghai
    assert may_dial(lead_in(LOS_ANGELES), weekdays, friday_los_angeles).allowed

    last_day = CampaignRules(windows=NINE_TO_EIGHT.windows, last_day=dt.date(2026, 3, 10))
    assert may_dial(lead_in(SHANGHAI), last_day, at(SHANGHAI, 2026, 3, 10, 19, 59)).allowed
    assert may_dial(lead_in(SHANGHAI), last_day, at(SHANGHAI, 2026, 3, 10, 20)) == Decision(
        False, Reason.NO_WINDOW
    )
    assert may_dial(lead_in(SHANGHAI), last_day, at(SHANGHAI, 2026, 3, 11, 10)) == Decision(
        False, Reason.OUTSIDE_DATE_RANGE
    )


def test_the_daily_limit_counts_in_the_leads_day_and_the_rolling_limit_ends_at_24_hours() -> None:
    """Two calls by 22:00 Shanghai: the third waits for the lead's midnight, not UTC's.

    With a rolling limit of two, the oldest call at 10:00 frees a call at exactly
    10:00 the next day (an attempt 24 hours old is out of the window).
    """
    all_day = (CallingWindow(dt.time(0), dt.time(23, 59)),)
    daily = CampaignRules(windows=all_day, max_per_day=2, max_24h=10)
    late = lead_in(
        SHANGHAI,
        attempts_today=2,
        attempts_24h=2,
        last_attempt_at=at(SHANGHAI, 2026, 3, 10, 22),
        last_outcome=Outcome.BUSY,
    )
    midnight = at(SHANGHAI, 2026, 3, 11, 0)
    assert may_dial(late, daily, midnight - 3600) == Decision(
        False, Reason.MAX_ATTEMPTS_DAY, midnight
    )
    assert may_dial(late, daily, midnight).allowed

    rolling = CampaignRules(windows=all_day, max_per_day=10, max_24h=2)
    first = at(SHANGHAI, 2026, 3, 10, 10)
    twice = lead_in(
        SHANGHAI,
        attempts_today=2,
        attempts_24h=2,
        oldest_attempt_24h_at=first,
        last_attempt_at=first + 3600,
        last_outcome=Outcome.NO_ANSWER,
    )
    assert may_dial(twice, rolling, first + DAY - 1) == Decision(
        False, Reason.MAX_ATTEMPTS_24H, first + DAY
    )
    assert may_dial(twice, rolling, first + DAY).allowed


def test_a_callback_booked_outside_calling_hours_is_moved_to_the_next_window() -> None:
    """Booked for 23:00: not called then; called at 09:00 next morning, for its agent."""
    booked = at(SHANGHAI, 2026, 3, 10, 23)
    subject = lead_in(
        SHANGHAI,
        callback_at=booked,
        callback_agent_id="1007",
        last_attempt_at=at(SHANGHAI, 2026, 3, 10, 10),
        last_outcome=Outcome.ANSWERED,
        attempts_today=1,
        attempts_24h=1,
        attempts_lifetime=1,
    )
    morning = at(SHANGHAI, 2026, 3, 11, 9)
    assert may_dial(subject, NINE_TO_EIGHT, booked - 3600) == Decision(
        False, Reason.CALLBACK_NOT_DUE, morning
    )
    assert may_dial(subject, NINE_TO_EIGHT, booked + 1800) == Decision(
        False, Reason.OUTSIDE_WINDOW, morning
    )
    # Its agent's wait is counted from that opening, not from 23:00.
    assert may_dial(subject, NINE_TO_EIGHT, morning) == Decision(
        True, Reason.CALLBACK_DUE, agent_id="1007", callback_from=morning
    )


def test_over_the_rolling_limit_the_lead_waits_a_day_from_its_last_call() -> None:
    """Three calls in 24 hours against a limit of two (a new version lowered it).

    Only the oldest call's time is known: when it leaves the window two may remain,
    so the lead waits until its last call is a day old, not for the oldest one.
    """
    first = at(SHANGHAI, 2026, 3, 10, 10)
    thrice = lead_in(
        SHANGHAI,
        attempts_today=3,
        attempts_24h=3,
        oldest_attempt_24h_at=first,
        last_attempt_at=first + 2 * 3600,
        last_outcome=Outcome.NO_ANSWER,
    )
    rules = CampaignRules(
        windows=(CallingWindow(dt.time(0), dt.time(23, 59)),), max_per_day=10, max_24h=2
    )
    assert may_dial(thrice, rules, first + DAY + 60) == Decision(
        False, Reason.MAX_ATTEMPTS_24H, first + 2 * 3600 + DAY
    )
    assert may_dial(thrice, rules, first + 2 * 3600 + DAY).allowed


def test_a_window_across_midnight_is_refused_saying_how_to_set_it() -> None:
    """20:00-02:00 is refused, naming the window and the two windows it splits into."""
    with pytest.raises(InvalidCampaignSettings) as refused:
        CampaignSettings.parse({"windows": [{"start": "20:00", "end": "02:00"}]})
    english, chinese = refused.value.message("en"), refused.value.message("zh-CN")
    assert "20:00-02:00" in english and "midnight" in english and "00:00-02:00" in english
    assert "20:00-02:00" in chinese and "跨午夜" in chinese
    evening_and_night = CampaignSettings.parse(
        {"windows": [{"start": "20:00", "end": "23:59"}, {"start": "00:00", "end": "02:00"}]}
    )
    rules = policy_rules(evening_and_night, running=True)
    assert may_dial(lead_in(SHANGHAI), rules, at(SHANGHAI, 2026, 3, 11, 1, 30)).allowed
    assert may_dial(lead_in(SHANGHAI), rules, at(SHANGHAI, 2026, 3, 10, 23)).allowed
    assert may_dial(lead_in(SHANGHAI), rules, at(SHANGHAI, 2026, 3, 11, 2)) == Decision(
        False, Reason.OUTSIDE_WINDOW, at(SHANGHAI, 2026, 3, 11, 20)
    )


def test_a_wait_that_outlasts_the_campaign_is_named_for_the_campaigns_end() -> None:
    """On the last day a busy lead at 19:55 or a callback booked after it never comes.

    "Why not" says there is no calling window ahead, not that it waits for a retry
    or a callback that the campaign's end forbids.
    """
    rules = CampaignRules(windows=NINE_TO_EIGHT.windows, last_day=dt.date(2026, 3, 10))
    busy = lead_in(
        SHANGHAI,
        last_attempt_at=at(SHANGHAI, 2026, 3, 10, 19, 55),
        last_outcome=Outcome.BUSY,
        attempts_today=1,
        attempts_24h=1,
        attempts_lifetime=1,
    )
    assert may_dial(busy, rules, at(SHANGHAI, 2026, 3, 10, 19, 56)) == Decision(
        False, Reason.NO_WINDOW
    )
    booked = lead_in(SHANGHAI, callback_at=at(SHANGHAI, 2026, 3, 12, 10))
    assert may_dial(booked, rules, at(SHANGHAI, 2026, 3, 10, 10)) == Decision(
        False, Reason.NO_WINDOW
    )
    in_time = lead_in(SHANGHAI, callback_at=at(SHANGHAI, 2026, 3, 10, 15))
    assert may_dial(in_time, rules, at(SHANGHAI, 2026, 3, 10, 10)) == Decision(
        False, Reason.CALLBACK_NOT_DUE, at(SHANGHAI, 2026, 3, 10, 15)
    )


def test_a_window_the_spring_dst_change_skips_is_not_opened_that_day() -> None:
    """02:30-03:00 does not exist in New York on 8 March 2026: next opening 9 March.

    (02:30 read before the change is 03:30 EDT, half an hour after 03:00 closed it.)
    """
    small_hours = CampaignRules(windows=(CallingWindow(dt.time(2, 30), dt.time(3)),))
    before = at(NEW_YORK, 2026, 3, 8, 1)
    assert may_dial(lead_in(NEW_YORK), small_hours, before) == Decision(
        False, Reason.OUTSIDE_WINDOW, at(NEW_YORK, 2026, 3, 9, 2, 30)
    )
