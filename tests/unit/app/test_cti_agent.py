"""CTI core, agent commands: states, hold, hang-up, dial, DTMF, errors and retries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from callcenter.app.cti import AgentProfile, ToAgent
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import AgentState
from callcenter.domain.errors import DomainError
from callcenter.domain.queue import QueueConfig
from callcenter.switch.ports import HangupCause, LegHeld, LegResumed, SwitchEvent
from callcenter.switch.sim.agents import BotProfile
from callcenter.switch.sim.customers import Fate, Fixed, Outcome
from callcenter.switch.sim.network import LegState

DID = "4001"
SALES = QueueConfig("sales", frozenset({"sales"}))
PROFILES = {
    no: AgentProfile.in_groups("sales", order=i, wrap_up_seconds=10.0)
    for i, no in enumerate(("1001", "1002", "1003"))
}


def center() -> SimCenter:
    return SimCenter.build([SALES], {DID: "sales"}, PROFILES)


async def connected(c: SimCenter, agent_no: str = "1001", talk_time: float = 300.0) -> str:
    """Log ``agent_no`` in and connect a customer to them; returns the call id."""
    await c.log_in(agent_no)
    c.call_in("13900000001", DID, caller(talk_time=talk_time))
    await c.run(3.0)
    call_id = c.engine.agent(agent_no).call_id
    assert call_id is not None
    assert c.engine.agent(agent_no).state is AgentState.TALKING
    return call_id


async def raises(code: str, command: Awaitable[object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await command
    assert caught.value.code == code, caught.value
    return caught.value


async def test_log_in_ready_not_ready_log_out() -> None:
    """An agent logs in on a phone of their choice (not ready, "login"), goes ready,
    takes a break with a reason, and logs out; each step is published."""
    async with center() as c:
        await c.engine.log_in("a", "1001", "8001")
        assert c.engine.agent("1001").state is AgentState.NOT_READY
        await c.engine.ready("b", "1001")
        await c.engine.not_ready("c", "1001", "lunch")
        assert c.engine.agent("1001").not_ready_reason == "lunch"
        await c.engine.log_out("d", "1001")
        assert c.engine.agent("1001").state is AgentState.LOGGED_OUT
        published = [(e["state"], e["reason"]) for e in c.published("agent.state")]
        assert published == [
            ("not-ready", "login"),
            ("ready", "ready"),
            ("not-ready", "lunch"),
            ("logged-out", "logout"),
        ]
        assert c.published("agent.state")[0]["phone"] == "8001"


async def test_wrong_state_commands_raise_their_codes_and_change_nothing() -> None:
    """Each refused command names what was wrong with a stable code."""
    async with center() as c:
        await raises("agent-unknown", c.engine.log_in("e1", "9999", "agent:9999"))
        await raises("agent-not-logged-in", c.engine.ready("e2", "1001"))
        await raises("agent-phone-invalid", c.engine.log_in("e3", "1001", "  "))
        await c.engine.log_in("ok1", "1001", "agent:1001")
        await raises("agent-already-logged-in", c.engine.log_in("e4", "1001", "agent:1001"))
        await raises("agent-phone-in-use", c.engine.log_in("e5", "1002", "agent:1001"))
        await raises("agent-invalid-reason", c.engine.not_ready("e6", "1001", " "))
        await raises("agent-not-on-call", c.engine.hold("e7", "1001"))
        await raises("agent-not-on-call", c.engine.hang_up("e8", "1001"))
        await c.engine.ready("ok2", "1001")
        await raises("agent-illegal-transition", c.engine.ready("e9", "1001"))
        await raises("call-unknown", c.engine.force_hang_up("e10", "boss", "no-such-call"))
        assert c.engine.agent("1001").state is AgentState.READY
        await c.engine.log_out("ok-out", "1001")
        call_id = await connected(c)
        await raises("agent-busy", c.engine.log_out("e11", "1001"))
        await raises("call-not-held", c.engine.resume("e12", "1001"))
        await raises("call-no-consult", c.engine.complete_transfer("e13", "1001"))
        await raises("call-no-consult", c.engine.conference("e14", "1001"))
        await raises("dtmf-invalid", c.engine.send_dtmf("e15", "1001", "12x"))
        await raises("agent-busy", c.engine.dial("e16", "1001", "13700000000"))
        await c.engine.hold("ok3", "1001")
        await raises("call-already-held", c.engine.hold("e17", "1001"))
        await raises(
            "transfer-target-unavailable", c.engine.consult("e18", "1001", ToAgent("1002"))
        )
        await raises("supervisor-not-monitoring", c.engine.take_over("e19", "boss", call_id))
        assert c.engine.agent("1001").state is AgentState.ON_HOLD
        assert c.engine.call(call_id).held


async def test_retried_command_is_done_once_and_a_reused_id_is_refused() -> None:
    """A client retries "hold" with the same command id: the customer is held once and
    the retry answers like the first time. The same id for another command is refused;
    a new id for hold while held is a wrong-state error."""
    async with center() as c:
        call_id = await connected(c)
        seen: list[SwitchEvent] = []
        c.switch.subscribe(seen.append)
        await c.engine.hold("h-1", "1001")
        await c.engine.hold("h-1", "1001")
        assert len([e for e in seen if isinstance(e, LegHeld)]) == 1
        await raises("command-id-reused", c.engine.resume("h-1", "1001"))
        await raises("call-already-held", c.engine.hold("h-2", "1001"))
        await c.engine.resume("r-1", "1001")
        await c.engine.resume("r-1", "1001")
        assert [type(e) for e in seen if isinstance(e, LegHeld | LegResumed)] == [
            LegHeld,
            LegResumed,
        ]
        assert c.engine.agent("1001").state is AgentState.TALKING
        assert not c.engine.call(call_id).held


async def test_concurrent_commands_on_one_call_are_serialised() -> None:
    """Two clients press hold at once and a third hangs up: the commands run one after
    the other, exactly one hold wins, and the call ends cleanly."""
    async with center() as c:
        await connected(c)
        results = await asyncio.gather(
            c.engine.hold("x-1", "1001"),
            c.engine.hold("x-2", "1001"),
            c.engine.hang_up("x-3", "1001"),
            c.engine.hold("x-4", "1001"),
            return_exceptions=True,
        )
        codes = [r.code if isinstance(r, DomainError) else r for r in results]
        assert codes == [None, "call-already-held", None, "agent-not-on-call"]
        await c.run(0.0)
        assert c.engine.calls() == []
        assert c.engine.agent("1001").state is AgentState.WRAP_UP


async def test_agent_hangs_up_and_wraps_up_then_is_ready() -> None:
    """The agent ends the call: the customer's leg is hung up, the agent wraps up 10 s."""
    async with center() as c:
        call_id = await connected(c)
        customer = c.engine.call(call_id).customer_leg
        assert customer is not None
        await c.engine.hang_up(c.next_id(), "1001")
        await c.run(0.0)
        assert c.switch.leg_state(customer) is LegState.ENDED
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.cdr.call(call_id).end_reason == "agent-hung-up"
        await c.run(10.0)
        assert c.engine.agent("1001").state is AgentState.READY


