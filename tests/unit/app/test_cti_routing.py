"""CTI core routing: every ACD strategy, priority, overflow, preferred agents, misses."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.app.cti import AgentProfile, CdrSink, CustomerInfo
from callcenter.app.cti.errors import UnknownQueue
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import NO_ANSWER, AgentState
from callcenter.domain.queue import (
    AbandonReason,
    OverflowKind,
    OverflowTarget,
    QueueConfig,
    Strategy,
    vip_then_longest_wait,
)
from callcenter.switch.ports import HangupCause, LegRedirected
from callcenter.switch.sim.agents import BotProfile
from callcenter.switch.sim.customers import Fixed
from callcenter.switch.sim.network import LegState

DID = "4001"
SLOW = BotProfile(answer_delay=Fixed(3.0))
FAST = BotProfile(answer_delay=Fixed(1.0))
DEAF = BotProfile(answers=False)


def sales(**options: Any) -> QueueConfig:
    return QueueConfig("sales", frozenset({"sales"}), **options)


def team(
    orders: dict[str, int], wrap_up: float = 0.0, max_missed_offers: int = 3
) -> dict[str, AgentProfile]:
    return {
        no: AgentProfile.in_groups(
            "sales", order=order, wrap_up_seconds=wrap_up, max_missed_offers=max_missed_offers
        )
        for no, order in orders.items()
    }


def ringing(c: SimCenter) -> list[str]:
    return sorted(no for call in c.engine.calls() for no in call.offers.values())


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.LONGEST_IDLE, ["1001"]),
        (Strategy.FEWEST_CALLS, ["1002"]),
        (Strategy.LEAST_TALK_TIME, ["1002"]),
        (Strategy.SEQUENTIAL, ["1003"]),
        (Strategy.ROUND_ROBIN, ["1002"]),
        (Strategy.RING_ALL, ["1001", "1002", "1003"]),
    ],
)
async def test_each_strategy_picks_its_agent_through_the_engine(
    strategy: Strategy, expected: list[str]
) -> None:
    """1001 (order 2) takes a 10 s call first and is free again at 12 s; 1002 (order 3)
    and 1003 (order 1) log in at 13 s and 14 s. The next call rings: the longest idle
    1001; for fewest calls / least talk time the fresh 1002 (idle longer than 1003);
    sequential the lowest order 1003; round robin the one after 1001 in order, 1002;
    ring-all everybody."""
    orders = {"1001": 2, "1002": 3, "1003": 1}
    async with SimCenter.build([sales(strategy=strategy)], {DID: "sales"}, team(orders)) as c:
        await c.log_in("1001", bot=BotProfile(answer_delay=Fixed(2.0)))
        c.call_in("13900000001", DID, caller(talk_time=10.0))
        await c.run(13.0)
        assert c.engine.agent("1001").state is AgentState.READY
        await c.log_in("1002", bot=SLOW)
        await c.run(1.0)
        await c.log_in("1003", bot=FAST)
        await c.run(1.0)
        c.call_in("13900000002", DID, caller(talk_time=60.0))
        await c.run(0.0)
        assert ringing(c) == expected
        await c.run(5.0)
        (call,) = c.engine.calls()
        winner = "1003" if strategy is Strategy.RING_ALL else expected[0]
        assert call.agent_no == winner
        states = {no: c.engine.agent(no).state for no in orders}
        assert [no for no, s in states.items() if s is AgentState.TALKING] == [winner]
        assert [no for no, s in states.items() if s is AgentState.READY] == sorted(
            set(orders) - {winner}
        )


async def test_random_strategy_rings_one_of_the_ready_agents() -> None:
    """Random: one ready agent rings, drawn from the engine's seeded rng."""
    orders = {"1001": 1, "1002": 2, "1003": 3}
    queue = sales(strategy=Strategy.RANDOM)
    async with SimCenter.build([queue], {DID: "sales"}, team(orders), seed=7) as c:
        for no in orders:
            await c.log_in(no)
        c.call_in("13900000001", DID)
        await c.run(0.0)
        (agent,) = ringing(c)
        assert agent in orders


