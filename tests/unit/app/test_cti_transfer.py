"""CTI core, transfers: blind (agent, queue, number), attended, and the 3-way call."""

from __future__ import annotations

import pytest

from callcenter.app.cti import AgentProfile, ToAgent, ToNumber, ToQueue
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import AgentState
from callcenter.domain.errors import DomainError
from callcenter.domain.queue import QueueConfig
from callcenter.switch.ports import (
    ConferenceId,
    LegId,
    LegRedirected,
    SwitchEvent,
    TalkListen,
)
from callcenter.switch.sim.agents import BotProfile
from callcenter.switch.sim.customers import Fate, Fixed, Outcome
from callcenter.switch.sim.network import LegState

DID = "4001"
QUEUES = [
    QueueConfig("sales", frozenset({"sales"}), ring_timeout=15.0),
    QueueConfig("support", frozenset({"support"})),
]
PROFILES = {
    "1001": AgentProfile.in_groups("sales", wrap_up_seconds=10.0),
    "1002": AgentProfile.in_groups("sales", wrap_up_seconds=10.0),
    "2001": AgentProfile.in_groups("support", wrap_up_seconds=10.0),
}
EXPERT = "13600000000"


def center() -> SimCenter:
    return SimCenter.build(QUEUES, {DID: "sales"}, PROFILES)


async def connected(c: SimCenter, others: tuple[str, ...] = ("1002", "2001")) -> str:
    """1001 talks with a customer; ``others`` log in afterwards (ready)."""
    await c.log_in("1001")
    c.call_in("13900000001", DID, caller(talk_time=600.0))
    await c.run(3.0)
    for agent_no in others:
        await c.log_in(agent_no)
    call_id = c.engine.agent("1001").call_id
    assert call_id is not None
    return call_id


async def test_blind_transfer_to_another_agent() -> None:
    """1001 transfers the customer to 1002 without talking first: 1001 goes to wrap-up
    at once, the customer hears hold music until 1002 answers, then they are bridged."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.blind_transfer(c.next_id(), "1001", ToAgent("1002"))
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.agent("1002").state is AgentState.RESERVED
        assert c.engine.call(call_id).held
        await c.run(3.0)
        call = c.engine.call(call_id)
        assert (call.agent_no, call.held) == ("1002", False)
        assert call.bridge is not None
        assert c.engine.agent("1002").state is AgentState.TALKING
        assert "transferred" in c.cdr.call_states(call_id)
        assert c.cdr.call(call_id).agents == ("1001", "1002")


async def test_blind_transfer_nobody_answers_returns_the_call_to_its_queue() -> None:
    """1002's phone never answers: after the ring timeout the call is back in sales,
    where 1001 (after wrap-up) picks it up again."""
    async with center() as c:
        await c.log_in("1001")
        await c.log_in("1002", bot=BotProfile(answers=False))
        await c.engine.not_ready(c.next_id(), "1002", "busy")
        c.call_in("13900000001", DID, caller(talk_time=600.0))
        await c.run(3.0)
        await c.engine.ready(c.next_id(), "1002")
        call_id = c.engine.agent("1001").call_id
        assert call_id is not None
        await c.engine.blind_transfer(c.next_id(), "1001", ToAgent("1002"))
        await c.run(15.0)
        call = c.engine.call(call_id)
        assert call.state.value == "queued"
        assert c.engine.agent("1002").stats.missed_in_a_row == 1
        await c.run(10.0)
        assert c.engine.call(call_id).agent_no == "1001"


async def test_blind_transfer_to_a_queue() -> None:
    """1001 sends the customer to the support queue, where 2001 answers."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.blind_transfer(c.next_id(), "1001", ToQueue("support"))
        await c.run(3.0)
        call = c.engine.call(call_id)
        assert (call.queue_id, call.agent_no) == ("support", "2001")
        assert c.engine.agent("1001").state is AgentState.WRAP_UP


async def test_blind_transfer_to_a_number_hands_the_customer_over() -> None:
    """1001 transfers the customer out to a number: the switch redirects the customer's
    leg, the call ends here as transferred, and 1001 wraps up."""
    async with center() as c:
        call_id = await connected(c)
        seen: list[SwitchEvent] = []
        c.switch.subscribe(seen.append)
        await c.engine.blind_transfer(c.next_id(), "1001", ToNumber("95588"))
        await c.run(0.0)
        assert any(isinstance(e, LegRedirected) and e.dest == "95588" for e in seen)
        assert c.engine.calls() == []
        assert c.cdr.call(call_id).end_reason == "transferred"
        assert c.engine.agent("1001").state is AgentState.WRAP_UP


