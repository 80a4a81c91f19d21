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
  campaigns, so a trunk's channel and CPS limits hold across them); a newly approved
  revision replaces the dialer;
* paused or finished: the dialer stops launching calls (calls in flight end normally
  and their outcomes still reach the leads); its counts stay for the live view, and
  resuming the same version goes on with the same ledger.

A preview campaign's dialer has a
:class:`~callcenter.app.dialer.preview.PreviewDesk`: its ready agents are offered
leads one at a time (one offer per agent across the campaigns), and each offer made
or ended is published as ``preview.offered`` / ``preview.ended`` (permission
``desk.use``) naming the agent, the campaign and the deadline, but not the lead: every
agent holds ``desk.use``, so the lead's name, number and fields are read by the
agent's own desktop (:meth:`Dialing.preview`), as ``desk.changed`` leaves the call to
``/desk/state``. The agent accepts or skips through :meth:`Dialing.accept_preview` and
:meth:`Dialing.skip_preview`; a stopped dialer withdraws its offers.

On start (:meth:`Dialing.start`) every campaign the database says is running gets its
dialer again, so a platform restart resumes them. The outcomes of calls reach the
leads through the lead source (attempts, last outcome, retries, abandon cool-off).

The live view (:meth:`Dialing.view`) is one JSON-ready dict per campaign: lines in
flight, the dial ratio and level, connects, abandonment per window against the limit,
the agents by state, and why leads are not dialled: the dialer's own counts since it
started and the pre-dial policy's reason for every lead of the campaign now
(:meth:`~callcenter.app.leads.LeadService.why_not_dialling`, recomputed every
``diagnose_every`` seconds). Every ``publish_every`` seconds of the engine's clock the
view of each campaign with a dialer is published as ``dialer.status``
(permission ``campaign.view``) for the WebSocket.

The engine runs on an :class:`EpochClock`: the dialer compares the engine's instants
with leads' attempt times and calling windows, which are Unix seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from callcenter.app.bus import Event, EventBus
from callcenter.app.campaigns import VIEW, ApprovedVersion
from callcenter.app.cti.outbound import Broadcast, CampaignSetup, MachineAction, OutboundFlows
from callcenter.app.dialer import CampaignDialer, DialerSettings, DialingMode, PreviewDesk
from callcenter.app.dialer.leads import LeadSource
from callcenter.app.dialer.preview import (
    NoPreviewOffer,
    PreviewChange,
    PreviewEnded,
    PreviewOffer,
    PreviewOffered,
)
from callcenter.app.dialer.records import stored_ledger
from callcenter.app.leads import Diagnosis, SqlLeadSource
from callcenter.clock import Clock, RealClock, TimerHandle
from callcenter.domain import campaign as domain
from callcenter.domain.campaign import AmdAction, CampaignSettings, State, policy_rules
from callcenter.domain.compliance import LedgerConfig
from callcenter.domain.dialing_policy import Lead, Outcome
from callcenter.store.dialer_records import SqlDialerRecords
from callcenter.store.tables import CampaignRow, GroupRow
from callcenter.store.uow import UnitOfWork

if TYPE_CHECKING:
    from callcenter.app.outbound import Outbound
    from callcenter.telephony import Telephony

log = logging.getLogger(__name__)

STATUS_EVENT: Final = "dialer.status"
PREVIEW_OFFERED: Final = "preview.offered"
PREVIEW_ENDED: Final = "preview.ended"
PREVIEW_PERMISSION: Final = "desk.use"
PREVIEW_SKIPPED: Final = "preview-skipped"  # the lock owner of a skipped lead
CALLBACK_WAITING: Final = "callback-waiting"  # ... of a callback waiting for its agent
NO_AGENTS: Final = "no-agents-ready"
NO_GROUPS: Final = "no-agent-groups"

_MODES: Final = {
    domain.DialingMode.MANUAL: DialingMode.MANUAL,
    domain.DialingMode.PREVIEW: DialingMode.PREVIEW,
    domain.DialingMode.PROGRESSIVE: DialingMode.PROGRESSIVE,
    domain.DialingMode.POWER: DialingMode.POWER,
    domain.DialingMode.PREDICTIVE: DialingMode.PREDICTIVE,
    domain.DialingMode.IVR_BROADCAST: DialingMode.BROADCAST,
}


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


def safe_harbour_message(settings: CampaignSettings) -> str:
    """The prompt file, or the text the seller wrote, played to a dropped person."""
    return settings.safe_harbour_prompt or settings.safe_harbour_text