async def test_vip_caller_is_served_before_an_earlier_normal_caller() -> None:
    """With VIP-first priority, a VIP who called second is offered the first free agent."""
    vips = {"13800000000": CustomerInfo(customer_id="c-vip", vip=True)}
    queue = sales(priority=vip_then_longest_wait)
    async with SimCenter.build([queue], {DID: "sales"}, team({"1001": 1}), customers=vips.get) as c:
        c.call_in("13900000001", DID)
        await c.run(5.0)
        c.call_in("13800000000", DID)
        await c.run(5.0)
        await c.log_in("1001")
        await c.run(3.0)
        (served,) = [call for call in c.engine.calls() if call.agent_no == "1001"]
        assert served.caller == "13800000000"
        assert c.cdr.call(served.call_id).customer_id == "c-vip"


async def test_max_wait_overflows_to_another_queue() -> None:
    """Sales has nobody; after 30 s the call overflows to support, whose agent answers.
    The overflow is in the abandoned-call log with its target."""
    overflow = OverflowTarget(OverflowKind.QUEUE, "support")
    queues = [
        sales(max_wait=30.0, overflow=overflow),
        QueueConfig("support", frozenset({"support"})),
    ]
    profiles = {"2001": AgentProfile.in_groups("support")}
    async with SimCenter.build(queues, {DID: "sales"}, profiles) as c:
        await c.log_in("2001")
        c.call_in("13900000001", DID)
        await c.run(29.0)
        assert c.engine.agent("2001").state is AgentState.READY
        await c.run(4.0)
        (call,) = c.engine.calls()
        assert call.queue_id == "support"
        assert call.agent_no == "2001"
        (record,) = c.cdr.abandoned
        assert record.reason is AbandonReason.MAX_WAIT_OVERFLOW
        assert record.overflow == overflow
        assert record.waited == 30.0


async def test_full_queue_sends_the_caller_to_a_number() -> None:
    """Sales holds one waiting call; the second caller is redirected to the full target."""
    full = OverflowTarget(OverflowKind.NUMBER, "95555")
    queue = sales(max_length=1, full_target=full)
    async with SimCenter.build([queue], {DID: "sales"}, team({"1001": 1})) as c:
        c.call_in("13900000001", DID)
        second = c.call_in("13900000002", DID)
        seen: list[object] = []
        c.switch.subscribe(seen.append)
        await c.run(1.0)
        assert c.switch.leg_state(second) is LegState.ENDED
        assert any(isinstance(e, LegRedirected) and e.dest == "95555" for e in seen)
        (record,) = c.cdr.abandoned
        assert record.reason is AbandonReason.QUEUE_FULL
        assert c.cdr.calls[-1].end_reason == "overflow:95555"


async def test_returning_caller_gets_the_last_agent_and_falls_back_after_the_wait() -> None:
    """Sequential routing prefers 1001. A caller talked with 1002 earlier: calling again,
    they get 1002. The next time 1002 is on another call: the call waits the 10 s sticky
    wait for 1002, then falls back to 1001."""
    queue = sales(strategy=Strategy.SEQUENTIAL, sticky_agent=True, sticky_wait=10.0)
    profiles = team({"1001": 1, "1002": 2}, wrap_up=0.0)
    async with SimCenter.build([queue], {DID: "sales"}, profiles) as c:
        await c.log_in("1002")
        c.call_in("13900000001", DID, caller(talk_time=5.0))
        await c.run(8.0)
        await c.log_in("1001")
        c.call_in("13900000001", DID, caller(talk_time=5.0))
        await c.run(0.0)
        assert ringing(c) == ["1002"]
        await c.run(10.0)
        assert c.engine.calls() == []
        await c.engine.not_ready(c.next_id(), "1001", "lunch")
        c.call_in("13900000002", DID, caller(talk_time=100.0))
        await c.run(3.0)
        assert c.engine.agent("1002").state is AgentState.TALKING
        await c.engine.ready(c.next_id(), "1001")
        c.call_in("13900000001", DID, caller(talk_time=5.0))
        await c.run(9.5)
        assert ringing(c) == []
        await c.run(0.5)
        assert ringing(c) == ["1001"]


