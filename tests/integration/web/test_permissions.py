from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute

from callcenter.app.permissions import ALL_CODES, BUILTIN_ROLES
from callcenter.config import load_settings
from callcenter.web.app import API_PREFIX, ROUTERS, create_app
from callcenter.web.security import Public, Requires
from cctest import Api, make_platform

UNKNOWN_ID = "2147483000"
PEOPLE = {"admin": "admin", "8001": "team_leader", "1001": "agent", "9001": None}


def _app() -> FastAPI:
    return create_app(make_platform(load_settings(environ={})), manage_lifecycle=False)


def api_routes() -> list[tuple[str, APIRoute]]:
    """(full path, route) for every REST route the app mounts."""
    return [
        (API_PREFIX + route.path, route)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def declared(route: APIRoute) -> list[Requires | Public]:
    """The access declarations among a route's dependencies (itself or nested)."""
    found: list[Requires | Public] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, Requires | Public):
            found.append(dependant.call)
        stack.extend(dependant.dependencies)
    return found


def route_table() -> list[tuple[str, str, str | None]]:
    """(method, path, permission or None for any logged-in person) for non-public routes."""
    table: list[tuple[str, str, str | None]] = []
    for path, route in api_routes():
        marks = declared(route)
        if any(isinstance(mark, Public) for mark in marks):
            continue
        (mark,) = marks
        assert isinstance(mark, Requires)
        table.extend((method, path, mark.permission) for method in sorted(route.methods or ()))
    return table


def test_every_route_declares_exactly_one_access_rule() -> None:
    """A route without a permission code (or an explicit public/logged-in mark) fails here."""
    routes = api_routes()
    assert len(routes) > 20
    for path, route in routes:
        marks = declared(route)
        assert len(marks) == 1, f"{route.methods} {path} declares {marks}"
    public = sorted(path for path, route in routes if isinstance(declared(route)[0], Public))
    assert public == ["/api/v1/auth/login", "/api/v1/auth/token", "/api/v1/health"]
    # Nothing is mounted outside ROUTERS: the OpenAPI document has exactly these operations.
    document = _app().openapi()
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        (method, path) for path, route in routes for method in route.methods or ()
    }


def test_every_declared_code_is_in_the_catalogue_with_both_languages() -> None:
    codes = {permission for _, _, permission in route_table() if permission}
    assert codes <= ALL_CODES
    assert {"agent.create", "agent.delete", "role.update", "audit.view"} <= codes


def test_each_role_against_each_route(api: Api) -> None:
    """The permission table: every person hits every route; 403 exactly when they lack it."""
    for agent_no, role in PEOPLE.items():
        if agent_no != "admin":
            api.person(agent_no, *([role] if role else []))
    grants = {b.code: b.permissions for b in BUILTIN_ROLES}
    checked = 0
    for method, path, permission in route_table():
        if path == "/api/v1/auth/logout":
            continue  # would end the session used for the rest of the table
        url = re.sub(r"\{[a-z_]+\}", UNKNOWN_ID, path).removeprefix("/api/v1")
        for agent_no, role in PEOPLE.items():
            held = grants[role] if role else frozenset()
            allowed = permission is None or permission in held
            body: dict[str, object] | None = {} if method in {"POST", "PUT", "PATCH"} else None
            response = api.call(method, url, as_=agent_no, json=body)
            if allowed:
                assert response.status_code not in (401, 403), (method, path, agent_no)
            else:
                assert response.status_code == 403, (method, path, agent_no, response.text)
                assert response.json()["error"] == "forbidden"
                assert permission in response.json()["message"]
            checked += 1
    assert checked > 100


def test_without_a_session_every_route_answers_401(api: Api) -> None:
    for method, path, _ in route_table():
        url = re.sub(r"\{[a-z_]+\}", UNKNOWN_ID, path)
        response = api.client.request(method, url, json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["error"] == "unauthenticated"


def test_denied_changes_are_audited(api: Api) -> None:
    """A refused privileged change leaves a 'denied' row naming who tried and what."""
    api.person("1001", "agent")
    response = api.call("DELETE", "/agents/1", as_="1001")
    assert response.status_code == 403
    (row,) = [r for r in api.audit(actor_no="1001") if r["outcome"] == "denied"]
    assert row["action"] == "agent.delete"
    assert row["target_id"] == "/api/v1/agents/1"
    assert row["ip"] == "127.0.0.1"


def test_nobody_can_grant_what_they_do_not_hold(api: Api) -> None:
    """A team leader with role rights cannot make an admin, nor a role with admin codes."""
    leader = api.person("8001", "team_leader")
    response = api.call("GET", "/roles")
    roles = {r["code"]: r for r in response.json()}
    leader_codes = set(roles["team_leader"]["permissions"]) | {
        "agent.assign_roles",
        "role.create",
        "role.update",
    }
    api.call(
        "POST",
        "/roles",
        json={"code": "lead_plus", "name": "Lead+", "permissions": sorted(leader_codes)},
    )
    api.call("PUT", f"/agents/{leader}/roles", json={"roles": ["lead_plus"]})
    target = api.person("1001", "agent")
    api.forget("8001")

    response = api.call("PUT", f"/agents/{target}/roles", as_="8001", json={"roles": ["admin"]})
    assert response.status_code == 403
    assert response.json()["error"] == "cannot-grant"
    response = api.call(
        "POST",
        "/roles",
        as_="8001",
        json={"code": "sneaky", "name": "Sneaky", "permissions": ["agent.delete"]},
    )
    assert response.status_code == 403
    assert "agent.delete" in response.json()["message"]
    response = api.call(
        "POST",
        "/roles",
        as_="8001",
        json={"code": "helper", "name": "Helper", "permissions": ["agent.view"]},
    )
    assert response.status_code == 201
    assert api.call("GET", "/roles", as_="8001").status_code == 200
    assert api.call("GET", f"/agents/{target}", as_="1001").status_code == 403


def test_a_revoked_permission_takes_effect_on_the_next_request(api: Api) -> None:
    api.call(
        "POST", "/roles", json={"code": "viewer", "name": "Viewer", "permissions": ["agent.view"]}
    )
    api.person("2001", "viewer")
    assert api.call("GET", "/agents", as_="2001").status_code == 200
    role_id = next(r["id"] for r in api.call("GET", "/roles").json() if r["code"] == "viewer")
    response = api.call("PATCH", f"/roles/{role_id}", json={"permissions": []})
    assert response.status_code == 200, response.text
    assert api.call("GET", "/agents", as_="2001").status_code == 403
