"""Call detail records (话单): what the CTI core writes down as calls move.

Theory of operation
-------------------
The engine hands every record to a :class:`CdrSink` at the end of the step that changed
it, so a sink sees a call *created*, then *queued*, *ringing*, *answered*, *bridged*
and *ended*, each time as a complete frozen :class:`CallRecord` (later records of the
same ``call_id`` supersede earlier ones: a store upserts). Legs are reported the same
way with :class:`LegRecord`. Agent state changes are the domain's
:class:`~callcenter.domain.agent.StateRecord` and abandoned calls the domain's
:class:`~callcenter.domain.queue.AbandonRecord`, passed on unchanged.

Sink methods are synchronous and must not block: they run inside the engine's serialised
section. A database sink buffers and writes in its own task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from callcenter.domain.agent import StateRecord
from callcenter.domain.queue import AbandonRecord

__all__ = ["AbandonRecord", "CallRecord", "CdrSink", "LegRecord", "MemoryCdr", "StateRecord"]


@dataclass(frozen=True)
class CallRecord:
    """The call as it stands; ``state`` is the milestone this record reports."""

    call_id: str
    direction: str  # "inbound" | "outbound"
    state: str  # a CallState value
    caller: str
    dialled: str
    created_at: float
    queue_id: str | None = None
    queued_at: float | None = None
    offered_at: float | None = None  # first time an agent's phone rang
    answered_at: float | None = None  # an agent (or the called customer) answered
    bridged_at: float | None = None
    ended_at: float | None = None
    agent_no: str | None = None  # the agent on the call now (or last)
    agents: tuple[str, ...] = ()  # every agent who talked on the call, in order
    customer_id: str | None = None
    cause: str | None = None  # the HangupCause value that ended the call
    end_reason: str | None = None  # who or what ended it: customer, agent, abandoned...
    campaign_id: str | None = None  # a campaign's call (外呼任务): the campaign's id
    lead_id: str | None = None  # ... and the lead it dialled (None: not a campaign's call)


@dataclass(frozen=True)
class LegRecord:
    """One leg of a call as it stands."""

    leg_id: str
    call_id: str
    purpose: str  # a LegPurpose value
    dest: str
    created_at: float
    agent_no: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    cause: str | None = None
    # A leg to a customer or a number: the caller ID the switch was asked to present (the
    # number the called party saw); None for legs to agents' phones, inbound legs, and a
    # leg the switch was asked to present nothing on (it shows the trunk's own number).
    caller_id: str | None = None
    # A leg to a customer or a number: the trunk it went out on, by its configured name
    # (the dialer's least-cost choice, or the switch's default when none was named); None
    # for legs to phones, inbound legs, and a leg on no trunk (a sip: URI, the simulated
    # network with none named).
    trunk: str | None = None


class CdrSink(Protocol):
    """Where call detail records go (memory in tests, SQL in production)."""

    def record_call(self, record: CallRecord) -> None: ...

    def record_leg(self, record: LegRecord) -> None: ...

    def record_agent_state(self, record: StateRecord) -> None: ...

    def record_abandon(self, record: AbandonRecord) -> None: ...


@dataclass
class MemoryCdr:
    """A CdrSink keeping everything in lists, for tests and the demo."""

    calls: list[CallRecord] = field(default_factory=list)
    legs: list[LegRecord] = field(default_factory=list)
    agent_states: list[StateRecord] = field(default_factory=list)
    abandoned: list[AbandonRecord] = field(default_factory=list)

    def record_call(self, record: CallRecord) -> None:
        self.calls.append(record)

    def record_leg(self, record: LegRecord) -> None:
        self.legs.append(record)

    def record_agent_state(self, record: StateRecord) -> None:
        self.agent_states.append(record)

    def record_abandon(self, record: AbandonRecord) -> None:
        self.abandoned.append(record)

    def call(self, call_id: str) -> CallRecord:
        """The latest record of ``call_id``."""
        for record in reversed(self.calls):
            if record.call_id == call_id:
                return record
        raise KeyError(call_id)

    def call_states(self, call_id: str) -> list[str]:
        """The milestones ``call_id`` went through, in order, without repeats."""
        states: list[str] = []
        for record in self.calls:
            if record.call_id == call_id and (not states or states[-1] != record.state):
                states.append(record.state)
        return states

    def leg(self, leg_id: str) -> LegRecord:
        for record in reversed(self.legs):
            if record.leg_id == leg_id:
                return record
        raise KeyError(leg_id)

    def agent_path(self, agent_id: str) -> list[str]:
        """The states ``agent_id`` went through, starting from the first record's origin."""
        records = [r for r in self.agent_states if r.agent_id == agent_id]
        if not records:
            return []
        return [records[0].from_state.value, *(r.to_state.value for r in records)]