async def test_owner_agent_gets_the_call_unless_not_ready() -> None:
    """The CRM names 1002 as the caller's owner: the call rings 1002 although sequential
    routing prefers 1001. When 1002 is not ready there is nothing to wait for: 1001."""
    owned = {"13900000001": CustomerInfo(customer_id="c-1", owner_agent_no="1002")}
    queue = sales(strategy=Strategy.SEQUENTIAL, owner_agent=True, owner_wait=30.0)
    profiles = team({"1001": 1, "1002": 2})
    async with SimCenter.build([queue], {DID: "sales"}, profiles, customers=owned.get) as c:
        await c.log_in("1001")
        await c.log_in("1002")
        c.call_in("13900000001", DID, caller(talk_time=5.0))
        await c.run(0.0)
        assert ringing(c) == ["1002"]
        await c.run(10.0)
        await c.engine.not_ready(c.next_id(), "1002", "meeting")
        c.call_in("13900000001", DID, caller(talk_time=5.0))
        await c.run(0.0)
        assert ringing(c) == ["1001"]


async def test_ring_timeout_skips_the_agent_for_the_next_offer() -> None:
    """1001 (idle longest) does not answer; after the 15 s ring timeout the call rings
    1002 instead, who answers. 1001 is ready again with one miss counted."""
    queue = sales(ring_timeout=15.0)
    async with SimCenter.build([queue], {DID: "sales"}, team({"1001": 1, "1002": 2})) as c:
        deaf = await c.log_in("1001", bot=DEAF)
        await c.run(1.0)
        await c.log_in("1002")
        c.call_in("13900000001", DID)
        await c.run(0.0)
        assert ringing(c) == ["1001"]
        await c.run(14.9)
        assert ringing(c) == ["1001"]
        await c.run(0.1)
        assert ringing(c) == ["1002"]
        assert c.switch.leg_state(deaf.history[0]) is LegState.ENDED
        agent = c.engine.agent("1001")
        assert agent.state is AgentState.READY
        assert agent.stats.missed_in_a_row == 1
        await c.run(2.0)
        assert c.engine.calls()[0].agent_no == "1002"
        offer = c.cdr.leg(deaf.history[0])
        assert offer.cause == "no_answer"
        assert offer.agent_no == "1001"


async def test_too_many_missed_offers_make_the_agent_not_ready_no_answer() -> None:
    """1001 never answers and may miss two offers in a row: after ringing out on two
    calls, 1001 is NOT_READY with the reason "no-answer" and is offered nothing more."""
    queue = sales(ring_timeout=10.0)
    profiles = team({"1001": 1}, max_missed_offers=2)
    async with SimCenter.build([queue], {DID: "sales"}, profiles) as c:
        await c.log_in("1001", bot=DEAF)
        c.call_in("13900000001", DID)
        c.call_in("13900000002", DID)
        await c.run(10.0)
        assert c.engine.agent("1001").stats.missed_in_a_row == 1
        await c.run(10.0)
        agent = c.engine.agent("1001")
        assert agent.state is AgentState.NOT_READY
        assert agent.not_ready_reason == NO_ANSWER
        assert ringing(c) == []
        published = c.published("agent.state")[-1]
        assert (published["state"], published["reason"]) == ("not-ready", "no-answer")


async def test_phone_that_is_gone_counts_as_a_missed_offer() -> None:
    """1001 logged in with a phone that is no longer registered: the switch answers 480
    at once; the call is offered to 1002 and 1001 has a miss."""
    async with SimCenter.build([sales()], {DID: "sales"}, team({"1001": 1, "1002": 2})) as c:
        await c.log_in("1001")
        c.phones.unregister("1001")
        await c.run(1.0)
        await c.log_in("1002")
        c.call_in("13900000001", DID)
        await c.run(3.0)
        (call,) = c.engine.calls()
        assert call.agent_no == "1002"
        assert c.engine.agent("1001").stats.missed_in_a_row == 1
        (offer,) = [r for r in c.cdr.legs if r.agent_no == "1001" and r.ended_at is not None]
        assert offer.cause == HangupCause.FAILED.value


