"""What the campaign admin services (campaigns, products, scripts, dispositions) share.

Each keeps its own rules; these are the steps they all take: a row by id, or NotFound;
a name (or code) no other row of the table holds, or AlreadyExists; and a change
committed together with its audit row and its ``<kind>.changed`` event.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.errors import AlreadyExists, NotFound
from callcenter.store.uow import UnitOfWork

R = TypeVar("R")


async def get_row(uow: UnitOfWork, table: type[R], row_id: int, *, kind: str) -> R:
    """The row of ``table`` with id ``row_id``; NotFound names it as ``kind``."""
    row = await uow.session.get(table, row_id)
    if row is None:
        raise NotFound(kind=kind, id=row_id)
    return row


async def ensure_unique(
    uow: UnitOfWork,
    column: InstrumentedAttribute[str],
    value: str,
    *,
    ids: InstrumentedAttribute[int],
    kind: str,
    other_than: int | None = None,
) -> None:
    """Raise AlreadyExists when a row other than ``other_than`` has ``value`` in ``column``."""
    query = select(ids).where(column == value)
    if other_than is not None:
        query = query.where(ids != other_than)
    if await uow.session.scalar(query):
        raise AlreadyExists(kind=kind, value=value)


async def commit_change(
    uow: UnitOfWork,
    actor: Actor,
    kind: str,
    verb: str,
    row_id: int,
    detail: dict[str, Any],
    *,
    view: str,
) -> None:
    """Audit ``<kind>.<verb>`` on the row, publish ``<kind>.changed`` to ``view``, commit."""
    audit.record(uow, actor, f"{kind}.{verb}", target_type=kind, target_id=row_id, detail=detail)
    uow.emit(f"{kind}.changed", {"id": row_id}, view)
    await uow.commit()
