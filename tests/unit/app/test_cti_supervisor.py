"""CTI core, supervisor console: listen, whisper, barge, take over, force actions."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from callcenter.app.cti import AgentProfile, ToAgent
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import AgentState
from callcenter.domain.errors import DomainError
from callcenter.domain.queue import QueueConfig
from callcenter.switch.ports import ConferenceId, ListenOnly, Role, TalkListen, WhisperTo
from callcenter.switch.sim.network import LegState

DID = "4001"
SALES = QueueConfig("sales", frozenset({"sales"}))
PROFILES = {
    "1001": AgentProfile.in_groups("sales", wrap_up_seconds=10.0),
    "1002": AgentProfile.in_groups("sales", wrap_up_seconds=10.0),
}
BOSS = "boss"
BOSS_PHONE = "agent:9001"


def center() -> SimCenter:
    c = SimCenter.build([SALES], {DID: "sales"}, PROFILES)
    c.phones.register("9001")
    return c


async def connected(c: SimCenter, talk_time: float = 600.0) -> str:
    await c.log_in("1001")
    c.call_in("13900000001", DID, caller(talk_time=talk_time))
    await c.run(3.0)
    call_id = c.engine.agent("1001").call_id
    assert call_id is not None
    return call_id


async def raises(code: str, command: Awaitable[object]) -> None:
    with pytest.raises(DomainError) as caught:
        await command
    assert caught.value.code == code


def members(c: SimCenter, call_id: str) -> dict[str, Role]:
    """Conference members by who they are: customer, agent, boss."""
    call = c.engine.call(call_id)
    names = {call.customer_leg: "customer", call.agent_leg: "agent"}
    names.update({m.leg: "boss" for m in call.monitors.values()})
    named: dict[str, Role] = {}
    for leg, role in c.switch.conference_members(ConferenceId(f"{call_id}-conf")).items():
        named[names.get(leg, str(leg))] = role
    return named


async def test_supervisor_listens_silently() -> None:
    """The supervisor asks to listen: their phone rings and answers; the call moves into
    a conference where customer and agent talk and the supervisor only listens."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.listen(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        assert members(c, call_id) == {
            "customer": TalkListen(),
            "agent": TalkListen(),
            "boss": ListenOnly(),
        }
        assert c.published("call.updated")[-1]["supervisors"] == {BOSS: "listen"}
        assert c.engine.agent("1001").state is AgentState.TALKING


async def test_supervisor_whispers_to_the_agent_then_barges_in() -> None:
    """Whisper: only the agent hears the supervisor. Barge changes the role in place:
    everyone hears everyone."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.whisper(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        agent_leg = c.engine.call(call_id).agent_leg
        assert agent_leg is not None
        assert members(c, call_id)["boss"] == WhisperTo(agent_leg)
        await c.engine.barge(c.next_id(), BOSS, call_id, BOSS_PHONE)
        assert members(c, call_id)["boss"] == TalkListen()
        assert len(c.phones.phone("9001").history) == 1


async def test_supervisor_takes_over_the_call() -> None:
    """The listening supervisor takes over: the agent is hung up and wraps up, the
    supervisor talks with the customer; when the customer hangs up the call ends."""
    async with center() as c:
        call_id = await connected(c, talk_time=60.0)
        await c.engine.listen(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        await c.engine.take_over(c.next_id(), BOSS, call_id)
        call = c.engine.call(call_id)
        assert (call.agent_no, call.taken_over_by) == (None, BOSS)
        assert c.engine.agent("1001").state is AgentState.WRAP_UP
        supervisor_leg = c.phones.phone("9001").history[0]
        roles = c.switch.conference_members(ConferenceId(f"{call_id}-conf"))
        assert roles[supervisor_leg] == TalkListen()
        await c.run(60.0)
        assert c.engine.calls() == []
        assert c.switch.leg_state(supervisor_leg) is LegState.ENDED
        assert "taken-over" in c.cdr.call_states(call_id)


async def test_supervisor_stops_listening_and_the_call_goes_on() -> None:
    async with center() as c:
        call_id = await connected(c)
        await c.engine.listen(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        await c.engine.stop_monitoring(c.next_id(), BOSS, call_id)
        call = c.engine.call(call_id)
        assert call.monitors == {}
        assert c.engine.agent("1001").state is AgentState.TALKING
        await raises("supervisor-not-monitoring", c.engine.stop_monitoring("x", BOSS, call_id))


async def test_force_hang_up_ends_the_call_and_the_agent_wraps_up() -> None:
    async with center() as c:
        call_id = await connected(c)
        await c.engine.force_hang_up(c.next_id(), BOSS, call_id)
        await c.run(0.0)
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []
        assert c.cdr.call(call_id).end_reason == "force-hang-up"
        assert c.engine.agent("1001").state is AgentState.WRAP_UP


async def test_force_log_out_of_an_agent_on_a_call() -> None:
    """The supervisor logs out an agent who is talking: the call is ended for the
    customer and the agent is logged out."""
    async with center() as c:
        await connected(c)
        await c.engine.force_log_out(c.next_id(), BOSS, "1001")
        await c.run(0.0)
        assert c.engine.agent("1001").state is AgentState.LOGGED_OUT
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []


async def test_force_ready_and_not_ready() -> None:
    """The supervisor sets an agent's state; a waiting call is then routed to them."""
    async with center() as c:
        await c.log_in("1001", ready=False)
        c.call_in("13900000001", DID)
        await c.run(1.0)
        await c.engine.force_ready(c.next_id(), BOSS, "1001")
        await c.run(3.0)
        assert c.engine.agent("1001").state is AgentState.TALKING
        await c.engine.log_in(c.next_id(), "1002", "agent:1002")
        await c.engine.force_ready(c.next_id(), BOSS, "1002")
        await c.engine.force_not_ready(c.next_id(), BOSS, "1002", "coaching")
        agent = c.engine.agent("1002")
        assert (agent.state, agent.not_ready_reason) == (AgentState.NOT_READY, "coaching")