async def test_attended_transfer_to_an_agent() -> None:
    """1001 consults 1002 while the customer waits on hold, then completes the transfer:
    the customer talks with 1002 and 1001 wraps up."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.consult(c.next_id(), "1001", ToAgent("1002"))
        assert c.engine.agent("1001").state is AgentState.ON_HOLD
        assert c.engine.agent("1002").state is AgentState.RESERVED
        await c.run(3.0)
        call = c.engine.call(call_id)
        assert call.consult is not None and call.consult.answered
        assert call.held
        assert c.engine.agent("1002").state is AgentState.TALKING
        await c.engine.complete_transfer(c.next_id(), "1001")
        call = c.engine.call(call_id)
        assert (call.agent_no, call.held, call.consult) == ("1002", False, None)
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.agent("1002").state is AgentState.TALKING
        await c.engine.hang_up(c.next_id(), "1002")
        await c.run(0.0)
        assert c.engine.calls() == []
        assert c.cdr.call(call_id).agents == ("1001", "1002")


async def test_consult_a_number_then_cancel_goes_back_to_the_customer() -> None:
    """1001 consults an expert's number; before they answer 1001 cancels and is back
    with the customer, who is no longer on hold."""
    async with center() as c:
        call_id = await connected(c)
        c.book.script(EXPERT, Fate(Outcome.HUMAN, ring_after=1.0, answer_after=5.0))
        await c.engine.consult(c.next_id(), "1001", ToNumber(EXPERT))
        await c.run(2.0)
        await c.engine.cancel_consult(c.next_id(), "1001")
        call = c.engine.call(call_id)
        assert (call.consult, call.held) == (None, False)
        assert call.bridge is not None
        assert c.engine.agent("1001").state is AgentState.TALKING
        (expert,) = {r.leg_id for r in c.cdr.legs if r.purpose == "consult"}
        assert c.switch.leg_state(LegId(expert)) is LegState.ENDED


async def test_consulted_number_busy_brings_the_agent_back() -> None:
    """The consulted number is busy: the agent is reconnected with the customer."""
    async with center() as c:
        call_id = await connected(c)
        c.book.script(EXPERT, Fate(Outcome.BUSY, fail_after=1.0))
        await c.engine.consult(c.next_id(), "1001", ToNumber(EXPERT))
        await c.run(2.0)
        call = c.engine.call(call_id)
        assert call.consult is None and not call.held
        assert c.engine.agent("1001").state is AgentState.TALKING


async def test_agent_hanging_up_during_an_answered_consult_completes_the_transfer() -> None:
    """1001 consults an expert, who answers; 1001 simply hangs up: the expert now talks
    with the customer, and the call continues without an agent."""
    async with center() as c:
        call_id = await connected(c)
        c.book.script(EXPERT, Fate(Outcome.HUMAN, answer_after=1.0, talk_time=50.0))
        await c.engine.consult(c.next_id(), "1001", ToNumber(EXPERT))
        await c.run(2.0)
        await c.engine.hang_up(c.next_id(), "1001")
        call = c.engine.call(call_id)
        assert call.agent_no is None and call.party_leg is not None
        assert call.bridge is not None
        await c.run(50.0)
        assert c.engine.calls() == []
        assert c.cdr.call(call_id).end_reason == "party-hung-up"


async def test_three_way_conference_then_the_first_agent_leaves() -> None:
    """1001 consults 1002 and makes it a 3-way call: customer, 1001 and 1002 all talk in
    one conference. 1001 leaves; 1002 carries on as the call's agent; when the customer
    hangs up, 1002 wraps up."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.consult(c.next_id(), "1001", ToAgent("1002"))
        await c.run(3.0)
        await c.engine.conference(c.next_id(), "1001")
        call = c.engine.call(call_id)
        members = c.switch.conference_members(ConferenceId(f"{call_id}-conf"))
        assert len(members) == 3
        assert set(members.values()) == {TalkListen()}
        assert not call.held
        assert c.engine.agent("1001").state is AgentState.TALKING
        await c.engine.hang_up(c.next_id(), "1001")
        await c.run(0.0)
        call = c.engine.call(call_id)
        assert call.agent_no == "1002"
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert call.customer_leg is not None
        await c.switch.hangup(call.customer_leg)
        await c.run(0.0)
        assert c.engine.calls() == []
        assert c.engine.agent("1002").state is AgentState.WRAP_UP
        assert c.switch.active_legs() == []


