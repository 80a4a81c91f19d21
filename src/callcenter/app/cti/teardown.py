"""What the end of a leg means, and how a call ends.

:meth:`Teardown._leg_ended` is the one place that decides what the end of a leg
means, by the leg's purpose and the call's state:

* customer: abandoned if still queued, otherwise the call ends (everyone is hung up);
* offer: a *miss* when the ring ended through the agent (timeout, busy, rejected, the
  phone gone: ``MISSED_CAUSES``), otherwise a *withdrawal*; once the last ringing phone
  of an offer is gone the call goes back in line, skipping those who missed; a blind
  transfer nobody answers goes back to the call's queue;
* agent: the call ends (B2BUA: the core hangs up the other side), except during an
  answered consultation (the transfer completes) or in a conference (the others carry
  on while someone other than supervisors is left with the customer);
* consulted party: the agent gets the customer back;
* supervisor: the monitoring stops.

Ending a call (:meth:`Teardown._end_call`) hangs up every leg still alive and frees
every agent: wrap-up for those who talked, withdrawn for those whose phone rang.
"""

from __future__ import annotations

import logging
from typing import Final

from callcenter.app.cti.core import CtiCore
from callcenter.app.cti.model import Call, CallState, Leg, LegPurpose, LegStatus
from callcenter.domain.agent import (
    AgentState,
    CallEnded,
    CallResumed,
    OfferNotAnswered,
    OfferWithdrawn,
    Trigger,
)
from callcenter.switch.ports import HangupCause

log = logging.getLogger(__name__)

MISSED_CAUSES: Final = frozenset(
    {
        HangupCause.NO_ANSWER,
        HangupCause.BUSY,
        HangupCause.REJECTED,
        HangupCause.FAILED,
        HangupCause.INVALID_NUMBER,
        HangupCause.CONGESTION,
    }
)
"""A ring that ended with one of these is the agent's miss, not a withdrawal."""


