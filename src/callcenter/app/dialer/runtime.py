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
its daily cap (:func:`~callcenter.domain.dialing_policy.choose_caller_id`), a number's
calls counted across every campaign of the process
(:mod:`~callcenter.app.dialer.caller_id_days`: the dialers share one count, given as
``caller_id_days``, whose local date is read back from the store before the first call
of the date); when all are spent nothing dials until the campaign's local midnight, and
``caller-id-cap`` is the reason. The ledger's counts and the campaign's calls per
caller ID are written to the :class:`~callcenter.app.dialer.records.DialerRecords` once
per step, by a task of their own so the decision never waits for the store, and read
back before the first dial: a restarted platform keeps every abandonment window and
every number's count.

Preview mode offers a lead to a ready agent first (:mod:`callcenter.app.dialer.preview`);
manual mode dials nothing (agents take leads and click to dial on the desk:
:mod:`callcenter.app.dialing_manual`). A call placed for one agent
(:meth:`CampaignDialer.place_for_agent`: an accepted preview, a manual click, a
callback) takes its caller ID from the same pool, counted against the same cap, and its
trunk by the same routing; it does not fail over (the agent hears it fail).

A due callback scheduled to its agent (the policy names the agent number) is placed
for that agent, agent's phone first, as soon as they are ready. Until then it waits,
``callback-agent-not-ready`` being the reason, for ``callback_agent_wait`` seconds
past its time (or past the window's opening, when booked outside calling hours); after
that the customer's time matters more than the agent: anyone of the campaign takes it
like any lead.

The dialer is one class made of parts, each a mixin in a module of its own over the
dialer's state: :mod:`~callcenter.app.dialer.placing` (the pre-dial policy, callbacks,
the one route choice and placing the calls), :mod:`~callcenter.app.dialer.flights` (the
calls in flight and what the engine reports of them),
:mod:`~callcenter.app.dialer.keeping` (the counts read back and written) and
:mod:`~callcenter.app.dialer.status` (the status of the live view). This module holds
its life cycle and the pacing decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Final, Protocol

from callcenter.app.cti.outbound import CampaignOutcome, DialEnded, DialRequest, OutboundFlows
from callcenter.app.dialer.caller_id_days import CallerIdDays, CampaignCallerIds
from callcenter.app.dialer.flights import LEAD_OUTCOME, Flight, Flights
from callcenter.app.dialer.keeping import RecordKeeping
from callcenter.app.dialer.leads import LeadSource
from callcenter.app.dialer.placing import (
    CALLBACK_AGENT_NOT_READY,
    CALLER_ID_CAP,
    MEMBERS_REFRESH,
    NO_TRUNK,
    NoRoute,
    Placing,
)
from callcenter.app.dialer.records import DialerRecords
from callcenter.app.dialer.settings import DialerSettings, DialingMode
from callcenter.app.dialer.status import StatusView
from callcenter.clock import Clock
from callcenter.domain.agent import Agent, AgentState
from callcenter.domain.compliance import AbandonBudget, ComplianceLedger
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
)
from callcenter.domain.trunk_routing import NumberInfo, TrunkRouter

__all__ = [
    "CALLBACK_AGENT_NOT_READY",
    "CALLER_ID_CAP",
    "GIVE_UP_MIN_RING",
    "LEAD_OUTCOME",
    "MEMBERS_REFRESH",
    "NO_LEADS",
    "NO_TRUNK",
    "PREDICTIVE",
    "PREDICTIVE_GIVING_UP",
    "CampaignDialer",
    "NoRoute",
    "Stepper",
]

log = logging.getLogger(__name__)

PREDICTIVE: Final = PredictiveConfig(
    checkpoints=(2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23, 26, 30),
    safety=0.96,
    recovery_answers=300.0,
)
"""The predictive controller of every predictive campaign (and of ``bench dialer``): it
plans for 96% of the abandonment target, since over a shift its integral term holds the
binding window's rate just under what it plans for. It looks for the worst shortfall of
agents every 2 seconds while new calls are answered (every 3 after 20 s): the answers of
a call launched now spread over 2-29 s, and coarser checkpoints miss shortfalls between
them. Slack or overspending is evened out over at least 300 live answers, so one unlucky
minute does not swing the dialling rate (4-hour runs, seeds 1-4: 0.754 talk at 2.98%
worst with the former 6 checkpoints and 100 answers, 0.765 at 2.74% with these; 100
agents, 2 hours: 0.834 to 0.850)."""