async def test_not_ready_during_a_call_takes_effect_after_wrap_up() -> None:
    """Asking for a break while talking is remembered; after wrap-up the agent is
    NOT_READY with that reason instead of ready."""
    async with center() as c:
        await connected(c, talk_time=20.0)
        await c.engine.not_ready(c.next_id(), "1001", "training")
        assert c.engine.agent("1001").state is AgentState.TALKING
        assert c.published("agent.state")[-1]["pending_not_ready"] == "training"
        await c.run(30.0)
        agent = c.engine.agent("1001")
        assert (agent.state, agent.not_ready_reason) == (AgentState.NOT_READY, "training")


async def test_agent_rejecting_a_ringing_call_counts_a_miss_and_the_call_moves_on() -> None:
    """1001's phone rings; the agent hangs up (rejects): the call goes to 1002."""
    slow = BotProfile(answer_delay=Fixed(10.0))
    async with center() as c:
        await c.log_in("1001", bot=slow)
        await c.run(1.0)
        await c.log_in("1002")
        c.call_in("13900000001", DID)
        await c.run(1.0)
        assert c.engine.agent("1001").state is AgentState.RESERVED
        await c.engine.hang_up(c.next_id(), "1001")
        await c.run(3.0)
        assert c.engine.calls()[0].agent_no == "1002"
        assert c.engine.agent("1001").stats.missed_in_a_row == 1


async def test_agent_phone_vanishing_mid_call_is_cleaned_up() -> None:
    """The bot phone's leg drops (network failure) while bridged: the customer is hung
    up, the agent goes to wrap-up, nothing is left of the call."""
    async with center() as c:
        call_id = await connected(c)
        call = c.engine.call(call_id)
        assert call.agent_leg is not None and call.customer_leg is not None
        agent_leg, customer_leg = call.agent_leg, call.customer_leg
        await c.switch.hangup(agent_leg, HangupCause.FAILED)
        await c.run(0.0)
        assert c.switch.leg_state(customer_leg) is LegState.ENDED
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []
        assert c.cdr.call(call_id).end_reason == "agent-hung-up"


