"""GET /calls?caller_id=: the calls that presented a number, for the complaint desk.

The records are written straight into the store (the engine's side has its own tests):
two campaign calls that presented a pool number stored as typed, one that presented
another, and an inbound call. A team leader answers "who called me from
+86 10 5800 9999?"; an agent asking the same while handling no call finds nothing,
as for any other search (the filter narrows, it never widens).
"""

from __future__ import annotations

import datetime as dt

from callcenter.store.tables import CallRow, LegRow
from cctest import Api
from integration.web.test_calls_api import _store

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _call(call_id: str, direction: str, caller: str, dialled: str, minutes: int) -> CallRow:
    created = T0 + dt.timedelta(minutes=minutes)
    return CallRow(
        call_id=call_id, direction=direction, state="ended", caller=caller, dialled=dialled,
        created_at=created, ended_at=created + dt.timedelta(seconds=60), agents=["1001"],
    )  # fmt: skip


def _leg(call_id: str, purpose: str, dest: str, caller_id: str | None) -> LegRow:
    return LegRow(
        leg_id=f"{call_id}-{purpose}", call_id=call_id, purpose=purpose, dest=dest,
        created_at=T0, caller_id=caller_id,
    )  # fmt: skip


def test_a_team_leader_finds_the_calls_that_presented_a_number_in_any_of_its_forms(
    api: Api,
) -> None:
    """Asked in E.164, with separators or as stored, the two calls that presented
    01058009999 come back newest first, each leg showing what it presented; the inbound
    call and the call from the other number do not. An agent finds nothing."""
    api.person("8001", "team_leader")
    api.person("1001", "agent")
    _store(
        api,
        _call("a", "outbound", "1001", "13900000001", 0),
        _leg("a", "customer", "13900000001", "01058009999"),
        _leg("a", "agent", "agent:1001", None),
        _call("b", "outbound", "1001", "13900000002", 5),
        _leg("b", "customer", "13900000002", "01058008888"),
        _call("c", "outbound", "1001", "13900000003", 10),
        _leg("c", "customer", "13900000003", "01058009999"),
        _call("d", "inbound", "01058009999", "4008001000", 15),
        _leg("d", "customer", "01058009999", None),
    )
    for asked in ("+861058009999", "010-5800-9999", "01058009999"):
        page = api.call("GET", "/calls", as_="8001", params={"caller_id": asked}).json()
        assert page["total"] == 2 and [c["call_id"] for c in page["items"]] == ["c", "a"], asked
    older = {"caller_id": "01058009999", "limit": "1", "offset": "1"}
    (first,) = api.call("GET", "/calls", as_="8001", params=older).json()["items"]
    assert {leg["purpose"]: leg["caller_id"] for leg in first["legs"]} == {
        "customer": "01058009999",
        "agent": None,
    }
    by_number = api.call("GET", "/calls", as_="8001", params={"number": "01058009999"}).json()
    assert [c["call_id"] for c in by_number["items"]] == ["d"]  # the caller, not the shown

    mine = api.call("GET", "/calls", as_="1001", params={"caller_id": "01058009999"})
    assert mine.status_code == 200 and mine.json() == {"items": [], "total": 0}
