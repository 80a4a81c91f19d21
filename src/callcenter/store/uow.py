"""Unit of work: one database transaction, and the events to publish once it commits."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app.bus import EventBus


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], bus: EventBus) -> None:
        self._sessions = sessions
        self._bus = bus
        self._pending: list[tuple[str, dict[str, Any], str | None]] = []
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        self._pending = []
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc_type is not None:
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    def emit(self, type_: str, data: dict[str, Any], permission: str | None) -> None:
        """Queue an event; it is published only if the transaction commits."""
        self._pending.append((type_, data, permission))

    async def commit(self) -> None:
        await self.session.commit()
        pending, self._pending = self._pending, []
        for type_, data, permission in pending:
            self._bus.publish(type_, data, permission)
