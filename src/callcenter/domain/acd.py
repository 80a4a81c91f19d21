"""Automatic call distribution (ACD): which agent gets which waiting call.

Theory of operation
-------------------
Routing one call is a pipeline, configured per queue by :class:`QueueConfig`:

1. *Filters* keep the agents who may take the queue's calls now: READY, in one of the
   queue's groups, with that membership active at ``now``, with the required skill at
   the required level, plus the queue's ``extra_filters``. Agents who missed the last
   offer of this very call (ring-no-answer) are skipped for its next offer.
2. *Preferred agent*: the customer's previous agent (sticky, 后续呼叫) and then the
   customer's owner (客户归属). A free preferred agent gets the call; a busy one (on a
   call or in wrap-up, and serving this queue) is waited for until
   ``entered_at + sticky_wait`` (or ``owner_wait``); after that the call falls back.
3. A *strategy* ranks the rest: round robin with memory, sequential, fewest calls,
   least talk time, longest idle, random (with the ``random.Random`` passed in), or
   ring all (everyone eligible rings at once).

:func:`select_agents` routes one call. :func:`plan_assignments` (and its short form
:func:`next_assignments`) pairs waiting calls with free agents across all queues:
queues with a higher ``weight`` first, then the queue whose head call has waited
longest; inside a queue its priority order. Each agent is given to one call at most.
Agents are filtered and ranked once per queue per decision, so the cost grows with
queues x free agents plus waiting calls, not with their product.

Nothing here changes state: the application applies an :class:`Assignment` (see
:func:`apply_assignment`) and later reports answers or ring-no-answers.
"""

from __future__ import annotations

import enum
import heapq
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from callcenter.domain.agent import Agent, AgentState, CallOffered
from callcenter.domain.errors import AgentNotReady
from callcenter.domain.queue import AgentFilter, CallQueue, QueueConfig, Strategy, WaitingCall

# --- filters ---------------------------------------------------------------------------


def is_ready(cfg: QueueConfig, agent: Agent, now: float) -> bool:
    return agent.state is AgentState.READY


def in_queue_groups(cfg: QueueConfig, agent: Agent, now: float) -> bool:
    return any(m.group in cfg.groups for m in agent.memberships)


def membership_active_now(cfg: QueueConfig, agent: Agent, now: float) -> bool:
    return agent.in_group(cfg.groups, now)


def has_required_skill(cfg: QueueConfig, agent: Agent, now: float) -> bool:
    if cfg.required_skill is None:
        return True
    level = agent.skills.get(cfg.required_skill)
    return level is not None and level >= cfg.min_skill_level


SERVES_FILTERS: Final[tuple[AgentFilter, ...]] = (
    in_queue_groups,
    membership_active_now,
    has_required_skill,
)
"""Filters that say the agent serves the queue, whatever their state."""
DEFAULT_FILTERS: Final[tuple[AgentFilter, ...]] = (is_ready, *SERVES_FILTERS)
_AFTER_GROUP_INDEX: Final[tuple[AgentFilter, ...]] = (membership_active_now, has_required_skill)
"""SERVES_FILTERS minus the group check, for agents found through the group index."""

_WORTH_WAITING: Final = frozenset(AgentState) - {AgentState.LOGGED_OUT, AgentState.NOT_READY}
"""A preferred agent in these states (but not free) is worth waiting for."""


def serves(cfg: QueueConfig, agent: Agent, now: float) -> bool:
    """Does the agent serve this queue at ``now`` (ignoring their state)?"""
    for check in SERVES_FILTERS:
        if not check(cfg, agent, now):
            return False
    return all(check(cfg, agent, now) for check in cfg.extra_filters)


def eligible(cfg: QueueConfig, agent: Agent, now: float) -> bool:
    """May the agent be offered a call of this queue right now?"""
    return is_ready(cfg, agent, now) and serves(cfg, agent, now)


# --- results ---------------------------------------------------------------------------


class SelectionReason(enum.Enum):
    STRATEGY = "strategy"
    STICKY_AGENT = "sticky-agent"
    OWNER_AGENT = "owner-agent"
    WAIT_FOR_PREFERRED = "wait-for-preferred"
    NO_AGENT = "no-agent"


@dataclass(frozen=True)
class Selection:
    """The ACD's answer for one call: agents to ring, or wait for someone, or nobody."""

    agent_ids: tuple[str, ...] = ()
    reason: SelectionReason = SelectionReason.NO_AGENT
    wait_until: float | None = None
    preferred_agent_id: str | None = None

    @property
    def agent_id(self) -> str | None:
        return self.agent_ids[0] if self.agent_ids else None


NO_SELECTION: Final = Selection()


@dataclass(frozen=True)
class Assignment:
    """Ring ``agent_ids`` (several only for ring-all) with ``call_id`` of ``queue_id``,
    until ``ring_until`` (the queue's ring timeout)."""

    queue_id: str
    call_id: str
    agent_ids: tuple[str, ...]
    reason: SelectionReason
    ring_until: float


