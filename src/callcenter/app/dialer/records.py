"""What a campaign's dialer keeps across restarts (外呼合规记录): the port and a memory store.

Theory of operation
-------------------
The compliance ledger's counts (live answers, abandoned calls, AMD verdicts) and the
calls each caller ID presented are counted per local calendar day of the campaign.
A :class:`CampaignDialer <callcenter.app.dialer.runtime.CampaignDialer>` writes what
it counted since its last write once per step, in one :meth:`DialerRecords.save` of
day-and-count increments (never the whole ledger), and before it dials for the first
time it reads the campaign back with :meth:`DialerRecords.load`: the totals over every
stored day, the last :data:`~callcenter.domain.compliance.ROLLING_DAYS` days one by
one, and today's calls per caller ID. A number's calls on a local date from every
campaign (:meth:`DialerRecords.caller_id_day`) are read once per date by the process's
shared count (:class:`~callcenter.app.dialer.caller_id_days.CallerIdDays`): a number's
daily cap counts every campaign's calls.

Saves add: a day saved twice holds the sum, so two dialers of one campaign (an old
one hearing its last calls end and its successor) may both save.

:class:`MemoryRecords` is the in-process implementation (tests, and any run without
a database); the SQL one is :class:`callcenter.store.dialer_records.SqlDialerRecords`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from callcenter.domain.compliance import (
    ROLLING_DAYS,
    ComplianceLedger,
    DayCounts,
    LedgerConfig,
)

LedgerDays = Mapping[dt.date, DayCounts]
CallerIdDays = Mapping[tuple[dt.date, str], int]  # (local day, caller ID) -> calls


@dataclass(frozen=True)
class SavedCounts:
    """A campaign's stored counts as of its local day ``today``."""

    today: dt.date
    totals: DayCounts = field(default_factory=DayCounts)  # every stored day
    days: Mapping[dt.date, DayCounts] = field(default_factory=dict)  # the recent days
    caller_ids: Mapping[str, int] = field(default_factory=dict)  # calls per number today


def first_kept_day(today: dt.date) -> dt.date:
    """The oldest local day a ledger window may still need on ``today``."""
    return today - dt.timedelta(days=ROLLING_DAYS - 1)


class DialerRecords(Protocol):
    """Where a campaign's dialer keeps its counts."""

    async def load(self, campaign_id: str, today: dt.date) -> SavedCounts: ...

    async def save(self, campaign_id: str, ledger: LedgerDays, caller_ids: CallerIdDays) -> None:
        """Add these increments to the stored counts, all or nothing."""
        ...

    async def caller_id_day(self, day: dt.date) -> Mapping[str, int]:
        """Calls per caller ID on the local date ``day``, summed over every campaign."""
        ...


async def stored_ledger(
    records: DialerRecords, campaign_id: str, config: LedgerConfig, now: float
) -> ComplianceLedger:
    """A campaign's ledger as stored, for a view of a campaign without a dialer."""
    ledger = ComplianceLedger(campaign_id, config)
    saved = await records.load(campaign_id, ledger.local_date(now))
    ledger.restore(saved.totals, dict(saved.days))
    return ledger


class MemoryRecords:
    """Dialer records in this process's memory, for every campaign."""

    def __init__(self) -> None:
        self._ledger: dict[tuple[str, dt.date], DayCounts] = {}
        self._caller_ids: dict[tuple[str, dt.date, str], int] = {}
        self.saves = 0

    async def load(self, campaign_id: str, today: dt.date) -> SavedCounts:
        totals = DayCounts()
        days: dict[dt.date, DayCounts] = {}
        for (campaign, day), counts in self._ledger.items():
            if campaign != campaign_id:
                continue
            totals.add(counts)
            if first_kept_day(today) <= day <= today:
                days[day] = DayCounts()
                days[day].add(counts)
        calls = {
            number: n
            for (campaign, day, number), n in self._caller_ids.items()
            if campaign == campaign_id and day == today
        }
        return SavedCounts(today, totals, days, calls)

    async def save(self, campaign_id: str, ledger: LedgerDays, caller_ids: CallerIdDays) -> None:
        for day, counts in ledger.items():
            self._ledger.setdefault((campaign_id, day), DayCounts()).add(counts)
        for (day, number), calls in caller_ids.items():
            key = (campaign_id, day, number)
            self._caller_ids[key] = self._caller_ids.get(key, 0) + calls
        self.saves += 1

    async def caller_id_day(self, day: dt.date) -> Mapping[str, int]:
        calls: dict[str, int] = {}
        for (_, stored_day, number), n in self._caller_ids.items():
            if stored_day == day:
                calls[number] = calls.get(number, 0) + n
        return calls
