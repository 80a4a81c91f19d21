"""Transfers (转接): blind, attended (consult first), and the 3-way conference.

Transfers. *Blind*: the agent leaves at once and the customer goes to another agent
(ringing with music on hold; if nobody answers the call goes back to its queue), to a
queue, or out to a number. *Attended*: the agent consults someone while the customer
waits on hold, then completes the transfer (the agent leaves), cancels it (back to the
customer), or turns it into a 3-way conference. An agent who hangs up during an answered
consultation completes the transfer.
"""

from __future__ import annotations

import logging

from callcenter.app.cti.errors import (
    CallInConference,
    ConsultInProgress,
    ConsultNotAnswered,
    InvalidDestination,
    NoConsult,
    TransferTargetUnavailable,
)
from callcenter.app.cti.flows import CallFlows
from callcenter.app.cti.model import (
    AgentSession,
    Call,
    CallState,
    Consult,
    ConsultTarget,
    Leg,
    LegPurpose,
    ToAgent,
    ToNumber,
    ToQueue,
    TransferTarget,
)
from callcenter.domain.agent import AgentState, CallAnswered, CallHeld, CallOffered, CallResumed
from callcenter.switch.ports import BridgeId, ConferenceId, HangupCause, TalkListen

log = logging.getLogger(__name__)


