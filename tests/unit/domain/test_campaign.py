"""The campaign lifecycle table, its revisions, and the settings' checks."""

from __future__ import annotations

import datetime as dt

import pytest

from callcenter.domain.campaign import (
    TRANSITIONS,
    CampaignSettings,
    CampaignStateError,
    Command,
    InvalidCampaignSettings,
    Lifecycle,
    Revision,
    SelfApproval,
    State,
    allowed_commands,
    cannot_start,
    pick_caller_id,
    policy_rules,
    start_violations,
    step,
)
from callcenter.domain.dialing_policy import Lead, Outcome, Reason, may_dial

AUTHOR, APPROVER = 1, 2


def approved() -> Lifecycle:
    draft = step(Lifecycle(campaign_id=7), Command.EDIT, actor_id=AUTHOR)
    submitted = step(draft, Command.SUBMIT, actor_id=AUTHOR)
    return step(submitted, Command.APPROVE, actor_id=APPROVER)


def test_a_draft_is_submitted_and_approved_by_someone_else_as_version_one() -> None:
    campaign = approved()
    assert (campaign.state, campaign.version, campaign.revision) == (
        State.APPROVED,
        1,
        Revision.NONE,
    )


def test_the_author_cannot_approve_their_own_campaign_and_nothing_changes() -> None:
    submitted = step(
        step(Lifecycle(campaign_id=7), Command.EDIT, actor_id=AUTHOR), Command.SUBMIT, actor_id=3
    )
    with pytest.raises(SelfApproval) as caught:
        step(submitted, Command.APPROVE, actor_id=AUTHOR)
    assert "作者以外" in caught.value.message("zh-CN")
    assert submitted.state is State.SUBMITTED


def test_running_and_paused_alternate_and_finished_is_final() -> None:
    running = step(approved(), Command.START, actor_id=AUTHOR)
    paused = step(running, Command.PAUSE, actor_id=AUTHOR)
    assert step(paused, Command.RESUME, actor_id=AUTHOR).state is State.RUNNING
    finished = step(paused, Command.FINISH, actor_id=AUTHOR)
    assert allowed_commands(finished) == []
    for command in Command:
        with pytest.raises(CampaignStateError):
            step(finished, command, actor_id=AUTHOR)


def test_a_draft_cannot_start_and_the_error_names_state_and_action_in_both_languages() -> None:
    with pytest.raises(CampaignStateError) as caught:
        step(Lifecycle(campaign_id=7), Command.START, actor_id=AUTHOR)
    assert caught.value.status == 409
    assert "启动" in caught.value.message("zh-CN")
    assert "cannot start while draft" in caught.value.message("en")


def test_editing_a_running_campaign_opens_a_revision_that_needs_its_own_approval() -> None:
    running = step(approved(), Command.START, actor_id=AUTHOR)
    edited = step(running, Command.EDIT, actor_id=APPROVER)
    assert (edited.state, edited.revision, edited.version) == (State.RUNNING, Revision.DRAFT, 1)
    submitted = step(edited, Command.SUBMIT, actor_id=APPROVER)
    with pytest.raises(SelfApproval):
        step(submitted, Command.APPROVE, actor_id=APPROVER)
    rejected = step(submitted, Command.REJECT, actor_id=AUTHOR)
    assert rejected.revision is Revision.DRAFT
    again = step(step(rejected, Command.SUBMIT, actor_id=APPROVER), Command.APPROVE, actor_id=3)
    assert (again.state, again.revision, again.version) == (State.RUNNING, Revision.NONE, 2)


def test_every_state_lists_the_commands_step_accepts() -> None:
    for state in State:
        for revision in Revision:
            current = Lifecycle(campaign_id=1, state=state, revision=revision, author_id=9)
            for command in Command:
                accepted = True
                try:
                    step(current, command, actor_id=AUTHOR)
                except CampaignStateError:
                    accepted = False
                if state in TRANSITIONS and state not in (
                    State.APPROVED,
                    State.RUNNING,
                    State.PAUSED,
                ):
                    assert accepted == (command in TRANSITIONS[state])
                assert accepted == (command in allowed_commands(current)), (state, revision)


def test_settings_round_trip_through_json() -> None:
    settings = CampaignSettings.parse(
        {
            "start_date": "2026-12-01",
            "end_date": "2026-12-31",
            "windows": [{"start": "09:00", "end": "12:00", "weekdays": "54321"}],
            "holidays": ["2026-12-25"],
            "dialing_mode": "predictive",
            "caller_ids": ["+8610555", "+8610555", "+8610666"],
            "retry": {"busy": {"delay": 60, "max_per_day": 2}},
        }
    )
    assert settings.windows[0].weekdays == "12345"
    assert settings.caller_ids == ("+8610555", "+8610666")
    assert settings.retry[Outcome.BUSY].max_per_day == 2
    assert settings.retry[Outcome.SALE].final  # defaults kept for the outcomes not given
    assert CampaignSettings.parse(settings.to_json()) == settings


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"windows": [{"start": "20:00", "end": "09:00"}]}, "windows"),
        ({"windows": [{"start": "09:00", "end": "10:00", "weekdays": "118"}]}, "windows"),
        ({"start_date": "2026-12-31", "end_date": "2026-12-01"}, "end_date"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"dialing_mode": "telepathic"}, "dialing_mode"),
        ({"caller_ids": ["call me"]}, "caller_ids"),
        ({"retry": {"eaten-by-dog": {"delay": 1}}}, "retry"),
        ({"power_ratio": 99}, "power_ratio"),
        ({"colour": "blue"}, "colour"),
        ({"drop_timeout": True}, "drop_timeout"),
    ],
)
def test_bad_settings_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCampaignSettings) as caught:
        CampaignSettings.parse(data)
    assert caught.value.details["field"] == field
    assert field in caught.value.message("zh-CN")


