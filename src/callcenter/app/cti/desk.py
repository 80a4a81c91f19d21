"""Agent commands (话务员操作台): log in/out, ready, hang up, hold, transfers, dial, DTMF.

Every command takes a ``command_id`` chosen by the client: sending it again (a retry
after a timeout) returns the first answer without doing anything twice; reusing it for
another command raises ``command-id-reused``. A command that is not allowed in the
agent's or the call's state raises a :class:`~callcenter.domain.errors.DomainError`
and changes nothing; a refused command is not remembered, so a retry runs it again.

Transfers, consultations and the 3-way call are in :mod:`callcenter.app.cti.transfers`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

from callcenter.app.bus import Event, EventBus
from callcenter.app.cti import views
from callcenter.app.cti.core import not_on_call
from callcenter.app.cti.errors import (
    CallAlreadyHeld,
    CallNotConnected,
    CallNotHeld,
    ConsultInProgress,
    InvalidDestination,
    InvalidDigits,
    InvalidPhone,
    PhoneInUse,
    UnknownAgent,
)
from callcenter.app.cti.flows import CallFlows
from callcenter.app.cti.model import (
    AgentSession,
    CallState,
    Direction,
    LegPurpose,
)
from callcenter.domain.agent import (
    Agent,
    AgentState,
    CallHeld,
    CallResumed,
    GoNotReady,
    GoReady,
    LogIn,
    LogOut,
)
from callcenter.domain.errors import AgentBusy, DomainError
from callcenter.switch.ports import HangupCause

log = logging.getLogger(__name__)

DTMF: Final = frozenset("0123456789*#ABCD")


class CallAlreadyAnswered(DomainError):
    code = "call-already-answered"
    status = 409
    message_zh = "呼叫 {call_id} 已经接听"
    message_en = "Call {call_id} is already answered"


class AnswerOnThePhone(DomainError):
    code = "answer-on-the-phone"
    status = 409
    message_zh = "电话 {phone} 不能从操作台接听，请在话机上接听"
    message_en = "Phone {phone} cannot be answered from the desktop; pick up the handset"


DESK_CHANGED: Final = "desk.changed"
DESK_PERMISSION: Final = "desk.use"


def desks_touched(event: Event) -> set[str]:
    """The agents whose desktop shows what an ``agent.state`` or ``call.updated`` changed."""
    data = event.data
    if event.type == views.AGENT_STATE:
        return {str(data["agent_no"])}
    if event.type != views.CALL_UPDATED:
        return set()
    touched = {str(a) for a in data.get("agents", ())} | {str(a) for a in data.get("ringing", ())}
    if data.get("agent_no"):
        touched.add(str(data["agent_no"]))
    consult = data.get("consult")
    if consult and consult.get("agent_no"):
        touched.add(str(consult["agent_no"]))
    return touched


def desk_hints(bus: EventBus) -> Callable[[Event], None]:
    """A bus listener telling each agent's desktop that its own picture changed.

    Agents do not see the console's events (``supervisor.monitor``); a desktop hears
    ``desk.changed`` naming its agent, with no detail, and reads /desk/state again, so
    the server stays the truth and no agent sees another's callers.
    """

    def listener(event: Event) -> None:
        for agent_no in sorted(desks_touched(event)):
            bus.publish(DESK_CHANGED, {"agent_no": agent_no}, DESK_PERMISSION)

    return listener


class AgentCommands(CallFlows):
    """The agent desktop's commands; see the module docstring."""

    # --- session ----------------------------------------------------------------------

    async def log_in(self, command_id: str, agent_no: str, phone: str) -> None:
        """Log in with ``phone`` (hot-desking): the agent starts NOT_READY (``login``)."""
        await self._command(
            command_id, ("log_in", agent_no, phone), lambda: self._log_in(agent_no, phone)
        )

    async def log_out(self, command_id: str, agent_no: str) -> None:
        await self._command(command_id, ("log_out", agent_no), lambda: self._log_out(agent_no))

    async def ready(self, command_id: str, agent_no: str) -> None:
        """示闲; during a call it cancels a pending not-ready."""
        await self._command(command_id, ("ready", agent_no), lambda: self._ready(agent_no))

    async def not_ready(self, command_id: str, agent_no: str, reason: str) -> None:
        """示忙 with a reason code; during a call it takes effect after wrap-up."""
        await self._command(
            command_id, ("not_ready", agent_no, reason), lambda: self._not_ready(agent_no, reason)
        )

    async def _log_in(self, agent_no: str, phone: str) -> None:
        profile = self._profiles.get(agent_no)
        if profile is None:
            raise UnknownAgent(agent_id=agent_no)
        phone = phone.strip()
        if not phone:
            raise InvalidPhone(agent_id=agent_no)
        for other in self._agents.values():
            logged_in = other.agent.state is not AgentState.LOGGED_OUT
            if logged_in and other.phone == phone and other.agent_no != agent_no:
                raise PhoneInUse(phone=phone, other_agent_id=other.agent_no)
        session = self._agents.get(agent_no)
        if session is None:
            agent = Agent(
                agent_no,
                memberships=profile.memberships,
                skills=profile.skills,
                order=profile.order,
                max_missed_offers=profile.max_missed_offers,
                wrap_up_seconds=profile.wrap_up_seconds,
            )
            agent.handle(LogIn(), self._now())
            self._agents[agent_no] = AgentSession(agent, phone)
        else:
            session.agent.handle(LogIn(), self._now())  # raises if already logged in
            session.phone = phone
            session.agent.memberships = profile.memberships
            session.agent.skills = profile.skills
            session.agent.order = profile.order
            session.agent.max_missed_offers = profile.max_missed_offers
            session.agent.wrap_up_seconds = profile.wrap_up_seconds
        log.info("agent %s logged in at %s", agent_no, phone)

    async def _log_out(self, agent_no: str) -> None:
        self._session(agent_no, "log-out").agent.handle(LogOut(), self._now())
        log.info("agent %s logged out", agent_no)

    async def _ready(self, agent_no: str) -> None:
        self._session(agent_no, "go-ready").agent.handle(GoReady(), self._now())
        self._dirty_agents.add(agent_no)

    async def _not_ready(self, agent_no: str, reason: str) -> None:
        self._session(agent_no, "go-not-ready").agent.handle(GoNotReady(reason), self._now())
        self._dirty_agents.add(agent_no)

    # --- the call in hand -----------------------------------------------------------

    async def hang_up(self, command_id: str, agent_no: str) -> None:
        """End the agent's part: reject a ringing offer, or leave the call."""
        await self._command(command_id, ("hang_up", agent_no), lambda: self._hang_up(agent_no))

    async def hold(self, command_id: str, agent_no: str) -> None:
        """Put the customer on hold (music)."""
        await self._command(command_id, ("hold", agent_no), lambda: self._hold(agent_no))

    async def resume(self, command_id: str, agent_no: str) -> None:
        await self._command(command_id, ("resume", agent_no), lambda: self._resume(agent_no))

    async def send_dtmf(self, command_id: str, agent_no: str, digits: str) -> None:
        """Send digits to the party the agent talks with (an IVR on a transfer, say)."""
        await self._command(
            command_id, ("send_dtmf", agent_no, digits), lambda: self._send_dtmf(agent_no, digits)
        )

    async def answer(self, command_id: str, agent_no: str) -> None:
        """接听: pick up the call ringing on the agent's phone, for a phone that can be
        answered from the desktop (a virtual phone); others are answered on the handset."""
        await self._command(command_id, ("answer", agent_no), lambda: self._answer(agent_no))

    async def _answer(self, agent_no: str) -> None:
        session = self._session(agent_no, "answer")
        call = self._call_of(session, "answer")
        leg = self._leg_of(call, agent_no)
        if leg is None:
            raise not_on_call(session.agent, "answer")
        if leg.up:
            raise CallAlreadyAnswered(call_id=call.call_id)
        if self._phone_control is None or not self._phone_control.pick_up(leg.leg_id):
            raise AnswerOnThePhone(phone=session.phone)
        log.info("call=%s agent %s answers from the desktop", call.call_id, agent_no)

    async def _hang_up(self, agent_no: str) -> None:
        session = self._session(agent_no, "hang-up")
        call = self._call_of(session, "hang-up")
        leg = self._leg_of(call, agent_no)
        if leg is None:
            raise not_on_call(session.agent, "hang-up")
        log.info("call=%s agent %s hangs up", call.call_id, agent_no)
        await self._drop(leg, HangupCause.NORMAL if leg.up else HangupCause.REJECTED)

    async def _hold(self, agent_no: str) -> None:
        session = self._session(agent_no, "hold")
        call = self._connected_call(session, "hold")
        if call.consult is not None:
            raise ConsultInProgress(call_id=call.call_id, action="hold")
        if call.held or session.agent.state is AgentState.ON_HOLD:
            raise CallAlreadyHeld(call_id=call.call_id)
        assert call.customer_leg is not None
        await self._must(self._switch.hold(call.customer_leg, self._hold_music), "hold")
        call.held = True
        self._agent_event(agent_no, CallHeld(call.call_id))
        self._touch(call)

    async def _resume(self, agent_no: str) -> None:
        session = self._session(agent_no, "resume")
        call = self._connected_call(session, "resume")
        if call.consult is not None:
            raise ConsultInProgress(call_id=call.call_id, action="resume")
        if not call.held:
            raise CallNotHeld(call_id=call.call_id)
        assert call.customer_leg is not None
        await self._must(self._switch.resume(call.customer_leg), "resume")
        call.held = False
        self._agent_event(agent_no, CallResumed(call.call_id))
        self._touch(call)

    async def _send_dtmf(self, agent_no: str, digits: str) -> None:
        if not digits or not set(digits) <= DTMF:
            raise InvalidDigits(digits=digits)
        session = self._session(agent_no, "send-dtmf")
        call = self._call_of(session, "send-dtmf")
        if session.agent.state is not AgentState.TALKING or call.state is not CallState.CONNECTED:
            raise CallNotConnected(call_id=call.call_id, state=call.state.value, action="send-dtmf")
        target = call.customer_leg if call.agent_no == agent_no else call.agent_leg
        if call.consult is not None and call.consult.answered and call.agent_no == agent_no:
            target = call.consult.leg
        if target is None:
            raise CallNotConnected(call_id=call.call_id, state=call.state.value, action="send-dtmf")
        await self._must(self._switch.send_dtmf(target, digits), "send-dtmf")

    # --- manual dial ----------------------------------------------------------------

    async def dial(self, command_id: str, agent_no: str, number: str) -> str:
        """Call ``number`` for the agent: ring the agent's phone, then the customer.

        An agent who was NOT_READY goes back to NOT_READY (same reason) after the call.
        Returns the call id.
        """
        return await self._command(
            command_id, ("dial", agent_no, number), lambda: self._dial(agent_no, number)
        )

    async def _dial(self, agent_no: str, number: str) -> str:
        number = number.strip()
        if not number:
            raise InvalidDestination(dest=number)
        session = self._session(agent_no, "dial")
        agent = session.agent
        if agent.state not in (AgentState.READY, AgentState.NOT_READY):
            raise AgentBusy(agent_id=agent_no, state=agent.state.value, action="dial")
        call = self._new_call(Direction.OUTBOUND, agent_no, number)
        call.dial_dest = number
        call.state = CallState.DIALLING
        self._reserve_for_dial(agent, call)
        leg = self._add_leg(
            call, self._new_leg_id(call, "a"), LegPurpose.AGENT, session.phone, agent_no
        )
        call.agent_no = agent_no
        call.agent_leg = leg.leg_id
        self._touch(call, "created")
        await self._originate(call, leg, caller_id=number, ring_timeout=self._dial_ring_timeout)
        return call.call_id