async def test_lone_agent_who_missed_an_offer_is_offered_the_call_again() -> None:
    """The only agent misses one offer (the phone rang out) and is ready again; the
    waiting call rings them again rather than waiting for an agent who may never come."""
    queue = sales(ring_timeout=10.0)
    async with SimCenter.build([queue], {DID: "sales"}, team({"1001": 1})) as c:
        phone = await c.log_in("1001", bot=BotProfile(answer_delay=Fixed(12.0)))
        c.call_in("13900000001", DID)
        await c.run(10.0)
        assert c.engine.agent("1001").state is AgentState.RESERVED  # rung again at once
        await c.run(60.0)
        # Three offers rang out, and three misses in a row take the agent out of routing.
        assert len(phone.history) == 3
        assert c.engine.agent("1001").state is AgentState.NOT_READY


async def test_max_wait_overflow_to_a_number_redirects_the_caller() -> None:
    """Nobody serves sales; after 20 s the caller is redirected to the night service."""
    night = OverflowTarget(OverflowKind.NUMBER, "95500")
    queue = sales(max_wait=20.0, overflow=night)
    async with SimCenter.build([queue], {DID: "sales"}, team({"1001": 1})) as c:
        seen: list[object] = []
        c.switch.subscribe(seen.append)
        leg = c.call_in("13900000001", DID)
        await c.run(20.0)
        assert c.switch.leg_state(leg) is LegState.ENDED
        assert [e.dest for e in seen if isinstance(e, LegRedirected)] == ["95500"]
        assert c.cdr.calls[-1].end_reason == "overflow:95500"


async def test_overflow_without_a_target_ends_the_call() -> None:
    """Max wait reached and nowhere to go: the call is ended and logged as overflowed."""
    async with SimCenter.build([sales(max_wait=20.0)], {DID: "sales"}, team({"1001": 1})) as c:
        leg = c.call_in("13900000001", DID)
        await c.run(20.0)
        assert c.switch.leg_state(leg) is LegState.ENDED
        assert c.cdr.calls[-1].end_reason == "max-wait-overflow"
        assert c.cdr.abandoned[-1].reason is AbandonReason.MAX_WAIT_OVERFLOW


async def test_queues_overflowing_into_each_other_stop_after_a_few_hops() -> None:
    """Two full queues name each other as the full target: the caller bounces a bounded
    number of times and the call ends instead of looping forever."""
    queues = [
        QueueConfig(
            "a",
            frozenset({"a"}),
            max_length=0,
            full_target=OverflowTarget(OverflowKind.QUEUE, "b"),
        ),
        QueueConfig(
            "b",
            frozenset({"b"}),
            max_length=0,
            full_target=OverflowTarget(OverflowKind.QUEUE, "a"),
        ),
    ]
    async with SimCenter.build(queues, {DID: "a"}, {}) as c:
        leg = c.call_in("13900000001", DID)
        await c.run(1.0)
        assert c.switch.leg_state(leg) is LegState.ENDED
        assert len(c.cdr.abandoned) == 6
        assert c.cdr.calls[-1].end_reason == "queue-full"


async def test_route_to_an_unknown_queue_is_refused_at_construction() -> None:
    with pytest.raises(UnknownQueue):
        SimCenter.build([sales()], {DID: "nowhere"}, {})


async def test_cdr_rows_follow_the_call() -> None:
    """The leg records say who rang, who answered, and how each leg ended; the in-memory
    sink is a CdrSink."""
    async with SimCenter.build([sales()], {DID: "sales"}, team({"1001": 1})) as c:
        sink: CdrSink = c.cdr
        await c.log_in("1001")
        c.call_in("13900000001", DID, caller(talk_time=10.0))
        await c.run(20.0)
        assert sink is c.cdr
        latest = {r.leg_id: r for r in c.cdr.legs}
        purposes = sorted((r.purpose, r.agent_no, r.cause) for r in latest.values())
        assert purposes == [("agent", "1001", "normal"), ("customer", None, "normal")]
        (record,) = {r.call_id: r for r in c.cdr.calls}.values()
        assert (record.queue_id, record.queued_at, record.offered_at) == ("sales", 0.0, 0.0)
        assert (record.bridged_at, record.ended_at) == (2.0, 12.0)