@dataclass(frozen=True)
class PreferredWait:
    """The call holds out for a busy preferred agent until ``until``."""

    queue_id: str
    call_id: str
    agent_id: str
    until: float


@dataclass(frozen=True)
class RoutingPlan:
    assignments: tuple[Assignment, ...] = ()
    waits: tuple[PreferredWait, ...] = ()

    def get_timer(self) -> float | None:
        """When routing should run again because a preferred-agent wait runs out."""
        return min((w.until for w in self.waits), default=None)


# --- strategies ------------------------------------------------------------------------

RankKey = Callable[[Agent], tuple[float | str, ...]]


def _idle(agent: Agent) -> float:
    since = agent.stats.idle_since
    return float("-inf") if since is None else since


def _order_key(agent: Agent) -> tuple[float | str, ...]:
    return (agent.order, agent.agent_id)


_RANK_KEYS: Final[Mapping[Strategy, RankKey]] = {
    Strategy.SEQUENTIAL: _order_key,
    Strategy.RING_ALL: _order_key,
    Strategy.FEWEST_CALLS: lambda a: (a.stats.calls_answered, _idle(a), a.agent_id),
    Strategy.LEAST_TALK_TIME: lambda a: (a.stats.talk_seconds, _idle(a), a.agent_id),
    Strategy.LONGEST_IDLE: lambda a: (_idle(a), a.agent_id),
}


def rank_agents(
    strategy: Strategy,
    candidates: Iterable[Agent],
    rng: random.Random,
    *,
    last_offered: Agent | None = None,
) -> list[Agent]:
    """Order eligible agents, the one to offer first at the front."""
    if strategy is Strategy.RANDOM:
        shuffled = sorted(candidates, key=lambda a: a.agent_id)
        rng.shuffle(shuffled)
        return shuffled
    if strategy is Strategy.ROUND_ROBIN:
        ordered = sorted(candidates, key=_order_key)
        if last_offered is None:
            return ordered
        cursor = _order_key(last_offered)
        after = next((i for i, a in enumerate(ordered) if _order_key(a) > cursor), 0)
        return ordered[after:] + ordered[:after]
    return sorted(candidates, key=_RANK_KEYS[strategy])


@dataclass
class _QueuePass:
    """One queue's ranked free agents during one routing decision."""

    cfg: QueueConfig
    ranked: list[Agent]
    start: int = 0

    def pick(self, taken: set[str], skip: frozenset[str]) -> tuple[str, ...]:
        ranked = self.ranked
        while self.start < len(ranked) and ranked[self.start].agent_id in taken:
            self.start += 1
        chosen: list[str] = []
        for index in range(self.start, len(ranked)):
            agent = ranked[index]
            if agent.agent_id in taken or agent.agent_id in skip:
                continue
            chosen.append(agent.agent_id)
            if self.cfg.strategy is not Strategy.RING_ALL:
                break
        return tuple(chosen)

    @property
    def exhausted(self) -> bool:
        return self.start >= len(self.ranked)


def _index_by_group(agents: Iterable[Agent]) -> dict[str, list[Agent]]:
    """Free agents by the groups they belong to, so a queue only looks at its own."""
    index: dict[str, list[Agent]] = {}
    for agent in agents:
        for group in {m.group for m in agent.memberships}:
            index.setdefault(group, []).append(agent)
    return index


def _prepare(
    cfg: QueueConfig,
    free_by_group: Mapping[str, list[Agent]],
    by_id: Mapping[str, Agent],
    now: float,
    rng: random.Random,
    last_offered: str | None,
) -> _QueuePass:
    checks = (*_AFTER_GROUP_INDEX, *cfg.extra_filters)
    seen: set[str] = set()
    candidates: list[Agent] = []
    for group in cfg.groups:
        for agent in free_by_group.get(group, ()):
            if agent.agent_id in seen:
                continue
            seen.add(agent.agent_id)
            for check in checks:
                if not check(cfg, agent, now):
                    break
            else:
                candidates.append(agent)
    last = by_id.get(last_offered) if last_offered is not None else None
    return _QueuePass(cfg, rank_agents(cfg.strategy, candidates, rng, last_offered=last))


def _preferred(
    cfg: QueueConfig,
    call: WaitingCall,
    by_id: Mapping[str, Agent],
    now: float,
    taken: set[str],
) -> Selection | None:
    options = (
        (cfg.sticky_agent, call.last_agent_id, cfg.sticky_wait, SelectionReason.STICKY_AGENT),
        (cfg.owner_agent, call.owner_agent_id, cfg.owner_wait, SelectionReason.OWNER_AGENT),
    )
    for enabled, agent_id, wait, reason in options:
        if not enabled or agent_id is None or agent_id in call.skip_agent_ids:
            continue
        agent = by_id.get(agent_id)
        if agent is None or not serves(cfg, agent, now):
            continue
        if agent.state is AgentState.READY and agent_id not in taken:
            return Selection((agent_id,), reason)
        until = call.entered_at + wait
        if now < until and agent.state in _WORTH_WAITING:
            return Selection(
                (),
                SelectionReason.WAIT_FOR_PREFERRED,
                wait_until=until,
                preferred_agent_id=agent_id,
            )
    return None


