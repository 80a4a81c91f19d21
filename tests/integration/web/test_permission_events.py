"""An open browser learns that its permissions changed, without reloading.

When an administrator changes what a role grants, or which roles a person holds, every
live client receives ``permissions.changed`` naming the role or the person; the client
concerned reads /me again. The API refuses what was taken away either way.
"""

from __future__ import annotations

from typing import Any

from cctest import Api
from integration.web.test_events import delivered


def _role(api: Api, code: str, permissions: list[str]) -> int:
    response = api.call(
        "POST", "/roles", json={"code": code, "name": code, "permissions": permissions}
    )
    assert response.status_code == 201, response.text
    role_id: int = response.json()["id"]
    return role_id


def _changes(ws: Any) -> list[dict[str, Any]]:
    return [m["data"] for m in delivered(ws) if m["type"] == "permissions.changed"]


def test_unticking_a_code_tells_the_live_client_and_the_api_refuses_it(api: Api) -> None:
    """1001 may list agents; the administrator unticks agent.view for 1001's role: the
    open socket hears of it, /me no longer lists the code, and GET /agents answers 403."""
    role_id = _role(api, "viewer", ["agent.view"])
    api.person("1001", "viewer")
    assert api.call("GET", "/agents", as_="1001").status_code == 200
    with api.client.websocket_connect("/api/v1/events", headers=api.headers("1001")) as ws:
        assert "agent.view" in ws.receive_json()["data"]["permissions"]

        assert api.call("PATCH", f"/roles/{role_id}", json={"permissions": []}).status_code == 200
        assert _changes(ws) == [{"role": "viewer"}]

    assert "agent.view" not in api.call("GET", "/me", as_="1001").json()["permissions"]
    assert api.call("GET", "/agents", as_="1001").status_code == 403


def test_renaming_a_role_changes_no_permissions_and_says_nothing(api: Api) -> None:
    role_id = _role(api, "viewer", ["agent.view"])
    api.person("1001", "viewer")
    with api.client.websocket_connect("/api/v1/events", headers=api.headers("1001")) as ws:
        ws.receive_json()
        response = api.call("PATCH", f"/roles/{role_id}", json={"name": "查看员"})
        assert response.status_code == 200, response.text
        assert _changes(ws) == []


def test_changing_a_persons_roles_names_that_person(api: Api) -> None:
    """The administrator gives 1001 a second role: the event names 1001, and /me has it."""
    _role(api, "viewer", ["agent.view"])
    _role(api, "auditor", ["audit.view"])
    agent_id = api.person("1001", "viewer")
    with api.client.websocket_connect("/api/v1/events", headers=api.headers("1001")) as ws:
        ws.receive_json()
        response = api.call(
            "PUT", f"/agents/{agent_id}/roles", json={"roles": ["viewer", "auditor"]}
        )
        assert response.status_code == 200, response.text
        assert _changes(ws) == [{"agent_no": "1001"}]

    me = api.call("GET", "/me", as_="1001").json()
    assert sorted(me["roles"]) == ["auditor", "viewer"]
    assert "audit.view" in me["permissions"]
