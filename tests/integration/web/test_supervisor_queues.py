"""The supervisor console names queues: the inbound service queue, and each campaign's.

The live picture knows queues by id (``service``, ``campaign:<id>``); /supervisor/queues
maps each to what people call it, including a campaign created after the console opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.bootstrap import bootstrap
from callcenter.clock import VirtualClock
from callcenter.web.app import create_app
from cctest import FAST_HASHER, Api, seed_admin, sim_settings


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Api]:
    """The platform with its CTI engine on the simulated network."""
    platform = bootstrap(sim_settings(tmp_path, database_url, bots=0),
                         password_hasher=FAST_HASHER, clock=VirtualClock())  # fmt: skip
    with TestClient(create_app(platform), client=("127.0.0.1", 50000)) as client:
        assert client.portal is not None
        client.portal.call(seed_admin, platform)
        yield Api(client, platform)


def _names(api: Api, as_: str = "admin") -> list[dict[str, Any]]:
    response = api.call("GET", "/supervisor/queues", as_=as_)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def test_the_console_names_the_service_queue_and_each_campaign(floor: Api) -> None:
    """Before any campaign only the inbound queue is listed; a campaign created later is
    listed under its queue id with its name."""
    assert _names(floor) == [
        {"queue_id": "service", "kind": "inbound", "campaign_id": None, "name": ""}
    ]
    created = floor.call("POST", "/campaigns", json={"name": "意外险回访", "settings": {}})
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    assert _names(floor)[1:] == [
        {
            "queue_id": f"campaign:{campaign_id}",
            "kind": "campaign",
            "campaign_id": campaign_id,
            "name": "意外险回访",
        }
    ]


def test_queue_names_need_the_monitoring_permission(floor: Api) -> None:
    floor.person("1001", "agent")
    response = floor.call("GET", "/supervisor/queues", as_="1001")
    assert response.status_code == 403, response.text


def test_without_telephony_only_the_campaigns_are_named(api: Api) -> None:
    """A platform with no switch has no inbound queue; its campaigns still have names."""
    created = api.call("POST", "/campaigns", json={"name": "续保提醒", "settings": {}})
    assert created.status_code == 201, created.text
    assert [(q["kind"], q["name"]) for q in _names(api)] == [("campaign", "续保提醒")]
