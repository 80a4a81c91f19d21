"""The agent desktop names the queue of the call in hand, without the console's permission.

An agent does not hold ``supervisor.monitor``, so it cannot read /supervisor/queues;
GET /desk/state names the call's queue the same way: a campaign's call (a preview call
too, which waits in no queue) by the campaign's name, an inbound call by its queue id
(the UI translates it). The platform runs on SimSwitch with a virtual clock and no bot
agents; 1001 is the one person at a desk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.bootstrap import bootstrap
from callcenter.clock import VirtualClock
from callcenter.telephony import SERVICE_GROUP
from callcenter.web.app import create_app
from cctest import FAST_HASHER, Api, seed_admin, sim_settings
from integration.campaigns.test_dialing import MORNING, Floor
from integration.campaigns.test_preview_dialing import AGENT, next_offer, preview_campaign
from integration.web.test_desk_and_supervisor import Center

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the store is not the subject


@contextlib.contextmanager
def open_desk_floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    """The platform on SimSwitch with a virtual clock, no bot agents, the admin seeded."""
    settings = sim_settings(tmp_path, database_url, bots=0)
    clock = VirtualClock(MORNING)
    platform = bootstrap(settings, password_hasher=FAST_HASHER, clock=clock)
    with TestClient(create_app(platform), client=("127.0.0.1", 50000)) as client:
        assert client.portal is not None
        client.portal.call(seed_admin, platform)
        yield Floor(Api(client, platform), clock)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    with open_desk_floor(tmp_path, database_url) as opened:
        yield opened


def desk_state(floor: Floor, agent_no: str = AGENT) -> dict[str, Any]:
    body: dict[str, Any] = floor.kit.ok("GET", "/desk/state", as_=agent_no)
    return body


def test_a_campaign_call_on_the_desk_names_its_campaign(floor: Floor) -> None:
    """1001 dials a previewed lead: the desk names the campaign, though the agent may not
    read the console's queue names; after the call the desk names no queue."""
    campaign_id = preview_campaign(floor)
    assert floor.api.call("GET", "/supervisor/queues", as_=AGENT).status_code == 403
    assert next_offer(floor, within=10) is not None
    floor.kit.ok("POST", "/desk/preview/accept", as_=AGENT)
    floor.run(4.0)
    state = desk_state(floor)
    assert state["state"] == "talking" and state["call"]["queue_id"] is None, state
    assert state["queue"] == {
        "queue_id": f"campaign:{campaign_id}",
        "kind": "campaign",
        "campaign_id": campaign_id,
        "name": "车险续保回访",
    }
    floor.kit.ok("POST", "/desk/hangup", 204, as_=AGENT)
    floor.run(1.0)
    state = desk_state(floor)
    assert (state["state"], state["call"], state["queue"]) == ("wrap-up", None, None)


def test_an_inbound_call_on_the_desk_names_its_queue_by_id(floor: Floor) -> None:
    """A customer rings the service line and reaches 1001: the desk gives the inbound
    queue's id for the UI to name; before the call it names no queue."""
    agent_id = floor.api.person(AGENT, "agent")
    group = floor.kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    floor.kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
    phone = floor.kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=AGENT)
    floor.kit.ok("POST", "/desk/login", 204, json={"phone": phone["phone"]}, as_=AGENT)
    floor.kit.ok("POST", "/desk/ready", 204, as_=AGENT)
    assert desk_state(floor)["queue"] is None
    Center(floor.api, floor.clock).call_in("13900000001")
    floor.run(4.0)
    state = desk_state(floor)
    assert state["state"] == "talking" and state["call"]["caller"] == "13900000001", state
    assert state["queue"] == {
        "queue_id": "service",
        "kind": "inbound",
        "campaign_id": None,
        "name": "",
    }
