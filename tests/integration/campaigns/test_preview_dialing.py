"""Preview dialing end to end: a preview campaign runs in the platform on SimSwitch, a
person at the agent desktop sees each lead first (over the event WebSocket and the
REST read), skips one, dials the next, and lets the timer dial a third.

No bot agents: the one ready agent is 1001, logged in from a browser's virtual phone
that answers by itself. The virtual clock reads Unix seconds (a weekday morning in
Shanghai); a lead's offer lasts 10 s and a skipped lead comes back after 20 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcenter.switch.sim.customers import Fate, Outcome
from callcenter.telephony import SERVICE_GROUP
from integration.campaigns.test_dialing import Floor, open_floor

AGENT = "1001"
TIMEOUT = 10.0
SKIP_DELAY = 20.0
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=5.0)
LEADS = {
    "+8613600000001": {"name": "王芳", "city": "杭州", "policy": "车险续保"},
    "+8613600000002": {"name": "李雷", "city": "苏州"},
}


def open_preview_floor(
    tmp_path: Path, database_url: str, *, timeout: float, skip_delay: float
) -> Iterator[Floor]:
    """A floor without bot agents whose platform previews with these defaults."""
    for floor in open_floor(tmp_path, database_url, bots=0, admin=True):
        dialing = floor.platform.dialing
        assert dialing is not None
        dialing.preview_timeout = timeout
        dialing.preview_skip_delay = skip_delay
        yield floor


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_preview_floor(tmp_path, database_url, timeout=TIMEOUT, skip_delay=SKIP_DELAY)


def preview_campaign(floor: Floor, *, start: bool = True) -> int:
    """A preview campaign over LEADS, approved (and started), with 1001 ready in its group."""
    kit = floor.kit
    agent_id = floor.api.person(AGENT, "agent", name="张伟")
    group = kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
    campaign_id = kit.campaign(
        "车险续保回访",
        **{
            "safe_harbour_text": "您好，这里是星河保险，稍后回电 4008001234",
            "seller_name": "星河保险",
            "callback_number": "4008001234",
            "caller_ids": ["+861058001234"],
            "ring_seconds": 25,
            "drop_timeout": 2,
            "group_ids": [group["id"]],
            "windows": [{"start": "00:00", "end": "23:59"}],
            "dialing_mode": "preview",
        },
    )
    for phone in LEADS:
        floor.script(phone, TALK)
    kit.add_leads(
        campaign_id, *({"phone": phone, "fields": fields} for phone, fields in LEADS.items())
    )
    kit.approve(campaign_id)
    phone = kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=AGENT)["phone"]
    kit.ok("POST", "/desk/login", 204, json={"phone": phone}, as_=AGENT)
    kit.ok("POST", "/desk/ready", 204, as_=AGENT)
    if start:
        kit.ok("POST", f"/campaigns/{campaign_id}/start")
    return campaign_id


def delivered(ws: Any) -> list[dict[str, Any]]:
    """Everything delivered so far: a ping's pong queues behind all earlier events."""
    ws.send_json({"type": "ping"})
    messages: list[dict[str, Any]] = []
    while (message := ws.receive_json())["type"] != "pong":
        messages.append(message)
    return messages


def previews(ws: Any) -> list[dict[str, Any]]:
    return [m for m in delivered(ws) if m["type"].startswith("preview.")]


def offer(floor: Floor) -> dict[str, Any] | None:
    body: dict[str, Any] | None = floor.kit.ok("GET", "/desk/preview", as_=AGENT)
    return body


def next_offer(floor: Floor, within: float) -> dict[str, Any] | None:
    """Move the clock a second at a time until the agent has a lead on preview."""
    for _ in range(int(within)):
        floor.run(1.0)
        if (shown := offer(floor)) is not None:
            return shown
    return None


