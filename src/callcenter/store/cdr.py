"""The SQL sink for call detail records: written through as calls move.

Theory of operation: the CTI engine calls the sink synchronously (it must not block);
each record joins a pending list and a writer task, started on demand, writes
everything pending in one transaction: calls and legs are upserted by id (a later
milestone supersedes an earlier one), state changes and abandoned calls appended. A
failed write keeps the batch and retries, so records are never dropped while the
process lives. At start-up, :meth:`reconcile` closes the calls and legs a crash left
open (``end_reason="interrupted"``), so reports never show a call that rings forever.

A campaign's call names its campaign and lead by the engine's ids, which are the store's
integer ids as text (the platform opens campaigns with them); the row keeps them as
integers, so a report joins ``call_records`` to ``campaigns`` and ``leads`` directly. An
id that is not one of ours (a test campaign called "c1") is stored as null rather than
refused: a record that cannot be written would hold up every record after it. A leg to
a customer or a number keeps the caller ID it presented (``call_legs.caller_id``, indexed
for the call log's ``caller_id`` filter) and the trunk it was dialled on (``call_legs.trunk``,
indexed for the ``trunk`` filter): each attempt of a call that failed over to another
trunk is its own call with its own leg, so the 503 or the timeout stays with its trunk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Final

from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app.cti.cdr import AbandonRecord, CallRecord, LegRecord, StateRecord
from callcenter.clock import Clock
from callcenter.store.tables import AbandonRow, AgentStateRow, CallRow, LegRow

log = logging.getLogger(__name__)

Record = CallRecord | LegRecord | StateRecord | AbandonRecord
WallClock = Callable[[float], dt.datetime]

MAX_CAMPAIGN_ID: Final = 2**31 - 1  # call_records.campaign_id is an INTEGER
MAX_LEAD_ID: Final = 2**63 - 1  # call_records.lead_id is a BIGINT


def stored_id(engine_id: str | None, largest: int) -> int | None:
    """The store's integer id behind an engine's campaign or lead id (None: not ours)."""
    if engine_id is None or not engine_id.isascii() or not engine_id.isdigit():
        return None
    value = int(engine_id)
    return value if 0 < value <= largest else None


def wall_clock_for(clock: Clock, *, at: float | None = None) -> WallClock:
    """Map a clock's seconds to UTC datetimes, anchored so that ``clock.now()`` is ``at``."""
    offset = (time.time() if at is None else at) - clock.now()
    return lambda seconds: dt.datetime.fromtimestamp(seconds + offset, dt.UTC)


