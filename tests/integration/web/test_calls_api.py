"""The call history API and the browser's virtual phone, on both database backends.

A supervisor reads every call; an agent reads the history of a number only while
handling a call with it. The virtual phone rings until the desktop's Answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.bootstrap import bootstrap
from callcenter.clock import VirtualClock
from callcenter.store.tables import CallRow, LegRow
from callcenter.switch.sim.customers import Customer, Fate, Outcome
from callcenter.switch.sim.network import Line, Remote
from callcenter.telephony import Telephony
from callcenter.web.app import create_app
from cctest import FAST_HASHER, Api, seed_admin, sim_settings

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _call(call_id: str, caller: str, minutes: int, agent_no: str | None = "1001") -> CallRow:
    created = T0 + dt.timedelta(minutes=minutes)
    return CallRow(
        call_id=call_id, direction="inbound", state="ended", caller=caller,
        dialled="4008001000", created_at=created, queue_id="service",
        answered_at=created + dt.timedelta(seconds=10),
        ended_at=created + dt.timedelta(seconds=70), agent_no=agent_no,
        agents=[agent_no] if agent_no else [], cause="normal",
    )  # fmt: skip


def _leg(leg_id: str, call_id: str, minutes: int, purpose: str) -> LegRow:
    return LegRow(
        leg_id=leg_id, call_id=call_id, purpose=purpose, dest="x",
        created_at=T0 + dt.timedelta(minutes=minutes), agent_no=None,
    )  # fmt: skip


def _store(api: Api, *rows: CallRow | LegRow) -> None:
    async def write() -> None:
        async with api.platform.uow() as uow:
            uow.session.add_all(rows)
            await uow.commit()

    assert api.client.portal is not None
    api.client.portal.call(write)


def test_a_supervisor_reads_a_numbers_calls_newest_first_with_their_legs(api: Api) -> None:
    api.person("8001", "team_leader")
    _store(
        api,
        _call("c1", "13800000001", 0),
        _call("c2", "13800000002", 5),
        _call("c3", "13800000001", 10, agent_no=None),
        _leg("c1-b", "c1", 1, "agent"),
        _leg("c1-a", "c1", 0, "customer"),
    )
    response = api.call("GET", "/calls", as_="8001", params={"number": "13800000001"})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 2
    assert [c["call_id"] for c in page["items"]] == ["c3", "c1"]
    older = page["items"][1]
    assert [leg["leg_id"] for leg in older["legs"]] == ["c1-a", "c1-b"]
    assert older["talk_seconds"] == 60.0 and older["agents"] == ["1001"]

    limited = api.call("GET", "/calls", as_="8001", params={"limit": "1", "offset": "1"}).json()
    assert limited["total"] == 3 and [c["call_id"] for c in limited["items"]] == ["c2"]
    by_agent = api.call("GET", "/calls", as_="8001", params={"agent_no": "1001"}).json()
    assert {c["call_id"] for c in by_agent["items"]} == {"c1", "c2"}


def test_an_agent_without_a_call_finds_no_history(api: Api) -> None:
    """The history is narrowed to the numbers an agent handles now: with no call, none."""
    api.person("1001", "agent")
    _store(api, _call("c1", "13800000001", 0))
    for params in ({"number": "13800000001"}, {}, {"agent_no": "1001"}):
        found = api.call("GET", "/calls", as_="1001", params=params)
        assert found.status_code == 200, found.text
        assert found.json() == {"items": [], "total": 0}
    assert api.client.get("/api/v1/calls").status_code == 401


class Center:
    def __init__(self, api: Api, clock: VirtualClock) -> None:
        self.api, self.clock = api, clock
        telephony = api.platform.telephony
        assert telephony is not None
        self.telephony: Telephony = telephony

    def run(self, seconds: float) -> None:
        assert self.api.client.portal is not None
        self.api.client.portal.call(self.clock.advance_async, seconds)

    def call_in(self, number: str) -> None:
        switch, book = self.telephony.switch, self.telephony.book
        assert switch is not None and book is not None
        fate = Fate(Outcome.HUMAN, talk_time=600.0)

        def make_remote(line: Line) -> Remote:
            return Customer(self.clock, line, fate, book.profile_for(number))

        did = self.telephony.settings.sim.did
        assert self.api.client.portal is not None
        self.api.client.portal.call(lambda: switch.offer_call(number, did, None, make_remote))

    def state(self, agent_no: str) -> dict[str, Any]:
        response = self.api.call("GET", "/desk/state", as_=agent_no)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def center(tmp_path: Path, database_url: str) -> Iterator[Center]:
    """The platform on the simulated network with no bots: every call is the human's."""
    clock = VirtualClock()
    settings = sim_settings(tmp_path, database_url, bots=0)
    platform = bootstrap(settings, password_hasher=FAST_HASHER, clock=clock)
    with TestClient(create_app(platform), client=("127.0.0.1", 50000)) as client:
        assert client.portal is not None
        client.portal.call(seed_admin, platform)
        yield Center(Api(client, platform), clock)


