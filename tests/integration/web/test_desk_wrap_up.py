"""A desktop opened during wrap-up (话后处理) gets the call just ended back.

The engine forgets a call when it ends, so GET /desk/state has no ``call`` in wrap-up; a
desktop reloaded then (or opened on another PC) still needs the call for its screen pop
and the disposition form. /desk/state names it as ``last_call`` (with ``last_queue``)
while the agent wraps it up, and only then. The platform runs on SimSwitch with a
virtual clock and no bot agents; 1001 is the one person at a desk, on a browser's
virtual phone that answers by itself; the customers hang up by themselves. Wrap-up
lasts the platform's default 10 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcenter.telephony import SERVICE_GROUP
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_preview_dialing import AGENT, next_offer, preview_campaign
from integration.web.test_desk_and_supervisor import Center
from integration.web.test_desk_queue_names import desk_state, open_desk_floor

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the store is not the subject

WRAP_UP = 10.0  # the platform's default


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    with open_desk_floor(tmp_path, database_url) as opened:
        assert opened.api.platform.settings.telephony.wrap_up_seconds == WRAP_UP
        yield opened


def until_state(floor: Floor, state: str, within: float) -> dict[str, Any]:
    """Move the clock half a second at a time until the agent is in ``state``."""
    for _ in range(int(within * 2)):
        body = desk_state(floor)
        if body["state"] == state:
            return body
        floor.run(0.5)
    raise AssertionError(f"{AGENT} not {state} within {within} s: {desk_state(floor)}")


def test_a_campaign_call_ended_by_the_customer_is_named_through_its_wrap_up(
    floor: Floor,
) -> None:
    """1001 dials a previewed lead, the customer hangs up after 5 s: during wrap-up a
    fresh read of the desk names the ended call with its campaign and lead (a reloaded
    desktop can record the result); another agent's desk does not; once the wrap-up is
    over neither does 1001's."""
    campaign_id = preview_campaign(floor)
    floor.api.person("1002", "agent")
    assert next_offer(floor, within=10) is not None
    floor.kit.ok("POST", "/desk/preview/accept", as_=AGENT)
    talking = until_state(floor, "talking", within=6)
    call = talking["call"]
    assert call["campaign_id"] == str(campaign_id) and call["lead_id"] is not None, call
    assert talking["last_call"] is None and talking["last_queue"] is None

    wrapping = until_state(floor, "wrap-up", within=8)
    assert (wrapping["call"], wrapping["queue"]) == (None, None)
    last = wrapping["last_call"]
    assert (last["call_id"], last["campaign_id"], last["lead_id"]) == (
        call["call_id"],
        str(campaign_id),
        call["lead_id"],
    )
    assert (last["direction"], last["dialled"], last["state"]) == (
        call["direction"],
        call["dialled"],
        "ended",
    )
    assert last["end_reason"] == "customer-hung-up", last
    assert wrapping["last_queue"] == {
        "queue_id": f"campaign:{campaign_id}",
        "kind": "campaign",
        "campaign_id": campaign_id,
        "name": "车险续保回访",
    }
    assert desk_state(floor, "1002") == {"agent_no": "1002", "state": "logged-out"}

    floor.run(WRAP_UP + 1)
    after = desk_state(floor)
    assert after["state"] != "wrap-up", after
    assert (after["last_call"], after["last_queue"]) == (None, None)


def test_an_inbound_call_ended_by_the_customer_is_named_through_its_wrap_up(
    floor: Floor,
) -> None:
    """A customer rings the service line, talks 3 s with 1001 and hangs up: the wrap-up's
    desk names the inbound call and its queue; the wrap-up over, it names none."""
    agent_id = floor.api.person(AGENT, "agent")
    group = floor.kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    floor.kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
    phone = floor.kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=AGENT)
    floor.kit.ok("POST", "/desk/login", 204, json={"phone": phone["phone"]}, as_=AGENT)
    floor.kit.ok("POST", "/desk/ready", 204, as_=AGENT)
    Center(floor.api, floor.clock).call_in("13900000001", talk=3.0)
    call = until_state(floor, "talking", within=6)["call"]

    wrapping = until_state(floor, "wrap-up", within=6)
    last = wrapping["last_call"]
    assert wrapping["call"] is None and last["call_id"] == call["call_id"], wrapping
    assert (last["direction"], last["caller"], last["queue_id"], last["campaign_id"]) == (
        "inbound",
        "13900000001",
        "service",
        None,
    )
    assert wrapping["last_queue"] == {
        "queue_id": "service",
        "kind": "inbound",
        "campaign_id": None,
        "name": "",
    }

    floor.run(WRAP_UP + 1)
    after = desk_state(floor)
    assert (after["state"], after["last_call"], after["last_queue"]) == ("ready", None, None)
