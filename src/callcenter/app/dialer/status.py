"""A campaign dialer's status (外呼状态): what the live view shows of it.

Theory of operation
-------------------
:class:`StatusView` is the part of :class:`~callcenter.app.dialer.runtime.CampaignDialer`
that reads its state into a :class:`~callcenter.app.dialer.settings.DialerStatus`: the
calls in flight (ringing, or answered and waiting for an agent), the last decision and
the pacer's level, the counts since the dialer started, the compliance ledger by
window, the agents by state, why leads were not dialled, the caller-ID pool's use today
(each number's calls from every campaign, which its cap counts, and this campaign's
own; when every number is spent, when dialing resumes and why, in Chinese and English,
naming the calls other campaigns made with the numbers) and the AMD verdicts with the
false positives the ledger counts.

Reading the status changes nothing but the dialer's look-up of its agents.

The class is a mixin over the dialer's own state, named by the :class:`_Dialer`
protocol.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from callcenter.app.dialer.caller_id_days import CampaignCallerIds, SharedCapReached
from callcenter.app.dialer.flights import Flight
from callcenter.app.dialer.settings import DialerSettings, DialerStatus
from callcenter.clock import Clock
from callcenter.domain.agent import Agent
from callcenter.domain.compliance import ComplianceLedger
from callcenter.domain.dialing_policy import choose_caller_id
from callcenter.domain.pacing import CallPhase, FixedRatioPacer, Pacer, VicidialAdaptTapered

__all__ = ["StatusView"]


class _Dialer(Protocol):
    """What the status reads of the dialer."""

    clock: Clock
    settings: DialerSettings
    pacer: Pacer
    ledger: ComplianceLedger
    caller_ids: CampaignCallerIds
    not_dialled: Counter[str]
    last_lines: int
    dials: int
    connects: int
    abandoned: int
    given_up: int
    _flights: dict[str, Flight]
    _task: asyncio.Task[None] | None

    @property
    def campaign_id(self) -> str: ...
    def agents(self) -> list[Agent]: ...
    def _amd_view(self) -> dict[str, float]: ...
    def _caller_id_view(self, now: float) -> dict[str, Any]: ...


class StatusView:
    """The dialer's status for the live view (mixed into the dialer)."""

    def status(self: _Dialer) -> DialerStatus:
        now = self.clock.now()
        states: Counter[str] = Counter(a.state.value for a in self.agents())
        report = self.ledger.report(now)
        level: float | None = None  # lines per agent, for the pacers that keep one
        if isinstance(self.pacer, VicidialAdaptTapered):
            level = self.pacer.level
        elif isinstance(self.pacer, FixedRatioPacer):
            level = self.pacer.ratio
        ringing = sum(1 for f in self._flights.values() if f.phase is CallPhase.RINGING)
        return DialerStatus(
            campaign_id=self.campaign_id,
            mode=self.settings.mode.value,
            running=self._task is not None,
            in_flight=len(self._flights),
            ringing=ringing,
            waiting=len(self._flights) - ringing,
            last_lines=self.last_lines,
            level=level,
            dials=self.dials,
            connects=self.connects,
            abandoned=self.abandoned,
            abandon_rates={b.window.value: b.rate for b in report.windows},
            agents=dict(states),
            not_dialled=dict(self.not_dialled),
            ledger=report.by_window(),
            caller_ids=self._caller_id_view(now),
            amd=self._amd_view(),
            given_up=self.given_up,
        )

    def _amd_view(self: _Dialer) -> dict[str, float]:
        """The campaign's AMD verdicts and the false positives the ledger counts (UK rule:
        the larger of those found and the assumed share of machine verdicts)."""
        totals = self.ledger.totals
        rate = self.ledger.config.assumed_false_positive_rate
        estimated = rate * totals.amd_machine
        return {
            "human": totals.amd_human,
            "machine": totals.amd_machine,
            "unsure": totals.amd_unsure,
            "false_positives_found": totals.amd_false_positives,
            "assumed_rate": rate,
            "false_positives_counted": (
                max(float(totals.amd_false_positives), estimated)
                if self.ledger.config.count_amd_false_positives
                else 0.0
            ),
        }

    def _caller_id_view(self: _Dialer, now: float) -> dict[str, Any]:
        """The pool's cap, each number's calls today (``today``: every campaign's, which the
        cap counts; ``own``: this campaign's), and why nothing dials if all are spent."""
        pool = self.settings.caller_id_pool
        used = self.caller_ids.today(now)
        own = self.caller_ids.own(now)
        decision = choose_caller_id(pool, self.caller_ids, now)
        view: dict[str, Any] = {
            "cap": pool.daily_cap,
            "today": {number: used.get(number, 0) for number in pool.numbers},
            "own": {number: own.get(number, 0) for number in pool.numbers},
            "spent": not decision.allowed,
            "resumes_at": None,
            "message": None,
        }
        if decision.retry_at is not None:
            zone = self.ledger.config.time_zone
            resumes = dt.datetime.fromtimestamp(decision.retry_at, ZoneInfo(zone)).isoformat()
            others = self.caller_ids.others(pool.numbers, now)
            why = SharedCapReached(cap=pool.daily_cap, others=others, resumes=resumes)
            view |= {
                "resumes_at": resumes,
                "message": {"zh": why.message("zh"), "en": why.message("en")},
            }
        return view
