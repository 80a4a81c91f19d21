"""The CTI core's engine room: live state, serialisation, timers, CDRs and the bus.

Theory of operation
-------------------
Everything that changes the live state runs inside one ``asyncio.Lock``:

* switch events: the Switch calls :meth:`CtiCore._on_switch_event` synchronously; it
  only puts the event in an inbox. One worker task takes events out one at a time and
  handles each under the lock;
* timers: the core keeps a single clock timer at the earliest deadline of the domain
  (queue max-wait and ring timeouts, agents' wrap-up, preferred-agent waits); when it
  fires a *tick* goes through the same inbox;
* commands (agents, supervisors): each takes the lock, answers a retried
  ``command_id`` from memory, validates, then acts.

Each step ends with :meth:`CtiCore._commit`: route waiting calls to free agents
(``plan_assignments``; one originate per assignment), hand the records of the step to
the CDR sink, publish ``agent.state`` / ``call.updated`` / ``queue.stats`` on the bus,
and re-arm the timer. Switch commands issued inside a step may emit events at once
(SimSwitch does); they wait in the inbox, so handlers never re-enter.

The core's model of a leg is authoritative for its own actions: when the core hangs up
a leg it marks it ended and applies the consequences at once; the ``LegHungUp`` that
follows finds the leg ended and is ignored. So the outcome of a command never depends
on when the switch delivers its events.

The call flows themselves are in :mod:`callcenter.app.cti.flows` and
:mod:`callcenter.app.cti.teardown`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, Self, TypeVar, cast

from callcenter.app.bus import EventBus
from callcenter.app.cti import views
from callcenter.app.cti.cdr import CdrSink, MemoryCdr
from callcenter.app.cti.errors import (
    CallNotConnected,
    CommandIdReused,
    SwitchRefused,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from callcenter.app.cti.model import (
    AgentProfile,
    AgentSession,
    Call,
    CallState,
    CustomerInfo,
    Direction,
    Leg,
    LegPurpose,
)
from callcenter.clock import Clock, TimerHandle
from callcenter.domain.acd import RoutingPlan, plan_assignments
from callcenter.domain.agent import ON_CALL_STATES, Agent, AgentState, Trigger
from callcenter.domain.errors import AgentNotLoggedIn, AgentNotOnCall, DomainError
from callcenter.domain.queue import CallQueue, QueueConfig
from callcenter.switch.ports import (
    BridgeId,
    LegId,
    Subscription,
    Switch,
    SwitchError,
    SwitchEvent,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

ROUTING_PASSES: Final = 3
"""Routing runs again (up to this many times) when an offer fails on the spot."""


@dataclass(frozen=True)
class _Tick:
    """The core's timer fired."""


_TICK: Final = _Tick()
DEFAULT_HANDLE_SECONDS: Final = 180.0
Planner = Callable[[Sequence[CallQueue], Sequence[Agent], float, random.Random], RoutingPlan]


class PhoneControl(Protocol):
    """Phones the platform can pick up for their user (the desktop's Answer button).

    The simulated network's virtual phones can; a SIP phone would need a remote-answer
    event, so without a PhoneControl the desktop's Answer is refused.
    """

    def pick_up(self, leg: LegId) -> bool:
        """Answer the phone ringing with ``leg``; False if it cannot be picked up."""
        ...


@dataclass(frozen=True)
class _Done:
    key: tuple[object, ...]
    result: object