GIVE_UP_MIN_RING: Final = 15.0
"""Seconds a call must ring before the dialer may give it up (US 47 CFR 64.1200(a)(6):
15 seconds or four rings; Ofcom's persistent-misuse policy: at least 15 seconds)."""

PREDICTIVE_GIVING_UP: Final = replace(
    PREDICTIVE,
    give_up_after=16.0,
    late_weight=0.5,
    keep_factor=2.0,
    max_plan_factor=10.0,
)
"""The controller of a predictive campaign that gives up ringing calls
(``give_up_ringing``): a call still ringing 16 s after its dial (and after at least
:data:`GIVE_UP_MIN_RING` of ringing) is kept only while its answer is expected to find
an agent. Lines are planned counting half the answers young calls may give after that
age, the calls reaching it are kept within twice the planning rate, and the plan may
reach 10x the target, since giving up takes back what overshoots. Research runs
(agents-20, 4-hour shifts, seeds 1-2, a 100-answer integral): late answers counted at
100/70/50/30/0% gave 0.775/0.781/0.786/0.789/0.787 talk at 2.8-2.9% worst; keeping
within 1.5/2/2.5/3x, 0.779/0.789/0.777/0.771. The 300-answer integral of
:data:`PREDICTIVE` costs nothing at 20 agents (0.782 at 2.7%, half or 30% counted) and
holds 100 agents (2 hours: 0.855, against 0.842 with 100 answers and 0.852 without
giving up); half rather than 30% gives up fewer calls (9% of dials against 10.5%)."""


_ACTIVITY: Mapping[AgentState, AgentActivity] = {
    AgentState.READY: AgentActivity.READY,
    AgentState.RESERVED: AgentActivity.RESERVED,
    AgentState.TALKING: AgentActivity.TALKING,
    AgentState.ON_HOLD: AgentActivity.TALKING,
    AgentState.WRAP_UP: AgentActivity.WRAP_UP,
    AgentState.NOT_READY: AgentActivity.NOT_READY,
}

NO_LEADS = "no-leads"


class Stepper(Protocol):
    """Something the dialer steps with it (the preview desk)."""

    async def step(self, now: float) -> int: ...


