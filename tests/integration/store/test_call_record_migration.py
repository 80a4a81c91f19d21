"""Call records made before 0006 keep everything they had and name no campaign."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, inspect, text

from callcenter.store import migrate
from callcenter.store.db import make_sync_engine

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
INSERT = text(
    "INSERT INTO call_records (call_id, direction, state, caller, dialled, created_at, "
    "queue_id, answered_at, ended_at, agent_no, agents, cause, end_reason) VALUES "
    "(:call_id, :direction, 'ended', :caller, :dialled, :at, :queue_id, :at, :at, '1001', "
    "'[\"1001\"]', 'normal', 'customer')"
)


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        result = connection.execute(text("SELECT * FROM call_records ORDER BY call_id"))
        return [dict(row) for row in result.mappings()]


def test_records_made_at_0005_gain_empty_campaign_and_lead_and_lose_them_going_back(
    empty_database_url: str,
) -> None:
    """A database in use at 0005 holds an inbound call and a campaign's call (which
    then said its campaign only through the queue's name). After the upgrade both rows
    are as they were, with no campaign and no lead; a new record can name them, and
    the call log's filter finds it by its index. Going back to 0005 drops the two
    columns and keeps every row."""
    url = empty_database_url
    migrate.upgrade(url, "0005")
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(
            INSERT,
            [
                {"call_id": "old-in", "direction": "inbound", "caller": "13800138000",
                 "dialled": "4008001000", "at": T0, "queue_id": "service"},
                {"call_id": "old-out", "direction": "outbound", "caller": "+862000000000",
                 "dialled": "13900139000", "at": T0, "queue_id": "campaign:3"},
            ],
        )  # fmt: skip
    before = _rows(engine)

    assert migrate.upgrade(url) == ("0005", migrate.head_revision())
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT call_id, campaign_id, lead_id, queue_id FROM call_records ORDER BY 1")
        ).all()
    assert [tuple(row) for row in stored] == [
        ("old-in", None, None, "service"),
        ("old-out", None, None, "campaign:3"),
    ]
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("call_records")}
    assert indexes["ix_call_records_campaign_created"] == ["campaign_id", "created_at"]
    assert indexes["ix_call_records_lead_id"] == ["lead_id"]

    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO call_records (call_id, direction, state, caller, dialled, "
                "created_at, agents, campaign_id, lead_id) VALUES ('new-out', 'outbound', "
                "'ended', '+862000000000', '13900139001', :at, '[]', 3, 9000000000)"
            ),
            {"at": T0 + dt.timedelta(days=1)},
        )
        found = connection.execute(
            text("SELECT call_id, lead_id FROM call_records WHERE campaign_id = 3")
        ).all()
    assert [tuple(row) for row in found] == [("new-out", 9_000_000_000)]  # a BIGINT lead

    assert migrate.downgrade(url, "0005") == (migrate.head_revision(), "0005")
    columns = {c["name"] for c in inspect(engine).get_columns("call_records")}
    assert not columns & {"campaign_id", "lead_id"}
    assert [r for r in _rows(engine) if r["call_id"] != "new-out"] == before
    engine.dispose()