def _route(
    qpass: _QueuePass,
    call: WaitingCall,
    by_id: Mapping[str, Agent],
    now: float,
    taken: set[str],
) -> Selection:
    preferred = _preferred(qpass.cfg, call, by_id, now, taken)
    if preferred is not None:
        return preferred
    chosen = qpass.pick(taken, call.skip_agent_ids)
    if not chosen and call.skip_agent_ids:
        # An agent who missed the last offer is skipped only in favour of someone else:
        # when nobody else is free, the call goes back to them rather than waiting.
        chosen = qpass.pick(taken, frozenset())
    return Selection(chosen, SelectionReason.STRATEGY) if chosen else NO_SELECTION


# --- entry points ----------------------------------------------------------------------


def select_agents(
    queue_cfg: QueueConfig,
    call: WaitingCall,
    agents: Sequence[Agent],
    now: float,
    rng: random.Random,
    *,
    last_offered: str | None = None,
) -> Selection:
    """Route one call of a queue (``last_offered``: the round-robin memory)."""
    by_id = {a.agent_id: a for a in agents}
    free = _index_by_group(a for a in agents if a.state is AgentState.READY)
    qpass = _prepare(queue_cfg, free, by_id, now, rng, last_offered)
    return _route(qpass, call, by_id, now, set())


@dataclass(order=True)
class _Head:
    sort_key: tuple[float, ...]
    index: int = field(compare=False)
    calls: list[WaitingCall] = field(compare=False)
    position: int = field(compare=False, default=0)


def plan_assignments(
    queues: Sequence[CallQueue],
    agents: Sequence[Agent],
    now: float,
    rng: random.Random,
) -> RoutingPlan:
    """Pair waiting calls with free agents across queues; also report preferred waits."""
    by_id = {a.agent_id: a for a in agents}
    free = [a for a in agents if a.state is AgentState.READY]
    free_by_group = _index_by_group(free)
    taken: set[str] = set()
    assignments: list[Assignment] = []
    waits: list[PreferredWait] = []
    passes: dict[int, _QueuePass] = {}
    heap: list[_Head] = []
    for index, queue in enumerate(queues):
        calls = queue.waiting_for_agent()
        if calls:
            heap.append(_Head(_head_key(queue, calls[0], index), index, calls))
    heapq.heapify(heap)
    while heap and len(taken) < len(free):
        head = heapq.heappop(heap)
        queue = queues[head.index]
        call = head.calls[head.position]
        qpass = passes.get(head.index)
        if qpass is None:
            qpass = _prepare(
                queue.config, free_by_group, by_id, now, rng, queue.last_offered_agent_id
            )
            passes[head.index] = qpass
        selection = _route(qpass, call, by_id, now, taken)
        if selection.agent_ids:
            taken.update(selection.agent_ids)
            assignments.append(
                Assignment(
                    queue.queue_id,
                    call.call_id,
                    selection.agent_ids,
                    selection.reason,
                    now + queue.config.ring_timeout,
                )
            )
        elif selection.wait_until is not None and selection.preferred_agent_id is not None:
            waits.append(
                PreferredWait(
                    queue.queue_id, call.call_id, selection.preferred_agent_id, selection.wait_until
                )
            )
        head.position += 1
        preferred_possible = queue.config.sticky_agent or queue.config.owner_agent
        if head.position < len(head.calls) and (preferred_possible or not qpass.exhausted):
            head.sort_key = _head_key(queue, head.calls[head.position], head.index)
            heapq.heappush(heap, head)
    return RoutingPlan(tuple(assignments), tuple(waits))


def next_assignments(
    queues: Sequence[CallQueue],
    agents: Sequence[Agent],
    now: float,
    rng: random.Random,
) -> list[Assignment]:
    """The assignments of :func:`plan_assignments`."""
    return list(plan_assignments(queues, agents, now, rng).assignments)


def apply_assignment(
    queue: CallQueue, agents: Mapping[str, Agent], assignment: Assignment, now: float
) -> None:
    """Reserve the agents and mark the call offered; all or nothing."""
    for agent_id in assignment.agent_ids:
        agent = agents[agent_id]
        if agent.state is not AgentState.READY:
            raise AgentNotReady(agent_id=agent_id, state=agent.state.value, action="call-offered")
    queue.mark_offered(assignment.call_id, assignment.agent_ids, now)
    for agent_id in assignment.agent_ids:
        agents[agent_id].handle(CallOffered(assignment.call_id, queue.queue_id), now)


def _head_key(queue: CallQueue, call: WaitingCall, index: int) -> tuple[float, ...]:
    return (-queue.config.weight, call.entered_at, call.seq, index)
