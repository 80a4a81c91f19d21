"""What the dialer sees: leads in order, locks, attempts and outcomes, and why not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from callcenter.app.leads import SqlLeadSource
from callcenter.domain.dialing_policy import Outcome
from integration.campaigns.campaign_kit import Kit

T = TypeVar("T")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
WEDNESDAY_10 = dt.datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
NOW = WEDNESDAY_10.timestamp()


def run(kit: Kit, call: Callable[[], Awaitable[T]]) -> T:
    assert kit.api.client.portal is not None
    return kit.api.client.portal.call(call)


def why(kit: Kit, campaign_id: int, at: dt.datetime = WEDNESDAY_10) -> dict[str, Any]:
    body: dict[str, Any] = kit.ok(
        "GET", f"/campaigns/{campaign_id}/why-not-dialling", params={"at": at.isoformat()}
    )
    return body


def source(kit: Kit, campaign_id: int) -> SqlLeadSource:
    platform = kit.api.platform
    return SqlLeadSource(platform.uow, platform.outbound.leads, campaign_id)


def test_nothing_dials_before_approval_and_the_api_says_why(kit: Kit) -> None:
    campaign_id = kit.campaign()
    kit.add_leads(campaign_id, {"phone": "+8613800138000"}, {"phone": "+8613900139000"})
    answer = why(kit, campaign_id)
    assert answer["reasons"] == {"campaign-not-approved": 2}
    assert (answer["total"], answer["dialable"], answer["state"]) == (2, 0, "draft")
    assert answer["problems"] == ["campaign-not-approved"]
    kit.approve(campaign_id)
    assert why(kit, campaign_id)["problems"] == [
        "campaign-not-running",
        "no-agent-groups",
        "campaign-safe-harbour-missing",
        "campaign-caller-id-missing",
    ]


def test_the_policy_reasons_are_counted_across_the_campaign(kit: Kit) -> None:
    """In hours everything may go, except the blacklisted, the tired and the final."""
    yesterday = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
    earlier = WEDNESDAY_10.astimezone(dt.UTC) - dt.timedelta(minutes=30)
    campaign_id = kit.running(
        leads=(
            {"phone": "+8613800000001"},
            {"phone": "+8613800000002"},
            {"phone": "+8613800000003"},  # blacklisted below
            {"phone": "+8613800000004", "status": "done", "last_outcome": "answered"},
            {"phone": "+8613800000005", "last_outcome": "busy", "last_attempt_at": earlier,
             "attempts_today": 1, "attempts_24h": 1, "attempts_lifetime": 1},
            {"phone": "+8613800000006", "last_outcome": "no-answer", "last_attempt_at": yesterday,
             "attempts_today": 1, "attempts_24h": 1, "attempts_lifetime": 10},
            {"phone": "+8613800000007", "time_zone": "America/New_York"},
        ),
        retry={"busy": {"delay": 3600}},
    )  # fmt: skip
    kit.ok("POST", "/blacklist", 201, json={"phones": ["+8613800000003"]})
    answer = why(kit, campaign_id)
    assert answer["reasons"] == {
        "allowed": 2,
        "blacklisted": 1,
        "final-outcome": 1,
        "retry-delay": 1,
        "max-attempts-lifetime": 1,
        "outside-window": 1,  # 21:00 the evening before in New York
    }
    assert answer["dialable"] == 2
    assert answer["problems"] == ["no-agent-groups"]
    retry_at = dt.datetime.fromisoformat(answer["next_at"])
    assert retry_at == WEDNESDAY_10 + dt.timedelta(minutes=30)
    at_night = why(kit, campaign_id, WEDNESDAY_10.replace(hour=22))
    assert at_night["reasons"]["outside-window"] == 3
    kit.ok("POST", f"/campaigns/{campaign_id}/pause")
    assert why(kit, campaign_id)["reasons"] == {"campaign-not-running": 6, "final-outcome": 1}


def test_leads_come_in_dialling_order_and_a_taken_lead_is_not_given_twice(kit: Kit) -> None:
    long_ago = WEDNESDAY_10.astimezone(dt.UTC) - dt.timedelta(days=2)
    agent_id = kit.api.person("1007", "agent")
    campaign_id = kit.running(
        leads=(
            {"phone": "+8613800000001", "last_outcome": "no-answer", "last_attempt_at": long_ago,
             "attempts_lifetime": 1},
            {"phone": "+8613800000002"},
            {"phone": "+8613800000003", "callback_at": long_ago, "callback_agent_id": agent_id,
             "status": "callback"},
            {"phone": "+8613800000004"},
        )
    )  # fmt: skip
    preview = kit.ok(
        "GET", f"/campaigns/{campaign_id}/next-leads",
        params={"at": WEDNESDAY_10.isoformat(), "limit": "10"},
    )  # fmt: skip
    assert [lead["phone"][-1] for lead in preview] == ["3", "2", "4", "1"]

    leads = source(kit, campaign_id)
    first = run(kit, lambda: leads.next_leads(2, NOW))
    assert [lead.phone[-1] for lead in first] == ["3", "2"]
    assert first[0].callback_agent_id == "1007"  # the engine knows agents by 工号
    second = run(kit, lambda: leads.next_leads(5, NOW))
    assert [lead.phone[-1] for lead in second] == ["4", "1"]
    assert run(kit, lambda: leads.next_leads(5, NOW)) == []
    assert why(kit, campaign_id)["reasons"] == {"locked": 4}
    run(kit, lambda: leads.release(first[1].lead_id, None))
    assert [lead.phone for lead in run(kit, lambda: leads.next_leads(5, NOW))] == [first[1].phone]


def test_attempts_and_outcomes_move_the_counters_and_the_retry(kit: Kit) -> None:
    campaign_id = kit.running(
        leads=({"phone": "+8613800000001"}, {"phone": "+8613800000002"}),
        retry={"busy": {"delay": 600}},
        max_per_day=2,
    )
    leads = source(kit, campaign_id)
    busy, sold = run(kit, lambda: leads.next_leads(2, NOW))
    run(kit, lambda: leads.mark_attempt(busy.lead_id, NOW))
    run(kit, lambda: leads.record_outcome(busy.lead_id, Outcome.BUSY, NOW + 20))
    run(kit, lambda: leads.mark_attempt(sold.lead_id, NOW))
    run(kit, lambda: leads.record_outcome(sold.lead_id, Outcome.SALE, NOW + 60))

    lead = kit.ok("GET", f"/leads/{busy.lead_id}")
    assert (lead["attempts_today"], lead["attempts_lifetime"], lead["last_outcome"]) == (
        1,
        1,
        "busy",
    )
    assert lead["status"] == "active" and not lead["locked"]
    assert kit.ok("GET", f"/leads/{sold.lead_id}")["status"] == "done"
    assert why(kit, campaign_id)["reasons"] == {"retry-delay": 1, "final-outcome": 1}
    later = WEDNESDAY_10 + dt.timedelta(minutes=11)
    assert why(kit, campaign_id, later)["reasons"]["allowed"] == 1

    # A second attempt the same day reaches max_per_day = 2: not again until tomorrow.
    second = later.timestamp()
    (again,) = run(kit, lambda: leads.next_leads(5, second))
    run(kit, lambda: leads.mark_attempt(again.lead_id, second))
    run(kit, lambda: leads.record_outcome(again.lead_id, Outcome.BUSY, second + 5))
    evening = WEDNESDAY_10 + dt.timedelta(hours=5)
    assert why(kit, campaign_id, evening)["reasons"]["max-attempts-day"] == 1
    tomorrow = WEDNESDAY_10 + dt.timedelta(days=1)
    assert why(kit, campaign_id, tomorrow)["reasons"]["allowed"] == 1
    assert kit.ok("GET", f"/leads/{again.lead_id}")["attempts_today"] == 2


def test_an_opt_out_takes_effect_at_once_in_every_campaign(kit: Kit) -> None:
    number = "+8613800000001"
    first = kit.running("一", leads=({"phone": number}, {"phone": "+8613800000002"}))
    second = kit.running("二", leads=({"phone": number},))
    leads = source(kit, first)
    taken = run(kit, lambda: leads.next_leads(1, NOW))
    run(kit, lambda: leads.opt_out(taken[0].lead_id, NOW))
    assert why(kit, first)["reasons"] == {"opted-out": 1, "allowed": 1}
    assert why(kit, second)["reasons"] == {"opted-out": 1}
    assert run(kit, lambda: source(kit, second).next_leads(5, NOW)) == []
    (entry,) = kit.ok("GET", "/blacklist")["items"]
    assert (entry["phone"], entry["reason"], entry["source"], entry["campaign_id"]) == (
        number,
        "opt_out",
        "ivr",
        first,
    )
