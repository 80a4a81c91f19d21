"""What the outside sees of the live state: bus payloads, snapshot rows and CDRs.

Bus payloads and snapshot rows are plain JSON-ready dicts built by the same functions,
so a client that reconnects and loads :meth:`CtiEngine.snapshot` sees exactly the
shapes the ``agent.state``, ``call.updated`` and ``queue.stats`` events carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from callcenter.app.cti.cdr import CallRecord, LegRecord
from callcenter.app.cti.model import AgentSession, Call, Leg
from callcenter.domain.acd import serves
from callcenter.domain.agent import ON_CALL_STATES, Agent, AgentState, StateRecord
from callcenter.domain.queue import CallQueue

MONITOR_PERMISSION: Final = "supervisor.monitor"
AGENT_STATE: Final = "agent.state"
CALL_UPDATED: Final = "call.updated"
QUEUE_STATS: Final = "queue.stats"


def agent_view(session: AgentSession) -> dict[str, Any]:
    agent = session.agent
    return {
        "agent_no": agent.agent_id,
        "state": agent.state.value,
        "reason": session.reason,
        "since": agent.state_since,
        "call_id": agent.call_id,
        "phone": session.phone,
        "pending_not_ready": agent.pending_not_ready,
        "wrap_up_until": agent.wrap_up_until,
        "calls_answered": agent.stats.calls_answered,
    }


def agent_change(session: AgentSession, record: StateRecord) -> dict[str, Any]:
    """One state change of an agent, as published (the record's state, reason, time)."""
    data = agent_view(session)
    busy = record.to_state in ON_CALL_STATES or record.to_state is AgentState.WRAP_UP
    data.update(
        state=record.to_state.value,
        reason=record.reason,
        since=record.at,
        call_id=record.call_id if busy else None,
    )
    return data


def call_view(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "direction": call.direction.value,
        "state": call.state.value,
        "caller": call.caller,
        "dialled": call.dialled,
        "queue_id": call.queue_id,
        "agent_no": call.agent_no,
        "agents": list(call.agents),
        "ringing": sorted(call.offers.values()),
        "held": call.held,
        "consult": None
        if call.consult is None
        else {
            "agent_no": call.consult.agent_no,
            "dest": call.consult.dest,
            "answered": call.consult.answered,
        },
        "conference": call.conference is not None,
        "supervisors": {sid: m.mode.value for sid, m in sorted(call.monitors.items())},
        "taken_over_by": call.taken_over_by,
        "created_at": call.created_at,
        "queued_at": call.queued_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "cause": None if call.cause is None else call.cause.value,
        "end_reason": call.end_reason,
        "campaign_id": call.campaign_id,
        "lead_id": call.lead_id,
    }


def queue_stats(queue: CallQueue, agents: Iterable[Agent], now: float) -> dict[str, Any]:
    """The queue's figures at ``now``. ``longest_wait`` is as of ``at``; a client keeps it
    live from ``oldest_entered_at`` (the bus publishes only when a figure changes)."""
    waiting = queue.ordered()
    cfg = queue.config
    ready = sum(1 for a in agents if a.state is AgentState.READY and serves(cfg, a, now))
    return {
        "queue_id": queue.queue_id,
        "waiting": len(waiting),
        "longest_wait": max((c.waited(now) for c in waiting), default=0.0),
        "oldest_entered_at": min((c.entered_at for c in waiting), default=None),
        "ringing": sum(1 for c in waiting if c.offered_to),
        "agents_ready": ready,
        "answered": queue.answered,
    }


def call_record(call: Call, milestone: str) -> CallRecord:
    """The call as it stands, reported at ``milestone`` (created, queued, ringing...)."""
    return CallRecord(
        call_id=call.call_id,
        direction=call.direction.value,
        state=milestone,
        caller=call.caller,
        dialled=call.dialled,
        created_at=call.created_at,
        queue_id=call.queue_id,
        queued_at=call.queued_at,
        offered_at=call.offered_at,
        answered_at=call.answered_at,
        bridged_at=call.bridged_at,
        ended_at=call.ended_at,
        agent_no=call.agent_no,
        agents=tuple(call.agents),
        customer_id=call.customer_id,
        cause=None if call.cause is None else call.cause.value,
        end_reason=call.end_reason,
        campaign_id=call.campaign_id,
        lead_id=call.lead_id,
    )


def leg_record(leg: Leg) -> LegRecord:
    return LegRecord(
        leg_id=leg.leg_id,
        call_id=leg.call_id,
        purpose=leg.purpose.value,
        dest=leg.dest,
        created_at=leg.created_at,
        agent_no=leg.agent_no,
        answered_at=leg.answered_at,
        ended_at=leg.ended_at,
        cause=None if leg.cause is None else leg.cause.value,
        caller_id=leg.caller_id or None,  # none asked for: the trunk's own number
        trunk=leg.trunk,
    )
