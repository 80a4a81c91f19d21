"""CTI core, inbound: queue, offer, answer, bridge, hang-up, wrap-up, on the SimSwitch."""

from __future__ import annotations

from callcenter.app.cti import AgentProfile
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import AgentState
from callcenter.domain.queue import AbandonReason, QueueConfig
from callcenter.switch.sim.agents import BotProfile
from callcenter.switch.sim.customers import Fixed
from callcenter.switch.sim.network import LegState

SALES = QueueConfig("sales", frozenset({"sales"}))
DID = "4001"


def profiles(*agents: str, wrap_up: float = 10.0) -> dict[str, AgentProfile]:
    return {a: AgentProfile.in_groups("sales", wrap_up_seconds=wrap_up) for a in agents}


async def test_inbound_call_is_queued_offered_answered_bridged_and_wrapped_up() -> None:
    """A customer calls the sales DID; the ready agent's phone rings, the agent answers
    after 2 s and is bridged with the customer; the customer hangs up after 60 s of
    talk; the agent wraps up for 10 s and is ready again."""
    async with SimCenter.build([SALES], {DID: "sales"}, profiles("1001")) as c:
        await c.log_in("1001")
        customer = c.call_in("13900000001", DID, caller(talk_time=60.0))
        await c.run(1.0)
        (call,) = c.engine.calls()
        assert c.engine.agent("1001").state is AgentState.RESERVED
        assert c.switch.leg_state(customer) is LegState.ANSWERED
        await c.run(2.0)
        assert c.engine.agent("1001").state is AgentState.TALKING
        assert call.bridge is not None
        await c.run(60.0)
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.calls() == []
        await c.run(10.0)
        assert c.engine.agent("1001").state is AgentState.READY
        assert c.cdr.call_states(call.call_id) == [
            "created",
            "queued",
            "ringing",
            "answered",
            "bridged",
            "ended",
        ]
        record = c.cdr.call(call.call_id)
        assert record.agent_no == "1001"
        assert record.end_reason == "customer-hung-up"
        assert record.answered_at == 2.0
        assert record.ended_at == 62.0
        assert c.cdr.agent_path("1001") == [
            "logged-out",
            "not-ready",
            "ready",
            "reserved",
            "talking",
            "wrap-up",
            "ready",
        ]


async def test_agent_phone_hanging_up_ends_the_call_for_the_customer_too() -> None:
    """The bot agent hangs up after 30 s of talk; the core hangs up the customer (B2BUA
    leaves the other leg up) and the agent wraps up."""
    bot = BotProfile(answer_delay=Fixed(1.0), talk_time=Fixed(30.0))
    async with SimCenter.build([SALES], {DID: "sales"}, profiles("1001")) as c:
        await c.log_in("1001", bot=bot)
        customer = c.call_in("13900000001", DID, caller(talk_time=600.0))
        await c.run(31.0)
        assert c.switch.leg_state(customer) is LegState.ENDED
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        (record,) = {r.call_id: r for r in c.cdr.calls}.values()
        assert c.cdr.call(record.call_id).end_reason == "agent-hung-up"


async def test_unrouted_did_is_rejected() -> None:
    """A call to a number without a route is turned away with 404 and written down."""
    async with SimCenter.build([SALES], {DID: "sales"}, profiles("1001")) as c:
        leg = c.call_in("13900000001", "9999")
        await c.run(0.0)
        assert c.switch.leg_state(leg) is LegState.ENDED
        assert c.cdr.calls[-1].end_reason == "no-route"
        assert c.cdr.calls[-1].cause == "invalid_number"


async def test_bus_carries_agent_call_and_queue_events_for_supervisors() -> None:
    """Every change is published with the supervisor.monitor permission: the agent's
    state with its reason and call, the call as it moves, and the queue's stats."""
    async with SimCenter.build([SALES], {DID: "sales"}, profiles("1001")) as c:
        c.call_in("13900000001", DID)
        await c.run(5.0)
        stats = c.published("queue.stats")
        assert stats[-1]["waiting"] == 1
        assert stats[-1]["longest_wait"] == 0.0
        assert stats[-1]["agents_ready"] == 0
        await c.log_in("1001")
        await c.run(3.0)
        assert {e.permission for e in c.events} == {"supervisor.monitor"}
        states = [(e["state"], e["reason"], e["call_id"]) for e in c.published("agent.state")]
        call_id = c.engine.calls()[0].call_id
        assert states == [
            ("not-ready", "login", None),
            ("ready", "ready", None),
            ("reserved", "call-offered", call_id),
            ("talking", "call-answered", call_id),
        ]
        assert c.published("queue.stats")[-1]["waiting"] == 0
        assert [e["state"] for e in c.published("call.updated")][-1] == "connected"


async def test_caller_hanging_up_in_queue_is_an_abandoned_call() -> None:
    """Nobody is ready; the caller waits 25 s and hangs up: an abandonment (呼损) is
    recorded with the wait, and the call is gone from the queue."""
    async with SimCenter.build([SALES], {DID: "sales"}, profiles("1001")) as c:
        c.call_in("13900000001", DID, caller(patience=25.0))
        await c.run(30.0)
        (abandon,) = c.cdr.abandoned
        assert abandon.queue_id == "sales"
        assert abandon.waited == 25.0
        assert abandon.reason is AbandonReason.CALLER_HUNG_UP
        assert len(c.engine.queue("sales")) == 0
        assert c.cdr.calls[-1].end_reason == "abandoned"


async def test_caller_hanging_up_while_the_agent_rings_withdraws_the_offer() -> None:
    """The agent's phone rings (it would answer after 10 s); the caller gives up after
    5 s: the ringing stops, the agent is ready again without a miss, the call is lost."""
    slow = BotProfile(answer_delay=Fixed(10.0))
    async with SimCenter.build([SALES], {DID: "sales"}, profiles("1001")) as c:
        phone = await c.log_in("1001", bot=slow)
        c.call_in("13900000001", DID, caller(patience=5.0))
        await c.run(1.0)
        assert c.engine.agent("1001").state is AgentState.RESERVED
        await c.run(10.0)
        agent = c.engine.agent("1001")
        assert agent.state is AgentState.READY
        assert agent.stats.missed_in_a_row == 0
        assert c.switch.leg_state(phone.history[0]) is LegState.ENDED
        assert len(c.cdr.abandoned) == 1
