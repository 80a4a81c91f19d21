"""A campaign's choice to give up long-ringing calls (提前放弃振铃), end to end.

An operator of a predictive campaign may let the dialer hang up a call that has rung
the legal minimum of 15 s when its answer is expected to find no agent free. The choice
is off unless set; it is saved over the API, frozen in the approved version, and reaches
the dialer of a predictive campaign. Every other mode keeps the choice as saved but
never dials with it (only predictive dialing forecasts when agents come free), as the
power ratio and the preview timings are kept outside their modes. Switching it on for a
running campaign needs a new approval, as every setting; until then the approved
version dials on without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.app.campaigns import ApprovedVersion, CampaignService
from callcenter.app.dialer import DialingMode
from callcenter.app.dialing import dialer_settings
from integration.campaigns.campaign_kit import COMPLIANT, Kit
from integration.campaigns.test_dialing import BUSY, Floor, open_floor

# Plain ORM work and a simulated floor: SQLite is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def approved(kit: Kit, campaign_id: int) -> ApprovedVersion:
    """The version the dialer runs, read from the store as the platform reads it."""
    platform = kit.api.platform

    async def read() -> ApprovedVersion | None:
        async with platform.uow() as uow:
            return await CampaignService().approved(uow, campaign_id)

    assert kit.api.client.portal is not None
    version = kit.api.client.portal.call(read)
    assert version is not None
    return version


def gives_up(kit: Kit, campaign_id: int) -> bool:
    """Whether the dialer of the approved version gives up long-ringing calls."""
    return dialer_settings(
        campaign_id, approved(kit, campaign_id), frozenset({"客服"})
    ).give_up_ringing


def test_a_predictive_campaign_saves_the_choice_and_its_approved_version_dials_with_it(
    kit: Kit,
) -> None:
    chosen = kit.campaign("车险续保", **COMPLIANT, dialing_mode="predictive", give_up_ringing=True)
    assert kit.ok("GET", f"/campaigns/{chosen}")["settings"]["give_up_ringing"] is True
    kit.approve(chosen)
    (version,) = kit.ok("GET", f"/campaigns/{chosen}/versions")
    assert version["settings"]["settings"]["give_up_ringing"] is True
    assert approved(kit, chosen).settings.give_up_ringing
    mapped = dialer_settings(chosen, approved(kit, chosen), frozenset({"客服"}))
    assert mapped.mode is DialingMode.PREDICTIVE and mapped.give_up_ringing
    assert mapped.ring_timeout == COMPLIANT["ring_seconds"]  # the ring time is unchanged

    left_out = kit.campaign("车险续保二组", **COMPLIANT, dialing_mode="predictive")
    assert kit.ok("GET", f"/campaigns/{left_out}")["settings"]["give_up_ringing"] is False
    kit.approve(left_out)
    assert not gives_up(kit, left_out)  # off unless an operator chooses it


@pytest.mark.parametrize("mode", ["progressive", "power", "preview", "manual", "ivr_broadcast"])
def test_other_modes_keep_the_choice_as_saved_but_never_dial_with_it(kit: Kit, mode: str) -> None:
    campaign_id = kit.campaign(f"{mode} 回访", **COMPLIANT, dialing_mode=mode, give_up_ringing=True)
    assert kit.ok("GET", f"/campaigns/{campaign_id}")["settings"]["give_up_ringing"] is True
    kit.approve(campaign_id)
    assert approved(kit, campaign_id).settings.give_up_ringing
    assert not gives_up(kit, campaign_id)

    # Switched to predictive (and approved), the same choice takes effect.
    settings = kit.ok("GET", f"/campaigns/{campaign_id}")["settings"]
    kit.ok(
        "PATCH",
        f"/campaigns/{campaign_id}",
        json={"settings": settings | {"dialing_mode": "predictive"}},
    )
    kit.approve(campaign_id)
    assert gives_up(kit, campaign_id)


def test_the_choice_is_true_or_false_and_nothing_else(kit: Kit) -> None:
    for value in ("yes", 1, "true"):
        refused = kit.api.call(
            "POST",
            "/campaigns",
            json={
                "name": "越界",
                "settings": {"dialing_mode": "predictive", "give_up_ringing": value},
            },
        )
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["error"] == "validation-failed"
        assert "give_up_ringing" in refused.text
    assert kit.ok("GET", "/campaigns") == []


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, admin=True)


def test_switching_it_on_for_a_running_campaign_waits_for_the_next_approval(
    floor: Floor,
) -> None:
    """A running predictive campaign on SimSwitch dials without the choice; the edit
    that switches it on is a draft while version 1 dials on; its approval gives the
    running dialer version 2's settings, with the choice."""
    campaign_id = floor.campaign({"+8613300000001": (BUSY,)}, dialing_mode="predictive")
    kit = floor.kit
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(2)
    dialing = floor.platform.dialing
    assert dialing is not None
    first = dialing.dialer(campaign_id)
    assert first is not None and first.status().running
    assert first.settings.mode is DialingMode.PREDICTIVE and not first.settings.give_up_ringing

    settings = kit.ok("GET", f"/campaigns/{campaign_id}")["settings"]
    edited = kit.ok(
        "PATCH",
        f"/campaigns/{campaign_id}",
        json={"settings": settings | {"give_up_ringing": True}},
    )
    assert (edited["state"], edited["revision"], edited["version"]) == ("running", "draft", 1)
    assert edited["settings"]["give_up_ringing"] is True
    floor.run(1)
    still = dialing.dialer(campaign_id)
    assert still is first and not still.settings.give_up_ringing  # version 1 dials on

    renewed = kit.approve(campaign_id)
    assert (renewed["state"], renewed["revision"], renewed["version"]) == ("running", "none", 2)
    floor.run(1)
    second = dialing.dialer(campaign_id)
    assert second is not None and second is not first and second.status().running
    assert second.settings.give_up_ringing
    versions = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert [v["settings"]["settings"]["give_up_ringing"] for v in versions] == [False, True]