async def test_manual_dial_rings_the_agent_then_the_customer() -> None:
    """A NOT_READY agent dials a customer: the agent's phone rings and answers, then the
    customer's; they are bridged. When the customer hangs up the agent wraps up and goes
    back to NOT_READY with the reason they had."""
    async with center() as c:
        await c.log_in("1001", ready=False)
        await c.engine.not_ready(c.next_id(), "1001", "outbound")
        c.book.script(
            "13700000000", Fate(Outcome.HUMAN, ring_after=1.0, answer_after=4.0, talk_time=30.0)
        )
        call_id = await c.engine.dial("dial-1", "1001", "13700000000")
        assert await c.engine.dial("dial-1", "1001", "13700000000") == call_id
        await c.run(2.0)
        assert c.engine.agent("1001").state is AgentState.TALKING
        assert c.engine.call(call_id).state.value == "dialling"
        await c.run(4.0)
        call = c.engine.call(call_id)
        assert call.state.value == "connected"
        assert call.bridge is not None
        await c.run(30.0)
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        await c.run(10.0)
        agent = c.engine.agent("1001")
        assert agent.state is AgentState.NOT_READY
        assert agent.not_ready_reason == "outbound"
        record = c.cdr.call(call_id)
        assert record.direction == "outbound"
        assert record.end_reason == "customer-hung-up"


async def test_manual_dial_to_a_busy_number_ends_the_call() -> None:
    """The customer's line is busy: the agent's leg is hung up and the call is written
    down as not connected, cause busy."""
    async with center() as c:
        await c.log_in("1001")
        c.book.script("13700000000", Fate(Outcome.BUSY, fail_after=1.0))
        call_id = await c.engine.dial(c.next_id(), "1001", "13700000000")
        await c.run(5.0)
        assert c.engine.calls() == []
        record = c.cdr.call(call_id)
        assert (record.end_reason, record.cause) == ("not-connected", "busy")
        assert c.engine.agent("1001").state is AgentState.WRAP_UP


async def test_agent_dialling_from_the_phone_is_connected_to_the_number() -> None:
    """The agent dials a number on the desk phone itself: the core answers the phone's
    call, rings the number and bridges them; the phone hangs up after its 20 s of talk,
    the core hangs up the customer, and the agent wraps up."""
    async with center() as c:
        await c.log_in("1001", bot=BotProfile(talk_time=Fixed(20.0)))
        c.book.script("13700000000", Fate(Outcome.HUMAN, ring_after=1.0, answer_after=3.0))
        phone_leg = c.phones.place_call(c.switch, "1001", "13700000000")
        await c.run(1.0)
        (call,) = c.engine.calls()
        assert (call.direction.value, call.agent_leg) == ("outbound", phone_leg)
        assert c.engine.agent("1001").state is AgentState.TALKING
        await c.run(3.0)
        assert c.engine.call(call.call_id).bridge is not None
        await c.run(20.0)
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []
        assert c.cdr.call(call.call_id).end_reason == "agent-hung-up"
        assert c.engine.agent("1001").state is AgentState.WRAP_UP


async def test_send_dtmf_reaches_the_customer_leg() -> None:
    """The agent sends digits (say, an extension) to the far end."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.send_dtmf("d-1", "1001", "1234#")
        await c.engine.send_dtmf("d-1", "1001", "1234#")
        leg = c.engine.call(call_id).customer_leg
        assert leg is not None
        assert c.switch.dtmf_sent(leg) == ["1234#"]


async def test_a_retry_racing_the_first_attempt_dials_once() -> None:
    """The client sends "dial" and, impatient, the same command again before the first
    answer: both get the same call id and only one call is made."""
    async with center() as c:
        await c.log_in("1001")
        first, second = await asyncio.gather(
            c.engine.dial("dial-x", "1001", "13700000000"),
            c.engine.dial("dial-x", "1001", "13700000000"),
        )
        assert first == second
        assert len(c.engine.calls()) == 1
        assert len(c.phones.phone("1001").history) == 1


async def test_agent_logged_in_on_an_outside_number_is_called_back_there() -> None:
    """Hot-desking: an agent working from home logs in with a mobile number; calls are
    offered by ringing that number, and bridged when the agent picks up."""
    async with center() as c:
        mobile = "13500000001"
        c.book.script(mobile, Fate(Outcome.HUMAN, ring_after=1.0, answer_after=4.0))
        await c.engine.log_in(c.next_id(), "1001", mobile)
        await c.engine.ready(c.next_id(), "1001")
        c.call_in("13900000001", DID)
        await c.run(4.0)
        (call,) = c.engine.calls()
        assert call.agent_no == "1001"
        assert call.bridge is not None
        assert c.cdr.leg(str(call.agent_leg)).dest == mobile