def dialer_settings(
    campaign_id: int, version: ApprovedVersion, groups: frozenset[str]
) -> DialerSettings:
    """How the approved version dials, for the dialer runtime."""
    settings = version.settings
    mode = _MODES[settings.dialing_mode]
    message = safe_harbour_message(settings)
    leave_message = settings.amd_action is AmdAction.LEAVE_MESSAGE
    broadcast = None
    if mode is DialingMode.BROADCAST:
        broadcast = Broadcast(prompt=version.script_body or message)
    setup = CampaignSetup(
        campaign_id=str(campaign_id),
        groups=groups,
        safe_harbour_prompt=message,
        drop_timeout=settings.drop_timeout,
        machine_action=MachineAction.LEAVE_MESSAGE if leave_message else MachineAction.HANG_UP,
        machine_prompt=message if leave_message else None,
        broadcast=broadcast,
    )
    return DialerSettings(
        setup=setup,
        mode=mode,
        caller_id=settings.caller_ids[0] if settings.caller_ids else "",
        caller_ids=settings.caller_ids,
        caller_id_daily_cap=settings.caller_id_daily_cap,
        rules=policy_rules(settings, running=True),
        ledger=LedgerConfig(
            time_zone=settings.time_zone,
            target=settings.abandon_target,
            drop_timeout=settings.drop_timeout,
            assumed_false_positive_rate=settings.amd_false_positive_rate,
        ),
        callback_agent_wait=settings.callback_agent_wait_minutes * 60,
        ring_timeout=settings.ring_seconds,
        amd=settings.amd_enabled and settings.amd_action is not AmdAction.TO_AGENT,
        lines_per_agent=settings.power_ratio,
        max_lines=settings.max_lines or None,
    )


class _Busy:
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


