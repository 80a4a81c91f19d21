"""Call legs written before 0009 keep everything they had and name no trunk."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, inspect, text

from callcenter.store import migrate
from callcenter.store.db import make_sync_engine

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
INSERT = text(
    "INSERT INTO call_legs (leg_id, call_id, purpose, dest, created_at, agent_no, "
    "answered_at, ended_at, cause, caller_id) VALUES (:leg_id, :call_id, :purpose, :dest, "
    ":at, :agent_no, :answered, :at, :cause, :caller_id)"
)


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        result = connection.execute(text("SELECT * FROM call_legs ORDER BY leg_id"))
        return [dict(row) for row in result.mappings()]


def _indexes(engine: Engine) -> dict[str | None, list[str | None]]:
    return {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("call_legs")}


def test_legs_made_at_0008_gain_an_empty_trunk_and_lose_it_going_back(
    empty_database_url: str,
) -> None:
    """A database in use at 0008 holds a campaign call that failed over: its refused
    first attempt and its answered second, each a customer leg, and the agent's leg.
    After the upgrade every row is as it was, with no trunk (which one carried each was
    not recorded then); new legs name theirs and are found through the column's index.
    Going back to 0008 drops the column and its index and keeps every row."""
    url = empty_database_url
    migrate.upgrade(url, "0008")
    engine = make_sync_engine(url)
    leg = {"agent_no": None, "answered": None, "caller_id": "01058009999", "at": T0}
    with engine.begin() as connection:
        connection.execute(
            INSERT,
            [
                leg | {"leg_id": "old1-c", "call_id": "old1", "purpose": "customer",
                       "dest": "13800138000", "cause": "congestion"},
                leg | {"leg_id": "old2-c", "call_id": "old2", "purpose": "customer",
                       "dest": "13800138000", "answered": T0, "cause": "normal"},
                leg | {"leg_id": "old2-a", "call_id": "old2", "purpose": "offer",
                       "dest": "agent:1001", "agent_no": "1001", "answered": T0,
                       "cause": "normal", "caller_id": None},
            ],
        )  # fmt: skip
    before = _rows(engine)

    assert migrate.upgrade(url) == ("0008", migrate.head_revision())
    after = _rows(engine)
    assert [r["trunk"] for r in after] == [None, None, None]
    assert [{k: v for k, v in r.items() if k != "trunk"} for r in after] == before
    assert _indexes(engine)["ix_call_legs_trunk"] == ["trunk"]

    with engine.begin() as connection:
        connection.execute(
            INSERT,
            [
                leg | {"leg_id": "new1-c", "call_id": "new1", "purpose": "customer",
                       "dest": "13800138001", "cause": "congestion"},
                leg | {"leg_id": "new2-c", "call_id": "new2", "purpose": "customer",
                       "dest": "13800138001", "answered": T0, "cause": "normal"},
            ],
        )  # fmt: skip
        connection.execute(text("UPDATE call_legs SET trunk = 'mobile' WHERE leg_id = 'new1-c'"))
        connection.execute(text("UPDATE call_legs SET trunk = 'national' WHERE leg_id = 'new2-c'"))
        found = connection.execute(
            text("SELECT call_id, cause FROM call_legs WHERE trunk = 'mobile'")
        ).all()
    assert [tuple(row) for row in found] == [("new1", "congestion")]

    assert migrate.downgrade(url, "0008") == (migrate.head_revision(), "0008")
    assert "trunk" not in {c["name"] for c in inspect(engine).get_columns("call_legs")}
    assert "ix_call_legs_trunk" not in _indexes(engine)
    assert _indexes(engine)["ix_call_legs_caller_id"] == ["caller_id"]  # 0007's stays
    assert [r for r in _rows(engine) if not str(r["leg_id"]).startswith("new")] == before
    engine.dispose()