def test_the_agent_sees_each_lead_first_skips_one_and_dials_the_next(floor: Floor) -> None:
    api = floor.api
    campaign_id = preview_campaign(floor, start=False)
    with api.client.websocket_connect("/api/v1/events", headers=api.headers(AGENT)) as ws:
        assert ws.receive_json()["type"] == "hello"
        floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
        floor.run(1.5)

        (offered,) = previews(ws)
        assert offered["type"] == "preview.offered"
        data = offered["data"]
        assert data["agent_no"] == AGENT and data["campaign_id"] == campaign_id
        assert data["campaign_name"] == "车险续保回访" and data["seconds_left"] > 8
        assert "lead" not in data  # every agent hears the event; the lead is read by 1001
        first = offer(floor)
        assert first is not None and first["offer_id"] == data["offer_id"]
        assert first["campaign"] == {"id": campaign_id, "name": "车险续保回访"}
        assert first["expires_at"] == data["expires_at"] and 8 < first["seconds_left"] <= 10
        skipped_phone = first["lead"]["phone"]
        expected = dict(LEADS[skipped_phone])
        assert first["lead"]["name"] == expected.pop("name")
        assert first["lead"]["fields"] == expected
        assert floor.view(campaign_id)["dials"] == 0  # nothing is dialled before the agent

        floor.kit.ok("POST", "/desk/preview/skip", 204, json={"reason": "客户要求晚上再打"},
                     as_=AGENT)  # fmt: skip
        (ended,) = previews(ws)
        assert ended["type"] == "preview.ended" and ended["data"]["reason"] == "skipped"
        floor.run(1.0)
        second = offer(floor)
        assert second is not None and second["lead"]["phone"] != skipped_phone

        placed = floor.kit.ok("POST", "/desk/preview/accept", as_=AGENT)
        assert placed["campaign_id"] == campaign_id
        assert placed["lead_id"] == second["lead"]["id"]
        assert offer(floor) is None
        floor.run(4.0)
        state = floor.kit.ok("GET", "/desk/state", as_=AGENT)
        assert state["state"] == "talking", state
        call = state["call"]
        assert call["call_id"] == placed["call_id"] and call["dialled"] == second["lead"]["phone"]
        assert (call["campaign_id"], call["lead_id"]) == (str(campaign_id), str(placed["lead_id"]))
        kinds = [(m["type"], m["data"].get("reason")) for m in previews(ws)]
        assert kinds == [("preview.offered", None), ("preview.ended", "accepted")]

    leads = floor.leads(campaign_id)
    assert leads[skipped_phone]["attempts_lifetime"] == 0  # skipped: never dialled
    assert leads[second["lead"]["phone"]]["attempts_lifetime"] == 1
    audit = [(r["action"], r["target_id"]) for r in api.audit(actor_no=AGENT)]
    assert ("preview.accept", str(placed["lead_id"])) in audit
    assert ("preview.skip", str(first["lead"]["id"])) in audit


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_the_skipped_lead_comes_back_and_the_timer_dials_it(floor: Floor) -> None:
    campaign_id = preview_campaign(floor)
    floor.run(1.5)
    first = offer(floor)
    assert first is not None
    floor.kit.ok("POST", "/desk/preview/skip", 204, as_=AGENT)
    floor.run(1.0)
    second = offer(floor)
    assert second is not None
    floor.kit.ok("POST", "/desk/preview/accept", as_=AGENT)
    floor.run(12.0)  # 5 s of talk, then wrap-up: no offer while the agent is busy
    assert offer(floor) is None
    floor.kit.ok("POST", "/desk/ready", 204, as_=AGENT)  # wrap-up cut short
    again = next_offer(floor, within=SKIP_DELAY)  # the skipped lead is due again
    assert again is not None and again["lead"]["id"] == first["lead"]["id"]
    events = floor.events
    mark = len(events)

    floor.run(TIMEOUT + 1.0)  # nobody clicks: the call is placed at the deadline
    ended = [e for e in events[mark:] if e.type == "preview.ended"]
    assert [e.data["reason"] for e in ended] == ["dialled-on-timeout"]
    assert ended[0].permission == "desk.use" and ended[0].data["call_id"]
    floor.run(3.0)
    state = floor.kit.ok("GET", "/desk/state", as_=AGENT)
    assert state["call"] is not None and state["call"]["lead_id"] == str(first["lead"]["id"])
    assert floor.leads(campaign_id)[first["lead"]["phone"]]["attempts_lifetime"] == 1


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_the_buttons_need_their_permission_and_an_offer(floor: Floor) -> None:
    api, kit = floor.api, floor.kit
    kit.ok("POST", "/roles", 201, json={"code": "viewer", "name": "只看", "permissions":
                                        ["desk.use"]})  # fmt: skip
    api.person("1002", "viewer")
    for path in ("/desk/preview/accept", "/desk/preview/skip"):
        refused = api.call("POST", path, as_="1002")
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
    assert kit.ok("GET", "/desk/preview", as_="1002") is None

    api.person(AGENT, "agent")
    for path in ("/desk/preview/accept", "/desk/preview/skip"):
        for language, text in (("zh-CN", "没有预览中的名单"), ("en", "no lead on preview")):
            answer = api.call("POST", path, as_=AGENT, headers={"Accept-Language": language})
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"] == "preview-offer-missing"
            assert text in answer.json()["message"]
