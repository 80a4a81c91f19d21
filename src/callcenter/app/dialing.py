"""外呼运行 / dialing in the running platform: a dialer for every running campaign.

Theory of operation
-------------------
:class:`Dialing` ties the campaign service to the dialer runtime. It listens on the
event bus for ``campaign.changed`` (published once a lifecycle command has committed)
and brings the campaign's dialer in line with its state:

* running: a :class:`~callcenter.app.dialer.runtime.CampaignDialer` runs the approved
  version (:func:`dialer_settings` maps it to ``DialerSettings``) on the platform's
  CTI engine, with the SQL lead source (``app/leads.py``), the names of the
  campaign's agent groups and the platform's least-cost router over its configured
  trunks (:meth:`~callcenter.telephony.Telephony.trunk_router`, one for all the
  campaigns, so a trunk's channel and CPS limits hold across them) and the one count of
  calls per caller ID and local day
  (:class:`~callcenter.app.dialer.caller_id_days.CallerIdDays`, so a number's daily cap
  counts every campaign's calls); a newly approved revision replaces the dialer;
* paused or finished: the dialer stops launching calls (calls in flight end normally
  and their outcomes still reach the leads); its counts stay for the live view, and
  resuming the same version goes on with the same ledger.

A preview campaign's dialer has a
:class:`~callcenter.app.dialer.preview.PreviewDesk`: its ready agents are offered
leads one at a time (one offer per agent across the campaigns), which they see, accept
and skip on their desktop (:meth:`Dialing.preview`, :meth:`Dialing.accept_preview`,
:meth:`Dialing.skip_preview`); a stopped dialer withdraws its offers. The offer's
countdown and a skipped lead's delay are the campaign's own when its version sets them,
else the platform's (``preview_timeout``, ``preview_skip_delay``).

A manual campaign's dialer launches nothing: its agents take its leads one at a time
and dial them from the desk through it (:mod:`callcenter.app.dialing_manual`:
:meth:`Dialing.manual`, :meth:`Dialing.dial_lead`, :meth:`Dialing.release_lead`; who may
dial what in :mod:`callcenter.app.dialing_manual_checks`).

On start (:meth:`Dialing.start`) every campaign the database says is running gets its
dialer again, so a platform restart resumes them. The outcomes of calls reach the
leads through the lead source (attempts, last outcome, retries, abandon cool-off).

The live view (:meth:`Dialing.view`) is one JSON-ready dict per campaign: the dialer's
lines, counts and abandonment, the agents, and why leads are not dialled; it is
published every ``publish_every`` seconds as ``dialer.status``.

:class:`Dialing` is one class made of parts, each a mixin in a module of its own over
its state: :mod:`callcenter.app.dialing_preview` (the preview offers and their events)
and :mod:`callcenter.app.dialing_views` (the live view and its publication). What it
keeps per campaign is in :mod:`callcenter.app.dialing_runs`, and how an approved
version dials in :mod:`callcenter.app.dialing_settings`. This module follows the
campaigns.

The engine runs on an :class:`EpochClock`: the dialer compares the engine's instants
with leads' attempt times and calling windows, which are Unix seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from callcenter.app.bus import Event, EventBus
from callcenter.app.cti.outbound import OutboundFlows
from callcenter.app.dialer import CampaignDialer, DialingMode, PreviewDesk
from callcenter.app.dialer.caller_id_days import CallerIdDays
from callcenter.app.dialing_manual import ManualDialing, ManualState
from callcenter.app.dialing_preview import (
    CALLBACK_WAITING,
    PREVIEW_ENDED,
    PREVIEW_OFFERED,
    PREVIEW_PERMISSION,
    PREVIEW_SKIPPED,
    PreviewOffers,
)
from callcenter.app.dialing_runs import Busy, CountedLeads, Run
from callcenter.app.dialing_settings import dialer_settings, safe_harbour_message
from callcenter.app.dialing_views import NO_AGENTS, STATUS_EVENT, DialingViews
from callcenter.app.leads import SqlLeadSource
from callcenter.clock import Clock, RealClock, TimerHandle
from callcenter.domain.campaign import State
from callcenter.store.dialer_records import SqlDialerRecords
from callcenter.store.tables import CampaignRow, GroupRow
from callcenter.store.uow import UnitOfWork

if TYPE_CHECKING:
    from callcenter.app.outbound import Outbound
    from callcenter.telephony import Telephony

__all__ = [
    "CALLBACK_WAITING",
    "NO_AGENTS",
    "NO_GROUPS",
    "PREVIEW_ENDED",
    "PREVIEW_OFFERED",
    "PREVIEW_PERMISSION",
    "PREVIEW_SKIPPED",
    "STATUS_EVENT",
    "Dialing",
    "EpochClock",
    "dialer_settings",
    "safe_harbour_message",
]

log = logging.getLogger(__name__)

NO_GROUPS: Final = "no-agent-groups"


class EpochClock:
    """A clock whose ``now()`` is Unix seconds: another clock shifted by a fixed offset.

    Built with ``offset=None`` on the real clock, the offset is taken at the first
    reading, when an event loop runs.
    """

    def __init__(self, inner: Clock | None = None, offset: float | None = None) -> None:
        self.inner: Clock = inner if inner is not None else RealClock()
        self._offset = offset

    @property
    def offset(self) -> float:
        if self._offset is None:
            self._offset = time.time() - self.inner.now()
        return self._offset

    def now(self) -> float:
        return self.inner.now() + self.offset

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        return self.inner.call_at(when - self.offset, callback)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class Dialing(PreviewOffers, DialingViews, ManualDialing):
    """The dialers of the platform's running campaigns; see the module docstring."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        bus: EventBus,
        outbound: Outbound,
        telephony: Telephony,
        *,
        publish_every: float = 3.0,
        diagnose_every: float = 15.0,
        preview_timeout: float = 30.0,
        preview_skip_delay: float = 3600.0,
        preview_dial_on_timeout: bool = True,
    ) -> None:
        self._uow = uow
        self._bus = bus
        self._outbound = outbound
        self._telephony = telephony
        self.publish_every = publish_every
        self.diagnose_every = diagnose_every
        # The platform's preview timings, for a campaign that sets none of its own:
        self.preview_timeout = preview_timeout  # seconds an agent has to accept or skip
        self.preview_skip_delay = preview_skip_delay  # a skipped lead comes back after this
        self.preview_dial_on_timeout = preview_dial_on_timeout
        self._runs: dict[int, Run] = {}
        # every campaign's calls per caller ID and local day: a number's cap counts them all
        region = outbound.blacklist.default_region  # of a caller ID without a country code
        self._caller_id_days = CallerIdDays(SqlDialerRecords(uow), region)
        self._problems: dict[int, str] = {}  # why a running campaign has no dialer
        self._busy = Busy()
        self._manual = ManualState()  # manual campaigns' takes and dial answers
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._publisher: asyncio.Task[None] | None = None
        self._listening = False
        self._started = False

    # --- lifecycle ------------------------------------------------------------------

    @property
    def engine(self) -> OutboundFlows:
        engine = self._telephony.engine
        if not isinstance(engine, OutboundFlows):
            raise TypeError("the platform's CTI engine has no outbound flows")
        return engine

    @property
    def clock(self) -> Clock:
        clock = self._telephony.clock
        assert clock is not None, "telephony is started before dialing"
        return clock

    async def start(self) -> None:
        """Listen for campaign changes and resume every running campaign."""
        self._started = True
        if not self._listening:
            self._bus.listen(self._heard)
            self._listening = True
        async with self._uow() as uow:
            running = list(
                await uow.session.scalars(
                    select(CampaignRow.id).where(CampaignRow.state == State.RUNNING)
                )
            )
        for campaign_id in running:
            await self.sync(campaign_id)
        if running:
            log.info("resumed %d running campaigns", len(running))
        self._publisher = asyncio.create_task(self._publish_loop(), name="dialer-status")

    async def stop(self) -> None:
        """Stop every dialer and the status publisher; wait for lead updates in hand."""
        self._started = False
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        for run in self._runs.values():
            await _halt(run.dialer)
        self._runs.clear()

    def _heard(self, event: Event) -> None:
        if event.type == "campaign.changed" and self._started:
            self._later(self.sync(int(event.data["id"])))

    def _later(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("campaign dialer change failed", exc_info=task.exception())

    # --- following the campaigns ----------------------------------------------------

    async def sync(self, campaign_id: int) -> None:
        """Start, replace or stop the campaign's dialer after its state changed."""
        lock = self._locks.setdefault(campaign_id, asyncio.Lock())
        async with lock:
            async with self._uow() as uow:
                row = await self._outbound.campaigns.get(uow, campaign_id)
                version = await self._outbound.campaigns.approved(uow, campaign_id)
                groups: frozenset[str] = frozenset()
                if version is not None and version.settings.group_ids:
                    groups = frozenset(
                        await uow.session.scalars(
                            select(GroupRow.name).where(GroupRow.id.in_(version.settings.group_ids))
                        )
                    )
            run = self._runs.get(campaign_id)
            if run is not None:
                run.state = row.state
            if row.state != State.RUNNING or version is None:
                if run is not None:
                    await _halt(run.dialer)
                    log.info("campaign %s dialer stopped (%s)", campaign_id, row.state)
                return
            self._problems.pop(campaign_id, None)
            if not groups:
                self._problems[campaign_id] = NO_GROUPS
                log.warning("campaign %s has no agent groups: nothing is dialled", campaign_id)
                if run is not None:
                    await _halt(run.dialer)
                return
            if run is not None and run.version == version.version:
                await run.dialer.start()
                return
            if run is not None:
                await _halt(run.dialer)
            settings = dialer_settings(  # the platform's preview timings, unless its own
                campaign_id,
                version,
                groups,
                preview_timeout=self.preview_timeout,
                preview_skip_delay=self.preview_skip_delay,
            )
            leads = CountedLeads(
                SqlLeadSource(self._uow, self._outbound.leads, campaign_id), self._busy
            )
            records = SqlDialerRecords(self._uow)  # the ledger and caller IDs outlive a restart
            dialer = CampaignDialer(
                self.engine,
                self.clock,
                settings,
                leads,
                records=records,
                trunks=self._telephony.trunk_router(),  # least-cost routing, shared
                caller_id_days=self._caller_id_days,  # a number's calls, shared
            )
            dialer.hold_back = lambda lead_id, until: self._hold_back(
                lead_id, until, CALLBACK_WAITING
            )
            if settings.mode is DialingMode.PREVIEW:
                desk = PreviewDesk(
                    dialer,
                    dial_on_timeout=self.preview_dial_on_timeout,
                    busy_elsewhere=self._previewing_elsewhere(campaign_id),
                    hold_back=self._hold_back,
                    recheck=self._preview_recheck(campaign_id),
                )
                desk.listeners.append(self._preview_publisher(campaign_id, row.name))
            if run is not None:  # a newly approved version: the campaign's counts go on
                _carry_over(run.dialer, dialer)
            self._runs[campaign_id] = Run(
                dialer, version.version, version.settings.abandon_target, row.name
            )
            self._telephony.headsets(agent.agent_id for agent in dialer.agents())
            await dialer.start()
            log.info(
                "campaign %s dialing version %d (%s) with groups %s",
                campaign_id,
                version.version,
                settings.mode,
                ",".join(sorted(groups)) or "none",
            )

    @property
    def busy(self) -> bool:
        """Database work in hand: a change being followed, a lead or a view being written."""
        return bool(self._tasks) or self._busy.count > 0

    def dialer(self, campaign_id: int) -> CampaignDialer | None:
        run = self._runs.get(campaign_id)
        return run.dialer if run is not None else None


async def _halt(dialer: CampaignDialer) -> None:
    """Stop launching calls; the leads on preview go back."""
    await dialer.stop()
    if isinstance(dialer.preview, PreviewDesk):
        await dialer.preview.withdraw_all()


def _carry_over(old: CampaignDialer, new: CampaignDialer) -> None:
    """The compliance ledger and the counts of a campaign's dialer, kept by its successor
    (the old one still hears its calls in flight end, into the same ledger)."""
    new.ledger = old.ledger
    new.dials, new.connects, new.abandoned = old.dials, old.connects, old.abandoned
    new.not_dialled.update(old.not_dialled)
    new.outcomes.update(old.outcomes)