class SqlCdrSink:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        wall: WallClock,
        *,
        retry_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._wall = wall
        self._retry_seconds = retry_seconds
        self._pending: list[Record] = []
        self._writer: asyncio.Task[None] | None = None
        self.failures = 0

    # -- the CdrSink port ---------------------------------------------------------------

    def record_call(self, record: CallRecord) -> None:
        self._push(record)

    def record_leg(self, record: LegRecord) -> None:
        self._push(record)

    def record_agent_state(self, record: StateRecord) -> None:
        self._push(record)

    def record_abandon(self, record: AbandonRecord) -> None:
        self._push(record)

    # -- writing ------------------------------------------------------------------------

    def _push(self, record: Record) -> None:
        self._pending.append(record)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def drain(self) -> None:
        """Wait until everything recorded so far is in the database."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write(batch)
            except SQLAlchemyError:
                self.failures += 1
                log.exception("writing %d call records failed; retrying", len(batch))
                self._pending[:0] = batch
                await asyncio.sleep(self._retry_seconds)

    async def _write(self, batch: list[Record]) -> None:
        calls: dict[str, dict[str, Any]] = {}
        legs: dict[str, dict[str, Any]] = {}
        states: list[dict[str, Any]] = []
        abandons: list[dict[str, Any]] = []
        for record in batch:
            if isinstance(record, CallRecord):
                calls[record.call_id] = self._call_row(record)
            elif isinstance(record, LegRecord):
                legs[record.leg_id] = self._leg_row(record)
            elif isinstance(record, StateRecord):
                states.append(self._state_row(record))
            else:
                abandons.append(self._abandon_row(record))
        async with self._sessions() as session, session.begin():
            bind = session.bind
            assert bind is not None
            dialect = bind.dialect.name
            await self._upsert(session, dialect, CallRow, "call_id", calls.values())
            await self._upsert(session, dialect, LegRow, "leg_id", legs.values())
            if states:
                await session.execute(insert(AgentStateRow), states)
            if abandons:
                await session.execute(insert(AbandonRow), abandons)

    @staticmethod
    async def _upsert(
        session: AsyncSession,
        dialect: str,
        table: type[CallRow] | type[LegRow],
        key: str,
        rows: Iterable[dict[str, Any]],
    ) -> None:
        values = list(rows)
        if not values:
            return
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = upsert(table).values(values)
        columns = {c: statement.excluded[c] for c in values[0] if c != key}
        await session.execute(statement.on_conflict_do_update(index_elements=[key], set_=columns))

    def _at(self, seconds: float | None) -> dt.datetime | None:
        return None if seconds is None else self._wall(seconds)

    def _call_row(self, r: CallRecord) -> dict[str, Any]:
        return {
            "call_id": r.call_id,
            "direction": r.direction,
            "state": r.state,
            "caller": r.caller[:64],
            "dialled": r.dialled[:64],
            "created_at": self._wall(r.created_at),
            "queue_id": r.queue_id,
            "queued_at": self._at(r.queued_at),
            "offered_at": self._at(r.offered_at),
            "answered_at": self._at(r.answered_at),
            "bridged_at": self._at(r.bridged_at),
            "ended_at": self._at(r.ended_at),
            "agent_no": r.agent_no,
            "agents": list(r.agents),
            "customer_id": r.customer_id,
            "cause": r.cause,
            "end_reason": r.end_reason,
            "campaign_id": stored_id(r.campaign_id, MAX_CAMPAIGN_ID),
            "lead_id": stored_id(r.lead_id, MAX_LEAD_ID),
        }

    def _leg_row(self, r: LegRecord) -> dict[str, Any]:
        return {
            "leg_id": r.leg_id,
            "call_id": r.call_id,
            "purpose": r.purpose,
            "dest": r.dest[:64],
            "created_at": self._wall(r.created_at),
            "agent_no": r.agent_no,
            "answered_at": self._at(r.answered_at),
            "ended_at": self._at(r.ended_at),
            "cause": r.cause,
            "caller_id": None if r.caller_id is None else r.caller_id[:64],
            "trunk": None if r.trunk is None else r.trunk[:64],
        }

    def _state_row(self, r: StateRecord) -> dict[str, Any]:
        return {
            "at": self._wall(r.at),
            "agent_no": r.agent_id,
            "from_state": r.from_state.value,
            "to_state": r.to_state.value,
            "reason": r.reason[:64],
            "call_id": r.call_id,
        }

    def _abandon_row(self, r: AbandonRecord) -> dict[str, Any]:
        return {
            "queue_id": r.queue_id,
            "call_id": r.call_id,
            "entered_at": self._wall(r.entered_at),
            "left_at": self._wall(r.left_at),
            "waited_seconds": r.waited,
            "reason": r.reason.value,
            "overflow_to": r.overflow.target if r.overflow else None,
            "customer_id": r.customer_id,
        }

    # -- start-up -----------------------------------------------------------------------

    async def reconcile(self, now: dt.datetime) -> int:
        """Close what a crash left open; returns how many calls were closed."""
        async with self._sessions() as session, session.begin():
            closed = await session.execute(
                update(CallRow)
                .where(CallRow.ended_at.is_(None))
                .values(ended_at=now, state="ended", end_reason="interrupted", cause="failed")
            )
            await session.execute(
                update(LegRow).where(LegRow.ended_at.is_(None)).values(ended_at=now, cause="failed")
            )
        return int(getattr(closed, "rowcount", 0) or 0)
