"""CTI core: the ended call an agent is wrapping up, for a desktop that did not see it live.

The engine forgets a call when it ends; ``wrap_up_call`` still names it to the agent
wrapping it up, and only while that wrap-up lasts.
"""

from __future__ import annotations

from callcenter.app.cti import AgentProfile, ToAgent
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import AgentState
from callcenter.domain.queue import QueueConfig

DID = "4001"
SALES = QueueConfig("sales", frozenset({"sales"}), ring_timeout=15.0)
PROFILES = {
    "1001": AgentProfile.in_groups("sales", wrap_up_seconds=10.0),
    "1002": AgentProfile.in_groups("sales", wrap_up_seconds=10.0),
    "1003": AgentProfile.in_groups("sales", wrap_up_seconds=0.0),
}


def center() -> SimCenter:
    return SimCenter.build([SALES], {DID: "sales"}, PROFILES)


async def test_the_call_the_customer_ended_is_named_through_the_wrap_up_only() -> None:
    """The customer talks 5 s with 1001 and hangs up: during 1001's 10 s wrap-up the
    engine names that call, as the snapshot showed it but ended; not to 1002, not
    after the wrap-up."""
    async with center() as c:
        await c.log_in("1001")
        c.call_in("13900000001", DID, caller(talk_time=5.0))
        await c.run(3.0)
        (live,) = c.engine.snapshot()["calls"]
        assert c.engine.wrap_up_call("1001") is None  # talking: the call is live
        await c.log_in("1002")
        await c.run(5.0)
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.snapshot()["calls"] == []
        ended = c.engine.wrap_up_call("1001")
        assert ended is not None
        assert set(ended) == set(live)
        assert (ended["call_id"], ended["caller"], ended["queue_id"]) == (
            live["call_id"],
            "13900000001",
            "sales",
        )
        assert (ended["state"], ended["end_reason"]) == ("ended", "customer-hung-up")
        assert c.engine.wrap_up_call("1002") is None
        await c.run(10.0)
        assert c.engine.agent("1001").state is AgentState.READY
        assert c.engine.wrap_up_call("1001") is None


async def test_a_transferred_call_is_named_once_it_has_ended() -> None:
    """1001 transfers the customer to 1002 and wraps up while they talk (the call is in
    the snapshot, not named); the customer hangs up: both agents wrap up the ended call."""
    async with center() as c:
        await c.log_in("1001")
        c.call_in("13900000001", DID, caller(talk_time=6.0))
        await c.run(3.0)
        await c.log_in("1002")
        call_id = c.engine.agent("1001").call_id
        await c.engine.blind_transfer(c.next_id(), "1001", ToAgent("1002"))
        await c.run(2.0)
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.wrap_up_call("1001") is None
        await c.run(3.0)
        for agent_no in ("1001", "1002"):
            assert c.engine.agent(agent_no).state is AgentState.WRAP_UP
            ended = c.engine.wrap_up_call(agent_no)
            assert ended is not None and ended["call_id"] == call_id, agent_no
            assert ended["agents"] == ["1001", "1002"]


async def test_no_call_is_named_without_a_wrap_up() -> None:
    """1003 has no wrap-up: once the customer hangs up it is ready at once, and the
    engine names no call to it."""
    async with center() as c:
        await c.log_in("1003")
        c.call_in("13900000001", DID, caller(talk_time=2.0))
        await c.run(6.0)
        assert c.engine.agent("1003").state is AgentState.READY
        assert c.engine.agent("1003").stats.calls_answered == 1
        assert c.engine.wrap_up_call("1003") is None