async def test_supervisor_commands_on_a_waiting_call_are_refused() -> None:
    """A call still in the queue cannot be listened to or taken over."""
    async with center() as c:
        c.call_in("13900000001", DID)
        await c.run(1.0)
        (call,) = c.engine.calls()
        await raises("call-not-connected", c.engine.listen("a", BOSS, call.call_id, BOSS_PHONE))
        await raises("supervisor-not-monitoring", c.engine.take_over("b", BOSS, call.call_id))
        await raises("agent-not-logged-in", c.engine.force_ready("c", BOSS, "1001"))


async def test_supervisor_hanging_up_leaves_the_call_to_the_agent() -> None:
    """The barging supervisor hangs up the phone: the monitoring ends, customer and
    agent go on talking in the conference."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.barge(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        await c.switch.hangup(c.phones.phone("9001").history[0])
        await c.run(0.0)
        call = c.engine.call(call_id)
        assert call.monitors == {}
        assert set(members(c, call_id)) == {"customer", "agent"}
        assert c.engine.agent("1001").state is AgentState.TALKING


async def test_supervisor_leaving_after_take_over_ends_the_call() -> None:
    """After taking over, the supervisor is the customer's only party: when the
    supervisor hangs up, the customer is hung up too."""
    async with center() as c:
        call_id = await connected(c)
        await c.engine.listen(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        await c.engine.take_over(c.next_id(), BOSS, call_id)
        await c.switch.hangup(c.phones.phone("9001").history[0])
        await c.run(0.0)
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []
        assert c.cdr.call(call_id).end_reason == "party-hung-up"


async def test_agent_can_hold_and_transfer_while_a_supervisor_listens() -> None:
    """With the supervisor listening (the call is a conference), the agent still holds,
    resumes and blind-transfers: the supervisor is dropped with the agent."""
    async with center() as c:
        call_id = await connected(c)
        await c.log_in("1002")
        await c.engine.listen(c.next_id(), BOSS, call_id, BOSS_PHONE)
        await c.run(3.0)
        await c.engine.hold(c.next_id(), "1001")
        assert c.engine.agent("1001").state is AgentState.ON_HOLD
        await c.engine.resume(c.next_id(), "1001")
        await c.engine.blind_transfer(c.next_id(), "1001", ToAgent("1002"))
        await c.run(3.0)
        call = c.engine.call(call_id)
        assert (call.agent_no, call.monitors, call.conference) == ("1002", {}, None)
        assert call.bridge is not None
        supervisor_leg = c.phones.phone("9001").history[0]
        assert c.switch.leg_state(supervisor_leg) is LegState.ENDED


async def test_listening_is_refused_without_a_phone_or_during_a_consultation() -> None:
    async with center() as c:
        call_id = await connected(c)
        await raises("agent-phone-invalid", c.engine.listen("l-1", BOSS, call_id, " "))
        await c.log_in("1002")
        await c.engine.consult(c.next_id(), "1001", ToAgent("1002"))
        await raises("call-consult-in-progress", c.engine.listen("l-2", BOSS, call_id, BOSS_PHONE))
        await raises("agent-unknown", c.engine.force_ready("f-1", BOSS, "4711"))