def test_a_browser_agent_answers_on_the_virtual_phone_and_reads_the_callers_history(
    center: Center,
) -> None:
    """The virtual phone rings until Answer; while handling the call the agent reads the
    caller's history (and no one else's), and afterwards the supervisor finds the call."""
    api = center.api
    agent_id = api.person("1001", "agent")
    api.person("8001", "team_leader")
    group = api.call("POST", "/groups", json={"name": "service"}).json()["id"]
    api.call("POST", f"/groups/{group}/members", json={"agent_id": agent_id})

    phone = api.call("POST", "/desk/virtual-phone", as_="1001").json()["phone"]
    assert phone == "agent:browser-1001"
    again = api.call("POST", "/desk/virtual-phone", as_="1001", json={"auto_answer": False})
    assert again.json()["phone"] == phone  # asking again keeps the same phone
    assert api.call("POST", "/desk/login", as_="1001", json={"phone": phone}).status_code == 204
    nothing = api.call("POST", "/desk/answer", as_="1001")
    assert nothing.status_code == 409 and nothing.json()["error"] == "agent-not-on-call"
    assert api.call("POST", "/desk/ready", as_="1001").status_code == 204

    with api.client.websocket_connect("/api/v1/events", headers=api.headers("1001")) as ws:
        assert ws.receive_json()["type"] == "hello"
        center.call_in("13912345678")
        center.run(10)  # a bot would have answered long ago; this phone still rings
        ws.send_json({"type": "ping"})
        hints = []
        while (message := ws.receive_json())["type"] != "pong":
            hints.append(message)
    assert {(m["type"], m["data"]["agent_no"]) for m in hints} == {("desk.changed", "1001")}

    ringing = center.state("1001")
    assert ringing["state"] == "reserved"
    assert ringing["call"]["caller"] == "13912345678" and ringing["call"]["state"] != "connected"
    assert api.client.portal is not None
    api.client.portal.call(center.telephony.drain)
    history = api.call("GET", "/calls", as_="1001", params={"number": "13912345678"})
    assert history.status_code == 200, history.text
    assert [c["caller"] for c in history.json()["items"]] == ["13912345678"]
    everything = api.call("GET", "/calls", as_="1001").json()
    assert [c["caller"] for c in everything["items"]] == ["13912345678"]
    other = api.call("GET", "/calls", as_="1001", params={"number": "13900000000"})
    assert other.json()["total"] == 0

    answered = api.call("POST", "/desk/answer", as_="1001", json={"command_id": "ans-1"})
    assert answered.status_code == 204, answered.text
    center.run(1)
    talking = center.state("1001")
    assert talking["state"] == "talking" and talking["call"]["state"] == "connected"
    retried = api.call("POST", "/desk/answer", as_="1001", json={"command_id": "ans-1"})
    assert retried.status_code == 204  # the same command again does nothing twice
    twice = api.call("POST", "/desk/answer", as_="1001")
    assert twice.status_code == 409 and twice.json()["error"] == "call-already-answered"

    assert api.call("POST", "/desk/hangup", as_="1001").status_code == 204
    center.run(1)
    assert center.state("1001")["state"] == "wrap-up"
    closed = api.call("GET", "/calls", as_="1001", params={"number": "13912345678"})
    assert closed.json()["total"] == 0  # the call is over: the history closes again
    api.client.portal.call(center.telephony.drain)
    (record,) = api.call("GET", "/calls", as_="8001", params={"number": "13912345678"}).json()[
        "items"
    ]
    assert record["agents"] == ["1001"] and record["end_reason"] == "agent-hung-up"
    assert record["answered_at"] and record["ended_at"]
    assert {(leg["purpose"], leg["dest"]) for leg in record["legs"]} == {
        ("agent", phone),
        ("customer", "13912345678"),
    }
    assert {row["actor_no"] for row in api.audit(action="call.answer")} == {"1001"}


def test_a_phone_that_answers_by_itself_cannot_be_answered_from_the_desktop(
    center: Center,
) -> None:
    """A bot's (or a SIP) phone is picked up on the handset; the desktop's Answer says so."""
    api = center.api
    agent_id = api.person("1001", "agent")
    group = api.call("POST", "/groups", json={"name": "service"}).json()["id"]
    api.call("POST", f"/groups/{group}/members", json={"agent_id": agent_id})
    phones = center.telephony.phones
    assert phones is not None
    phones.register("5555")
    assert api.call(
        "POST", "/desk/login", as_="1001", json={"phone": "agent:5555"}
    ).status_code == (204)
    api.call("POST", "/desk/ready", as_="1001")
    center.call_in("13912345678")
    center.run(0.1)
    assert center.state("1001")["state"] == "reserved"
    refused = api.call("POST", "/desk/answer", as_="1001", headers={"Accept-Language": "en"})
    assert refused.status_code == 409 and refused.json()["error"] == "answer-on-the-phone"
    assert "handset" in refused.json()["message"]
