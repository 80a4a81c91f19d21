from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from callcenter.errors import DatabaseNotMigrated
from callcenter.store import migrate
from callcenter.store.db import make_sync_engine
from callcenter.store.tables import Base


def test_migrations_build_the_models_schema_from_empty(empty_database_url: str) -> None:
    """From an empty database, `db upgrade` builds exactly the schema the code expects."""
    before, after = migrate.upgrade(empty_database_url)
    assert (before, after) == (None, migrate.head_revision())
    engine = make_sync_engine(empty_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()
    migrate.check_migrated(empty_database_url)


def test_upgrade_twice_is_harmless_and_downgrade_returns_to_empty(
    empty_database_url: str,
) -> None:
    """Upgrading a migrated database changes nothing; downgrading to base empties it."""
    migrate.upgrade(empty_database_url)
    head = migrate.head_revision()
    assert migrate.upgrade(empty_database_url) == (head, head)
    assert migrate.downgrade(empty_database_url, "base") == (head, None)
    with pytest.raises(DatabaseNotMigrated):
        migrate.check_migrated(empty_database_url)
    migrate.upgrade(empty_database_url)
    migrate.check_migrated(empty_database_url)


def test_an_unmigrated_database_is_refused_with_the_fix(empty_database_url: str) -> None:
    """The server's start-up check names the revision and the command to run."""
    with pytest.raises(DatabaseNotMigrated) as caught:
        migrate.check_migrated(empty_database_url)
    assert "callcenter db upgrade" in caught.value.message("en")
    assert "callcenter db upgrade" in caught.value.message("zh-CN")
    assert caught.value.details["current"] == "empty"


def test_audit_rows_cannot_be_changed_or_deleted_even_in_sql(database_url: str) -> None:
    """The audit trail is append-only in the database itself, not only in the API."""
    engine = make_sync_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_log (at, actor_no, action, target_type, target_id, "
                "outcome, detail, ip, user_agent) VALUES (:at, 'x', 'agent.create', "
                "'agent', '1', 'ok', '{}', '', '')"
            ),
            {"at": now},
        )
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT action FROM audit_log")).scalars().all() == [
            "agent.create"
        ]
    engine.dispose()
