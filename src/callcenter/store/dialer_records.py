"""The SQL store of a campaign's dialer records (the ``DialerRecords`` port).

Theory of operation: :meth:`SqlDialerRecords.save` adds one batch of increments (the
ledger's counts per local day, the calls per caller ID per local day) in one
transaction, each row an ``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``
on both SQLite and PostgreSQL, so concurrent savers of one campaign never lose a
count. :meth:`SqlDialerRecords.load` reads the totals over every day with one
aggregate, the days a window may need, and today's calls per caller ID;
:meth:`SqlDialerRecords.caller_id_day` sums one local date's calls per caller ID over
every campaign (read once per date by the process's shared count, so a scan of the
date's rows needs no index of its own).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.app.dialer.records import CallerIdDays, LedgerDays, SavedCounts, first_kept_day
from callcenter.domain.compliance import DayCounts
from callcenter.store.dialer_tables import LEDGER_COUNTS, CallerIdDayRow, LedgerDayRow
from callcenter.store.uow import UnitOfWork


def _counts(values: Sequence[Any]) -> DayCounts:
    return DayCounts(*(int(v or 0) for v in values))


class SqlDialerRecords:
    """Dialer records in the platform's database; see the module docstring."""

    def __init__(self, uow: Callable[[], UnitOfWork]) -> None:
        self._uow = uow

    async def load(self, campaign_id: str, today: dt.date) -> SavedCounts:
        campaign = int(campaign_id)
        columns = [getattr(LedgerDayRow, name) for name in LEDGER_COUNTS]
        async with self._uow() as uow:
            session = uow.session
            sums = (
                await session.execute(
                    select(*(func.sum(c) for c in columns)).where(
                        LedgerDayRow.campaign_id == campaign
                    )
                )
            ).one()
            recent = await session.execute(
                select(LedgerDayRow.day, *columns).where(
                    LedgerDayRow.campaign_id == campaign,
                    LedgerDayRow.day >= first_kept_day(today),
                    LedgerDayRow.day <= today,
                )
            )
            calls = await session.execute(
                select(CallerIdDayRow.caller_id, CallerIdDayRow.calls).where(
                    CallerIdDayRow.campaign_id == campaign, CallerIdDayRow.day == today
                )
            )
            return SavedCounts(
                today,
                _counts(sums),
                {row[0]: _counts(row[1:]) for row in recent},
                {number: int(n) for number, n in calls},
            )

    async def caller_id_day(self, day: dt.date) -> Mapping[str, int]:
        async with self._uow() as uow:
            rows = await uow.session.execute(
                select(CallerIdDayRow.caller_id, func.sum(CallerIdDayRow.calls))
                .where(CallerIdDayRow.day == day)
                .group_by(CallerIdDayRow.caller_id)
            )
            return {number: int(calls or 0) for number, calls in rows}

    async def save(self, campaign_id: str, ledger: LedgerDays, caller_ids: CallerIdDays) -> None:
        campaign = int(campaign_id)
        days = [
            {"campaign_id": campaign, "day": day}
            | {name: getattr(counts, name) for name in LEDGER_COUNTS}
            for day, counts in sorted(ledger.items())
        ]
        numbers = [
            {"campaign_id": campaign, "day": day, "caller_id": number, "calls": calls}
            for (day, number), calls in sorted(caller_ids.items())
        ]
        async with self._uow() as uow:
            session = uow.session
            if days:
                await _add(session, LedgerDayRow, ["campaign_id", "day"], LEDGER_COUNTS, days)
            if numbers:
                keys = ["campaign_id", "day", "caller_id"]
                await _add(session, CallerIdDayRow, keys, ("calls",), numbers)
            await uow.commit()


async def _add(
    session: AsyncSession,
    table: type[LedgerDayRow] | type[CallerIdDayRow],
    keys: list[str],
    counts: Sequence[str],
    rows: list[dict[str, Any]],
) -> None:
    """Insert the rows, or add their counts to the rows already there."""
    bind = session.bind
    assert bind is not None
    upsert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    statement = upsert(table).values(rows)
    added = {name: getattr(table, name) + statement.excluded[name] for name in counts}
    await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=added))
