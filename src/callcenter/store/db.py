"""Engines for the configured database: async for the platform, sync for migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _base_url(url: str) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql")
    return parsed


def sync_url(url: str) -> URL:
    parsed = _base_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite")


def async_url(url: str) -> URL:
    parsed = _base_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed.set(drivername="sqlite+aiosqlite")


def dialect_name(url: str) -> str:
    return _base_url(url).get_backend_name()


def _ensure_sqlite_dir(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_sync_engine(url: str) -> Engine:
    target = sync_url(url)
    _ensure_sqlite_dir(target)
    engine = create_engine(target)
    if target.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_async_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    target = async_url(url)
    _ensure_sqlite_dir(target)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        target, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
