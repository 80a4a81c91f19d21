"""The live dialer view of each campaign (外呼实时视图), and its publication.

Theory of operation
-------------------
:class:`DialingViews` is the part of :class:`~callcenter.app.dialing.Dialing` that
shows a campaign's dialing as one JSON-ready dict (:meth:`DialingViews.view`): lines in
flight, the dial ratio and level, connects, abandonment per window against the limit,
the agents by state, and why leads are not dialled: the dialer's own counts since it
started and the pre-dial policy's reason for every lead of the campaign now
(:meth:`~callcenter.app.leads.LeadService.why_not_dialling`, recomputed every
``diagnose_every`` seconds, or at once when asked ``fresh``).

A campaign without a dialer (paused, finished, never started, or running without agent
groups) gets the same shape with nothing in flight, the compliance ledger as stored
(it is kept across restarts and pauses) and, when it should be dialling, why not.

Every ``publish_every`` seconds of the engine's clock (:meth:`DialingViews._publish_loop`)
the view of each campaign with a dialer is published as ``dialer.status`` (permission
``campaign.view``) for the WebSocket.

The class is a mixin over the platform dialing's own state, named by the
:class:`_Dialing` protocol.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from callcenter.app.bus import EventBus
from callcenter.app.campaigns import VIEW
from callcenter.app.dialer.records import stored_ledger
from callcenter.app.dialing_runs import Busy, Run
from callcenter.app.leads import Diagnosis
from callcenter.clock import Clock
from callcenter.domain.campaign import CampaignSettings, State
from callcenter.domain.compliance import LedgerConfig
from callcenter.store.dialer_records import SqlDialerRecords
from callcenter.store.uow import UnitOfWork

if TYPE_CHECKING:
    from callcenter.app.outbound import Outbound

__all__ = ["NO_AGENTS", "STATUS_EVENT", "DialingViews", "moment"]

log = logging.getLogger(__name__)

STATUS_EVENT: Final = "dialer.status"
NO_AGENTS: Final = "no-agents-ready"


class _Dialing(Protocol):
    """What the live view reads of the platform's dialing."""

    publish_every: float
    diagnose_every: float
    _uow: Callable[[], UnitOfWork]
    _bus: EventBus
    _outbound: Outbound
    _runs: dict[int, Run]
    _problems: dict[int, str]
    _busy: Busy

    @property
    def clock(self) -> Clock: ...
    async def view(self, campaign_id: int, *, fresh: bool = False) -> dict[str, Any]: ...


class DialingViews:
    """The campaigns' live dialer views (mixed into the platform's dialing)."""

    async def view(self: _Dialing, campaign_id: int, *, fresh: bool = False) -> dict[str, Any]:
        """The campaign's live dialer view; ``fresh`` recomputes the leads' reasons now."""
        run = self._runs.get(campaign_id)
        now = self.clock.now()
        if run is None:
            async with self._uow() as uow:
                row = await self._outbound.campaigns.get(uow, campaign_id)
                version = await self._outbound.campaigns.approved(uow, campaign_id)
                diagnosis = await self._outbound.leads.why_not_dialling(uow, campaign_id, now)
            settings = version.settings if version else CampaignSettings()
            view = _idle_view(campaign_id, row.state, settings.abandon_target, diagnosis, now)
            config = LedgerConfig(
                time_zone=settings.time_zone,
                target=settings.abandon_target,
                assumed_false_positive_rate=settings.amd_false_positive_rate,
            )
            stored = await stored_ledger(SqlDialerRecords(self._uow), str(campaign_id), config, now)
            view["ledger"] = stored.report(now).by_window()  # kept across restarts and pauses
            rates = {window: counts["rate"] for window, counts in view["ledger"].items()}
            view["abandonment"] = _windows(rates, settings.abandon_target)
            problem = self._problems.get(campaign_id)
            if problem is not None and row.state == State.RUNNING:
                view["not_dialled"] = {problem: diagnosis.dialable}
            return view
        due = run.diagnosed_at is None or now - run.diagnosed_at >= self.diagnose_every
        if fresh or due:
            async with self._uow() as uow:
                run.diagnosis = await self._outbound.leads.why_not_dialling(uow, campaign_id, now)
            run.diagnosed_at = now
        return _live_view(run, now)

    async def _publish_loop(self: _Dialing) -> None:
        while True:
            await self.clock.sleep(self.publish_every)
            for campaign_id in list(self._runs):
                try:
                    async with self._busy.hold():
                        view = await self.view(campaign_id)
                except Exception:
                    log.exception("campaign %s dialer status failed", campaign_id)
                    continue
                self._bus.publish(STATUS_EVENT, view, VIEW)


def moment(now: float) -> str:
    """An instant of the engine's clock (Unix seconds) as the views write it."""
    return dt.datetime.fromtimestamp(now, dt.UTC).isoformat()


def _reasons(diagnosis: Diagnosis | None) -> dict[str, Any]:
    if diagnosis is None:
        return {"leads": {}, "total": 0, "dialable": 0, "next_at": None}
    return {
        "leads": {str(k): v for k, v in diagnosis.reasons.items()},
        "total": diagnosis.total,
        "dialable": diagnosis.dialable,
        "next_at": moment(diagnosis.next_at) if diagnosis.next_at is not None else None,
    }


def _windows(rates: dict[str, float], target: float) -> list[dict[str, Any]]:
    return [
        {"window": window, "rate": rate, "limit": target, "over": rate > target}
        for window, rate in rates.items()
    ]


def _idle_view(
    campaign_id: int, state: str, target: float, diagnosis: Diagnosis, now: float
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "state": state,
        "dialing": False,
        "mode": None,
        "at": moment(now),
        "lines": {"in_flight": 0, "ringing": 0, "waiting": 0, "last_decision": 0},
        "ratio": 0.0,
        "level": None,
        "dials": 0,
        "connects": 0,
        "abandoned": 0,
        "given_up": 0,
        "abandon_limit": target,
        "abandonment": [],
        "agents": {},
        "not_dialled": {},
        "reasons": _reasons(diagnosis),
    }


def _live_view(run: Run, now: float) -> dict[str, Any]:
    status = run.dialer.status()
    agents = dict(status.agents)
    working = sum(n for state, n in agents.items() if state not in ("not-ready", "logged-out"))
    not_dialled = dict(status.not_dialled)
    reasons = _reasons(run.diagnosis)
    if status.running and agents.get("ready", 0) == 0 and reasons["dialable"]:
        not_dialled[NO_AGENTS] = reasons["dialable"]
    return {
        "campaign_id": int(status.campaign_id),
        "state": run.state,
        "dialing": status.running,
        "mode": status.mode,
        "at": moment(now),
        "lines": {
            "in_flight": status.in_flight,
            "ringing": status.ringing,
            "waiting": status.waiting,
            "last_decision": status.last_lines,
        },
        "ratio": round(status.in_flight / working, 3) if working else 0.0,
        "level": status.level,
        "dials": status.dials,
        "connects": status.connects,
        "abandoned": status.abandoned,
        "given_up": status.given_up,
        "abandon_limit": run.target,
        "abandonment": _windows(dict(status.abandon_rates), run.target),
        "agents": agents,
        "not_dialled": not_dialled,
        "ledger": dict(status.ledger),
        "caller_ids": dict(status.caller_ids),
        "amd": dict(status.amd),
        "reasons": reasons,
    }