class TransferCommands(CallFlows):
    """Transfer commands of the agent desktop; see the module docstring."""

    # --- commands ------------------------------------------------------------------

    async def blind_transfer(self, command_id: str, agent_no: str, target: TransferTarget) -> None:
        """Hand the customer to another agent, a queue or a number; the agent leaves."""
        await self._command(
            command_id,
            ("blind_transfer", agent_no, target),
            lambda: self._blind_transfer(agent_no, target),
        )

    async def consult(self, command_id: str, agent_no: str, target: ConsultTarget) -> None:
        """Put the customer on hold and call ``target`` (attended transfer, conference)."""
        await self._command(
            command_id, ("consult", agent_no, target), lambda: self._consult(agent_no, target)
        )

    async def complete_transfer(self, command_id: str, agent_no: str) -> None:
        """The consulted party takes the customer; the agent leaves (to wrap-up)."""
        await self._command(
            command_id, ("complete_transfer", agent_no), lambda: self._complete(agent_no)
        )

    async def cancel_consult(self, command_id: str, agent_no: str) -> None:
        """Hang up the consulted party and go back to the customer."""
        await self._command(
            command_id, ("cancel_consult", agent_no), lambda: self._cancel_consult(agent_no)
        )

    async def conference(self, command_id: str, agent_no: str) -> None:
        """Turn the consultation into a 3-way call: customer, agent, consulted party."""
        await self._command(
            command_id, ("conference", agent_no), lambda: self._conference(agent_no)
        )

    async def _blind_transfer(self, agent_no: str, target: TransferTarget) -> None:
        session = self._session(agent_no, "transfer")
        call = self._connected_call(session, "transfer")
        if call.consult is not None:
            raise ConsultInProgress(call_id=call.call_id, action="transfer")
        assert call.customer_leg is not None
        if isinstance(target, ToNumber):
            number = target.number.strip()
            if not number:
                raise InvalidDestination(dest=target.number)
            await self._must(self._switch.redirect(call.customer_leg, number), "transfer")
            self._mark_ended(self._legs[call.customer_leg], HangupCause.NORMAL)
            log.info("call=%s blind transfer to %s", call.call_id, number)
            await self._end_call(call, HangupCause.NORMAL, "transferred")
            return
        if isinstance(target, ToQueue):
            self._queue(target.queue_id)
            await self._detach_customer(call)
            log.info("call=%s blind transfer to queue %s", call.call_id, target.queue_id)
            self._touch(call, "transferred")
            await self._enqueue(call, target.queue_id)
            return
        other = self._transfer_target(agent_no, target)
        await self._detach_customer(call)
        if not call.held:
            await self._try(self._switch.hold(call.customer_leg, self._hold_music), "hold")
            call.held = True
        other.agent.handle(CallOffered(call.call_id, call.queue_id), self._now())
        call.state = CallState.TRANSFERRING
        log.info("call=%s blind transfer to agent %s", call.call_id, target.agent_no)
        self._touch(call, "transferred")
        ring_timeout = self._dial_ring_timeout
        if call.queue_id is not None:
            ring_timeout = self._queues[call.queue_id].config.ring_timeout
        await self._ring_agent(call, target.agent_no, ring_timeout)

    async def _consult(self, agent_no: str, target: ConsultTarget) -> None:
        session = self._session(agent_no, "consult")
        call = self._connected_call(session, "consult")
        if call.consult is not None:
            raise ConsultInProgress(call_id=call.call_id, action="consult")
        if call.conference is not None:
            raise CallInConference(call_id=call.call_id, action="consult")
        assert call.customer_leg is not None
        other: AgentSession | None = None
        if isinstance(target, ToAgent):
            other = self._transfer_target(agent_no, target)
            dest = other.phone
        else:
            dest = target.number.strip()
            if not dest:
                raise InvalidDestination(dest=target.number)
        if not call.held:
            await self._must(self._switch.hold(call.customer_leg, self._hold_music), "hold")
            call.held = True
            self._agent_event(agent_no, CallHeld(call.call_id))
        await self._unbridge(call)
        if other is not None:
            other.agent.handle(CallOffered(call.call_id, call.queue_id), self._now())
        target_no = other.agent_no if other is not None else None
        leg = self._add_leg(call, self._new_leg_id(call, "x"), LegPurpose.CONSULT, dest, target_no)
        call.consult = Consult(leg.leg_id, target_no, dest)
        log.info("call=%s agent %s consults %s", call.call_id, agent_no, dest)
        self._touch(call)
        # An agent sees who consults them; a number sees the platform's, as a desk call.
        caller_id = agent_no if other is not None else self._outbound_caller_id
        await self._originate(call, leg, caller_id=caller_id, ring_timeout=self._dial_ring_timeout)

    async def _consult_answered(self, call: Call, leg: Leg) -> None:
        consult = call.consult
        agent_leg = self._legs.get(call.agent_leg) if call.agent_leg is not None else None
        if consult is None or consult.leg != leg.leg_id or agent_leg is None or agent_leg.ended:
            await self._drop(leg)
            return
        self._agent_event(leg.agent_no, CallAnswered(call.call_id))
        bridge = BridgeId(self._new_id(f"{call.call_id}-br"))
        if await self._try(self._switch.bridge(bridge, [agent_leg.leg_id, leg.leg_id]), "bridge"):
            consult.bridge = bridge
        self._touch(call)

    async def _complete(self, agent_no: str) -> None:
        session = self._session(agent_no, "complete-transfer")
        call = self._connected_call(session, "complete-transfer")
        consult = self._answered_consult(call, "complete-transfer")
        log.info(
            "call=%s agent %s completes the transfer to %s", call.call_id, agent_no, consult.dest
        )
        await self._finish_transfer(call)

    async def _cancel_consult(self, agent_no: str) -> None:
        session = self._session(agent_no, "cancel-consult")
        call = self._connected_call(session, "cancel-consult")
        if call.consult is None:
            raise NoConsult(call_id=call.call_id)
        leg = self._legs[call.consult.leg]
        log.info("call=%s agent %s cancels the consultation", call.call_id, agent_no)
        await self._drop(leg, HangupCause.NORMAL if leg.up else HangupCause.CANCELLED)

    async def _conference(self, agent_no: str) -> None:
        session = self._session(agent_no, "conference")
        call = self._connected_call(session, "conference")
        consult = self._answered_consult(call, "conference")
        assert call.customer_leg is not None and call.agent_leg is not None
        call.consult = None
        if consult.bridge is not None:
            await self._try(self._switch.unbridge(consult.bridge), "unbridge consult")
        conference = ConferenceId(f"{call.call_id}-conf")
        call.conference = conference
        for leg_id in (call.customer_leg, call.agent_leg, consult.leg):
            await self._try(self._switch.join(conference, leg_id, TalkListen()), "join")
        if call.held:
            await self._try(self._switch.resume(call.customer_leg), "resume")
            call.held = False
        self._agent_event(agent_no, CallResumed(call.call_id))
        party = self._legs[consult.leg]
        party.purpose = LegPurpose.PARTY
        call.parties[call.agent_leg] = agent_no
        call.parties[party.leg_id] = consult.agent_no
        if consult.agent_no is not None:
            call.agents.append(consult.agent_no)
        log.info("call=%s 3-way conference with %s", call.call_id, consult.dest)
        self._touch(call, "conference")

    # --- helpers ---------------------------------------------------------------------

    def _answered_consult(self, call: Call, action: str) -> Consult:
        if call.consult is None:
            raise NoConsult(call_id=call.call_id)
        if not call.consult.answered:
            raise ConsultNotAnswered(call_id=call.call_id, action=action)
        return call.consult

    def _transfer_target(self, agent_no: str, target: ToAgent) -> AgentSession:
        if target.agent_no == agent_no:
            raise TransferTargetUnavailable(target=target.agent_no, problem="self")
        other = self._agents.get(target.agent_no)
        if other is None or other.agent.state is not AgentState.READY:
            state = "logged-out" if other is None else other.agent.state.value
            raise TransferTargetUnavailable(target=target.agent_no, problem=state)
        return other

    async def _detach_customer(self, call: Call) -> None:
        """Everyone but the customer leaves the call (a blind transfer)."""
        assert call.customer_leg is not None
        if call.conference is not None:
            await self._try(self._switch.leave(call.conference, call.customer_leg), "leave")
            call.conference = None
        await self._unbridge(call)
        call.agent_leg = None
        call.agent_no = None
        call.party_leg = None
        for leg_id in call.legs:
            if leg_id != call.customer_leg:
                await self._release(self._legs[leg_id])
        call.monitors.clear()
        call.parties.clear()
        if call.held:
            await self._try(self._switch.resume(call.customer_leg), "resume")
            call.held = False
