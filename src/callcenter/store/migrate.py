"""Schema migrations with Alembic, driven from code (`callcenter db upgrade`)."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from callcenter.errors import DatabaseNotMigrated
from callcenter.store.db import make_sync_engine

SCRIPT_LOCATION = "callcenter.store:migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations up to ``revision``; return (before, after)."""
    return _move(url, command.upgrade, revision)


def downgrade(url: str, revision: str) -> tuple[str | None, str | None]:
    """Undo migrations down to ``revision`` ("base" empties the schema)."""
    return _move(url, command.downgrade, revision)


def _move(
    url: str, step: Callable[[Config, str], None], revision: str
) -> tuple[str | None, str | None]:
    engine = make_sync_engine(url)
    try:
        before = current_revision(engine)
        config = _config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
        return before, current_revision(engine)
    finally:
        engine.dispose()


def check_migrated(url: str) -> None:
    """Raise DatabaseNotMigrated unless the database is at the head revision."""
    engine = make_sync_engine(url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        raise DatabaseNotMigrated(current=current or "empty", head=head)


def autogenerate(url: str, message: str) -> None:
    """Developer helper: write a new revision from the difference to the models."""
    engine = make_sync_engine(url)
    try:
        config = _config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True)
    finally:
        engine.dispose()