class Teardown(CtiCore):
    """Leg ends and call ends; see the module docstring."""

    async def _enqueue(self, call: Call, queue_id: str, hops: int = 0) -> None:
        raise NotImplementedError

    # --- legs ending ----------------------------------------------------------------

    async def _drop(self, leg: Leg, cause: HangupCause = HangupCause.NORMAL) -> None:
        """Hang up a leg ourselves, then apply what its end means (``cause`` as told)."""
        if leg.ended:
            return
        await self._try(self._switch.hangup(leg.leg_id), f"hang up {leg.leg_id}")
        await self._leg_ended(leg, cause)

    async def _release(self, leg: Leg, cause: HangupCause = HangupCause.NORMAL) -> None:
        """Hang up a leg whose end the caller handles itself (only its agent is freed)."""
        if leg.ended:
            return
        await self._try(self._switch.hangup(leg.leg_id), f"hang up {leg.leg_id}")
        self._mark_ended(leg, cause)

    def _mark_ended(self, leg: Leg, cause: HangupCause) -> None:
        """The leg is gone: record it and free its agent (ended, missed or withdrawn)."""
        if leg.ended:
            return
        was_up = leg.up
        leg.status = LegStatus.ENDED
        leg.ended_at = self._now()
        leg.cause = cause
        self._touch_leg(leg)
        call = self._calls.get(leg.call_id)
        if call is not None:
            call.offers.pop(leg.leg_id, None)
        if leg.agent_no is None or leg.purpose is LegPurpose.SUPERVISOR:
            return
        trigger: Trigger
        if was_up:
            trigger = CallEnded(leg.call_id)
        elif leg.purpose in (LegPurpose.OFFER, LegPurpose.CONSULT) and cause in MISSED_CAUSES:
            trigger = OfferNotAnswered(leg.call_id)
        else:
            trigger = OfferWithdrawn(leg.call_id)
        session = self._agents.get(leg.agent_no)
        if session is not None and session.agent.call_id == leg.call_id:
            self._agent_event(leg.agent_no, trigger)

    async def _leg_ended(self, leg: Leg, cause: HangupCause) -> None:
        if leg.ended:
            return
        log.info(
            "call=%s leg %s (%s) ended: %s", leg.call_id, leg.leg_id, leg.purpose.value, cause.value
        )
        purpose = leg.purpose
        self._mark_ended(leg, cause)
        call = self._calls.get(leg.call_id)
        if call is None or call.ended:
            return
        if purpose is LegPurpose.CUSTOMER:
            await self._customer_gone(call, cause)
        elif purpose is LegPurpose.OFFER:
            await self._offer_gone(call, leg, cause)
        elif purpose is LegPurpose.AGENT:
            await self._agent_leg_gone(call, leg, cause)
        elif purpose is LegPurpose.CONSULT:
            await self._consult_gone(call, leg)
        elif purpose is LegPurpose.PARTY:
            await self._party_gone(call, leg, cause)
        else:
            self._supervisor_gone(call, leg)

    async def _customer_gone(self, call: Call, cause: HangupCause) -> None:
        reason = "customer-hung-up"
        if call.state is CallState.QUEUED and call.queue_id is not None:
            queue = self._queues[call.queue_id]
            if call.call_id in queue:
                queue.abandon(call.call_id, self._now())
                reason = "abandoned"
        elif call.state is CallState.DIALLING:
            reason = "not-connected"
        await self._end_call(call, cause, reason)

    async def _offer_gone(self, call: Call, leg: Leg, cause: HangupCause) -> None:
        if leg.agent_no is not None and cause in MISSED_CAUSES:
            call.missed.add(leg.agent_no)
        if call.offers:
            return
        missed, call.missed = call.missed, set()
        self._touch(call)
        if call.state is CallState.QUEUED and call.queue_id is not None:
            queue = self._queues[call.queue_id]
            if call.call_id in queue and queue.get(call.call_id).offered_to:
                queue.offer_not_answered(call.call_id, missed)
            self._touch(call, "queued")
        elif call.state is CallState.TRANSFERRING:
            log.info("call=%s transfer target did not answer", call.call_id)
            if call.queue_id is not None:
                await self._enqueue(call, call.queue_id)
            else:
                await self._end_call(call, cause, "transfer-failed")

    async def _agent_leg_gone(self, call: Call, leg: Leg, cause: HangupCause) -> None:
        if call.agent_leg == leg.leg_id:
            call.agent_leg = None
            call.agent_no = None
        if call.state is not CallState.CONNECTED:
            await self._end_call(call, cause, "agent-hung-up")
        elif call.consult is not None and call.consult.answered:
            await self._finish_transfer(call)
        elif call.conference is not None:
            call.parties.pop(leg.leg_id, None)
            await self._conference_left(call, cause, "agent-hung-up")
        else:
            await self._end_call(call, cause, "agent-hung-up")

    async def _party_gone(self, call: Call, leg: Leg, cause: HangupCause) -> None:
        if call.party_leg == leg.leg_id:
            call.party_leg = None
        if call.conference is not None:
            call.parties.pop(leg.leg_id, None)
            await self._conference_left(call, cause, "party-hung-up")
        else:
            await self._end_call(call, cause, "party-hung-up")

    async def _conference_left(self, call: Call, cause: HangupCause, reason: str) -> None:
        """Someone left the conference: end it if the customer is alone with supervisors."""
        talkers = {lid: no for lid, no in call.parties.items() if not self._legs[lid].ended}
        if not talkers:
            await self._end_call(call, cause, reason)
            return
        if call.agent_leg is None:
            for leg_id, agent_no in talkers.items():
                if agent_no is not None:
                    call.agent_leg = leg_id
                    call.agent_no = agent_no
                    self._legs[leg_id].purpose = LegPurpose.AGENT
                    break
        self._touch(call)

    async def _consult_gone(self, call: Call, leg: Leg) -> None:
        """The consulted party left or never answered: the agent gets the customer back."""
        consult = call.consult
        if consult is None or consult.leg != leg.leg_id:
            return
        call.consult = None
        consult_bridge = consult.bridge
        if consult_bridge is not None:
            await self._try(self._switch.unbridge(consult_bridge), "unbridge consult")
        self._touch(call)
        await self._reconnect_agent(call)

    async def _reconnect_agent(self, call: Call) -> None:
        agent_leg = self._legs.get(call.agent_leg) if call.agent_leg is not None else None
        if agent_leg is None or agent_leg.ended or call.customer_leg is None:
            await self._end_call(call, HangupCause.NORMAL, "agent-hung-up")
            return
        if call.held:
            await self._try(self._switch.resume(call.customer_leg), "resume")
            call.held = False
        session = self._agents.get(agent_leg.agent_no or "")
        if session is not None and session.agent.state is AgentState.ON_HOLD:
            self._agent_event(agent_leg.agent_no, CallResumed(call.call_id))
        await self._bridge(call, call.customer_leg, agent_leg.leg_id)

    async def _finish_transfer(self, call: Call) -> None:
        """Attended transfer: the consulted party takes the customer, the agent leaves."""
        consult = call.consult
        if consult is None or call.customer_leg is None:
            return
        call.consult = None
        if consult.bridge is not None:
            await self._try(self._switch.unbridge(consult.bridge), "unbridge consult")
        if call.agent_leg is not None:
            old = self._legs[call.agent_leg]
            call.agent_leg = None
            call.agent_no = None
            await self._release(old)
        target = self._legs[consult.leg]
        if consult.agent_no is not None:
            target.purpose = LegPurpose.AGENT
            call.agent_leg = target.leg_id
            call.agent_no = consult.agent_no
            call.agents.append(consult.agent_no)
        else:
            target.purpose = LegPurpose.PARTY
            call.party_leg = target.leg_id
        if call.held:
            await self._try(self._switch.resume(call.customer_leg), "resume")
            call.held = False
        log.info("call=%s transferred to %s", call.call_id, consult.dest)
        self._touch(call, "transferred")
        if not await self._bridge(call, call.customer_leg, target.leg_id):
            await self._end_call(call, HangupCause.FAILED, "transfer-failed")

    def _supervisor_gone(self, call: Call, leg: Leg) -> None:
        for supervisor_id, monitor in list(call.monitors.items()):
            if monitor.leg == leg.leg_id:
                del call.monitors[supervisor_id]
                log.info("call=%s supervisor %s left", call.call_id, supervisor_id)
        self._touch(call)

    async def _end_call(self, call: Call, cause: HangupCause, reason: str) -> None:
        """End the call: hang up every leg still up or ringing, free every agent."""
        if call.ended:
            return
        now = self._now()
        if call.queue_id is not None:
            queue = self._queues[call.queue_id]
            if call.call_id in queue:
                queue.abandon(call.call_id, now)
        if call.answered_at is not None:
            # Learn the handling time that wait announcements estimate from.
            talk = now - call.answered_at
            self._handle_seconds = 0.9 * self._handle_seconds + 0.1 * talk
        call.state = CallState.ENDED
        call.ended_at = now
        call.announcing = None
        call.cause = cause
        call.end_reason = reason
        call.held = False
        call.consult = None
        for leg_id in call.legs:
            leg = self._legs[leg_id]
            if not leg.ended:
                await self._try(self._switch.hangup(leg_id), f"hang up {leg_id}")
                self._mark_ended(leg, HangupCause.NORMAL if leg.up else HangupCause.CANCELLED)
        call.offers.clear()
        log.info("call=%s ended: %s (%s)", call.call_id, reason, cause.value)
        self._touch(call, "ended")
