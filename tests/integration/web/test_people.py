from __future__ import annotations

import pytest

from cctest import Api

SQL_NASTIES = [
    "Robert'); DROP TABLE agents;--",
    '" OR 1=1 --',
    "%_\\",
    "王小明 💬",
]


def test_agent_crud_round_trip(api: Api) -> None:
    """Create, read, list with search, rename, disable, delete; each step visible in the API."""
    created = api.call(
        "POST",
        "/agents",
        json={"agent_no": "1001", "name": "张三", "password": "password-1", "roles": ["agent"]},
    )
    assert created.status_code == 201
    agent = created.json()
    assert (agent["agent_no"], agent["name"], agent["roles"], agent["enabled"]) == (
        "1001",
        "张三",
        ["agent"],
        True,
    )
    assert "password" not in agent and "password_hash" not in agent
    assert api.call("GET", f"/agents/{agent['id']}").json()["name"] == "张三"
    listed = api.call("GET", "/agents", params={"search": "张"}).json()
    assert (listed["total"], listed["items"][0]["agent_no"]) == (1, "1001")
    changed = api.call("PATCH", f"/agents/{agent['id']}", json={"name": "张三丰", "enabled": False})
    assert (changed.json()["name"], changed.json()["enabled"]) == ("张三丰", False)
    assert api.call("DELETE", f"/agents/{agent['id']}").status_code == 204
    assert api.call("GET", f"/agents/{agent['id']}").status_code == 404


@pytest.mark.parametrize("name", SQL_NASTIES)
def test_sql_metacharacters_are_just_text(api: Api, name: str) -> None:
    """Quotes, comments and LIKE wildcards are stored and searched as plain text."""
    agent_id = api.person("1001", "agent", name=name)
    assert api.call("GET", f"/agents/{agent_id}").json()["name"] == name
    found = api.call("GET", "/agents", params={"search": name}).json()
    assert [item["id"] for item in found["items"]] == [agent_id]
    group = api.call("POST", "/groups", json={"name": name, "description": name})
    assert group.status_code == 201 and group.json()["name"] == name
    assert api.call("GET", "/agents", params={"search": "%"}).json()["total"] == (
        1 if "%" in name else 0
    )


def test_duplicate_agent_number_is_a_clear_conflict_and_writes_nothing(api: Api) -> None:
    api.person("1001", "agent")
    before = len(api.audit(action="agent.create"))
    response = api.call(
        "POST",
        "/agents",
        json={"agent_no": "1001", "name": "again", "password": "password-1"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "already-exists",
        "message": "agent already exists: 1001",
        "details": {"kind": "agent", "value": "1001"},
    }
    assert len(api.audit(action="agent.create")) == before
    assert api.call("GET", "/agents", params={"search": "1001"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"agent_no": "1001", "name": "x", "password": "short"}, 422, "validation-failed"),
        ({"agent_no": "1" * 21, "name": "x", "password": "password-1"}, 422, "validation-failed"),
        ({"agent_no": "10 01", "name": "x", "password": "password-1"}, 422, "validation-failed"),
        ({"agent_no": "1001", "name": "x" * 65, "password": "password-1"}, 422, "validation-failed"),  # noqa: E501
        ({"agent_no": "1001", "name": "a\u0000b", "password": "password-1"}, 422, "validation-failed"),  # noqa: E501
        ({"agent_no": 1001, "name": "x", "password": "password-1"}, 422, "validation-failed"),
        ({"agent_no": "1001", "name": "x", "password": "password-1", "enabled": "yes"}, 422,
         "validation-failed"),
        ({"agent_no": "1001", "name": "x", "password": "password-1", "admin": True}, 422,
         "validation-failed"),
        ({"agent_no": "1001", "name": "x", "password": "password-1", "roles": ["ghost"]}, 404,
         "not-found"),
        ([], 422, "validation-failed"),
    ],
)  # fmt: skip
def test_bad_agent_input_gets_a_4xx_and_nothing_is_written(
    api: Api, body: object, status: int, error: str
) -> None:
    response = api.call("POST", "/agents", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert response.json()["message"]
    assert api.call("GET", "/agents").json()["total"] == 1  # only the admin


def test_malformed_json_is_a_400(api: Api) -> None:
    for raw in (b"{", b"\xff\xfe", b'{"agent_no": "1"', b"null"):
        response = api.call(
            "POST", "/agents", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 422), raw
        assert response.json()["error"] in ("malformed-json", "validation-failed")
    response = api.call(
        "POST", "/agents", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.json()["error"] == "malformed-json"


def test_unknown_and_impossible_ids(api: Api) -> None:
    assert api.call("GET", "/agents/424242").status_code == 404
    assert api.call("GET", "/agents/99999999999999999999").status_code == 422
    assert api.call("GET", "/agents/0").status_code == 422
    assert api.call("GET", "/agents/abc").status_code == 422
    assert api.call("GET", "/agents", params={"limit": "100000"}).status_code == 422


def test_an_admin_cannot_lock_themselves_or_the_site_out(api: Api) -> None:
    me = api.call("GET", "/me").json()["id"]
    for method, path, body in (
        ("DELETE", f"/agents/{me}", None),
        ("PATCH", f"/agents/{me}", {"enabled": False}),
        ("PUT", f"/agents/{me}/roles", {"roles": ["agent"]}),
    ):
        response = api.call(method, path, json=body)
        assert (response.status_code, response.json()["error"]) == (409, "self-lockout")
    second = api.person("0002", "admin")
    assert api.call("PUT", f"/agents/{me}/roles", json={"roles": ["agent"]}).status_code == 409
    assert api.call("DELETE", f"/agents/{second}").status_code == 204


def test_roles_builtin_custom_and_in_use(api: Api) -> None:
    roles = {r["code"]: r for r in api.call("GET", "/roles").json()}
    assert {"admin", "team_leader", "agent"} <= set(roles)
    assert roles["admin"]["builtin"] and "agent.delete" in roles["admin"]["permissions"]
    assert "supervisor.barge" in roles["team_leader"]["permissions"]
    assert (
        api.call("PATCH", f"/roles/{roles['admin']['id']}", json={"name": "x"}).status_code == 409
    )
    assert api.call("DELETE", f"/roles/{roles['agent']['id']}").json()["error"] == "builtin-role"

    created = api.call(
        "POST",
        "/roles",
        json={"code": "qa", "name": "质检", "permissions": ["audit.view", "agent.view"]},
    )
    assert created.status_code == 201
    role_id = created.json()["id"]
    assert api.call("POST", "/roles", json={"code": "qa", "name": "again"}).status_code == 409
    unknown = api.call(
        "POST", "/roles", json={"code": "bad", "name": "x", "permissions": ["no.such"]}
    )
    assert (unknown.status_code, unknown.json()["error"]) == (422, "invalid-input")
    agent_id = api.person("3001", "qa")
    assert api.call("GET", "/audit", as_="3001").status_code == 200
    in_use = api.call("DELETE", f"/roles/{role_id}")
    assert (in_use.status_code, in_use.json()["error"]) == (409, "in-use")
    api.call("PUT", f"/agents/{agent_id}/roles", json={"roles": []})
    assert api.call("DELETE", f"/roles/{role_id}").status_code == 204
    catalogue = api.call("GET", "/permissions").json()
    assert {
        "code": "supervisor.barge",
        "menu": "supervisor",
        "zh": "强插",
        "en": "Barge in",
    } in catalogue
