"""Where the dialer gets its leads (名单来源): the LeadSource port and an in-memory one.

Theory of operation
-------------------
The dialer asks a :class:`LeadSource` for the next leads of a campaign, in the order
they should be dialled, up to a limit. Each lead handed out is *taken*: it is not
handed out again until the dialer gives it back, either with an attempt and its outcome
(:meth:`LeadSource.mark_attempt` then :meth:`LeadSource.record_outcome`) or unattempted
with the instant from which it may be dialled (:meth:`LeadSource.release`; None: not
by waiting). The pre-dial policy (:func:`~callcenter.domain.dialing_policy.may_dial`)
is the dialer's, so the reason a lead is not dialled is always known to it.

The SQL-backed source lives with the campaigns (``app/leads.py``); :class:`MemoryLeads`
here serves the tests and the benchmark: leads in a fixed order, retries coming back
when due, opt-outs and outcomes kept on the lead.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from callcenter.domain.dialing_policy import DAY, Lead, Outcome

log = logging.getLogger(__name__)


class LeadSource(Protocol):
    """The leads of one campaign, handed out in dialling order."""

    async def next_leads(self, limit: int, now: float) -> Sequence[Lead]:
        """Up to ``limit`` leads to consider now; each is taken until given back."""
        ...

    async def mark_attempt(self, lead_id: str, now: float) -> None:
        """The lead is being dialled now."""
        ...

    async def record_outcome(self, lead_id: str, outcome: Outcome, now: float) -> None:
        """The attempt ended with ``outcome``; the lead may come back for a retry."""
        ...

    async def opt_out(self, lead_id: str, now: float) -> None:
        """The person asked not to be called again: at once, whatever else happens."""
        ...

    async def release(self, lead_id: str, retry_at: float | None) -> None:
        """Give a taken lead back unattempted: from ``retry_at`` on, or parked if None."""
        ...


class MemoryLeads:
    """An in-memory :class:`LeadSource`: fresh leads in order, retries when due."""

    def __init__(self, leads: Iterable[Lead]) -> None:
        self._leads: dict[str, Lead] = {}
        self._fresh: deque[str] = deque()
        for lead in leads:
            self._leads[lead.lead_id] = lead
            self._fresh.append(lead.lead_id)
        self._due: list[tuple[float, int, str]] = []  # (from when, seq, lead id)
        self._seq = itertools.count()
        self._taken: set[str] = set()
        self.parked: set[str] = set()
        self.attempts = 0

    def lead(self, lead_id: str) -> Lead:
        return self._leads[lead_id]

    @property
    def taken(self) -> int:
        return len(self._taken)

    @property
    def fresh(self) -> int:
        return len(self._fresh)

    async def next_leads(self, limit: int, now: float) -> Sequence[Lead]:
        out: list[Lead] = []
        while len(out) < limit and self._due and self._due[0][0] <= now:
            lead_id = heapq.heappop(self._due)[2]
            out.append(self._take(lead_id))
        while len(out) < limit and self._fresh:
            out.append(self._take(self._fresh.popleft()))
        return out

    def _take(self, lead_id: str) -> Lead:
        self._taken.add(lead_id)
        return self._leads[lead_id]

    async def mark_attempt(self, lead_id: str, now: float) -> None:
        lead = self._leads[lead_id]
        last = lead.last_attempt_at
        recent = last is not None and last > now - DAY
        same_day = last is not None and int(last // DAY) == int(now // DAY)
        self._leads[lead_id] = replace(
            lead,
            attempts_lifetime=lead.attempts_lifetime + 1,
            attempts_today=(lead.attempts_today if same_day else 0) + 1,
            attempts_24h=(lead.attempts_24h if recent else 0) + 1,
            oldest_attempt_24h_at=lead.oldest_attempt_24h_at if recent else now,
            last_attempt_at=now,
            callback_at=None,
            callback_agent_id=None,
        )
        self.attempts += 1

    async def record_outcome(self, lead_id: str, outcome: Outcome, now: float) -> None:
        lead = self._leads[lead_id]
        abandoned_at = now if outcome is Outcome.ABANDONED else lead.abandoned_at
        self._leads[lead_id] = replace(lead, last_outcome=outcome, abandoned_at=abandoned_at)
        self._give_back(lead_id, now)  # the policy says when it may be dialled again

    async def opt_out(self, lead_id: str, now: float) -> None:
        self._leads[lead_id] = replace(self._leads[lead_id], opted_out=True)
        log.info("lead %s opted out", lead_id)

    async def release(self, lead_id: str, retry_at: float | None) -> None:
        if retry_at is None:
            self._taken.discard(lead_id)
            self.parked.add(lead_id)
            return
        self._give_back(lead_id, retry_at)

    def _give_back(self, lead_id: str, at: float) -> None:
        self._taken.discard(lead_id)
        if self._leads[lead_id].opted_out:
            self.parked.add(lead_id)
            return
        heapq.heappush(self._due, (at, next(self._seq), lead_id))
