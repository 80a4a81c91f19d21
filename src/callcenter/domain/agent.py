"""Agent session state machine (坐席状态机).

Theory of operation
-------------------
An :class:`Agent` is one logged-in agent session. Everything that can happen to it is a
*trigger*, a frozen dataclass: commands the agent gives (``LogIn``, ``GoReady``,
``GoNotReady``, ``LogOut``) and events the switch or the ACD report (``CallOffered``,
``CallAnswered``, ``OfferNotAnswered``, ``OfferWithdrawn``, ``CallHeld``,
``CallResumed``, ``CallEnded``) plus the internal ``WrapUpExpired`` fired by
:meth:`Agent.handle_timer`.

``AGENT_TRANSITIONS`` says, per state and trigger type, where the agent goes. A missing
entry is an illegal transition: :meth:`Agent.handle` raises a specific
:class:`~callcenter.domain.errors.DomainError` and changes nothing. Two pseudo targets
exist: ``AFTER_WORK`` (back to READY, or to NOT_READY when the agent asked for it during
the call, or after too many missed offers) and ``STAY`` (no state change; used to note
or cancel a *pending not-ready* while the phone rings or the agent talks).

Every state change goes through ``_set_state``, which appends a :class:`StateRecord`
(the 流水账 supervisors audit) to ``records``; handlers drain them with
:meth:`Agent.take_records`. Time only comes in as ``now`` (seconds). Wrap-up (话后)
has a deadline; the caller asks :meth:`Agent.get_timer` and calls
:meth:`Agent.handle_timer` when it is due. A call ended with a zero wrap-up time
passes through WRAP_UP straight to READY (two records).

Per-agent statistics the ACD uses live in :class:`AgentStats`: calls answered and talk
time today, when the agent last became ready, and missed offers in a row. After
``max_missed_offers`` ring-no-answers in a row the agent is forced NOT_READY with the
reason ``no-answer``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from callcenter.domain.errors import (
    AgentAlreadyLoggedIn,
    AgentBusy,
    AgentCallMismatch,
    AgentNotLoggedIn,
    AgentNotOnCall,
    AgentNotReady,
    AgentStateError,
    InvalidAgentConfig,
    InvalidNotReadyReason,
)

log = logging.getLogger(__name__)

NO_ANSWER: Final = "no-answer"
"""Not-ready reason set when an agent misses ``max_missed_offers`` offers in a row."""


class AgentState(enum.Enum):
    LOGGED_OUT = "logged-out"
    READY = "ready"  # 示闲
    NOT_READY = "not-ready"  # 示忙
    RESERVED = "reserved"  # call offered, phone ringing
    TALKING = "talking"
    ON_HOLD = "on-hold"
    WRAP_UP = "wrap-up"  # 话后


ON_CALL_STATES: Final = frozenset({AgentState.RESERVED, AgentState.TALKING, AgentState.ON_HOLD})
"""States in which the agent has a call (ringing, talking or held)."""


class PseudoTarget(enum.Enum):
    AFTER_WORK = "after-work"  # READY, or NOT_READY if pending / too many misses
    STAY = "stay"  # no state change


AFTER_WORK: Final = PseudoTarget.AFTER_WORK
STAY: Final = PseudoTarget.STAY


# --- triggers: commands from the agent -----------------------------------------------


@dataclass(frozen=True)
class LogIn:
    """Log in; the agent starts NOT_READY (reason ``login``) and goes ready with GoReady."""


@dataclass(frozen=True)
class LogOut:
    pass


@dataclass(frozen=True)
class GoReady:
    pass


@dataclass(frozen=True)
class GoNotReady:
    reason: str


# --- triggers: events from the switch and the ACD ------------------------------------


@dataclass(frozen=True)
class CallOffered:
    call_id: str
    queue_id: str | None = None


@dataclass(frozen=True)
class CallAnswered:
    call_id: str


@dataclass(frozen=True)
class OfferNotAnswered:
    """The agent's phone rang until the ring timeout (or the agent rejected it)."""

    call_id: str


@dataclass(frozen=True)
class OfferWithdrawn:
    """The offer ended through no fault of the agent (caller hung up, ring-all won elsewhere)."""

    call_id: str


@dataclass(frozen=True)
class CallHeld:
    call_id: str


@dataclass(frozen=True)
class CallResumed:
    call_id: str


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    wrap_up_seconds: float | None = None  # None: the agent's default


@dataclass(frozen=True)
class WrapUpExpired:
    pass


Trigger = (
    LogIn
    | LogOut
    | GoReady
    | GoNotReady
    | CallOffered
    | CallAnswered
    | OfferNotAnswered
    | OfferWithdrawn
    | CallHeld
    | CallResumed
    | CallEnded
    | WrapUpExpired
)

