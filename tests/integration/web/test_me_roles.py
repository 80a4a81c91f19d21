"""A person reads the names of their own roles from /me, without the right to read roles.

The home page names the reader's roles. A built-in role is named by the UI's catalogue;
a custom role only by the name stored with it, which /roles shows only to holders of
``role.view``. So /me carries the caller's own roles, named, next to their codes.
"""

from __future__ import annotations

from typing import Any

from cctest import PASSWORD, Api


def _approver_role(api: Api) -> int:
    role = {"code": "approver", "name": "审批人", "permissions": ["campaign.view"]}
    response = api.call("POST", "/roles", json=role)
    assert response.status_code == 201, response.text
    role_id: int = response.json()["id"]
    return role_id


def _me(api: Api, agent_no: str) -> dict[str, Any]:
    response = api.call("GET", "/me", as_=agent_no)
    assert response.status_code == 200, response.text
    me: dict[str, Any] = response.json()
    return me


def test_a_custom_role_is_named_in_me_for_a_holder_who_may_not_read_roles(api: Api) -> None:
    """8001 is an agent and an approver, and may not list the roles; /me names both."""
    _approver_role(api)
    api.person("8001", "approver", "agent")
    assert api.call("GET", "/roles", as_="8001").status_code == 403

    me = _me(api, "8001")
    assert me["roles"] == ["agent", "approver"]
    assert "role.view" not in me["permissions"]
    assert me["role_names"] == [
        {"code": "agent", "name": "坐席", "builtin": True},
        {"code": "approver", "name": "审批人", "builtin": False},
    ]


def test_a_renamed_role_is_named_anew_and_a_log_in_answer_names_them_too(api: Api) -> None:
    """The administrator renames the role: the holder's next /me has the new name, and
    the answer to logging in carries the same names."""
    role_id = _approver_role(api)
    api.person("8001", "approver")
    renamed = api.call("PATCH", f"/roles/{role_id}", json={"name": "终审人 / final approver"})
    assert renamed.status_code == 200, renamed.text

    expected = [{"code": "approver", "name": "终审人 / final approver", "builtin": False}]
    assert _me(api, "8001")["role_names"] == expected
    logged_in = api.client.post(
        "/api/v1/auth/login", json={"agent_no": "8001", "password": PASSWORD}
    )
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.json()["agent"]["role_names"] == expected


def test_the_administrator_and_a_person_without_roles(api: Api) -> None:
    """The administrator's one built-in role is named; a person with no role has none."""
    assert _me(api, "admin")["role_names"] == [{"code": "admin", "name": "管理员", "builtin": True}]
    api.person("1002")
    me = _me(api, "1002")
    assert (me["roles"], me["role_names"]) == ([], [])
