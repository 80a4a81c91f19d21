"""A preview campaign's own countdown and skip delay, end to end: set over the API,
frozen in the approved version, and kept by the platform's dialing on SimSwitch.

A mortgage campaign gives its agent 10 s to decide and brings a skipped lead back
after half a minute; a campaign that sets neither keeps the platform's (here 30 s and
45 s). Changing a running campaign's countdown needs a new approval, as every setting.
The virtual clock reads Unix seconds on a weekday morning in Shanghai; agent 1001 is
logged in from a browser's virtual phone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcenter.telephony import SERVICE_GROUP
from integration.campaigns.campaign_kit import COMPLIANT, Kit
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_preview_dialing import open_preview_floor

# The store is not what this is about.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

AGENT = "1001"
PLATFORM_TIMEOUT = 30.0
PLATFORM_SKIP_DELAY = 45.0
PHONES = ("+8613600000001", "+8613600000002")


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_preview_floor(
        tmp_path, database_url, timeout=PLATFORM_TIMEOUT, skip_delay=PLATFORM_SKIP_DELAY
    )


def running_preview(floor: Floor, **timings: Any) -> int:
    """A preview campaign over PHONES with these timings, approved and started, with
    1001 ready in its group."""
    kit = floor.kit
    agent_id = floor.api.person(AGENT, "agent", name="张伟")
    group = kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
    campaign_id = kit.campaign(
        "房贷预审",
        **COMPLIANT,
        group_ids=[group["id"]],
        windows=[{"start": "00:00", "end": "23:59"}],
        dialing_mode="preview",
        **timings,
    )
    kit.add_leads(campaign_id, *({"phone": phone} for phone in PHONES))
    kit.approve(campaign_id)
    phone = kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=AGENT)["phone"]
    kit.ok("POST", "/desk/login", 204, json={"phone": phone}, as_=AGENT)
    kit.ok("POST", "/desk/ready", 204, as_=AGENT)
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    return campaign_id


def offer(floor: Floor) -> dict[str, Any] | None:
    body: dict[str, Any] | None = floor.kit.ok("GET", "/desk/preview", as_=AGENT)
    return body


def next_offer(floor: Floor, within: float) -> dict[str, Any]:
    """Move the clock a second at a time until the agent has a lead on preview."""
    for _ in range(int(within)):
        floor.run(1.0)
        if (shown := offer(floor)) is not None:
            return shown
    raise AssertionError(f"no lead on preview within {within} s")


def countdown(shown: dict[str, Any]) -> float:
    """Seconds from the offer to its deadline, as the desktop reads them."""
    offered = dt.datetime.fromisoformat(shown["offered_at"])
    return (dt.datetime.fromisoformat(shown["expires_at"]) - offered).total_seconds()


def skip_both_and_wait(floor: Floor, within: float) -> tuple[dict[str, Any], float]:
    """Skip the two leads in turn; the first to come back, and seconds since its skip."""
    floor.run(1.5)
    first = offer(floor)
    assert first is not None
    floor.kit.ok("POST", "/desk/preview/skip", 204, as_=AGENT)
    skipped_at = floor.clock.now()
    floor.run(1.0)
    second = offer(floor)
    assert second is not None and second["lead"]["id"] != first["lead"]["id"]
    floor.kit.ok("POST", "/desk/preview/skip", 204, as_=AGENT)
    again = next_offer(floor, within)
    assert again["lead"]["id"] == first["lead"]["id"]
    return again, floor.clock.now() - skipped_at


def test_the_campaigns_countdown_and_skip_delay_are_kept_and_a_change_needs_approval(
    floor: Floor,
) -> None:
    campaign_id = running_preview(floor, preview_timeout_seconds=10, preview_skip_delay_minutes=0.5)
    floor.run(1.5)
    shown = offer(floor)
    assert shown is not None and countdown(shown) == 10.0
    assert 8.5 <= shown["seconds_left"] <= 10.0
    again, after = skip_both_and_wait(floor, within=40)
    assert 30.0 <= after <= 31.5  # the campaign's 30 s, not the platform's 45
    assert countdown(again) == 10.0

    # A running campaign's countdown changes only with its next approved version.
    kit = floor.kit
    edited = kit.ok(
        "PATCH",
        f"/campaigns/{campaign_id}",
        json={"settings": kit.ok("GET", f"/campaigns/{campaign_id}")["settings"]
              | {"preview_timeout_seconds": 60}},
    )  # fmt: skip
    assert (edited["revision"], edited["version"]) == ("draft", 1)
    assert edited["settings"]["preview_timeout_seconds"] == 60
    kit.ok("POST", "/desk/preview/skip", 204, as_=AGENT)
    assert countdown(next_offer(floor, within=5)) == 10.0  # version 1 still dials

    kit.approve(campaign_id)  # the new version's dialer withdraws the offer, offers again
    assert countdown(next_offer(floor, within=5)) == 60.0
    versions = kit.ok("GET", f"/campaigns/{campaign_id}/versions")
    assert [v["settings"]["settings"]["preview_timeout_seconds"] for v in versions] == [10, 60]


def test_a_campaign_that_sets_neither_keeps_the_platforms_timings(floor: Floor) -> None:
    running_preview(floor)
    floor.run(1.5)
    shown = offer(floor)
    assert shown is not None and countdown(shown) == PLATFORM_TIMEOUT
    _, after = skip_both_and_wait(floor, within=PLATFORM_SKIP_DELAY + 5)
    assert PLATFORM_SKIP_DELAY <= after <= PLATFORM_SKIP_DELAY + 1.5


def test_the_api_takes_returns_and_bounds_both_timings(kit: Kit) -> None:
    """Created with both, read back; saved without them, they are null (the platform's
    defaults); out of bounds, the request is refused with the usual 422."""
    created = kit.ok(
        "POST",
        "/campaigns",
        201,
        json={"name": "满意度调查", "settings": {"dialing_mode": "preview",
              "preview_timeout_seconds": 10, "preview_skip_delay_minutes": 1440}},
    )  # fmt: skip
    settings = kit.ok("GET", f"/campaigns/{created['id']}")["settings"]
    assert (settings["preview_timeout_seconds"], settings["preview_skip_delay_minutes"]) == (
        10,
        1440,
    )
    cleared = kit.ok(
        "PATCH", f"/campaigns/{created['id']}", json={"settings": {"dialing_mode": "preview"}}
    )
    assert cleared["settings"]["preview_timeout_seconds"] is None
    assert cleared["settings"]["preview_skip_delay_minutes"] is None
    for field, value in (
        ("preview_timeout_seconds", 4),
        ("preview_timeout_seconds", 601),
        ("preview_timeout_seconds", "30"),
        ("preview_skip_delay_minutes", -1),
        ("preview_skip_delay_minutes", 7 * 24 * 60 + 1),
    ):
        refused = kit.api.call(
            "POST", "/campaigns", json={"name": "越界", "settings": {field: value}}
        )
        assert refused.status_code == 422, (field, value, refused.text)
        body = refused.json()
        assert body["error"] == "validation-failed"
        assert field in refused.text
    assert kit.ok("GET", f"/campaigns/{created['id']}")["version"] == 0
