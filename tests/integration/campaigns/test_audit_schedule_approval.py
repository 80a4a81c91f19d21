"""An operator's audit: changes to a running campaign and the compliance start-up checks.

A running campaign dials each newly approved version at once, so a change that breaks
a compliance rule (drop timeout over 2 s, no caller ID, ring under 15 s) must not be
approved while it runs: approving it would start it without the checks of a start.
"""

from __future__ import annotations

import pytest

from integration.campaigns.campaign_kit import COMPLIANT, Kit

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_a_running_campaigns_change_that_breaks_the_rules_is_not_approved(kit: Kit) -> None:
    campaign_id = kit.running()
    broken = COMPLIANT | {"drop_timeout": 5, "ring_seconds": 10, "caller_ids": []}
    edited = kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"settings": broken})
    assert (edited["state"], edited["revision"], edited["version"]) == ("running", "draft", 1)
    kit.ok("POST", f"/campaigns/{campaign_id}/submit")

    refused = kit.api.call(
        "POST",
        f"/campaigns/{campaign_id}/approve",
        as_=kit.approver(),
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "campaign-revision-cannot-run"
    assert set(body["details"]["violations"]) == {
        "campaign-drop-timeout-too-long",
        "campaign-ring-time-too-short",
        "campaign-caller-id-missing",
    }
    assert "running" in body["message"] and "caller ID" in body["message"]
    chinese = kit.api.call("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert "正在外呼" in chinese.json()["message"] and "主叫号码" in chinese.json()["message"]

    # Nothing changed: version 1 keeps dialling, the change still waits for approval.
    after = kit.ok("GET", f"/campaigns/{campaign_id}")
    assert (after["state"], after["revision"], after["version"]) == ("running", "submitted", 1)
    (version,) = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert version["settings"]["settings"]["drop_timeout"] == 2
    failed = [r for r in kit.api.audit(action="campaign.approve") if r["outcome"] == "failed"]
    assert len(failed) == 2
    assert set(failed[0]["detail"]["violations"]) == set(body["details"]["violations"])

    # Fixed, the change is approved and becomes version 2 of the running campaign.
    kit.ok(
        "PATCH", f"/campaigns/{campaign_id}", json={"settings": COMPLIANT | {"ring_seconds": 20}}
    )
    kit.ok("POST", f"/campaigns/{campaign_id}/submit")
    renewed = kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert (renewed["state"], renewed["revision"], renewed["version"]) == ("running", "none", 2)


def test_a_paused_campaigns_change_is_approved_and_checked_when_it_resumes(kit: Kit) -> None:
    """Paused, nothing dials: the change may be approved, and resuming runs the checks."""
    campaign_id = kit.running()
    kit.ok("POST", f"/campaigns/{campaign_id}/pause")
    kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"settings": COMPLIANT | {"drop_timeout": 4}})
    kit.ok("POST", f"/campaigns/{campaign_id}/submit")
    approved = kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert (approved["state"], approved["version"]) == ("paused", 2)
    resumed = kit.api.call("POST", f"/campaigns/{campaign_id}/resume")
    assert (resumed.status_code, resumed.json()["error"]) == (409, "campaign-cannot-start")
    assert resumed.json()["details"]["violations"] == ["campaign-drop-timeout-too-long"]


def test_nobody_who_wrote_part_of_a_change_approves_it(kit: Kit) -> None:
    """The admin writes the campaign, a colleague touches it up: neither may approve it.

    The campaign records only its last editor as author; the four-eyes rule is about
    everyone who changed what the approval freezes since the last approval.
    """
    kit.ok(
        "POST",
        "/roles",
        201,
        json={"code": "editor", "name": "编辑", "permissions": ["campaign.view", "campaign.edit"]},
    )
    kit.api.person("8003", "editor")
    campaign_id = kit.campaign(**COMPLIANT)
    kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"description": "改错字"}, as_="8003")
    kit.ok("POST", f"/campaigns/{campaign_id}/submit", as_="8003")

    own_work = kit.api.call("POST", f"/campaigns/{campaign_id}/approve")
    assert (own_work.status_code, own_work.json()["error"]) == (409, "campaign-self-approval")
    assert kit.ok("GET", f"/campaigns/{campaign_id}")["state"] == "submitted"
    approved = kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    assert (approved["state"], approved["version"]) == ("approved", 1)

    # After that approval the admin's old work is approved: a change by the colleague
    # alone may be approved by the admin.
    kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"description": "再改"}, as_="8003")
    kit.ok("POST", f"/campaigns/{campaign_id}/submit", as_="8003")
    renewed = kit.ok("POST", f"/campaigns/{campaign_id}/approve")
    assert (renewed["revision"], renewed["version"]) == ("none", 2)


def test_whoever_added_a_lead_list_does_not_approve_it(kit: Kit) -> None:
    """A list imported into the draft is frozen by the approval: its importer may not."""
    kit.ok(
        "POST",
        "/roles",
        201,
        json={
            "code": "list_keeper",
            "name": "名单管理",
            "permissions": ["campaign.view", "campaign.approve", "lead.import"],
        },
    )
    kit.api.person("8004", "list_keeper")
    campaign_id = kit.campaign(**COMPLIANT)
    uploaded = kit.api.call(
        "POST",
        f"/campaigns/{campaign_id}/imports",
        files={"file": ("leads.csv", b"phone\n13800138000\n")},
        as_="8004",
    )
    assert uploaded.status_code == 202, uploaded.text
    assert kit.api.client.portal is not None
    kit.api.client.portal.call(kit.api.platform.outbound.imports.wait, uploaded.json()["id"])
    kit.ok("POST", f"/campaigns/{campaign_id}/submit")

    refused = kit.api.call("POST", f"/campaigns/{campaign_id}/approve", as_="8004")
    assert (refused.status_code, refused.json()["error"]) == (409, "campaign-self-approval")
    approved = kit.ok("POST", f"/campaigns/{campaign_id}/approve", as_=kit.approver())
    (version,) = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert approved["version"] == 1 and len(version["settings"]["list_ids"]) == 1
