from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from cctest import Api


def delivered(ws: Any) -> list[dict[str, Any]]:
    """Everything delivered so far: a ping's pong queues behind all earlier events."""
    ws.send_json({"type": "ping"})
    messages: list[dict[str, Any]] = []
    while (message := ws.receive_json())["type"] != "pong":
        messages.append(message)
    return messages


def test_a_client_without_a_session_is_refused(api: Api) -> None:
    for headers, url in (
        ({}, "/api/v1/events"),
        ({"Authorization": "Bearer nonsense"}, "/api/v1/events"),
        ({}, "/api/v1/events?token=nonsense"),
    ):
        with (
            pytest.raises((WebSocketDisconnect, WebSocketDenialResponse)),
            api.client.websocket_connect(url, headers=headers) as ws,
        ):
            ws.receive_json()


def test_events_are_filtered_by_permission(api: Api) -> None:
    """An admin sees agent and audit events; a plain agent sees neither."""
    api.person("1001", "agent")
    admin_token = api.headers()["Authorization"].split()[1]
    with (
        api.client.websocket_connect(f"/api/v1/events?token={admin_token}") as admin_ws,
        api.client.websocket_connect("/api/v1/events", headers=api.headers("1001")) as agent_ws,
    ):
        hello = admin_ws.receive_json()
        assert hello["type"] == "hello" and "agent.view" in hello["data"]["permissions"]
        agent_hello = agent_ws.receive_json()
        assert agent_hello["data"]["agent_no"] == "1001"
        assert "agent.view" not in agent_hello["data"]["permissions"]

        api.person("1002", "agent")
        seen = {
            (m["type"], m["data"].get("agent_no") or m["data"].get("action"))
            for m in delivered(admin_ws)
        }
        assert ("agent.created", "1002") in seen
        assert ("audit.appended", "agent.create") in seen
        assert delivered(agent_ws) == []  # neither agent nor audit events reach an agent


def test_a_permission_change_narrows_a_live_stream_and_logout_ends_it(api: Api) -> None:
    api.call("POST", "/roles", json={"code": "watcher", "name": "W", "permissions": ["agent.view"]})
    api.person("2001", "watcher")
    role_id = next(r["id"] for r in api.call("GET", "/roles").json() if r["code"] == "watcher")
    with api.client.websocket_connect("/api/v1/events", headers=api.headers("2001")) as ws:
        ws.receive_json()
        api.person("3001", "agent")
        assert [m["data"]["agent_no"] for m in delivered(ws)] == ["3001"]
        api.call("PATCH", f"/roles/{role_id}", json={"permissions": []})
        api.person("3002", "agent")
        # Told that its permissions changed, and 3002's creation is no longer visible.
        assert [m["type"] for m in delivered(ws)] == ["permissions.changed"]
        api.call("POST", "/auth/logout", as_="2001")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