class _CountedLeads:
    """A lead source whose calls in progress are counted."""

    def __init__(self, inner: LeadSource, busy: _Busy) -> None:
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
class _Run:
    """One campaign's dialer and what the live view adds to it."""

    dialer: CampaignDialer
    version: int
    target: float
    name: str = ""
    state: str = State.RUNNING
    diagnosis: Diagnosis | None = None
    diagnosed_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Dialing:
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
        self.preview_timeout = preview_timeout  # seconds an agent has to accept or skip
        self.preview_skip_delay = preview_skip_delay  # a skipped lead comes back after this
        self.preview_dial_on_timeout = preview_dial_on_timeout
        self._runs: dict[int, _Run] = {}
        self._problems: dict[int, str] = {}  # why a running campaign has no dialer
        self._busy = _Busy()
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
            settings = dialer_settings(campaign_id, version, groups)
            settings = dataclasses.replace(settings, preview_timeout=self.preview_timeout)
            leads = _CountedLeads(
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
            )
            dialer.hold_back = lambda lead_id, until: self._hold_back(
                lead_id, until, CALLBACK_WAITING
            )
            if settings.mode is DialingMode.PREVIEW:
                desk = PreviewDesk(
                    dialer,
                    dial_on_timeout=self.preview_dial_on_timeout,
                    skip_delay=self.preview_skip_delay,
                    busy_elsewhere=self._previewing_elsewhere(campaign_id),
                    hold_back=self._hold_back,
                )
                desk.listeners.append(self._preview_publisher(campaign_id, row.name))
            if run is not None:  # a newly approved version: the campaign's counts go on
                _carry_over(run.dialer, dialer)
            self._runs[campaign_id] = _Run(
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

    # --- preview offers -------------------------------------------------------------

    def _desks(self) -> list[tuple[int, PreviewDesk]]:
        return [
            (campaign_id, run.dialer.preview)
            for campaign_id, run in self._runs.items()
            if isinstance(run.dialer.preview, PreviewDesk)
        ]

    def _previewing_elsewhere(self, campaign_id: int) -> Callable[[str], bool]:
        def elsewhere(agent_no: str) -> bool:
            return any(
                desk.offer_for(agent_no) is not None
                for other, desk in self._desks()
                if other != campaign_id
            )

        return elsewhere

    async def _hold_back(self, lead_id: str, until: float, owner: str = PREVIEW_SKIPPED) -> None:
        """A skipped lead (or a callback waiting for its agent) stays locked until it is
        due again (the SQL source's release only unlocks)."""
        async with self._busy.hold(), self._uow() as uow:
            row = await self._outbound.leads.get_lead(uow, int(lead_id))
            row.locked_by = owner
            row.locked_until = dt.datetime.fromtimestamp(until, dt.UTC)
            await uow.commit()

    def _preview_publisher(self, campaign_id: int, name: str) -> Callable[[PreviewChange], None]:
        def publish(change: PreviewChange) -> None:
            offer = change.offer
            data: dict[str, Any] = {
                "agent_no": offer.agent_no,
                "offer_id": offer.offer_id,
                "campaign_id": campaign_id,
                "campaign_name": name,
            }
            if isinstance(change, PreviewOffered):
                now = self.clock.now()
                data |= {
                    "offered_at": _moment(offer.offered_at),
                    "expires_at": _moment(offer.expires_at),
                    "seconds_left": round(max(0.0, offer.expires_at - now), 3),
                    "dial_on_timeout": self.preview_dial_on_timeout,
                }
                self._bus.publish(PREVIEW_OFFERED, data, PREVIEW_PERMISSION)
            elif isinstance(change, PreviewEnded):
                data |= {"reason": change.reason.value, "call_id": change.call_id}
                self._bus.publish(PREVIEW_ENDED, data, PREVIEW_PERMISSION)

        return publish

    def preview_offer(self, agent_no: str) -> tuple[int, PreviewDesk, PreviewOffer] | None:
        """The lead on preview to ``agent_no``, with its campaign and desk."""
        for campaign_id, desk in self._desks():
            offer = desk.offer_for(agent_no)
            if offer is not None:
                return campaign_id, desk, offer
        return None

    async def preview(self, agent_no: str) -> dict[str, Any] | None:
        """What the agent's desktop shows of its offer (None: no lead on preview)."""
        found = self.preview_offer(agent_no)
        if found is None:
            return None
        campaign_id, desk, offer = found
        async with self._busy.hold(), self._uow() as uow:
            row = await self._outbound.leads.get_lead(uow, int(offer.lead.lead_id))
            fields = {str(k): v for k, v in (row.fields or {}).items()}
        now = self.clock.now()
        run = self._runs[campaign_id]
        name = fields.pop("name", "")
        return {
            "offer_id": offer.offer_id,
            "agent_no": agent_no,
            "campaign": {"id": campaign_id, "name": run.name},
            "lead": {
                "id": int(offer.lead.lead_id),
                "name": str(name) if name is not None else "",
                "phone": offer.lead.phone,
                "fields": fields,
            },
            "offered_at": _moment(offer.offered_at),
            "expires_at": _moment(offer.expires_at),
            "seconds_left": round(max(0.0, offer.expires_at - now), 3),
            "dial_on_timeout": desk.dial_on_timeout,
            "at": _moment(now),
        }

    async def accept_preview(self, agent_no: str) -> dict[str, Any]:
        """The agent dials the lead on preview; returns the call and its campaign and lead."""
        found = self.preview_offer(agent_no)
        if found is None:
            raise NoPreviewOffer(agent_id=agent_no)
        campaign_id, desk, offer = found
        call_id = await desk.accept(agent_no)
        return {"call_id": call_id, "campaign_id": campaign_id, "lead_id": int(offer.lead.lead_id)}

    async def skip_preview(self, agent_no: str, reason: str = "") -> dict[str, Any]:
        """The agent passes on the lead on preview; returns its campaign and lead."""
        found = self.preview_offer(agent_no)
        if found is None:
            raise NoPreviewOffer(agent_id=agent_no)
        campaign_id, desk, offer = found
        await desk.skip(agent_no, reason)
        return {"campaign_id": campaign_id, "lead_id": int(offer.lead.lead_id)}

    # --- the live view --------------------------------------------------------------

    async def view(self, campaign_id: int, *, fresh: bool = False) -> dict[str, Any]:
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

    async def _publish_loop(self) -> None:
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


def _moment(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).isoformat()


def _reasons(diagnosis: Diagnosis | None) -> dict[str, Any]:
    if diagnosis is None:
        return {"leads": {}, "total": 0, "dialable": 0, "next_at": None}
    return {
        "leads": {str(k): v for k, v in diagnosis.reasons.items()},
        "total": diagnosis.total,
        "dialable": diagnosis.dialable,
        "next_at": _moment(diagnosis.next_at) if diagnosis.next_at is not None else None,
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
        "at": _moment(now),
        "lines": {"in_flight": 0, "ringing": 0, "waiting": 0, "last_decision": 0},
        "ratio": 0.0,
        "level": None,
        "dials": 0,
        "connects": 0,
        "abandoned": 0,
        "abandon_limit": target,
        "abandonment": [],
        "agents": {},
        "not_dialled": {},
        "reasons": _reasons(diagnosis),
    }


def _live_view(run: _Run, now: float) -> dict[str, Any]:
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
        "at": _moment(now),
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
        "abandon_limit": run.target,
        "abandonment": _windows(dict(status.abandon_rates), run.target),
        "agents": agents,
        "not_dialled": not_dialled,
        "ledger": dict(status.ledger),
        "caller_ids": dict(status.caller_ids),
        "amd": dict(status.amd),
        "reasons": reasons,
    }
