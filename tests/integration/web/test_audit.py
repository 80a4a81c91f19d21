from __future__ import annotations

from collections.abc import Callable

from cctest import PASSWORD, Api


def test_every_privileged_action_is_audited_with_who_what_target_when_where(api: Api) -> None:
    """Each change made through the API appends exactly the row that describes it."""
    agent = api.person("1001", "agent")
    group = api.call("POST", "/groups", json={"name": "G"}).json()["id"]
    role = api.call("POST", "/roles", json={"code": "r1", "name": "R"}).json()["id"]
    membership: dict[str, int] = {}

    def add_member() -> None:
        response = api.call("POST", f"/groups/{group}/members", json={"agent_id": agent})
        membership["id"] = response.json()["id"]

    actions: list[tuple[str, Callable[[], object]]] = [
        ("agent.update", lambda: api.call("PATCH", f"/agents/{agent}", json={"name": "新名"})),
        ("agent.assign_roles",
         lambda: api.call("PUT", f"/agents/{agent}/roles", json={"roles": ["agent", "r1"]})),
        ("agent.reset_password",
         lambda: api.call("POST", f"/agents/{agent}/password", json={"password": PASSWORD})),
        ("agent.unlock", lambda: api.call("POST", f"/agents/{agent}/unlock")),
        ("group.update", lambda: api.call("PATCH", f"/groups/{group}", json={"name": "G2"})),
        ("group.add_member", add_member),
        ("group.remove_member",
         lambda: api.call("DELETE", f"/groups/{group}/members/{membership['id']}")),
        ("role.update",
         lambda: api.call("PATCH", f"/roles/{role}", json={"permissions": ["agent.view"]})),
        ("token.create", lambda: api.call("POST", "/me/tokens", json={"name": "t"})),
        ("group.delete", lambda: api.call("DELETE", f"/groups/{group}")),
        ("agent.delete", lambda: api.call("DELETE", f"/agents/{agent}")),
        ("role.delete", lambda: api.call("DELETE", f"/roles/{role}")),
    ]  # fmt: skip
    for action, perform in actions:
        before = len(api.audit(action=action))
        perform()
        rows = api.audit(action=action)
        assert len(rows) == before + 1, action
        row = rows[0]
        assert row["action"] == action
        assert row["actor_no"] == "admin" and row["outcome"] == "ok"
        assert row["ip"] == "127.0.0.1" and row["user_agent"] == "testclient"
        assert row["target_type"] in ("agent", "group", "role", "token")
        assert row["target_id"]
    created = {r["action"] for r in api.audit()}
    assert {"agent.create", "group.create", "role.create", "auth.login"} <= created
    grant = api.audit(action="agent.assign_roles")[0]
    assert grant["detail"] == {"granted": ["r1"], "revoked": []}


def test_the_audit_trail_cannot_be_changed_through_the_api(api: Api) -> None:
    row_id = api.audit()[0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        assert api.call(method, "/audit", json={}).status_code == 405
        assert api.call(method, f"/audit/{row_id}", json={}).status_code in (404, 405)
    assert api.audit()[-1]["action"] == "agent.create"


def test_audit_search_filters(api: Api) -> None:
    api.person("1001", "agent")
    api.headers("1001")
    assert {r["action"] for r in api.audit(actor_no="1001")} == {"auth.login"}
    assert all(r["action"].startswith("agent.") for r in api.audit(action="agent."))
    assert api.audit(action="%") == []  # a wildcard is a literal character here
    page = api.call("GET", "/audit", params={"limit": "1", "offset": "1"}).json()
    assert len(page["items"]) == 1 and page["total"] >= 3
    future = api.call("GET", "/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future == {"items": [], "total": 0}


def test_moments_must_be_rfc3339_with_a_zone(api: Api) -> None:
    """ "0398" is not a time (pydantic alone would read it as a Unix timestamp)."""
    for bad in ("0398", "2026-11-25", "2026-11-25T10:00:00", "yesterday"):
        response = api.call("GET", "/audit", params={"until": bad})
        assert (response.status_code, response.json()["error"]) == (422, "validation-failed")
    ok = api.call("GET", "/audit", params={"until": "2026-11-25T10:00:00.5+08:00"})
    assert ok.status_code == 200
