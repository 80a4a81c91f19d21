from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text

from callcenter.store.db import make_sync_engine
from cctest import ADMIN_PASSWORD, PASSWORD, Api


def _login(api: Api, agent_no: str, password: str, lang: str = "zh-CN") -> tuple[int, Any]:
    response = api.client.post(
        "/api/v1/auth/login",
        json={"agent_no": agent_no, "password": password},
        headers={"Accept-Language": lang},
    )
    return response.status_code, response.json()


def test_login_sets_an_http_only_cookie_that_opens_the_api(api: Api) -> None:
    """A browser logs in with 工号 and password and then browses with the cookie alone."""
    response = api.client.post(
        "/api/v1/auth/login", json={"agent_no": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "cc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert response.json()["agent"]["roles"] == ["admin"]
    assert api.client.get("/api/v1/me").json()["agent_no"] == "admin"
    assert api.client.post("/api/v1/auth/logout").status_code == 204
    assert api.client.get("/api/v1/me").status_code == 401


def test_hot_desking_the_same_agent_logs_in_from_two_seats(api: Api) -> None:
    """Nothing ties a person to a seat: two sessions at once both work."""
    api.person("1001", "agent")
    first = api.client.post("/api/v1/auth/token", json={"agent_no": "1001", "password": PASSWORD})
    second = api.client.post("/api/v1/auth/token", json={"agent_no": "1001", "password": PASSWORD})
    for response in (first, second):
        token = response.json()["token"]
        me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["agent_no"] == "1001"


def test_wrong_password_is_refused_in_the_callers_language(api: Api) -> None:
    status, body = _login(api, "admin", "not-the-password")
    assert (status, body["error"], body["message"]) == (
        401,
        "invalid-credentials",
        "工号或密码错误",
    )
    status, body = _login(api, "admin", "not-the-password", lang="en-US,en;q=0.9")
    assert body["message"] == "wrong agent number or password"
    status, body = _login(api, "nobody", "whatever")
    assert (status, body["error"]) == (401, "invalid-credentials")


def test_repeated_failures_lock_the_account_even_for_the_right_password(api: Api) -> None:
    """Five failures lock the account; the right password is then refused until unlocked."""
    agent_id = api.person("1001", "agent")
    for attempt in range(4):
        assert _login(api, "1001", f"wrong-{attempt}")[0] == 401
    status, body = _login(api, "1001", "wrong-5")
    assert (status, body["error"]) == (423, "account-locked")
    assert "locked_until" in body["details"]
    status, body = _login(api, "1001", PASSWORD, lang="en")
    assert (status, body["error"]) == (423, "account-locked")
    assert body["message"].startswith("too many failed logins")
    listed = api.call("GET", f"/agents/{agent_id}").json()
    assert listed["locked_until"] is not None

    assert api.call("POST", f"/agents/{agent_id}/unlock").status_code == 200
    assert _login(api, "1001", PASSWORD)[0] == 200
    outcomes = [row["outcome"] for row in api.audit(action="auth.login", actor_no="1001")]
    assert outcomes.count("failed") == 5 and outcomes.count("denied") == 1
    assert outcomes[0] == "ok"
    assert [row["action"] for row in api.audit(action="agent.unlock")] == ["agent.unlock"]


def test_a_lock_expires_by_itself(api: Api) -> None:
    api.person("1001", "agent")
    for attempt in range(5):
        _login(api, "1001", f"wrong-{attempt}")
    assert _login(api, "1001", PASSWORD)[0] == 423
    engine = make_sync_engine(api.platform.settings.database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE agents SET locked_until = :past WHERE agent_no = '1001'"),
            {"past": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)},
        )
    engine.dispose()
    assert _login(api, "1001", PASSWORD)[0] == 200


def test_failures_spread_beyond_the_window_do_not_lock(api: Api) -> None:
    api.person("1001", "agent")
    engine = make_sync_engine(api.platform.settings.database_url)
    for attempt in range(8):
        assert _login(api, "1001", f"wrong-{attempt}")[0] == 401
        with engine.begin() as connection:  # each failure lands in a new window
            connection.execute(
                text("UPDATE agents SET first_failed_at = :old WHERE agent_no = '1001'"),
                {"old": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)},
            )
    engine.dispose()
    assert _login(api, "1001", PASSWORD)[0] == 200


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(api: Api) -> None:
    agent_id = api.person("1001", "agent")
    headers = api.headers("1001")
    assert api.call("PATCH", f"/agents/{agent_id}", json={"enabled": False}).status_code == 200
    assert api.client.get("/api/v1/me", headers=headers).status_code == 401
    status, body = _login(api, "1001", PASSWORD)
    assert (status, body["error"]) == (403, "account-disabled")


def test_integration_tokens_are_shown_once_listed_and_revoked(api: Api) -> None:
    response = api.call("POST", "/me/tokens", json={"name": "CRM sync", "days": 30})
    assert response.status_code == 201
    created = response.json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert api.client.get("/api/v1/agents", headers=bearer).status_code == 200
    listed = api.call("GET", "/me/tokens").json()
    assert "CRM sync" in [t["name"] for t in listed]
    assert all("token" not in t for t in listed)
    assert api.call("DELETE", f"/me/tokens/{created['id']}").status_code == 204
    assert api.client.get("/api/v1/agents", headers=bearer).status_code == 401
    assert api.call("DELETE", "/me/tokens/999999").status_code == 404


def test_own_password_change_needs_the_current_one(api: Api) -> None:
    api.person("1001", "agent")
    wrong = api.call(
        "POST",
        "/me/password",
        as_="1001",
        json={"current_password": "nope", "new_password": "new-password-1"},
    )
    assert (wrong.status_code, wrong.json()["details"]["field"]) == (422, "current_password")
    right = api.call(
        "POST",
        "/me/password",
        as_="1001",
        json={"current_password": PASSWORD, "new_password": "new-password-1"},
    )
    assert right.status_code == 204
    assert _login(api, "1001", "new-password-1")[0] == 200


def test_garbage_tokens_are_refused(api: Api) -> None:
    for token in ("", "x" * 300, "not-a-token", "Bearer"):
        response = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
