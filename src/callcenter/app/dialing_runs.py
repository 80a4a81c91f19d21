"""What the platform's dialing keeps of each campaign (外呼运行记录), and its database work.

Theory of operation
-------------------
:class:`~callcenter.app.dialing.Dialing` keeps one :class:`Run` per campaign it has
given a dialer: the dialer, the approved version it runs, the abandonment limit and
name the live view shows, the campaign's state, and the pre-dial policy's last reasons
for its leads (recomputed every few seconds, not on every view).

The dialers reach the database through their lead source and the platform's own reads
and writes (a lead held back, a view). :class:`Busy` counts those in hand and
:class:`CountedLeads` counts a lead source's calls with it, so that tests can wait
until none is left (:attr:`~callcenter.app.dialing.Dialing.busy`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from callcenter.app.dialer import CampaignDialer
from callcenter.app.dialer.leads import LeadSource
from callcenter.app.leads import Diagnosis
from callcenter.domain.campaign import State
from callcenter.domain.dialing_policy import Lead, Outcome

__all__ = ["Busy", "CountedLeads", "Run"]


class Busy:
    """How many pieces of database work the dialers have in hand (tests wait for none)."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


class CountedLeads:
    """A lead source whose calls in progress are counted."""

    def __init__(self, inner: LeadSource, busy: Busy) -> None:
        self._inner = inner
        self._busy = busy

    async def next_leads(self, limit: int, now: float) -> Sequence[Lead]:
        async with self._busy.hold():
            return await self._inner.next_leads(limit, now)

    async def mark_attempt(self, lead_id: str, now: float) -> None:
        async with self._busy.hold():
            await self._inner.mark_attempt(lead_id, now)

    async def record_outcome(self, lead_id: str, outcome: Outcome, now: float) -> None:
        async with self._busy.hold():
            await self._inner.record_outcome(lead_id, outcome, now)

    async def opt_out(self, lead_id: str, now: float) -> None:
        async with self._busy.hold():
            await self._inner.opt_out(lead_id, now)

    async def release(self, lead_id: str, retry_at: float | None) -> None:
        async with self._busy.hold():
            await self._inner.release(lead_id, retry_at)


@dataclass(eq=False)
class Run:
    """One campaign's dialer and what the live view adds to it."""

    dialer: CampaignDialer
    version: int
    target: float
    name: str = ""
    state: str = State.RUNNING
    diagnosis: Diagnosis | None = None
    diagnosed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