class CampaignDialer(Placing, Flights, RecordKeeping, StatusView):
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
        caller_id_days: CallerIdDays | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.leads = leads
        self.model = model if model is not None else PacingModel()
        self.pacer = pacer if pacer is not None else self._default_pacer()
        self.trunks = trunks
        self._numbers: Mapping[str, NumberInfo] = numbers or {}
        self.ledger = ComplianceLedger(settings.campaign_id, settings.ledger)
        self.records = records  # None: the counts live in memory only (the benchmark)
        # every campaign's calls per caller ID (None: this dialer's own count, over ``records``)
        shared = caller_id_days if caller_id_days is not None else CallerIdDays(records)
        self.caller_ids = CampaignCallerIds(settings.ledger.time_zone, shared=shared)
        self._restored = False
        self._saving: asyncio.Task[None] | None = None
        self.save_failures = 0
        self._flights: dict[str, Flight] = {}
        self._redial: list[Flight] = []
        self._flights_done: dict[str, Flight] = {}  # answered, no longer pacing-relevant
        self._ended: dict[str, DialEnded] = {}  # ended before dial_lead returned
        self._pending: set[asyncio.Future[None]] = set()
        self._opt_outs: dict[str, float] = {}
        self._opt_out_lock = asyncio.Lock()
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
        self.given_up = 0  # ringing calls given up after the legal ring time
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
            config = PREDICTIVE_GIVING_UP if self.settings.give_up_ringing else PREDICTIVE
            return PredictivePacer(self.model, config)
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
        await self._record_opt_outs()
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
        calls = [CallInFlight(f.phase, f.since) for f in self._flights.values() if not f.given_up]
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
        await self._record_opt_outs()  # before any lead is taken
        now = self.clock.now()
        await self.caller_ids.load(now)  # a new local date: every campaign's calls read back
        await self._trunk_timeouts(now)
        batch: list[tuple[Flight, DialRequest]] = []
        redial, self._redial = self._redial, []
        for flight in redial:
            if await self._prepare(flight.lead, now, batch, tried=flight.tried):
                self._redial.append(flight)  # the trunks left are full for now
        mode = self.settings.mode
        launched = 0
        if mode is DialingMode.PREVIEW and self.preview is not None:
            launched += await self.preview.step(now)
        elif mode is DialingMode.BROADCAST:
            # every call still up holds a line: ringing, or answered and hearing the message
            up = len(self._flights) + len(self._flights_done) + len(self._redial)
            lines = self.settings.broadcast_lines - up - len(batch)
            self.last_lines = max(0, lines)
            await self._take_leads(lines, now, batch)
        elif mode is not DialingMode.MANUAL and mode is not DialingMode.PREVIEW:
            await self._give_up(now)
            lines = self.pacer.lines_to_dial(self.stats(now), now) - len(batch)
            self.last_lines = max(0, lines)
            await self._take_leads(lines, now, batch)
        launched += await self._send(batch)
        self._save_later()
        return launched

    async def _give_up(self, now: float) -> None:
        """Give up the ringing calls that have reached the age the predictive pacer may
        give them up at, rung the legal minimum, and are not expected to find an agent
        (:meth:`~callcenter.domain.pacing.PredictivePacer.keep`); the others are kept
        and ring out. A call given up ends as not answered, and its ring time does not
        teach the model (it might have been answered later)."""
        pacer = self.pacer
        if not isinstance(pacer, PredictivePacer) or pacer.config.give_up_after is None:
            return
        after = pacer.config.give_up_after
        due = [
            (call_id, flight)
            for call_id, flight in self._flights.items()
            if flight.phase is CallPhase.RINGING
            and not (flight.kept or flight.given_up or flight.for_agent)
            and flight.rang_at is not None
            and now - flight.rang_at >= GIVE_UP_MIN_RING
            and now - flight.since >= after
        ]
        if not due:
            return
        due.sort(key=lambda item: item[1].since)
        deciding = {call_id for call_id, _ in due}
        others = replace(
            self.stats(now),
            calls=tuple(
                CallInFlight(f.phase, f.since)
                for call_id, f in self._flights.items()
                if not f.given_up and call_id not in deciding
            ),
        )
        kept = pacer.keep(others, [now - flight.since for _, flight in due], now)
        for index, (call_id, flight) in enumerate(due):
            if index < kept:
                flight.kept = True
                continue
            flight.given_up = True
            if not await self.engine.give_up_call(call_id):
                flight.given_up = False  # answered meanwhile: it goes on
                flight.kept = True
            else:
                self.given_up += 1

    async def _trunk_timeouts(self, now: float) -> None:
        """Cancel the calls a trunk has not answered at all in its setup time; they
        fail over to the next trunk when their end is reported."""
        if self.trunks is None:
            return
        for call_id, flight in list(self._flights.items()):
            if flight.rang_at is not None or flight.timed_out or flight.trunk is None:
                continue
            if now - flight.since >= self.trunks.trunk(flight.trunk).setup_timeout:
                flight.timed_out = True
                log.info("call=%s trunk %s timed out", call_id, flight.trunk)
                await self.engine.cancel_call(call_id)

    async def dial_leads(self, lines: int, now: float) -> int:
        """Take leads and dial up to ``lines`` of them; returns how many were dialled."""
        await self.caller_ids.load(now)
        batch: list[tuple[Flight, DialRequest]] = []
        await self._take_leads(lines, now, batch)
        return await self._send(batch)

    async def _take_leads(
        self, lines: int, now: float, batch: list[tuple[Flight, DialRequest]]
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
