"""Call queues (话务组/技能组): waiting calls, their order, overflow and the 呼损 log.

Theory of operation
-------------------
A :class:`CallQueue` holds the :class:`WaitingCall` s of one queue. Each call's rank is
a sort key computed once, when it enters, by the queue's pluggable priority function
(smallest key is served first; every key ends with the entry time and an arrival
counter, so ties go to the call that waited longest). The ACD reads the calls in order
with :meth:`CallQueue.waiting_for_agent`, offers a call to agents
(:meth:`CallQueue.mark_offered`), and the application then either removes it as
answered, or reports that nobody answered (those agents are skipped for the next offer
of that call).

A call leaves without an agent for one of the :class:`AbandonReason` s; each such exit
appends an :class:`AbandonRecord` (the abandoned-call log, 呼损) drained with
:meth:`CallQueue.take_abandoned`. Overflow (maximum wait reached, queue full, no agents)
names an :class:`OverflowTarget`: another queue or an external number. Maximum wait is
checked with ``get_timer``/``expire(now)``; a call that is ringing an agent is not
overflowed until the offer ends. The ring timeout of an offer is checked the same way,
with ``expire_offers(now)``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from callcenter.domain.agent import Agent
from callcenter.domain.errors import (
    CallAlreadyOffered,
    CallAlreadyQueued,
    CallNotOffered,
    CallNotQueued,
    InvalidQueueConfig,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WaitingCall:
    """A call waiting in a queue, with the inputs its priority and routing use."""

    call_id: str
    entered_at: float
    customer_id: str | None = None
    tier: int = 0  # customer tier: higher is more valuable
    vip: bool = False
    long_distance: bool = False
    priority: int = 0  # explicit priority: higher is served first
    last_agent_id: str | None = None  # the customer's previous agent (后续呼叫)
    owner_agent_id: str | None = None  # the customer's owning agent (客户归属)
    seq: int = 0  # arrival counter, set by the queue
    offered_to: tuple[str, ...] = ()  # agents ringing now
    offered_until: float | None = None  # ring timeout of the current offer
    skip_agent_ids: frozenset[str] = frozenset()  # missed the last offer: skip next time

    def waited(self, now: float) -> float:
        return max(0.0, now - self.entered_at)


PriorityKey = tuple[float, ...]
PriorityFn = Callable[[WaitingCall], PriorityKey]
"""Sort key of a waiting call: the smallest key is served first."""


def explicit_priority(call: WaitingCall) -> PriorityKey:
    return (-call.priority,)


def vip_and_tier(call: WaitingCall) -> PriorityKey:
    return (0 if call.vip else 1, -call.tier)


def long_distance(call: WaitingCall) -> PriorityKey:
    return (0 if call.long_distance else 1,)


def by_rules(*rules: PriorityFn) -> PriorityFn:
    """Compose rules in order of importance; the longest-waiting call breaks ties."""

    def key(call: WaitingCall) -> PriorityKey:
        parts: list[float] = []
        for rule in rules:
            parts.extend(rule(call))
        return (*parts, call.entered_at, call.seq)

    return key


longest_wait_first: PriorityFn = by_rules()
"""MPWC, most patient waiting caller: the call that entered first is served first."""
vip_then_longest_wait: PriorityFn = by_rules(vip_and_tier)
"""VIPs first, then higher tiers, then the longest waiting."""
long_distance_first: PriorityFn = by_rules(long_distance)
"""Long-distance callers first (their minutes cost more), then the longest waiting."""
explicit_then_longest_wait: PriorityFn = by_rules(explicit_priority)
"""Higher explicit priority first, then the longest waiting."""


class Strategy(enum.Enum):
    """How the ACD picks among eligible agents (implemented in ``acd``)."""

    ROUND_ROBIN = "round-robin"
    SEQUENTIAL = "sequential"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    LONGEST_IDLE = "longest-idle"
    RANDOM = "random"
    RING_ALL = "ring-all"


class OverflowKind(enum.Enum):
    QUEUE = "queue"
    NUMBER = "number"


@dataclass(frozen=True)
class OverflowTarget:
    kind: OverflowKind
    target: str  # queue id or external number


AgentFilter = Callable[["QueueConfig", Agent, float], bool]
"""A check that an agent may take calls from a queue at ``now`` (call-independent)."""


@dataclass(frozen=True)
class QueueConfig:
    """Configuration of one queue; ``groups`` are the agent groups that serve it."""

    queue_id: str
    groups: frozenset[str]
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: PriorityFn = longest_wait_first
    required_skill: str | None = None
    min_skill_level: int = 0
    max_wait: float | None = None
    overflow: OverflowTarget | None = None  # where calls go after max_wait
    max_length: int | None = None
    full_target: OverflowTarget | None = None  # queue full / no agents; default: overflow
    ring_timeout: float = 20.0
    sticky_agent: bool = False
    sticky_wait: float = 0.0
    owner_agent: bool = False
    owner_wait: float = 0.0
    weight: int = 0  # across queues, higher weight is served first
    extra_filters: tuple[AgentFilter, ...] = ()

    def __post_init__(self) -> None:
        problem = None
        if not self.groups:
            problem = "no agent groups"
        elif self.max_wait is not None and self.max_wait <= 0:
            problem = "max_wait must be positive"
        elif self.max_length is not None and self.max_length < 0:
            problem = "max_length must not be negative"
        elif self.ring_timeout <= 0:
            problem = "ring_timeout must be positive"
        elif self.sticky_wait < 0 or self.owner_wait < 0:
            problem = "preferred-agent wait must not be negative"
        elif self.min_skill_level < 0:
            problem = "min_skill_level must not be negative"
        if problem is not None:
            raise InvalidQueueConfig(queue_id=self.queue_id, problem=problem)


class AbandonReason(enum.Enum):
    CALLER_HUNG_UP = "caller-hung-up"
    MAX_WAIT_OVERFLOW = "max-wait-overflow"
    QUEUE_FULL = "queue-full"
    NO_AGENTS = "no-agents"
    AFTER_HOURS = "after-hours"


@dataclass(frozen=True)
class AbandonRecord:
    """One line of the abandoned-call log (呼损)."""

    queue_id: str
    call_id: str
    entered_at: float
    left_at: float
    waited: float
    reason: AbandonReason
    overflow: OverflowTarget | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class Enqueued:
    call_id: str
    position: int


@dataclass(frozen=True)
class Overflowed:
    """A call that left (or never entered) the queue without an agent."""

    call: WaitingCall
    record: AbandonRecord

    @property
    def target(self) -> OverflowTarget | None:
        return self.record.overflow


@dataclass
class CallQueue:
    """The waiting calls of one queue, plus its round-robin memory and counters."""

    config: QueueConfig
    last_offered_agent_id: str | None = None
    answered: int = 0
    answered_wait_total: float = 0.0
    abandoned: list[AbandonRecord] = field(default_factory=list)
    _calls: dict[str, WaitingCall] = field(default_factory=dict)
    _keys: dict[str, PriorityKey] = field(default_factory=dict)
    _seq: int = 0

    @property
    def queue_id(self) -> str:
        return self.config.queue_id

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._calls

    def get(self, call_id: str) -> WaitingCall:
        try:
            return self._calls[call_id]
        except KeyError:
            raise CallNotQueued(queue_id=self.queue_id, call_id=call_id) from None

    # --- order, position, estimates ---------------------------------------------------

    def ordered(self) -> list[WaitingCall]:
        """All waiting calls, first to be served first."""
        ids = sorted(self._calls, key=self._keys.__getitem__)
        return [self._calls[i] for i in ids]

    def waiting_for_agent(self) -> list[WaitingCall]:
        """Calls in order that are not ringing an agent now."""
        return [c for c in self.ordered() if not c.offered_to]

    def position(self, call_id: str) -> int:
        """1-based place in line: 1 + calls ahead that are not already ringing an agent."""
        key = self._keys[self.get(call_id).call_id]
        ahead = sum(
            1 for c in self._calls.values() if not c.offered_to and self._keys[c.call_id] < key
        )
        return ahead + 1

    def estimated_wait(
        self, call_id: str, *, agents_serving: int, average_handle_seconds: float
    ) -> float | None:
        """Seconds until an agent is likely free for this call (None: nobody serving)."""
        if agents_serving <= 0:
            return None
        return self.position(call_id) * average_handle_seconds / agents_serving

    def average_answered_wait(self) -> float | None:
        return self.answered_wait_total / self.answered if self.answered else None

    # --- entering and leaving --------------------------------------------------------

    def enqueue(self, call: WaitingCall, now: float) -> Enqueued | Overflowed:
        """Put a call in line, or refuse it (queue full) with an abandonment record."""
        if call.call_id in self._calls:
            raise CallAlreadyQueued(queue_id=self.queue_id, call_id=call.call_id)
        limit = self.config.max_length
        if limit is not None and len(self._calls) >= limit:
            return self.refuse(call, now, AbandonReason.QUEUE_FULL)
        self._seq += 1
        call = replace(
            call, seq=self._seq, offered_to=(), offered_until=None, skip_agent_ids=frozenset()
        )
        self._calls[call.call_id] = call
        self._keys[call.call_id] = self.config.priority(call)
        log.debug("queue %s call=%s entered", self.queue_id, call.call_id)
        return Enqueued(call.call_id, self.position(call.call_id))

    def refuse(self, call: WaitingCall, now: float, reason: AbandonReason) -> Overflowed:
        """Record a call turned away at the door (queue full, no agents, after hours)."""
        if reason is AbandonReason.AFTER_HOURS:
            target = None
        elif reason in (AbandonReason.QUEUE_FULL, AbandonReason.NO_AGENTS):
            target = self.config.full_target or self.config.overflow
        else:
            target = self.config.overflow
        return self._record(call, now, reason, target)

    def abandon(self, call_id: str, now: float) -> AbandonRecord:
        """The caller hung up while waiting (or while an agent's phone rang)."""
        call = self._remove(call_id)
        return self._record(call, now, AbandonReason.CALLER_HUNG_UP, None).record

    def remove_answered(self, call_id: str, now: float) -> WaitingCall:
        """An agent answered: the call leaves the queue and counts as answered."""
        call = self._remove(call_id)
        self.answered += 1
        self.answered_wait_total += call.waited(now)
        log.debug("queue %s call=%s answered after %.1fs", self.queue_id, call_id, call.waited(now))
        return call

    def get_timer(self) -> float | None:
        """When the next call reaches the maximum wait or its offer's ring timeout."""
        deadlines = [c.offered_until for c in self._calls.values() if c.offered_until is not None]
        if self.config.max_wait is not None:
            deadlines.extend(
                c.entered_at + self.config.max_wait
                for c in self._calls.values()
                if not c.offered_to
            )
        return min(deadlines, default=None)

    def expire(self, now: float) -> list[Overflowed]:
        """Take out every call (not ringing an agent) that waited ``max_wait`` or longer."""
        limit = self.config.max_wait
        if limit is None:
            return []
        due = [
            c.call_id for c in self.ordered() if not c.offered_to and now - c.entered_at >= limit
        ]
        return [
            self._record(
                self._remove(i), now, AbandonReason.MAX_WAIT_OVERFLOW, self.config.overflow
            )
            for i in due
        ]

    def expire_offers(self, now: float) -> list[WaitingCall]:
        """End offers that rang past the queue's ring timeout.

        Each call goes back in line, skipping the agents who did not answer for its next
        offer. The calls are returned as they were, so the caller can stop the ringing
        and report ``OfferNotAnswered`` to each agent in ``offered_to``.
        """
        due = [c for c in self.ordered() if c.offered_until is not None and now >= c.offered_until]
        for call in due:
            self.offer_not_answered(call.call_id)
        return due

    def take_abandoned(self) -> list[AbandonRecord]:
        records, self.abandoned = self.abandoned, []
        return records

    # --- offers ----------------------------------------------------------------------

    def mark_offered(self, call_id: str, agent_ids: Sequence[str], now: float) -> None:
        """The call now rings ``agent_ids``; it stays in line until answered."""
        call = self.get(call_id)
        if call.offered_to:
            raise CallAlreadyOffered(queue_id=self.queue_id, call_id=call_id)
        if not agent_ids:
            raise CallNotOffered(queue_id=self.queue_id, call_id=call_id)
        self._calls[call_id] = replace(
            call,
            offered_to=tuple(agent_ids),
            offered_until=now + self.config.ring_timeout,
            skip_agent_ids=frozenset(),
        )
        self.last_offered_agent_id = agent_ids[-1]
        log.debug("queue %s call=%s offered to %s at %.1f", self.queue_id, call_id, agent_ids, now)

    def offer_not_answered(self, call_id: str, agent_ids: Iterable[str] | None = None) -> None:
        """Nobody answered: back in line, skipping those agents for the next offer."""
        call = self.get(call_id)
        if not call.offered_to:
            raise CallNotOffered(queue_id=self.queue_id, call_id=call_id)
        skip = frozenset(call.offered_to if agent_ids is None else agent_ids)
        self._calls[call_id] = replace(call, offered_to=(), offered_until=None, skip_agent_ids=skip)

    def offer_withdrawn(self, call_id: str) -> None:
        """The offer ended without fault of the agents: back in line, nobody skipped."""
        self.offer_not_answered(call_id, ())

    # --- internals -------------------------------------------------------------------

    def _remove(self, call_id: str) -> WaitingCall:
        call = self.get(call_id)
        del self._calls[call_id]
        del self._keys[call_id]
        return call

    def _record(
        self,
        call: WaitingCall,
        now: float,
        reason: AbandonReason,
        target: OverflowTarget | None,
    ) -> Overflowed:
        record = AbandonRecord(
            queue_id=self.queue_id,
            call_id=call.call_id,
            entered_at=call.entered_at,
            left_at=now,
            waited=call.waited(now),
            reason=reason,
            overflow=target,
            customer_id=call.customer_id,
        )
        self.abandoned.append(record)
        log.debug("queue %s call=%s left: %s", self.queue_id, call.call_id, reason.value)
        return Overflowed(call, record)
