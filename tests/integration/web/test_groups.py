from __future__ import annotations

from cctest import Api


def _member(api: Api, group_id: int, agent_id: int, **window: object) -> dict[str, object]:
    response = api.call(
        "POST", f"/groups/{group_id}/members", json={"agent_id": agent_id, **window}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_an_agent_serves_several_groups_at_different_hours(api: Api) -> None:
    """Morning in 外呼一组, evening in 客服组: the roster at a moment shows who is on."""
    agent = api.person("1001", "agent")
    always = api.person("1002", "agent")
    outbound = api.call("POST", "/groups", json={"name": "外呼一组"}).json()["id"]
    service = api.call("POST", "/groups", json={"name": "客服组", "description": "inbound"}).json()[
        "id"
    ]
    _member(api, outbound, agent, start_time="09:00", end_time="12:00", weekdays="12345")
    _member(api, service, agent, start_time="18:00", end_time="02:00", skill_level=8)
    _member(api, service, always)

    def roster(group_id: int, at: str) -> list[str]:
        response = api.call("GET", f"/groups/{group_id}/members", params={"active_at": at})
        assert response.status_code == 200, response.text
        return [m["agent_no"] for m in response.json()]

    # 2026-11-25 is a Wednesday; times are the site's zone (Asia/Shanghai).
    assert roster(outbound, "2026-11-25T10:30:00+08:00") == ["1001"]
    assert roster(outbound, "2026-11-25T02:30:00Z") == ["1001"]  # same moment in UTC
    assert roster(outbound, "2026-11-25T12:00:00+08:00") == []
    assert roster(outbound, "2026-11-28T10:30:00+08:00") == []  # Saturday
    assert roster(service, "2026-11-25T10:30:00+08:00") == ["1002"]
    assert roster(service, "2026-11-25T23:30:00+08:00") == ["1001", "1002"]
    assert roster(service, "2026-11-26T01:59:00+08:00") == ["1001", "1002"]  # wraps midnight
    memberships = api.call("GET", f"/agents/{agent}/groups").json()
    assert sorted(m["group_name"] for m in memberships) == ["外呼一组", "客服组"]
    assert api.call("GET", f"/groups/{service}").json()["member_count"] == 2


def test_membership_rules(api: Api) -> None:
    agent = api.person("1001", "agent")
    group = api.call("POST", "/groups", json={"name": "A"}).json()["id"]
    first = _member(api, group, agent, start_time="09:00", end_time="12:00")
    again = api.call(
        "POST",
        f"/groups/{group}/members",
        json={"agent_id": agent, "start_time": "09:00", "end_time": "12:00"},
    )
    assert (again.status_code, again.json()["error"]) == (409, "already-exists")
    for window in (
        {"start_time": "09:00"},
        {"start_time": "09:00", "end_time": "09:00"},
        {"weekdays": "118"},
        {"weekdays": "11"},
        {"skill_level": 11},
        {"start_time": "25:00", "end_time": "26:00"},
    ):
        response = api.call("POST", f"/groups/{group}/members", json={"agent_id": agent, **window})
        assert response.status_code == 422, window
    assert api.call("POST", f"/groups/{group}/members", json={"agent_id": 4242}).status_code == 404
    removed = api.call("DELETE", f"/groups/{group}/members/{first['id']}")
    assert removed.status_code == 204
    assert api.call("DELETE", f"/groups/{group}/members/{first['id']}").status_code == 404


def test_group_names_are_unique_and_deleting_a_group_frees_its_members(api: Api) -> None:
    agent = api.person("1001", "agent")
    group = api.call("POST", "/groups", json={"name": "A"}).json()["id"]
    other = api.call("POST", "/groups", json={"name": "B"}).json()["id"]
    assert api.call("POST", "/groups", json={"name": "A"}).status_code == 409
    assert api.call("PATCH", f"/groups/{other}", json={"name": "A"}).status_code == 409
    assert api.call("PATCH", f"/groups/{other}", json={"name": "C"}).json()["name"] == "C"
    _member(api, group, agent)
    assert api.call("DELETE", f"/groups/{group}").status_code == 204
    assert api.call("GET", f"/agents/{agent}/groups").json() == []
    assert [g["name"] for g in api.call("GET", "/groups").json()] == ["C"]
