"""Call legs written before 0007 keep everything they had and name no caller ID."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, inspect, text

from callcenter.store import migrate
from callcenter.store.db import make_sync_engine

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
INSERT = text(
    "INSERT INTO call_legs (leg_id, call_id, purpose, dest, created_at, agent_no, "
    "answered_at, ended_at, cause) VALUES (:leg_id, 'old', :purpose, :dest, :at, :agent_no, "
    ":at, :at, 'normal')"
)


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        result = connection.execute(text("SELECT * FROM call_legs ORDER BY leg_id"))
        return [dict(row) for row in result.mappings()]


def test_legs_made_at_0006_gain_an_empty_caller_id_and_lose_it_going_back(
    empty_database_url: str,
) -> None:
    """A database in use at 0006 holds a campaign call's two legs (which did not say
    what number the customer saw). After the upgrade both are as they were, with no
    caller ID; a new leg names its number, found through the column's index. Going back
    to 0006 drops the column and its index and keeps every row."""
    url = empty_database_url
    migrate.upgrade(url, "0006")
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(
            INSERT,
            [
                {"leg_id": "old-a", "purpose": "agent", "dest": "agent:1001", "at": T0,
                 "agent_no": "1001"},
                {"leg_id": "old-c", "purpose": "customer", "dest": "13900139000", "at": T0,
                 "agent_no": None},
            ],
        )  # fmt: skip
    before = _rows(engine)

    assert migrate.upgrade(url) == ("0006", migrate.head_revision())
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT leg_id, caller_id, cause FROM call_legs ORDER BY 1")
        ).all()
    assert [tuple(row) for row in stored] == [("old-a", None, "normal"), ("old-c", None, "normal")]
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("call_legs")}
    assert indexes["ix_call_legs_caller_id"] == ["caller_id"]

    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO call_legs (leg_id, call_id, purpose, dest, created_at, caller_id) "
                "VALUES ('new-c', 'new', 'customer', '13900139001', :at, '01058009999')"
            ),
            {"at": T0 + dt.timedelta(days=1)},
        )
        found = connection.execute(
            text("SELECT call_id FROM call_legs WHERE caller_id = '01058009999'")
        ).all()
    assert [tuple(row) for row in found] == [("new",)]

    assert migrate.downgrade(url, "0006") == (migrate.head_revision(), "0006")
    assert "caller_id" not in {c["name"] for c in inspect(engine).get_columns("call_legs")}
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("call_legs")}
    assert indexes == {"ix_call_legs_call_id": ["call_id"]}
    assert [r for r in _rows(engine) if r["leg_id"] != "new-c"] == before
    engine.dispose()
