"""The agent desktop and supervisor console through the REST API, on the simulated network.

The platform runs its CTI engine on SimSwitch with a virtual clock; the tests move time
through the app's own event loop, so every step is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.bootstrap import bootstrap
from callcenter.clock import VirtualClock
from callcenter.store.db import make_async_engine
from callcenter.store.tables import AgentStateRow, CallRow
from callcenter.switch.sim.customers import Customer, Fate, Outcome
from callcenter.switch.sim.network import Line, Remote
from callcenter.web.app import create_app
from cctest import FAST_HASHER, Api, seed_admin, sim_settings


class Center:
    def __init__(self, api: Api, clock: VirtualClock) -> None:
        self.api = api
        self.clock = clock
        telephony = api.platform.telephony
        assert telephony is not None
        self.telephony = telephony

    @property
    def portal(self) -> Any:
        portal = self.api.client.portal
        assert portal is not None
        return portal

    def run(self, seconds: float) -> None:
        self.portal.call(self.clock.advance_async, seconds)

    def call_in(self, number: str, talk: float = 600.0) -> None:
        """A customer dials the DID and talks ``talk`` seconds once connected."""
        switch, book = self.telephony.switch, self.telephony.book
        assert switch is not None and book is not None
        fate = Fate(Outcome.HUMAN, talk_time=talk)

        def make_remote(line: Line) -> Remote:
            return Customer(self.clock, line, fate, book.profile_for(number))

        did = self.telephony.settings.sim.did
        self.portal.call(lambda: switch.offer_call(number, did, None, make_remote))

    def phone(self, number: str) -> str:
        phones = self.telephony.phones
        assert phones is not None
        phones.register(number)
        return phones.dest(number)

    def snapshot(self, as_: str = "admin") -> dict[str, Any]:
        response = self.api.call("GET", "/supervisor/snapshot", as_=as_)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def center(tmp_path: Path, database_url: str) -> Iterator[Center]:
    clock = VirtualClock()
    platform = bootstrap(sim_settings(tmp_path, database_url), password_hasher=FAST_HASHER,
                         clock=clock)  # fmt: skip
    with TestClient(create_app(platform), client=("127.0.0.1", 50000)) as client:
        assert client.portal is not None
        client.portal.call(seed_admin, platform)
        yield Center(Api(client, platform), clock)


def _agents(snapshot: dict[str, Any]) -> dict[str, str]:
    return {a["agent_no"]: a["state"] for a in snapshot["agents"]}


def test_bot_agents_take_a_call_and_the_supervisor_sees_and_ends_it(center: Center) -> None:
    """A caller is queued, offered to a ready bot, connected; the supervisor force-hangs up."""
    api = center.api
    api.person("8001", "team_leader")
    assert _agents(center.snapshot("8001")) == {"2001": "ready", "2002": "ready"}

    center.call_in("13800138000")
    center.run(5)
    (call,) = center.snapshot("8001")["calls"]
    assert call["state"] == "connected"
    assert sorted(_agents(center.snapshot()).values()) == ["ready", "talking"]

    response = api.call("POST", f"/supervisor/calls/{call['call_id']}/hangup", as_="8001")
    assert response.status_code == 204, response.text
    center.run(1)
    assert center.snapshot()["calls"] == []
    (row,) = api.audit(action="supervisor.force_hangup")
    assert (row["actor_no"], row["target_type"], row["target_id"]) == (
        "8001",
        "call",
        call["call_id"],
    )


def test_the_agent_desktop_logs_in_goes_ready_and_gets_a_call(center: Center) -> None:
    """A human agent logs in from a phone of their choice, goes ready and is offered calls."""
    api = center.api
    agent_id = api.person("1001", "agent")
    group = api.call("POST", "/groups", json={"name": "service"}).json()["id"]
    api.call("POST", f"/groups/{group}/members", json={"agent_id": agent_id})
    phone = center.phone("1001")
    assert api.call("GET", "/desk/state", as_="1001").json()["state"] == "logged-out"
    assert api.call("POST", "/desk/login", as_="1001", json={"phone": phone}).status_code == 204
    assert api.call("GET", "/desk/state", as_="1001").json()["state"] == "not-ready"
    wrong = api.call("POST", "/desk/hold", as_="1001")
    assert wrong.status_code == 409 and wrong.json()["error"]
    assert api.call("POST", "/desk/ready", as_="1001").status_code == 204
    # The bots are busy with earlier callers, so the next caller reaches 1001.
    center.call_in("13900000001")
    center.call_in("13900000002")
    center.run(0.5)
    center.call_in("13900000003")
    center.run(6)
    assert api.call("GET", "/desk/state", as_="1001").json()["state"] == "talking"
    assert api.call("POST", "/desk/hold", as_="1001").status_code == 204
    assert api.call("GET", "/desk/state", as_="1001").json()["state"] == "on-hold"
    assert api.call("POST", "/desk/resume", as_="1001").status_code == 204
    assert api.call("POST", "/desk/hangup", as_="1001").status_code == 204
    center.run(1)
    assert api.call("GET", "/desk/state", as_="1001").json()["state"] == "wrap-up"
    actions = [r["action"] for r in api.audit(actor_no="1001") if r["action"].startswith("desk.")]
    assert actions == ["desk.hangup", "desk.resume", "desk.hold", "desk.ready", "desk.login"]


def test_a_retried_command_is_harmless_and_a_reused_id_is_refused(center: Center) -> None:
    api = center.api
    api.person("1001", "agent")
    phone = center.phone("1001")
    body = {"phone": phone, "command_id": "login-1"}
    assert api.call("POST", "/desk/login", as_="1001", json=body).status_code == 204
    assert api.call("POST", "/desk/login", as_="1001", json=body).status_code == 204
    reused = api.call("POST", "/desk/ready", as_="1001", json={"command_id": "login-1"})
    assert reused.status_code in (409, 422) and reused.json()["error"] == "command-id-reused"


def test_supervisor_controls_over_agents(center: Center) -> None:
    api = center.api
    api.person("8001", "team_leader")
    reason = {"reason": "meeting"}
    assert (
        api.call("POST", "/supervisor/agents/2001/not-ready", as_="8001", json=reason).status_code
        == 204
    )
    assert _agents(center.snapshot())["2001"] == "not-ready"
    assert api.call("POST", "/supervisor/agents/2001/ready", as_="8001").status_code == 204
    assert _agents(center.snapshot())["2001"] == "ready"
    assert api.call("POST", "/supervisor/agents/2002/logout", as_="8001").status_code == 204
    assert "2002" not in _agents(center.snapshot())
    unknown = api.call("POST", "/supervisor/agents/9999/ready", as_="8001")
    assert 400 <= unknown.status_code < 500
    api.person("1001", "agent")
    assert api.call("POST", "/supervisor/agents/2001/logout", as_="1001").status_code == 403


def test_call_records_and_the_agent_state_log_reach_the_database(center: Center) -> None:
    center.call_in("13800138000", talk=20)
    center.run(40)
    center.portal.call(center.telephony.drain)

    async def read() -> tuple[list[CallRow], list[AgentStateRow]]:
        engine = make_async_engine(center.api.platform.settings.database_url)
        sessions = async_sessionmaker(engine)
        async with sessions() as session:
            calls = list(await session.scalars(select(CallRow)))
            states = list(await session.scalars(select(AgentStateRow).order_by(AgentStateRow.id)))
        await engine.dispose()
        return calls, states

    calls, states = center.portal.call(read)
    (call,) = calls
    assert (
        call.state == "ended" and call.answered_at is not None and call.agent_no in ("2001", "2002")
    )
    talked = [(s.from_state, s.to_state) for s in states if s.agent_no == call.agent_no]
    assert talked == [
        ("logged-out", "not-ready"),
        ("not-ready", "ready"),
        ("ready", "reserved"),
        ("reserved", "talking"),
        ("talking", "wrap-up"),
        ("wrap-up", "ready"),
    ]
    assert call.ended_at is not None and call.cause == "normal"


def test_a_reconnecting_console_gets_the_snapshot_then_live_changes(center: Center) -> None:
    """The server is the truth: connect, receive the whole picture, then the deltas."""
    api = center.api
    api.person("8001", "team_leader")
    api.person("1001", "agent")
    with api.client.websocket_connect("/api/v1/events", headers=api.headers("8001")) as ws:
        assert ws.receive_json()["type"] == "hello"
        snapshot = ws.receive_json()
        assert snapshot["type"] == "snapshot"
        assert _agents(snapshot["data"]) == {"2001": "ready", "2002": "ready"}
        api.call("POST", "/supervisor/agents/2001/not-ready", as_="8001", json={"reason": "rest"})
        ws.send_json({"type": "ping"})
        changes = []
        while (message := ws.receive_json())["type"] != "pong":
            changes.append(message)
        states = [(m["data"]["agent_no"], m["data"]["state"]) for m in changes
                  if m["type"] == "agent.state"]  # fmt: skip
        assert states == [("2001", "not-ready")]
    with api.client.websocket_connect("/api/v1/events", headers=api.headers("1001")) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # an agent gets no snapshot