class CtiCore:
    """Live state and its serialisation; the flows and commands live in subclasses.

    ``profiles`` maps agent numbers to routing profiles (read at log-in); ``routes``
    maps DIDs to queue ids; ``customers`` looks a caller up in the CRM (VIP, tier,
    owner); ``cdr`` receives the call detail records (in memory by default).
    """

    def __init__(
        self,
        switch: Switch,
        clock: Clock,
        bus: EventBus,
        *,
        rng: random.Random,
        queues: Sequence[QueueConfig],
        routes: Mapping[str, str],
        profiles: Mapping[str, AgentProfile],
        cdr: CdrSink | None = None,
        customers: Callable[[str], CustomerInfo | None] | None = None,
        music_on_hold: str = "moh",
        announce_every: float | None = None,
        planner: Planner = plan_assignments,
        hold_music: str = "default",
        dial_ring_timeout: float = 30.0,
        outbound_caller_id: str = "",  # desk calls present it; "": none (the trunk's own)
        id_prefix: str = "cti",
        command_memory: int = 10_000,
        phones: PhoneControl | None = None,
    ) -> None:
        self._switch = switch
        self._clock = clock
        self._bus = bus
        self._rng = rng
        self._queues: dict[str, CallQueue] = {cfg.queue_id: CallQueue(cfg) for cfg in queues}
        for did, queue_id in routes.items():
            if queue_id not in self._queues:
                raise UnknownQueue(queue_id=queue_id, did=did)
        self._routes = dict(routes)
        self._profiles = profiles
        self.cdr: CdrSink = cdr if cdr is not None else MemoryCdr()
        self._customers = customers
        self._music_on_hold = music_on_hold
        self._announce_every = announce_every
        self._plan = planner  # the ACD's matching; a benchmark passes a timed one
        # Average handling time (talk + wrap-up) for wait estimates, learnt as calls end.
        self._handle_seconds = DEFAULT_HANDLE_SECONDS
        self._hold_music = hold_music
        self._dial_ring_timeout = dial_ring_timeout
        self._outbound_caller_id = outbound_caller_id
        self._prefix = id_prefix
        self._command_memory = command_memory
        self._phone_control = phones

        self._agents: dict[str, AgentSession] = {}
        self._calls: dict[str, Call] = {}
        self._legs: dict[LegId, Leg] = {}
        self._last_agent: OrderedDict[str, str] = OrderedDict()  # caller -> last agent
        self._wrap_ups: dict[str, Call] = {}  # agent -> the ended call of its wrap-up
        self._ids = itertools.count(1)
        self._done: OrderedDict[str, _Done] = OrderedDict()

        self._lock = asyncio.Lock()
        self._inbox: asyncio.Queue[SwitchEvent | _Tick] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._timer: TimerHandle | None = None
        self._timer_at: float | None = None
        self._wait_until: float | None = None

        self._dirty_calls: dict[str, Call] = {}
        self._dirty_legs: dict[LegId, Leg] = {}
        self._dirty_agents: set[str] = set()
        self._published_stats: dict[str, tuple[object, ...]] = {}

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the switch and start handling its events."""
        if self._worker is not None:
            return
        self._subscription = self._switch.subscribe(self._on_switch_event)
        self._worker = asyncio.create_task(self._run(), name="cti-engine")

    async def stop(self) -> None:
        """Stop handling events; live calls are left to the switch."""
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        self._cancel_timer()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- serialisation --------------------------------------------------------------

    def _on_switch_event(self, event: SwitchEvent) -> None:
        self._inbox.put_nowait(event)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._inbox.put_nowait(_TICK)

    async def _run(self) -> None:
        while True:
            item = await self._inbox.get()
            async with self._lock:
                try:
                    if isinstance(item, _Tick):
                        await self._tick()
                    else:
                        await self._dispatch(item)
                except Exception:
                    log.exception("CTI step failed on %r", item)
                await self._commit()

    async def _command(
        self, command_id: str, key: tuple[object, ...], body: Callable[[], Awaitable[T]]
    ) -> T:
        """Run one command under the lock; a retried ``command_id`` returns the first result."""
        async with self._lock:
            done = self._done.get(command_id)
            if done is not None:
                if done.key != key:
                    raise CommandIdReused(command_id=command_id)
                log.debug("command %s %s repeated", command_id, key[0])
                return cast(T, done.result)
            try:
                result = await body()
                self._done[command_id] = _Done(key, result)
                while len(self._done) > self._command_memory:
                    self._done.popitem(last=False)
                log.info("command %s %s done", command_id, key)
                return result
            finally:
                await self._commit()

    async def _commit(self) -> None:
        try:
            for _ in range(ROUTING_PASSES):
                if not await self._route():
                    break
        except Exception:
            log.exception("routing failed")
        try:
            self._flush()
        except Exception:
            log.exception("publishing failed")
        self._rearm()

    # --- helpers --------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.now()

    def _new_id(self, kind: str) -> str:
        return f"{self._prefix}-{kind}{next(self._ids)}"

    def _session(self, agent_no: str, action: str) -> AgentSession:
        """The session of a logged-in agent."""
        session = self._agents.get(agent_no)
        if session is None and agent_no not in self._profiles:
            raise UnknownAgent(agent_id=agent_no)
        if session is None or session.agent.state is AgentState.LOGGED_OUT:
            raise AgentNotLoggedIn(agent_id=agent_no, state="logged-out", action=action)
        return session

    def _call_of(self, session: AgentSession, action: str) -> Call:
        agent = session.agent
        call = self._calls.get(agent.call_id) if agent.call_id is not None else None
        if call is None or call.ended or agent.state not in ON_CALL_STATES:
            raise not_on_call(agent, action)
        return call

    def _connected_call(self, session: AgentSession, action: str) -> Call:
        """The connected call the agent is the primary agent of."""
        call = self._call_of(session, action)
        if call.state is not CallState.CONNECTED or call.agent_no != session.agent_no:
            raise CallNotConnected(call_id=call.call_id, state=call.state.value, action=action)
        if call.customer_leg is None:
            raise CallNotConnected(call_id=call.call_id, state=call.state.value, action=action)
        return call

    def _leg_of(self, call: Call, agent_no: str) -> Leg | None:
        """The agent's live leg in the call (ringing or up)."""
        for leg_id in reversed(call.legs):
            leg = self._legs[leg_id]
            if (
                leg.agent_no == agent_no
                and not leg.ended
                and leg.purpose is not LegPurpose.SUPERVISOR
            ):
                return leg
        return None

    def _live_call(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None or call.ended:
            raise UnknownCall(call_id=call_id)
        return call

    def _queue(self, queue_id: str) -> CallQueue:
        queue = self._queues.get(queue_id)
        if queue is None:
            raise UnknownQueue(queue_id=queue_id)
        return queue

    def _touch(self, call: Call, milestone: str | None = None) -> None:
        """Publish the call at the end of the step; write a CDR now if at a milestone."""
        self._dirty_calls[call.call_id] = call
        if milestone is not None:
            self.cdr.record_call(views.call_record(call, milestone))

    def _remember_agent(self, caller: str, agent_no: str) -> None:
        """Remember who answered ``caller`` (for sticky routing), the latest callers only."""
        self._last_agent[caller] = agent_no
        self._last_agent.move_to_end(caller)
        while len(self._last_agent) > self._command_memory:
            self._last_agent.popitem(last=False)

    def _touch_leg(self, leg: Leg) -> None:
        self._dirty_legs[leg.leg_id] = leg

    def _agent_event(self, agent_no: str | None, trigger: Trigger) -> bool:
        """Apply a trigger to a logged-in agent; log (not raise) if the domain refuses."""
        if agent_no is None:
            return False
        session = self._agents.get(agent_no)
        if session is None:
            return False
        try:
            session.agent.handle(trigger, self._now())
        except DomainError as error:
            log.warning("agent %s refused %r: %s", agent_no, trigger, error)
            return False
        return True

    async def _try(self, action: Awaitable[None], what: str) -> bool:
        """Send a switch command from an event handler; a refusal is logged, not raised."""
        try:
            await action
        except SwitchError as error:
            log.warning("switch refused %s: %s (%s)", what, error, error.code)
            return False
        return True

    async def _must(self, action: Awaitable[None], what: str) -> None:
        """Send a switch command for a command; a refusal becomes a DomainError."""
        try:
            await action
        except SwitchError as error:
            raise SwitchRefused(action=what, problem=error.code) from error

    def _new_call(self, direction: Direction, caller: str, dialled: str) -> Call:
        call = Call(self._new_id("c"), direction, caller, dialled, self._now())
        self._calls[call.call_id] = call
        log.info("call=%s created %s from %s to %s", call.call_id, direction.value, caller, dialled)
        return call

    def _add_leg(
        self,
        call: Call,
        leg_id: LegId,
        purpose: LegPurpose,
        dest: str,
        agent_no: str | None = None,
    ) -> Leg:
        leg = Leg(leg_id, call.call_id, purpose, dest, self._now(), agent_no)
        self._legs[leg_id] = leg
        call.legs.append(leg_id)
        self._touch_leg(leg)
        return leg

    def _new_leg_id(self, call: Call, kind: str) -> LegId:
        return LegId(f"{call.call_id}-{kind}{next(self._ids)}")

    async def _bridge(self, call: Call, first: LegId, second: LegId) -> bool:
        bridge = BridgeId(self._new_id(f"{call.call_id}-br"))
        if not await self._try(self._switch.bridge(bridge, [first, second]), "bridge"):
            return False
        call.bridge = bridge
        if call.bridged_at is None:
            call.bridged_at = self._now()
            self._touch(call, "bridged")
        self._touch(call)
        log.info("call=%s bridged %s <-> %s", call.call_id, first, second)
        return True

    async def _unbridge(self, call: Call) -> None:
        if call.bridge is not None:
            await self._try(self._switch.unbridge(call.bridge), "unbridge")
            call.bridge = None

    # --- timers ---------------------------------------------------------------------

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _rearm(self) -> None:
        deadlines = [q.get_timer() for q in self._queues.values()]
        wrapping = AgentState.WRAP_UP  # Agent.get_timer, inlined: this runs every step
        deadlines.extend(
            s.agent.wrap_up_until for s in self._agents.values() if s.agent.state is wrapping
        )
        deadlines.append(self._wait_until)
        deadlines.extend(
            c.announce_at
            for c in self._calls.values()
            if c.state is CallState.QUEUED and c.announcing is None
        )
        due = min((d for d in deadlines if d is not None), default=None)
        if due == self._timer_at and self._timer is not None:
            return
        self._cancel_timer()
        if due is not None:
            self._timer = self._clock.call_at(due, self._on_timer)
            self._timer_at = due

    # --- the call flows (see callcenter.app.cti.flows) -----------------------------

    async def _dispatch(self, event: SwitchEvent) -> None:
        raise NotImplementedError

    async def _tick(self) -> None:
        raise NotImplementedError

    async def _route(self) -> bool:
        """Offer waiting calls to free agents; True if an offer failed on the spot."""
        raise NotImplementedError

    # --- publishing -----------------------------------------------------------------

    def _flush(self) -> None:
        now = self._now()
        dirty = self._dirty_agents
        for session in self._agents.values():
            if session.agent.records:  # most agents changed nothing since the last step
                for record in session.agent.take_records():
                    self.cdr.record_agent_state(record)
                    session.reason = record.reason
                    self._publish(views.AGENT_STATE, views.agent_change(session, record))
            elif dirty and session.agent_no in dirty:
                self._publish(views.AGENT_STATE, views.agent_view(session))
        dirty.clear()
        for queue in self._queues.values():
            for abandon in queue.take_abandoned():
                self.cdr.record_abandon(abandon)
        legs, self._dirty_legs = self._dirty_legs, {}
        for leg in legs.values():
            self.cdr.record_leg(views.leg_record(leg))
        calls, self._dirty_calls = self._dirty_calls, {}
        for call in calls.values():
            self._publish(views.CALL_UPDATED, views.call_view(call))
            if call.ended:
                self._calls.pop(call.call_id, None)
                for leg_id in call.legs:
                    self._legs.pop(leg_id, None)
                self._keep_for_wrap_up(call)
        agents = [s.agent for s in self._agents.values()]
        for queue in self._queues.values():
            stats = views.queue_stats(queue, agents, now)
            key = (
                stats["waiting"],
                stats["oldest_entered_at"],
                stats["ringing"],
                stats["agents_ready"],
                stats["answered"],
            )
            if self._published_stats.get(queue.queue_id) != key:
                self._published_stats[queue.queue_id] = key
                self._publish(views.QUEUE_STATS, stats)

    def _keep_for_wrap_up(self, call: Call) -> None:
        """Remember the ended call for its agents still wrapping it up (see wrap_up_call)."""
        for agent_no in call.agents:
            session = self._agents.get(agent_no)
            if session is not None and session.agent.call_id == call.call_id:
                self._wrap_ups[agent_no] = call

    def _publish(self, type_: str, data: dict[str, Any]) -> None:
        data.setdefault("at", self._now())
        self._bus.publish(type_, data, views.MONITOR_PERMISSION)

    # --- queries --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole live state, shaped like the bus events, for a reconnecting client."""
        now = self._now()
        agents = [s.agent for s in self._agents.values()]
        return {
            "at": now,
            "agents": [
                views.agent_view(s)
                for s in sorted(self._agents.values(), key=lambda s: s.agent_no)
                if s.agent.state is not AgentState.LOGGED_OUT
            ],
            "calls": [views.call_view(c) for c in self._calls.values() if not c.ended],
            "queues": [views.queue_stats(q, agents, now) for q in self._queues.values()],
        }

    def wrap_up_call(self, agent_no: str) -> dict[str, Any] | None:
        """The ended call ``agent_no`` is wrapping up, shaped like the snapshot's calls.

        None unless the agent is in wrap-up after a call that has ended (a call still
        live is in the snapshot). The engine forgets a call when it ends but keeps each
        agent's last one, so a desktop reloaded during wrap-up still has the call to
        record a result for.
        """
        session = self._agents.get(agent_no)
        call = self._wrap_ups.get(agent_no)
        if session is None or call is None:
            return None
        agent = session.agent
        if agent.state is not AgentState.WRAP_UP or agent.call_id != call.call_id:
            return None
        return views.call_view(call)

    def agent(self, agent_no: str) -> Agent:
        """The domain agent of ``agent_no`` (logged in or not, if ever seen)."""
        session = self._agents.get(agent_no)
        if session is None:
            raise UnknownAgent(agent_id=agent_no)
        return session.agent

    def call(self, call_id: str) -> Call:
        """A live call."""
        return self._live_call(call_id)

    def leg(self, leg_id: LegId) -> Leg:
        """A leg of a live call."""
        leg = self._legs.get(leg_id)
        if leg is None:
            raise UnknownCall(call_id=leg_id)
        return leg

    def calls(self) -> list[Call]:
        return [c for c in self._calls.values() if not c.ended]

    def queue(self, queue_id: str) -> CallQueue:
        return self._queue(queue_id)


def not_on_call(agent: Agent, action: str) -> AgentNotOnCall:
    """The error for a call command of an agent without a call."""
    return AgentNotOnCall(agent_id=agent.agent_id, state=agent.state.value, action=action)