_S = AgentState
AGENT_TRANSITIONS: Final[Mapping[AgentState, Mapping[type[Trigger], AgentState | PseudoTarget]]] = {
    _S.LOGGED_OUT: {LogIn: _S.NOT_READY},
    _S.READY: {
        GoNotReady: _S.NOT_READY,
        CallOffered: _S.RESERVED,
        LogOut: _S.LOGGED_OUT,
    },
    _S.NOT_READY: {
        GoReady: _S.READY,
        GoNotReady: _S.NOT_READY,  # change the reason code
        LogOut: _S.LOGGED_OUT,
    },
    _S.RESERVED: {
        CallAnswered: _S.TALKING,
        OfferNotAnswered: AFTER_WORK,
        OfferWithdrawn: AFTER_WORK,
        GoNotReady: STAY,  # pending not-ready
        GoReady: STAY,  # cancel pending not-ready
    },
    _S.TALKING: {
        CallHeld: _S.ON_HOLD,
        CallEnded: _S.WRAP_UP,
        GoNotReady: STAY,
        GoReady: STAY,
    },
    _S.ON_HOLD: {
        CallResumed: _S.TALKING,
        CallEnded: _S.WRAP_UP,
        GoNotReady: STAY,
        GoReady: STAY,
    },
    _S.WRAP_UP: {
        GoReady: _S.READY,  # wrap-up finished early
        GoNotReady: _S.NOT_READY,
        WrapUpExpired: AFTER_WORK,
        LogOut: _S.LOGGED_OUT,
    },
}

_CALL_TRIGGERS: Final = (
    CallAnswered,
    OfferNotAnswered,
    OfferWithdrawn,
    CallHeld,
    CallResumed,
    CallEnded,
)


@dataclass(frozen=True)
class StateRecord:
    """One line of the agent state log (流水账)."""

    at: float
    agent_id: str
    from_state: AgentState
    to_state: AgentState
    reason: str
    call_id: str | None = None


@dataclass(frozen=True)
class Membership:
    """The agent belongs to ``group`` between ``active_from`` and ``active_until``."""

    group: str
    active_from: float | None = None
    active_until: float | None = None

    def is_active(self, now: float) -> bool:
        if self.active_from is not None and now < self.active_from:
            return False
        return self.active_until is None or now < self.active_until


@dataclass
class AgentStats:
    """Counters the ACD strategies read. "Today" is until :meth:`Agent.start_new_day`."""

    calls_answered: int = 0
    talk_seconds: float = 0.0
    idle_since: float | None = None  # when the agent last became READY
    missed_in_a_row: int = 0
    talk_started_at: float | None = None


