"""Campaigns over the API: approval by another person, frozen versions, compliant start."""

from __future__ import annotations

import pytest

from integration.campaigns.campaign_kit import COMPLIANT, Kit

# Plain ORM work: SQLite is enough here; the import and dialer tests run on both backends.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_a_campaign_goes_from_draft_to_running_with_a_frozen_version(kit: Kit) -> None:
    """Author writes, another approves (version 1, script frozen), start, pause, resume."""
    script = kit.ok("POST", "/scripts", 201, json={"name": "开场白", "body": "您好 {lead.name}"})
    campaign_id = kit.campaign(script_id=script["id"], dialing_mode="predictive", **COMPLIANT)
    draft = kit.ok("GET", f"/campaigns/{campaign_id}")
    assert (draft["state"], draft["version"], draft["commands"]) == ("draft", 0, ["edit", "submit"])

    submitted = kit.ok("POST", f"/campaigns/{campaign_id}/submit")
    assert submitted["commands"] == ["edit", "approve", "reject"]
    self_approval = kit.api.call("POST", f"/campaigns/{campaign_id}/approve")
    assert (self_approval.status_code, self_approval.json()["error"]) == (
        409,
        "campaign-self-approval",
    )
    approved = kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert (approved["state"], approved["version"]) == ("approved", 1)

    # The script changes after approval; the frozen version keeps the approved text.
    kit.ok("PATCH", f"/scripts/{script['id']}", json={"body": "changed"})
    (version,) = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert version["settings"]["script"]["body"] == "您好 {lead.name}"
    assert version["approved_by_no"] == "8001"
    assert version["settings"]["settings"]["dialing_mode"] == "predictive"

    assert kit.ok("POST", f"/campaigns/{campaign_id}/start")["state"] == "running"
    assert kit.ok("POST", f"/campaigns/{campaign_id}/pause")["state"] == "paused"
    assert kit.ok("POST", f"/campaigns/{campaign_id}/resume")["state"] == "running"
    actions = [row["action"] for row in kit.api.audit(target_type="campaign")]
    assert actions[::-1] == [
        "campaign.create",
        "campaign.submit",
        "campaign.approve",
        "campaign.start",
        "campaign.pause",
        "campaign.resume",
    ]


def test_editing_a_running_campaign_needs_a_new_approval_while_the_old_version_runs(
    kit: Kit,
) -> None:
    campaign_id = kit.running(max_per_day=3)
    edited = kit.ok(
        "PATCH", f"/campaigns/{campaign_id}", json={"settings": COMPLIANT | {"max_per_day": 1}}
    )
    assert (edited["state"], edited["revision"], edited["version"]) == ("running", "draft", 1)
    assert edited["settings"]["max_per_day"] == 1
    (version,) = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert version["settings"]["settings"]["max_per_day"] == 3  # what is still dialled

    kit.ok("POST", f"/campaigns/{campaign_id}/submit")
    renewed = kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert (renewed["state"], renewed["revision"], renewed["version"]) == ("running", "none", 2)
    versions = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert [v["settings"]["settings"]["max_per_day"] for v in versions] == [3, 1]


def test_start_is_refused_with_every_compliance_reason_in_both_languages(kit: Kit) -> None:
    campaign_id = kit.campaign(drop_timeout=3.5, ring_seconds=10)
    kit.approve(campaign_id)
    refused = kit.api.call(
        "POST", f"/campaigns/{campaign_id}/start", headers={"Accept-Language": "en"}
    )
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "campaign-cannot-start"
    assert set(body["details"]["violations"]) == {
        "campaign-drop-timeout-too-long",
        "campaign-safe-harbour-missing",
        "campaign-ring-time-too-short",
        "campaign-caller-id-missing",
    }
    assert "3.5 s" in body["message"] and "caller ID" in body["message"]
    chinese = kit.api.call("POST", f"/campaigns/{campaign_id}/start").json()["message"]
    assert "主叫号码" in chinese and "振铃" in chinese
    assert kit.ok("GET", f"/campaigns/{campaign_id}")["state"] == "approved"
    failed = [r for r in kit.api.audit(action="campaign.start") if r["outcome"] == "failed"]
    assert len(failed) == 2

    # Fixing the draft is not enough: the fix needs its approval before it can run.
    kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"settings": COMPLIANT})
    assert kit.api.call("POST", f"/campaigns/{campaign_id}/start").status_code == 409
    kit.ok("POST", f"/campaigns/{campaign_id}/submit")
    kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert kit.ok("POST", f"/campaigns/{campaign_id}/start")["state"] == "running"


def test_settings_and_references_are_checked(kit: Kit) -> None:
    for settings, error in (
        ({"windows": [{"start": "21:00", "end": "08:00"}]}, "campaign-settings-invalid"),
        ({"time_zone": "Mars/Olympus"}, "campaign-settings-invalid"),
        ({"start_date": "2026-02-30"}, "campaign-settings-invalid"),
        ({"script_id": 999}, "not-found"),
        ({"group_ids": [999]}, "not-found"),
        ({"dialing_mode": "telepathic"}, "validation-failed"),
        ({"drop_timeout": "2"}, "validation-failed"),
    ):
        response = kit.api.call("POST", "/campaigns", json={"name": "x", "settings": settings})
        assert response.status_code in (404, 422), (settings, response.text)
        assert response.json()["error"] == error, settings
    kit.campaign("唯一")
    clash = kit.api.call("POST", "/campaigns", json={"name": "唯一"})
    assert (clash.status_code, clash.json()["error"]) == (409, "already-exists")
    assert kit.api.call("GET", "/campaigns/2147483000").status_code == 404


def test_who_may_do_what(kit: Kit) -> None:
    """An agent sees no campaigns; a team leader sees but cannot change or approve them."""
    campaign_id = kit.campaign()
    kit.api.person("1001", "agent")
    kit.api.person("8002", "team_leader")
    assert kit.api.call("GET", "/campaigns", as_="1001").status_code == 403
    assert kit.api.call("GET", "/campaigns", as_="8002").status_code == 200
    for path in ("submit", "approve", "start"):
        response = kit.api.call("POST", f"/campaigns/{campaign_id}/{path}", as_="8002")
        assert response.status_code == 403, path
    assert (
        kit.api.call("GET", f"/campaigns/{campaign_id}/why-not-dialling", as_="8002").status_code
        == 200
    )