def test_start_is_refused_for_each_compliance_rule_with_every_reason_listed() -> None:
    bad = CampaignSettings.parse({"drop_timeout": 3, "ring_seconds": 10})
    codes = {v.code for v in start_violations(5, bad)}
    assert codes == {
        "campaign-drop-timeout-too-long",
        "campaign-safe-harbour-missing",
        "campaign-ring-time-too-short",
        "campaign-caller-id-missing",
    }
    error = cannot_start(5, start_violations(5, bad))
    assert error.status == 409
    assert "2.0" in error.message("en") and "15.0" in error.message("zh-CN")
    half = CampaignSettings.parse({"safe_harbour_text": "sorry", "caller_ids": ["+8610555"]})
    assert [v.code for v in start_violations(5, half)] == ["campaign-safe-harbour-incomplete"]
    good = CampaignSettings.parse(
        {
            "safe_harbour_text": "这里是某某公司，请回拨 4008001234",
            "seller_name": "某某公司",
            "callback_number": "4008001234",
            "caller_ids": ["+8610555"],
        }
    )
    assert start_violations(5, good) == []


def test_the_settings_drive_the_pre_dial_policy_in_the_leads_local_time() -> None:
    settings = CampaignSettings.parse(
        {
            "windows": [{"start": "09:00", "end": "12:00", "weekdays": "12345"}],
            "holidays": ["2026-12-25"],
        }
    )
    rules = policy_rules(settings, running=True)
    lead = Lead("1", "+8613800000000", "Asia/Shanghai")
    zone = dt.timezone(dt.timedelta(hours=8))
    monday_10 = dt.datetime(2026, 12, 21, 10, tzinfo=zone).timestamp()
    saturday_10 = dt.datetime(2026, 12, 19, 10, tzinfo=zone).timestamp()
    christmas = dt.datetime(2026, 12, 25, 10, tzinfo=zone).timestamp()
    assert may_dial(lead, rules, monday_10).allowed
    assert may_dial(lead, rules, saturday_10).reason is Reason.OUTSIDE_WINDOW
    assert may_dial(lead, rules, christmas).reason is Reason.HOLIDAY
    stopped = policy_rules(settings, running=False)
    assert may_dial(lead, stopped, monday_10).reason is Reason.CAMPAIGN_NOT_RUNNING


def test_the_caller_id_pool_spreads_calls_and_respects_each_numbers_daily_cap() -> None:
    pool = CampaignSettings.parse(
        {"caller_ids": ["+8610555", "+8610666", "+8610777"], "caller_id_daily_cap": 2}
    )
    assert pick_caller_id(pool, {}) == "+8610555"
    assert pick_caller_id(pool, {"+8610555": 1}) == "+8610666"
    assert pick_caller_id(pool, {"+8610555": 2, "+8610666": 2, "+8610777": 1}) == "+8610777"
    assert pick_caller_id(pool, {"+8610555": 2, "+8610666": 2, "+8610777": 2}) is None
    uncapped = CampaignSettings.parse({"caller_ids": ["+8610555"]})
    assert pick_caller_id(uncapped, {"+8610555": 10_000}) == "+8610555"
    assert pick_caller_id(CampaignSettings(), {}) is None


def test_a_preview_campaign_may_set_its_own_countdown_and_skip_delay() -> None:
    """Left out, both are None (the platform's defaults); set, they travel with the
    settings through JSON, at the edges of their bounds and at zero minutes."""
    default = CampaignSettings.parse({"dialing_mode": "preview"})
    assert (default.preview_timeout_seconds, default.preview_skip_delay_minutes) == (None, None)
    assert default.to_json()["preview_timeout_seconds"] is None
    assert CampaignSettings.parse(default.to_json()) == default
    for timeout, delay in ((10, 0), (5, 7 * 24 * 60), (600, 90.5)):
        own = CampaignSettings.parse(
            {"preview_timeout_seconds": timeout, "preview_skip_delay_minutes": delay}
        )
        assert (own.preview_timeout_seconds, own.preview_skip_delay_minutes) == (timeout, delay)
        assert isinstance(own.preview_timeout_seconds, float)
        assert CampaignSettings.parse(own.to_json()) == own


@pytest.mark.parametrize(
    ("field", "value", "problem_en"),
    [
        ("preview_timeout_seconds", 4.9, "between 5.0 and 600.0"),
        ("preview_timeout_seconds", 601, "between 5.0 and 600.0"),
        ("preview_timeout_seconds", "30", "must be a number"),
        ("preview_timeout_seconds", True, "must be a number"),
        ("preview_skip_delay_minutes", -1, "between 0.0 and 10080.0"),
        ("preview_skip_delay_minutes", 7 * 24 * 60 + 1, "between 0.0 and 10080.0"),
        ("preview_skip_delay_minutes", float("nan"), "must be a number"),
    ],
)
def test_preview_timings_out_of_bounds_are_refused_naming_the_field(
    field: str, value: object, problem_en: str
) -> None:
    with pytest.raises(InvalidCampaignSettings) as caught:
        CampaignSettings.parse({field: value})
    assert caught.value.details["field"] == field
    assert problem_en in caught.value.message("en")
    assert field in caught.value.message("zh-CN")
