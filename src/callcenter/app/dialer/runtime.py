"""The dialer runtime (外呼引擎): one loop per running campaign.

Theory of operation
-------------------
A :class:`CampaignDialer` runs one campaign on the CTI engine
(:class:`~callcenter.app.cti.outbound.OutboundFlows`). About once a second on the
engine's clock (:meth:`CampaignDialer.step`) it:

1. looks at the floor: the campaign's logged-in agents (ready, on a call, wrapping up,
   paused, since when) and its calls in flight (ringing, or answered by a person and
   waiting for an agent), and the compliance ledger's binding abandonment window;
2. asks the mode's pacer how many lines to launch: progressive (one per ready agent),
   power (a fixed number per ready agent), predictive (the model-based controller),
   IVR broadcast (up to a fixed number of lines, no agent needed), or any
   :class:`~callcenter.domain.pacing.Pacer` given (the benchmark's baselines);
3. takes leads from the :class:`~callcenter.app.dialer.leads.LeadSource`, applies the
   pre-dial policy (:func:`~callcenter.domain.dialing_policy.may_dial`) and counts the
   reason of every lead not dialled; picks a trunk by least-cost routing (no trunk is a
   reason too); dials.

The engine reports each call's progress back (answered by a person or a machine,
connected to an agent, opted out, ended with an outcome). From these the dialer keeps
its calls in flight, teaches the :class:`~callcenter.domain.pacing.PacingModel` (ring
times by outcome, talk and wrap-up times), feeds the compliance ledger (live answers,
abandoned calls with or without the safe-harbour message, AMD verdicts and the false
positives found, a key pressed at the machine message), tells the
lead source the outcome (which drives retries), and fails a call over to the next
trunk when one answers 503.

Every call presents a caller ID from the campaign's pool: the least-used number under
its daily cap (:func:`~callcenter.domain.dialing_policy.choose_caller_id`); when all
are spent nothing dials until the campaign's local midnight, and ``caller-id-cap`` is
the reason. The ledger's counts and the calls per caller ID are written to the
:class:`~callcenter.app.dialer.records.DialerRecords` once per step, by a task of their
own so the decision never waits for the store, and read back before the first dial:
a restarted platform keeps every abandonment window and every number's count.

Preview mode offers a lead to a ready agent first (:mod:`callcenter.app.dialer.preview`);
manual mode dials nothing (agents click to dial on the desk). A call placed for one
agent (:meth:`CampaignDialer.place_for_agent`: an accepted preview, a callback) takes
its caller ID from the same pool, counted against the same cap, and its trunk by the
same routing; it does not fail over (the agent hears it fail).

A due callback scheduled to its agent (the policy names the agent number) is placed
for that agent, agent's phone first, as soon as they are ready. Until then it waits,
``callback-agent-not-ready`` being the reason, for ``callback_agent_wait`` seconds
past its time; after that the customer's time matters more than the agent: anyone of
the campaign takes it like any lead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from callcenter.app.cti.outbound import (
    CampaignOutcome,
    DialAnswered,
    DialConnected,
    DialEnded,
    DialMachineWasPerson,
    DialOptedOut,
    DialRequest,
    DialRinging,
    OutboundEvent,
    OutboundFlows,
)
from callcenter.app.dialer.leads import LeadSource
from callcenter.app.dialer.records import DialerRecords
from callcenter.app.dialer.settings import DialerSettings, DialerStatus, DialingMode
from callcenter.clock import Clock
from callcenter.domain.agent import Agent, AgentState
from callcenter.domain.compliance import (
    AbandonBudget,
    AmdResult,
    ComplianceLedger,
)
from callcenter.domain.dialing_policy import (
    CallerIdCapReached,
    CallerIdUsage,
    Decision,
    Lead,
    Outcome,
    Reason,
    choose_caller_id,
    may_dial,
)
from callcenter.domain.errors import DomainError
from callcenter.domain.pacing import (
    AgentActivity,
    AgentLoad,
    CallInFlight,
    CallPhase,
    FixedRatioPacer,
    Pacer,
    PacingModel,
    PacingStats,
    PredictiveConfig,
    PredictivePacer,
    ProgressivePacer,
    VicidialAdaptTapered,
)
from callcenter.domain.pacing import DialOutcome as Observed
from callcenter.domain.trunk_routing import NoTrunk, NumberInfo, Trunk, TrunkRouter

log = logging.getLogger(__name__)

PREDICTIVE: Final = PredictiveConfig(safety=0.96)
"""The predictive controller of every predictive campaign (and of ``bench dialer``): it
plans for 96% of the abandonment target, since over a shift its integral term holds the
binding window's rate within a few hundredths of what it plans for (8-hour runs, five
seeds: 2.88% mean, 2.92% worst at a 3% target)."""


LEAD_OUTCOME: Mapping[CampaignOutcome, Outcome] = {
    CampaignOutcome.CONNECTED: Outcome.ANSWERED,
    CampaignOutcome.DROPPED: Outcome.ABANDONED,
    CampaignOutcome.MACHINE: Outcome.MACHINE,
    CampaignOutcome.BUSY: Outcome.BUSY,
    CampaignOutcome.NO_ANSWER: Outcome.NO_ANSWER,
    CampaignOutcome.INVALID_NUMBER: Outcome.INVALID_NUMBER,
    CampaignOutcome.FAILED: Outcome.FAILED,
    CampaignOutcome.CONGESTION: Outcome.FAILED,
    CampaignOutcome.OPTED_OUT: Outcome.ANSWERED,
    CampaignOutcome.BROADCAST_HEARD: Outcome.ANSWERED,
}

_ACTIVITY: Mapping[AgentState, AgentActivity] = {
    AgentState.READY: AgentActivity.READY,
    AgentState.RESERVED: AgentActivity.RESERVED,
    AgentState.TALKING: AgentActivity.TALKING,
    AgentState.ON_HOLD: AgentActivity.TALKING,
    AgentState.WRAP_UP: AgentActivity.WRAP_UP,
    AgentState.NOT_READY: AgentActivity.NOT_READY,
}

MEMBERS_REFRESH = 5.0  # seconds between look-ups of the campaign's agents
NO_TRUNK = "no-trunk"
NO_LEADS = "no-leads"
CALLER_ID_CAP = Reason.CALLER_ID_CAP.value
CALLBACK_AGENT_NOT_READY = "callback-agent-not-ready"


class NoRoute(DomainError):
    """A call for an agent could not be placed: no caller ID left today, or no trunk."""

    code = "no-route"
    status = 409
    message_zh = "外呼任务 {campaign_id} 现在无法外呼：{reason}"
    message_en = "Campaign {campaign_id} cannot place the call now: {reason}"


class Stepper(Protocol):
    """Something the dialer steps with it (the preview desk)."""

    async def step(self, now: float) -> int: ...


@dataclass
class _Flight:
    lead: Lead
    phase: CallPhase
    since: float
    trunk: str | None
    tried: tuple[str, ...] = ()
    rang: bool = False  # the network answered the INVITE at all (ringing or progress)
    timed_out: bool = False  # cancelled: the trunk did not answer in time
    for_agent: str | None = None  # placed for this agent (preview, callback): no failover


class CampaignDialer:
    """One campaign's dialer; see the module docstring."""

    def __init__(
        self,
        engine: OutboundFlows,
        clock: Clock,
        settings: DialerSettings,
        leads: LeadSource,
        *,
        pacer: Pacer | None = None,
        model: PacingModel | None = None,
        trunks: TrunkRouter | None = None,
        numbers: Mapping[str, NumberInfo] | None = None,
        records: DialerRecords | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.leads = leads
        self.model = model if model is not None else PacingModel()
        self.pacer = pacer if pacer is not None else self._default_pacer()
        self.trunks = trunks
        self._numbers = numbers or {}
        self.ledger = ComplianceLedger(settings.campaign_id, settings.ledger)
        self.records = records  # None: the counts live in memory only (the benchmark)
        self.caller_ids = CallerIdUsage(settings.ledger.time_zone)
        self._restored = False
        self._saving: asyncio.Task[None] | None = None
        self.save_failures = 0
        self._flights: dict[str, _Flight] = {}
        self._redial: list[_Flight] = []
        self._flights_done: dict[str, _Flight] = {}  # answered, no longer pacing-relevant
        self._ended: dict[str, DialEnded] = {}  # ended before dial_lead returned
        self._pending: set[asyncio.Future[None]] = set()
        self._wrap_seen: set[tuple[str, float]] = set()
        self._members: list[Agent] = []
        self._members_at: float | None = None
        self._ledger_version = 0
        self._budget: tuple[tuple[int, int], AbandonBudget] | None = None
        self._task: asyncio.Task[None] | None = None
        self._opened = False
        self.not_dialled: Counter[str] = Counter()
        self.outcomes: Counter[CampaignOutcome] = Counter()
        self.dials = 0
        self.connects = 0
        self.abandoned = 0
        self.last_lines = 0
        self.on_end: list[Callable[[DialEnded], None]] = []  # for reports and benchmarks
        self.preview: Stepper | None = None  # the preview desk, in preview mode
        # Keeps a lead from being taken until then (a source whose release only unlocks):
        # a callback waiting for its agent must not hold up the leads behind it.
        self.hold_back: Callable[[str, float], Awaitable[None]] | None = None

    def _default_pacer(self) -> Pacer:
        mode = self.settings.mode
        if mode is DialingMode.PREDICTIVE:
            return PredictivePacer(self.model, PREDICTIVE)
        if mode is DialingMode.POWER:
            return FixedRatioPacer(self.settings.lines_per_agent)
        return ProgressivePacer()

    # --- lifecycle ------------------------------------------------------------------

    async def open(self) -> None:
        """Open the campaign on the engine (done by start; tests may step by hand)."""
        if not self._restored:
            await self._restore()
        if not self._opened:
            await self.engine.open_campaign(self.settings.setup, self._on_event)
            self._opened = True

    async def start(self) -> None:
        await self.open()
        if self._task is None and self.settings.mode is not DialingMode.MANUAL:
            self._task = asyncio.create_task(self._run(), name=f"dialer-{self.campaign_id}")

    async def stop(self) -> None:
        """Stop dialing and write what was counted (calls in flight still end normally)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.save()

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                log.exception("campaign %s dialer step failed", self.campaign_id)
            await self.clock.sleep(self.settings.interval)

    @property
    def campaign_id(self) -> str:
        return self.settings.campaign_id

    # --- one decision ---------------------------------------------------------------

    def agents(self) -> list[Agent]:
        """The campaign's agents; the list is looked up again every few seconds."""
        now = self.clock.now()
        if self._members_at is None or now - self._members_at >= MEMBERS_REFRESH:
            self._members = self.engine.campaign_agents(self.settings.setup.groups)
            self._members_at = now
        return self._members

    def budget(self, now: float) -> AbandonBudget:
        """The abandonment window the pacer spends (recomputed when the ledger moved)."""
        key = (self._ledger_version, int(now // 60))
        if self._budget is None or self._budget[0] != key:
            window = self.settings.budget_window
            if window is None:
                budget = self.ledger.budget(now)
            else:
                budget = next(b for b in self.ledger.report(now).windows if b.window is window)
            self._budget = (key, budget)
        return self._budget[1]

    def stats(self, now: float) -> PacingStats:
        loads = []
        for agent in self.agents():
            activity = _ACTIVITY.get(agent.state)
            if activity is None:
                continue
            loads.append(AgentLoad(activity, agent.state_since))
            if agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None:
                key = (agent.agent_id, agent.state_since)
                if key not in self._wrap_seen:
                    self._wrap_seen.add(key)
                    self.model.observe_wrap(agent.wrap_up_until - agent.state_since)
        if len(self._wrap_seen) > 10_000:
            self._wrap_seen.clear()
        calls = [CallInFlight(f.phase, f.since) for f in self._flights.values()]
        budget = self.budget(now)
        max_lines = self.settings.max_lines
        if self.trunks is not None:
            free = self.trunks.free_channels()
            if free is not None:
                free += len(self._flights)
                max_lines = free if max_lines is None else min(max_lines, free)
        return PacingStats(
            tuple(loads),
            tuple(calls),
            budget,
            self.settings.setup.drop_timeout,
            max_lines,
        )

    async def step(self) -> int:
        """One pacing decision; returns the number of calls launched."""
        await self.open()
        now = self.clock.now()
        await self._trunk_timeouts(now)
        batch: list[tuple[_Flight, DialRequest]] = []
        for flight in self._redial:
            await self._prepare(flight.lead, now, batch, tried=flight.tried)
        self._redial.clear()
        mode = self.settings.mode
        launched = 0
        if mode is DialingMode.PREVIEW and self.preview is not None:
            launched += await self.preview.step(now)
        elif mode is DialingMode.BROADCAST:
            lines = self.settings.broadcast_lines - len(self._flights) - len(batch)
            self.last_lines = max(0, lines)
            await self._take_leads(lines, now, batch)
        elif mode is not DialingMode.MANUAL and mode is not DialingMode.PREVIEW:
            lines = self.pacer.lines_to_dial(self.stats(now), now) - len(batch)
            self.last_lines = max(0, lines)
            await self._take_leads(lines, now, batch)
        launched += await self._send(batch)
        self._save_later()
        return launched

    async def _trunk_timeouts(self, now: float) -> None:
        """Cancel the calls a trunk has not answered at all in its setup time; they
        fail over to the next trunk when their end is reported."""
        if self.trunks is None:
            return
        for call_id, flight in list(self._flights.items()):
            if flight.rang or flight.timed_out or flight.trunk is None:
                continue
            if now - flight.since >= self.trunks.trunk(flight.trunk).setup_timeout:
                flight.timed_out = True
                log.info("call=%s trunk %s timed out", call_id, flight.trunk)
                await self.engine.cancel_call(call_id)

    async def dial_leads(self, lines: int, now: float) -> int:
        """Take leads and dial up to ``lines`` of them; returns how many were dialled."""
        batch: list[tuple[_Flight, DialRequest]] = []
        await self._take_leads(lines, now, batch)
        return await self._send(batch)

    async def _take_leads(
        self, lines: int, now: float, batch: list[tuple[_Flight, DialRequest]]
    ) -> None:
        if lines > 0:
            pool = self.settings.caller_id_pool
            room = pool.room(self.caller_ids.today(now))
            if room is not None and room < lines:
                self.not_dialled[CALLER_ID_CAP] += lines - room
                lines = room
        wanted = len(batch) + lines
        for _ in range(4):  # a few batches: some leads may be refused by the policy
            if len(batch) >= wanted:
                return
            leads = await self.leads.next_leads(wanted - len(batch), now)
            if not leads:
                self.not_dialled[NO_LEADS] += 1
                return
            for lead in leads:
                if await self.admit(lead, now):
                    await self._prepare(lead, now, batch)

    async def admit(self, lead: Lead, now: float) -> bool:
        """The pre-dial policy for a taken lead; refused, it goes back with its reason.

        A due callback to an agent is placed for that agent here (and is not admitted),
        or waits for them; see the module docstring.
        """
        decision = may_dial(lead, self.settings.rules, now)
        if decision.allowed and decision.agent_id is not None:
            return await self._callback(lead, decision, now)
        if decision.allowed:
            return True
        self.not_dialled[decision.reason.value] += 1
        await self.leads.release(lead.lead_id, decision.retry_at)
        return False

    async def _callback(self, lead: Lead, decision: Decision, now: float) -> bool:
        """The callback's agent, if ready, calls; else it waits, or goes to anyone."""
        agent_no = decision.agent_id
        assert agent_no is not None
        ready = any(a.agent_id == agent_no and a.state is AgentState.READY for a in self.agents())
        if ready:
            try:
                await self.place_for_agent(lead, agent_no, now)
            except Exception:
                log.exception("callback of lead %s to %s not placed", lead.lead_id, agent_no)
                await self.leads.release(lead.lead_id, now + self.settings.interval)
            self._members_at = None  # the agent is taken: look at the floor again
            return False
        due = lead.callback_at if lead.callback_at is not None else now
        if now < due + self.settings.callback_agent_wait:
            self.not_dialled[CALLBACK_AGENT_NOT_READY] += 1
            again = now + MEMBERS_REFRESH  # when the agents are looked at again
            if self.hold_back is not None:
                await self.hold_back(lead.lead_id, again)
            else:
                await self.leads.release(lead.lead_id, again)
            return False
        return True  # waited long enough: anyone may take it

    async def place_for_agent(self, lead: Lead, agent_no: str, now: float) -> str:
        """Dial ``lead`` for ``agent_no`` (agent's phone first); returns the call id.

        The call presents the pool's next caller ID (counted) on the trunk routing
        picks; :class:`NoRoute` when there is neither (the lead stays with the caller).
        """
        caller = choose_caller_id(self.settings.caller_id_pool, self.caller_ids, now)
        trunk = self._trunk_for(lead, now, ()) if caller.allowed else None
        if not caller.allowed or isinstance(trunk, NoTrunk):
            reason = (
                f"{NO_TRUNK}:{trunk.reason.value}"
                if isinstance(trunk, NoTrunk)
                else caller.reason.value
            )
            self.not_dialled[reason] += 1
            raise NoRoute(campaign_id=self.campaign_id, reason=reason)
        caller_id = caller.caller_id or self.settings.caller_id
        name = trunk.name if trunk is not None else None
        try:
            call_id = await self.engine.dial_for_agent(
                self.campaign_id,
                lead.lead_id,
                agent_no,
                lead.phone,
                caller_id=caller_id,
                trunk=name,
            )
        except Exception:
            if self.trunks is not None and name is not None:
                self.trunks.release(name)
            raise
        self.caller_ids.count(caller_id, now)
        await self.leads.mark_attempt(lead.lead_id, now)
        self.dials += 1
        self.track(call_id, lead, now, trunk=name, agent_no=agent_no)
        log.info(
            "call=%s lead %s placed for %s from %s", call_id, lead.lead_id, agent_no, caller_id
        )
        return call_id

    def _trunk_for(self, lead: Lead, now: float, tried: tuple[str, ...]) -> Trunk | NoTrunk | None:
        if self.trunks is None:
            return None
        info = self._numbers.get(lead.phone) or NumberInfo(
            lead.phone, carrier=lead.carrier, region=lead.region
        )
        return self.trunks.choose(info, now, exclude=tried)

    async def _prepare(
        self,
        lead: Lead,
        now: float,
        batch: list[tuple[_Flight, DialRequest]],
        tried: tuple[str, ...] = (),
    ) -> None:
        """Pick the call's caller ID and trunk and add it to ``batch`` (or say why not).

        A lead no caller ID or trunk can take goes back with its reason, or, when it was
        failing over (``tried``), ends its attempt as failed.
        """
        caller = choose_caller_id(self.settings.caller_id_pool, self.caller_ids, now)
        trunk = self._trunk_for(lead, now, tried) if caller.allowed else None
        if not caller.allowed or isinstance(trunk, NoTrunk):
            if isinstance(trunk, NoTrunk):
                self.not_dialled[f"{NO_TRUNK}:{trunk.reason.value}"] += 1
                retry_at = now + self.settings.interval
            else:
                self.not_dialled[caller.reason.value] += 1
                retry_at = caller.retry_at if caller.retry_at is not None else now
            if tried:  # it was failing over: the attempt failed
                await self.leads.record_outcome(lead.lead_id, Outcome.FAILED, now)
            else:
                await self.leads.release(lead.lead_id, retry_at)
            return
        caller_id = caller.caller_id or self.settings.caller_id
        self.caller_ids.count(caller_id, now)
        name = trunk.name if trunk is not None else None
        if not tried:
            await self.leads.mark_attempt(lead.lead_id, now)
        request = DialRequest(
            self.campaign_id,
            lead.lead_id,
            lead.phone,
            caller_id,
            name,
            self.settings.ring_timeout,
            self.settings.amd,
        )
        flight = _Flight(lead, CallPhase.RINGING, now, name, (*tried, name) if name else tried)
        batch.append((flight, request))

    def track(
        self,
        call_id: str,
        lead: Lead,
        now: float,
        *,
        trunk: str | None = None,
        agent_no: str | None = None,
    ) -> None:
        """Report the outcome of a call placed for the campaign elsewhere (preview)."""
        flight = _Flight(lead, CallPhase.RINGING, now, trunk, for_agent=agent_no)
        ended = self._ended.pop(call_id, None)
        if ended is None:
            self._flights_done[call_id] = flight
        else:
            self._finish(ended, flight)

    async def _send(self, batch: list[tuple[_Flight, DialRequest]]) -> int:
        """Dial the prepared calls in one engine step."""
        if not batch:
            return 0
        self.dials += len(batch)
        call_ids = await self.engine.dial_leads([request for _, request in batch])
        for (flight, _), call_id in zip(batch, call_ids, strict=True):
            ended = self._ended.pop(call_id, None)
            if ended is None:
                self._flights[call_id] = flight
            else:
                self._finish(ended, flight)
        return len(batch)

    # --- what the engine reports ----------------------------------------------------

    def _on_event(self, event: OutboundEvent) -> None:
        if isinstance(event, DialRinging):
            flight = self._flights.get(event.call_id)
            if flight is not None:
                flight.rang = True
        elif isinstance(event, DialAnswered):
            self._answered(event)
        elif isinstance(event, DialConnected):
            flight = self._flights.pop(event.call_id, None)
            if flight is not None:
                self._flights_done[event.call_id] = flight
            self.connects += 1
        elif isinstance(event, DialOptedOut):
            self._later(self.leads.opt_out(event.lead_id, event.at))
        elif isinstance(event, DialMachineWasPerson):
            self.ledger.record_amd_false_positive(event.answered_at, call_id=event.call_id)
            self._ledger_version += 1
        elif isinstance(event, DialEnded):
            flight = self._flights.pop(event.call_id, None)
            if flight is None:
                flight = self._flights_done.pop(event.call_id, None)
            if flight is None:
                self._ended[event.call_id] = event  # ended inside dial_lead itself
                return
            self._finish(event, flight)

    def _answered(self, event: DialAnswered) -> None:
        flight = self._flights.get(event.call_id)
        if flight is None:
            return
        if event.amd is not None:
            self.ledger.record_amd(AmdResult(event.amd), event.at)
            self._ledger_version += 1
        self.model.observe_dial(
            Observed.HUMAN if event.human else Observed.MACHINE, event.at - flight.since
        )
        if event.human and self.settings.mode is not DialingMode.BROADCAST:
            flight.phase = CallPhase.WAITING
            flight.since = event.at
        else:
            self._flights.pop(event.call_id, None)
            self._flights_done[event.call_id] = flight

    def _finish(self, event: DialEnded, flight: _Flight) -> None:
        self.outcomes[event.outcome] += 1
        if self.trunks is not None and event.trunk is not None:
            self.trunks.release(event.trunk)
        if event.answered_at is None:
            congested = event.outcome is CampaignOutcome.CONGESTION
            failover = flight.for_agent is None and event.trunk is not None
            if (congested or flight.timed_out) and failover:
                self._redial.append(flight)  # fail over to the next trunk
                return
            rang = event.at - flight.since
            observed = (
                Observed.NO_ANSWER
                if event.outcome is CampaignOutcome.NO_ANSWER
                else (Observed.FAILED)
            )
            self.model.observe_dial(observed, rang)
        if event.connected_at is not None:
            self.model.observe_talk(event.at - event.connected_at)
        human = event.outcome in (CampaignOutcome.CONNECTED, CampaignOutcome.DROPPED)
        broadcast = self.settings.mode is DialingMode.BROADCAST
        if human and event.answered_at is not None and not broadcast:
            abandoned = self.ledger.record_live_answer(
                event.answered_at,
                event.connected_at,
                safe_harbour_played=event.safe_harbour_played,
                call_id=event.call_id,
            )
            self.abandoned += int(abandoned)
            self._ledger_version += 1
        for callback in self.on_end:
            callback(event)
        if self._task is None:  # stopped: no step writes what its last calls counted
            self._save_later()
        self._later(self.leads.record_outcome(event.lead_id, LEAD_OUTCOME[event.outcome], event.at))

    def _later(self, work: Any) -> None:
        """Lead-source updates from an engine callback run as a task (they may await)."""
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # --- the records that outlive the process ---------------------------------------

    async def _restore(self) -> None:
        """Put back the counts the store kept (a ledger handed over keeps its own)."""
        if self.records is not None:
            today = self.ledger.local_date(self.clock.now())
            saved = await self.records.load(self.campaign_id, today)
            if not self.ledger.restored:
                self.ledger.restore(saved.totals, dict(saved.days))
                log.info(
                    "campaign %s ledger restored: %d live, %d abandoned",
                    self.campaign_id,
                    saved.totals.live,
                    saved.totals.abandoned,
                )
            self.caller_ids.restore(saved.today, saved.caller_ids)
        self.ledger.restored = True
        self._restored = True

    def _save_later(self) -> None:
        """Write what was counted by a task of its own, unless one is writing already."""
        if self.records is None:
            self.ledger.take_unsaved()  # kept in memory only
            self.caller_ids.take_unsaved()
            return
        if not (self.ledger.has_unsaved or self.caller_ids.has_unsaved):
            return
        if self._saving is None or self._saving.done():
            self._saving = asyncio.ensure_future(self._write())

    async def save(self) -> None:
        """Write everything counted so far (after any write in progress)."""
        saving = self._saving
        if saving is not None and not saving.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(saving)
        if self.records is not None:
            await self._write()

    async def _write(self) -> None:
        assert self.records is not None
        ledger = self.ledger.take_unsaved()
        caller_ids = self.caller_ids.take_unsaved()
        if not ledger and not caller_ids:
            return
        try:
            await self.records.save(self.campaign_id, ledger, caller_ids)
        except Exception:
            self.save_failures += 1
            log.exception("campaign %s ledger not saved; kept for the next step", self.campaign_id)
            self.ledger.keep_unsaved(ledger)
            self.caller_ids.keep_unsaved(caller_ids)

    # --- status ---------------------------------------------------------------------

    def status(self) -> DialerStatus:
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
        )

    def _amd_view(self) -> dict[str, float]:
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

    def _caller_id_view(self, now: float) -> dict[str, Any]:
        """The pool's cap, each number's calls today, and why nothing dials if all are spent."""
        pool = self.settings.caller_id_pool
        used = self.caller_ids.today(now)
        decision = choose_caller_id(pool, self.caller_ids, now)
        view: dict[str, Any] = {
            "cap": pool.daily_cap,
            "today": {number: used.get(number, 0) for number in pool.numbers},
            "spent": not decision.allowed,
            "resumes_at": None,
            "message": None,
        }
        if decision.retry_at is not None:
            zone = self.ledger.config.time_zone
            resumes = dt.datetime.fromtimestamp(decision.retry_at, ZoneInfo(zone)).isoformat()
            why = CallerIdCapReached(cap=pool.daily_cap, resumes=resumes)
            view |= {
                "resumes_at": resumes,
                "message": {"zh": why.message("zh"), "en": why.message("en")},
            }
        return view
