"""What the campaign admin services (campaigns, products, scripts, dispositions) share.

Each keeps its own rules and events; these are the lookups they all make: a row by id,
or NotFound, and a name (or code) no other row of the table holds, or AlreadyExists.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

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