@dataclass
class Agent:
    """A logged-in (or logged-out) agent session and its routing profile."""

    agent_id: str
    memberships: tuple[Membership, ...] = ()
    skills: Mapping[str, int] = field(default_factory=dict)
    order: int = 0  # position for the sequential strategy
    max_missed_offers: int = 3
    wrap_up_seconds: float = 30.0
    state: AgentState = AgentState.LOGGED_OUT
    state_since: float = 0.0
    not_ready_reason: str | None = None
    pending_not_ready: str | None = None
    call_id: str | None = None
    wrap_up_until: float | None = None
    stats: AgentStats = field(default_factory=AgentStats)
    records: list[StateRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.max_missed_offers < 1:
            raise InvalidAgentConfig(agent_id=self.agent_id, problem="max_missed_offers < 1")
        if self.wrap_up_seconds < 0:
            raise InvalidAgentConfig(agent_id=self.agent_id, problem="wrap_up_seconds < 0")

    # --- queries ---------------------------------------------------------------------

    def in_group(self, groups: frozenset[str], now: float) -> bool:
        """Is one of the agent's memberships in ``groups`` active at ``now``?"""
        return any(m.group in groups and m.is_active(now) for m in self.memberships)

    def skill_level(self, skill: str) -> int:
        return self.skills.get(skill, 0)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, if ever."""
        return self.wrap_up_until if self.state is AgentState.WRAP_UP else None

    def take_records(self) -> list[StateRecord]:
        """Return and forget the state records produced since the last call."""
        records, self.records = self.records, []
        return records

    # --- commands --------------------------------------------------------------------

    def handle(self, trigger: Trigger, now: float) -> None:
        """Apply a command or event; raise a DomainError and change nothing if illegal."""
        target = AGENT_TRANSITIONS[self.state].get(type(trigger))
        if target is None:
            raise self._illegal(trigger)
        self._check(trigger)
        match trigger:
            case LogIn():
                self.stats.missed_in_a_row = 0
                self.pending_not_ready = None
                self._set_state(AgentState.NOT_READY, now, "login", nr_reason="login")
            case LogOut():
                self.pending_not_ready = None
                self._set_state(AgentState.LOGGED_OUT, now, "logout")
            case GoReady():
                if target is STAY:
                    self.pending_not_ready = None
                    log.debug("agent %s cancelled pending not-ready", self.agent_id)
                else:
                    self._set_state(AgentState.READY, now, "ready")
            case GoNotReady(reason=reason):
                if target is STAY:
                    self.pending_not_ready = reason
                    log.debug("agent %s pending not-ready %s", self.agent_id, reason)
                else:
                    self._set_state(AgentState.NOT_READY, now, reason, nr_reason=reason)
            case CallOffered(call_id=call_id):
                self.call_id = call_id
                self._set_state(AgentState.RESERVED, now, "call-offered")
            case CallAnswered():
                self.stats.calls_answered += 1
                self.stats.missed_in_a_row = 0
                self.stats.talk_started_at = now
                self._set_state(AgentState.TALKING, now, "call-answered")
            case OfferNotAnswered():
                self.stats.missed_in_a_row += 1
                if self.stats.missed_in_a_row >= self.max_missed_offers:
                    self.stats.missed_in_a_row = 0
                    self.pending_not_ready = NO_ANSWER
                self._after_work(now, "offer-not-answered", keep_idle=False)
            case OfferWithdrawn():
                self._after_work(now, "offer-withdrawn", keep_idle=True)
            case CallHeld():
                self._set_state(AgentState.ON_HOLD, now, "call-held")
            case CallResumed():
                self._set_state(AgentState.TALKING, now, "call-resumed")
            case CallEnded(wrap_up_seconds=limit):
                self._end_talk(now)
                seconds = self.wrap_up_seconds if limit is None else max(0.0, limit)
                self.wrap_up_until = now + seconds
                self._set_state(AgentState.WRAP_UP, now, "call-ended")
                if seconds == 0:
                    self._after_work(now, "wrap-up-skipped", keep_idle=False)
            case WrapUpExpired():
                self._after_work(now, "wrap-up-expired", keep_idle=False)

    def handle_timer(self, now: float) -> None:
        """End wrap-up if its deadline has passed; otherwise do nothing."""
        deadline = self.get_timer()
        if deadline is not None and now >= deadline:
            self.handle(WrapUpExpired(), now)

    def start_new_day(self) -> None:
        """Reset the "today" counters (called by the application at the day boundary)."""
        self.stats.calls_answered = 0
        self.stats.talk_seconds = 0.0

    # --- internals -------------------------------------------------------------------

    def _check(self, trigger: Trigger) -> None:
        if isinstance(trigger, GoNotReady) and not trigger.reason.strip():
            raise InvalidNotReadyReason(agent_id=self.agent_id)
        if isinstance(trigger, _CALL_TRIGGERS) and trigger.call_id != self.call_id:
            raise AgentCallMismatch(
                agent_id=self.agent_id, call_id=trigger.call_id, current_call_id=self.call_id
            )

    def _illegal(self, trigger: Trigger) -> AgentStateError:
        details: dict[str, object] = {
            "agent_id": self.agent_id,
            "state": self.state.value,
            "action": _action_name(trigger),
        }
        if isinstance(trigger, LogIn):
            return AgentAlreadyLoggedIn(**details)
        if self.state is AgentState.LOGGED_OUT:
            return AgentNotLoggedIn(**details)
        if isinstance(trigger, CallOffered):
            return AgentNotReady(**details)
        if isinstance(trigger, LogOut) and self.state in ON_CALL_STATES:
            return AgentBusy(**details)
        if isinstance(trigger, _CALL_TRIGGERS) and self.state not in ON_CALL_STATES:
            return AgentNotOnCall(**details)
        return AgentStateError(**details)

    def _end_talk(self, now: float) -> None:
        if self.stats.talk_started_at is not None:
            self.stats.talk_seconds += max(0.0, now - self.stats.talk_started_at)
            self.stats.talk_started_at = None

    def _after_work(self, now: float, why: str, *, keep_idle: bool) -> None:
        pending = self.pending_not_ready
        self.pending_not_ready = None
        if pending is not None:
            self._set_state(AgentState.NOT_READY, now, pending, nr_reason=pending)
        else:
            self._set_state(AgentState.READY, now, why, keep_idle=keep_idle)

    def _set_state(
        self,
        new: AgentState,
        now: float,
        reason: str,
        *,
        nr_reason: str | None = None,
        keep_idle: bool = False,
    ) -> None:
        old = self.state
        call_id = self.call_id
        log.debug(
            "agent %s %s -> %s (%s) call=%s", self.agent_id, old.value, new.value, reason, call_id
        )
        self.state = new
        self.state_since = now
        self.not_ready_reason = nr_reason if new is AgentState.NOT_READY else None
        if new is AgentState.READY and not (keep_idle and self.stats.idle_since is not None):
            self.stats.idle_since = now
        if new not in ON_CALL_STATES and new is not AgentState.WRAP_UP:
            self.call_id = None
            self.pending_not_ready = None
        if new is not AgentState.WRAP_UP:
            self.wrap_up_until = None
        self.records.append(StateRecord(now, self.agent_id, old, new, reason, call_id))


def _action_name(trigger: Trigger) -> str:
    name = type(trigger).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