async def test_customer_hanging_up_during_a_consult_ends_everything() -> None:
    """The customer, waiting on hold while 1001 consults 1002, hangs up: both agents'
    legs are hung up and both wrap up."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.consult(c.next_id(), "1001", ToAgent("1002"))
        await c.run(3.0)
        customer = c.engine.call(call_id).customer_leg
        assert customer is not None
        await c.switch.hangup(customer)
        await c.run(0.0)
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.agent("1002").state is AgentState.WRAP_UP
        assert c.cdr.call(call_id).end_reason == "customer-hung-up"


async def test_consulted_agent_rejecting_brings_the_agent_back_and_counts_a_miss() -> None:
    """1002's phone rings for the consultation and 1002 rejects it: 1001 is back with
    the customer, 1002 is ready again with a miss."""
    async with center() as c:
        await c.log_in("1002", bot=BotProfile(answer_delay=Fixed(30.0)))
        await c.engine.not_ready(c.next_id(), "1002", "wait")
        call_id = await connected(c, others=())
        await c.engine.ready(c.next_id(), "1002")
        await c.engine.consult(c.next_id(), "1001", ToAgent("1002"))
        await c.run(1.0)
        await c.engine.hang_up(c.next_id(), "1002")
        await c.run(0.0)
        call = c.engine.call(call_id)
        assert (call.consult, call.held, call.agent_no) == (None, False, "1001")
        assert c.engine.agent("1001").state is AgentState.TALKING
        assert c.engine.agent("1002").state is AgentState.READY
        assert c.engine.agent("1002").stats.missed_in_a_row == 1


async def test_caller_hanging_up_while_the_transfer_rings_frees_the_target() -> None:
    """During a blind transfer the customer hangs up: the target's ringing stops and the
    target is ready again, without a miss."""
    async with center() as c:
        await c.log_in("1002", bot=BotProfile(answer_delay=Fixed(30.0)))
        call_id = await connected(c, others=())
        await c.engine.blind_transfer(c.next_id(), "1001", ToAgent("1002"))
        customer = c.engine.call(call_id).customer_leg
        assert customer is not None
        await c.switch.hangup(customer)
        await c.run(0.0)
        agent = c.engine.agent("1002")
        assert (agent.state, agent.stats.missed_in_a_row) == (AgentState.READY, 0)
        assert c.switch.active_legs() == []


async def test_transfer_commands_refused_in_the_wrong_state() -> None:
    """Transfers need the agent's own connected call; a consultation needs an answer
    before it can be completed or conferenced; one consultation at a time."""
    async with center() as c:
        call_id = await connected(c)
        c.book.script(EXPERT, Fate(Outcome.HUMAN, answer_after=10.0))
        refused = [
            ("transfer-target-unavailable", c.engine.blind_transfer("t1", "1001", ToAgent("1001"))),
            ("destination-invalid", c.engine.blind_transfer("t2", "1001", ToNumber(""))),
            ("queue-unknown", c.engine.blind_transfer("t3", "1001", ToQueue("nowhere"))),
            ("agent-not-on-call", c.engine.consult("t4", "1002", ToNumber(EXPERT))),
        ]
        for code, command in refused:
            with pytest.raises(DomainError) as caught:
                await command
            assert caught.value.code == code
        await c.engine.consult("t5", "1001", ToNumber(EXPERT))
        for code, command in [
            ("call-consult-not-answered", c.engine.complete_transfer("t6", "1001")),
            ("call-consult-not-answered", c.engine.conference("t7", "1001")),
            ("call-consult-in-progress", c.engine.consult("t8", "1001", ToAgent("1002"))),
            ("call-consult-in-progress", c.engine.blind_transfer("t9", "1001", ToQueue("sales"))),
            ("call-consult-in-progress", c.engine.resume("t10", "1001")),
        ]:
            with pytest.raises(DomainError) as caught:
                await command
            assert caught.value.code == code
        assert c.engine.call(call_id).consult is not None
