"""Results recorded twice for one call before 0008 are all kept, the later ones marked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from callcenter.store import migrate
from callcenter.store.db import make_sync_engine

T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
LONG_CALL = "sip-" + "7" * 60  # 64 characters, the most a call id holds
SETUP = (
    "INSERT INTO campaigns (id, name, description, state, revision, settings, version, "
    "created_at, updated_at) VALUES (1, '双十一回访', '', 'running', 'none', '{}', 1, :at, :at)",
    "INSERT INTO lead_lists (id, campaign_id, name, lead_count, created_by_no, created_at) "
    "VALUES (1, 1, 'old', 2, 'admin', :at)",
    "INSERT INTO leads (id, campaign_id, list_id, row_no, phone, region, carrier, "
    "number_type, time_zone, fields, status, attempts_today, attempts_24h, "
    "attempts_lifetime, created_at) VALUES "
    "(1, 1, 1, 1, '+8613800000001', 'CN', '', '', 'Asia/Shanghai', '{}', 'done', 0, 0, 1, :at), "
    "(2, 1, 1, 2, '+8613800000002', 'CN', '', '', 'Asia/Shanghai', '{}', 'done', 0, 0, 1, :at)",
    "INSERT INTO dispositions (id, code, name, flags, outcome, enabled, created_at, updated_at) "
    "VALUES (1, 'sale', '成交', '[]', 'sale', true, :at, :at), "
    "(2, 'not_interested', '无意向', '[]', 'answered', true, :at, :at)",
)
INSERT = text(
    "INSERT INTO call_results (id, campaign_id, lead_id, call_id, agent_id, agent_no, "
    "disposition_id, disposition_code, product_values, notes, created_at) VALUES "
    "(:id, 1, :lead_id, :call_id, 7, '1001', :disposition_id, :code, '{}', :notes, :at)"
)
# What a database in use at 0007 holds: call c-1 of lead 1 recorded three times (a
# retry that raced the first, then a second tab with another result), its call c-2
# once, two results recorded without a call; lead 2's own call c-1 once, and a call
# whose id fills the column recorded twice.
OLD = [
    (1, 1, "c-1", 2, "not_interested", "第一次"),
    (2, 1, "c-1", 2, "not_interested", "第一次"),
    (3, 1, "c-2", 1, "sale", ""),
    (4, 1, "c-1", 1, "sale", "另一个标签页"),
    (5, 1, None, 2, "not_interested", "无通话"),
    (6, 1, None, 2, "not_interested", "无通话"),
    (7, 2, "c-1", 2, "not_interested", ""),
    (8, 2, LONG_CALL, 1, "sale", ""),
    (9, 2, LONG_CALL, 1, "sale", "重试"),
]
AUDIT = text(
    "SELECT actor_no, target_type, target_id, detail FROM audit_log "
    "WHERE action = 'result.duplicate_marked' ORDER BY id"
).columns(
    sa.column("actor_no", sa.String()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("detail", sa.JSON()),
)


def _insert(engine: Engine, *rows: tuple[int, int, str | None, int, str, str]) -> None:
    with engine.begin() as connection:
        connection.execute(
            INSERT,
            [
                {"id": id_, "lead_id": lead_id, "call_id": call_id, "disposition_id": disp,
                 "code": code, "notes": notes, "at": T0 + dt.timedelta(minutes=id_)}
                for id_, lead_id, call_id, disp, code, notes in rows
            ],
        )  # fmt: skip


def _results(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        found = connection.execute(text("SELECT * FROM call_results ORDER BY id"))
        return [dict(row) for row in found.mappings()]


def _unique_indexes(engine: Engine) -> dict[str, list[str | None]]:
    indexes = inspect(engine).get_indexes("call_results")
    return {ix["name"] or "": ix["column_names"] for ix in indexes if ix["unique"]}


def test_results_recorded_twice_for_a_call_are_kept_and_marked_before_the_index(
    empty_database_url: str,
) -> None:
    """At 0007, a call's result was recorded three times and another call's twice. The
    upgrade keeps every row and every column; in each call the earliest keeps the call
    id and the later ones read <call id>#dup<id> (cut to fit 64 characters), each
    marking written to the audit trail with the call id it had. Lead 2's own call c-1
    and the results without a call are left alone. Then a third result for c-1 is
    refused by the database, and one more without a call is not. Going back to 0007
    drops the index and leaves the marked ids as they are."""
    url = empty_database_url
    migrate.upgrade(url, "0007")
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        for statement in SETUP:
            connection.execute(text(statement), {"at": T0})
    _insert(engine, *OLD)
    before = _results(engine)

    assert migrate.upgrade(url, "0008") == ("0007", "0008")
    after = _results(engine)
    assert [r["call_id"] for r in after] == [
        "c-1", "c-1#dup2", "c-2", "c-1#dup4", None, None, "c-1", LONG_CALL,
        LONG_CALL[:59] + "#dup9",
    ]  # fmt: skip
    assert len(after[-1]["call_id"]) == 64
    assert [r | {"call_id": None} for r in after] == [r | {"call_id": None} for r in before]
    with engine.connect() as connection:
        marked = connection.execute(AUDIT).all()
    assert [(actor, kind, target) for actor, kind, target, _ in marked] == [
        ("system", "result", "2"),
        ("system", "result", "4"),
        ("system", "result", "9"),
    ]
    assert [detail for *_, detail in marked] == [
        {"campaign_id": 1, "lead_id": 1, "call_id": "c-1", "marked_call_id": "c-1#dup2",
         "kept_result_id": 1, "revision": "0008"},
        {"campaign_id": 1, "lead_id": 1, "call_id": "c-1", "marked_call_id": "c-1#dup4",
         "kept_result_id": 1, "revision": "0008"},
        {"campaign_id": 1, "lead_id": 2, "call_id": LONG_CALL,
         "marked_call_id": LONG_CALL[:59] + "#dup9", "kept_result_id": 8, "revision": "0008"},
    ]  # fmt: skip
    assert _unique_indexes(engine) == {"ix_call_results_lead_call": ["lead_id", "call_id"]}

    with pytest.raises(IntegrityError):
        _insert(engine, (10, 1, "c-1", 1, "sale", "又一次"))
    _insert(engine, (11, 1, None, 2, "not_interested", "无通话"), (12, 2, "c-2", 1, "sale", ""))
    assert [r["id"] for r in _results(engine)] == [*range(1, 10), 11, 12]

    assert migrate.downgrade(url, "0007") == ("0008", "0007")
    assert _unique_indexes(engine) == {}
    assert [r["call_id"] for r in _results(engine)][:4] == ["c-1", "c-1#dup2", "c-2", "c-1#dup4"]
    _insert(engine, (13, 1, "c-1", 1, "sale", "又一次"))  # no index: not refused any more
    engine.dispose()


def test_a_database_with_no_duplicates_upgrades_without_a_mark(empty_database_url: str) -> None:
    """Where every call has one result, the upgrade changes no row and writes nothing
    to the audit trail."""
    url = empty_database_url
    migrate.upgrade(url, "0007")
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        for statement in SETUP:
            connection.execute(text(statement), {"at": T0})
    _insert(engine, *(row for row in OLD if row[0] in (1, 3, 5, 6, 7, 8)))
    before = _results(engine)

    migrate.upgrade(url, "0008")
    assert _results(engine) == before
    with engine.connect() as connection:
        assert connection.execute(AUDIT).all() == []
    engine.dispose()
