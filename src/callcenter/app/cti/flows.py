"""The call flows: inbound routing, offers, agents dialling out, media topology.

Theory of operation
-------------------
Inbound: ``LegOffered`` on a routed DID -> answer, music on hold, enqueue (or overflow).
After every step the core asks the ACD (``plan_assignments``) to pair waiting calls
with free agents; each assignment rings the agents' phones (the phone given at log-in)
with the queue's ring timeout. The first answer wins: the call leaves the queue, the
music stops, customer and agent are bridged, the agent is TALKING; other ringing phones
are cancelled (their agents are *withdrawn*, not blamed). A ring that ends unanswered
(timeout, busy, rejected, phone gone) is a *miss*: once the last ringing phone of an
offer is gone the call goes back in line skipping those agents, and the domain makes an
agent NOT_READY ("no-answer") after N misses in a row. Max wait and queue-full overflow
to another queue, to a number (redirect), or end the call; each is in the 呼损 log.

Outbound by hand: an agent's call (``dial``, or a call placed on the agent's own phone)
rings the agent first, then the number; the two are bridged when the number answers.

Media: a call is a two-party bridge until a third party must hear it (a supervisor);
then it moves into a conference for good (:meth:`CallFlows._to_conference`).

What the end of each leg means is in :mod:`callcenter.app.cti.teardown`.
"""

from __future__ import annotations

import logging
from typing import Final

from callcenter.app.cti.model import (
    AgentSession,
    Call,
    CallState,
    CustomerInfo,
    Direction,
    Leg,
    LegPurpose,
    LegStatus,
    Monitor,
    SupervisorMode,
)
from callcenter.app.cti.teardown import Teardown
from callcenter.domain.acd import apply_assignment
from callcenter.domain.agent import (
    Agent,
    AgentState,
    CallAnswered,
    CallOffered,
    GoNotReady,
    GoReady,
)
from callcenter.domain.queue import Enqueued, Overflowed, OverflowKind, WaitingCall
from callcenter.switch.ports import (
    ConferenceId,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegOffered,
    ListenOnly,
    PlayFinished,
    Role,
    SwitchError,
    SwitchEvent,
    TalkListen,
    WhisperTo,
)

log = logging.getLogger(__name__)

MAX_OVERFLOW_HOPS: Final = 5


class CallFlows(Teardown):
    """What happens to calls between commands; see the module docstring."""

    # --- switch events --------------------------------------------------------------

    async def _dispatch(self, event: SwitchEvent) -> None:
        if isinstance(event, LegOffered):
            await self._on_offered(event)
        elif isinstance(event, LegAnswered):
            await self._on_answered(event)
        elif isinstance(event, LegHungUp):
            leg = self._legs.get(event.leg)
            if leg is not None:
                await self._leg_ended(leg, event.cause)
        elif isinstance(event, PlayFinished):
            await self._play_finished(event)
        # bridged, unbridged, held, joined, play finished...: our own doing, already known

    async def _on_offered(self, event: LegOffered) -> None:
        if event.leg in self._legs:
            return
        caller = self._agent_by_phone(event.caller)
        if caller is not None and event.dialled not in self._routes:
            await self._phone_dials_out(caller, event)
            return
        call = self._new_call(Direction.INBOUND, event.caller, event.dialled)
        leg = self._add_leg(call, event.leg, LegPurpose.CUSTOMER, event.caller)
        call.customer_leg = event.leg
        info = self._customers(event.caller) if self._customers is not None else None
        call.info = info
        call.customer_id = info.customer_id if info is not None else None
        self._touch(call, "created")
        queue_id = self._routes.get(event.dialled)
        if queue_id is None:
            log.info("call=%s no route for %s", call.call_id, event.dialled)
            await self._try(self._switch.hangup(event.leg, HangupCause.INVALID_NUMBER), "reject")
            await self._end_call(call, HangupCause.INVALID_NUMBER, "no-route")
            return
        if not await self._try(self._switch.answer(event.leg), "answer"):
            await self._end_call(call, HangupCause.FAILED, "answer-failed")
            return
        leg.status = LegStatus.UP
        leg.answered_at = self._now()
        self._touch_leg(leg)
        await self._enqueue(call, queue_id)

    def _agent_by_phone(self, phone: str) -> AgentSession | None:
        for session in self._agents.values():
            if session.phone == phone and session.agent.state is not AgentState.LOGGED_OUT:
                return session
        return None

    async def _on_answered(self, event: LegAnswered) -> None:
        leg = self._legs.get(event.leg)
        if leg is None or leg.ended:
            if event.leg.startswith(self._prefix) or leg is not None:
                await self._try(self._switch.hangup(event.leg), "hang up a stale leg")
            return
        if leg.up:
            return
        leg.status = LegStatus.UP
        leg.answered_at = self._now()
        self._touch_leg(leg)
        call = self._calls.get(leg.call_id)
        if call is None or call.ended:
            await self._drop(leg)
            return
        log.info("call=%s leg %s (%s) answered", call.call_id, leg.leg_id, leg.purpose.value)
        if leg.purpose is LegPurpose.OFFER:
            await self._offer_answered(call, leg)
        elif leg.purpose is LegPurpose.AGENT:
            await self._dial_agent_answered(call, leg)
        elif leg.purpose is LegPurpose.CUSTOMER:
            await self._dial_customer_answered(call, leg)
        elif leg.purpose is LegPurpose.CONSULT:
            await self._consult_answered(call, leg)
        elif leg.purpose is LegPurpose.SUPERVISOR:
            await self._supervisor_answered(call, leg)

    # --- queueing and routing ------------------------------------------------------

    async def _originate(
        self, call: Call, leg: Leg, *, caller_id: str, ring_timeout: float
    ) -> bool:
        """Dial a leg; a refusal ends it as failed (and applies the consequences).

        A leg to a number names the caller ID it presents and the trunk the switch says
        it goes out on (none named here: the switch's default, if it has one).
        """
        if leg.to_number:
            leg.caller_id = caller_id
        try:
            trunk = await self._switch.originate(
                leg.leg_id, leg.dest, caller_id=caller_id, ring_timeout=ring_timeout
            )
            if leg.to_number:
                leg.trunk = trunk  # the switch's default trunk for a number, if it has one
        except SwitchError as error:
            log.warning("call=%s originate %s refused: %s", call.call_id, leg.leg_id, error)
            await self._leg_ended(leg, HangupCause.FAILED)
            return False
        return True

    async def _enqueue(self, call: Call, queue_id: str, hops: int = 0) -> None:
        """Put the customer on music on hold in ``queue_id`` (or wherever it overflows)."""
        queue = self._queues[queue_id]
        now = self._now()
        if call.customer_leg is not None:
            await self._try(
                self._switch.play(call.customer_leg, self._music_on_hold, loop=True), "music"
            )
        info = call.info or CustomerInfo()
        last = info.last_agent_no or self._last_agent.get(call.caller)
        waiting = WaitingCall(
            call.call_id,
            entered_at=now,
            customer_id=info.customer_id,
            tier=info.tier,
            vip=info.vip,
            long_distance=info.long_distance,
            priority=info.priority,
            last_agent_id=last,
            owner_agent_id=info.owner_agent_no,
        )
        call.queue_id = queue_id
        call.state = CallState.QUEUED
        if call.queued_at is None:
            call.queued_at = now
        result = queue.enqueue(waiting, now)
        if isinstance(result, Enqueued):
            log.info("call=%s queued in %s at %d", call.call_id, queue_id, result.position)
            self._touch(call, "queued")
            if self._announce_every is not None:
                await self._announce(call)
        else:
            await self._overflow(call, result, hops)

    # --- position and wait announcements -------------------------------------------

    async def _announce(self, call: Call) -> None:
        """Tell a waiting caller how many are ahead and the expected wait, then music.

        The prompt is ``queue-position:<callers ahead>:<minutes>``; the media player
        speaks it ("您前面还有 … 位，预计等待 … 分钟"). Music resumes once it has played.
        """
        assert self._announce_every is not None
        if call.customer_leg is None or call.queue_id is None:
            return
        queue = self._queues[call.queue_id]
        if call.call_id not in queue:
            return
        now = self._now()
        serving = sum(
            1
            for s in self._agents.values()
            if s.agent.state is not AgentState.LOGGED_OUT and s.agent.in_group(
                queue.config.groups, now
            )
        )  # fmt: skip
        place = queue.position(call.call_id)
        wait = queue.estimated_wait(
            call.call_id, agents_serving=serving, average_handle_seconds=self._handle_seconds
        )
        minutes = "unknown" if wait is None else str(max(1, round(wait / 60)))
        call.announce_at = now + self._announce_every
        await self._try(self._switch.stop_play(call.customer_leg), "stop music")
        prompt = f"queue-position:{place - 1}:{minutes}"
        if await self._try(self._switch.play(call.customer_leg, prompt), "announce"):
            call.announcing = prompt
            log.info("call=%s announced %s", call.call_id, prompt)

    async def _play_finished(self, event: PlayFinished) -> None:
        leg = self._legs.get(event.leg)
        call = self._calls.get(leg.call_id) if leg is not None else None
        if call is None or call.announcing != event.prompt or call.customer_leg != event.leg:
            return
        call.announcing = None
        if call.state is CallState.QUEUED and not event.interrupted:
            await self._try(self._switch.play(event.leg, self._music_on_hold, loop=True), "music")

    async def _overflow(self, call: Call, overflowed: Overflowed, hops: int = 0) -> None:
        target = overflowed.target
        reason = overflowed.record.reason.value
        log.info("call=%s left queue %s: %s -> %s", call.call_id, call.queue_id, reason, target)
        if target is None or hops >= MAX_OVERFLOW_HOPS:
            await self._end_call(call, HangupCause.NORMAL, reason)
        elif target.kind is OverflowKind.QUEUE and target.target in self._queues:
            await self._enqueue(call, target.target, hops + 1)
        elif target.kind is OverflowKind.NUMBER and call.customer_leg is not None:
            await self._redirect_customer(call, target.target, f"overflow:{target.target}")
        else:
            await self._end_call(call, HangupCause.NORMAL, reason)

    async def _redirect_customer(self, call: Call, dest: str, reason: str) -> None:
        """Hand the customer to ``dest`` (blind transfer out); the call ends here."""
        leg = self._legs[call.customer_leg] if call.customer_leg is not None else None
        if leg is not None and not leg.ended:
            await self._try(self._switch.stop_play(leg.leg_id), "stop music")
            await self._try(self._switch.redirect(leg.leg_id, dest), "redirect")
            self._mark_ended(leg, HangupCause.NORMAL)
        await self._end_call(call, HangupCause.NORMAL, reason)

    async def _route(self) -> bool:
        if not any(len(queue) for queue in self._queues.values()):
            self._wait_until = None  # no call waits: the plan would be empty
            return False
        now = self._now()
        agents = {no: s.agent for no, s in self._agents.items()}
        plan = self._plan(list(self._queues.values()), list(agents.values()), now, self._rng)
        self._wait_until = plan.get_timer()
        failed = False
        for assignment in plan.assignments:
            queue = self._queues[assignment.queue_id]
            call = self._calls[assignment.call_id]
            apply_assignment(queue, agents, assignment, now)
            if call.offered_at is None:
                call.offered_at = now
            self._touch(call, "ringing")
            log.info(
                "call=%s offered to %s (%s)",
                call.call_id,
                ",".join(assignment.agent_ids),
                assignment.reason.value,
            )
            for agent_no in assignment.agent_ids:
                if not await self._ring_agent(call, agent_no, queue.config.ring_timeout):
                    failed = True
        return failed

    async def _ring_agent(self, call: Call, agent_no: str, ring_timeout: float) -> bool:
        """Ring the agent's phone for the call; False if the switch refused at once."""
        session = self._agents[agent_no]
        leg = self._add_leg(
            call, self._new_leg_id(call, "o"), LegPurpose.OFFER, session.phone, agent_no
        )
        call.offers[leg.leg_id] = agent_no
        return await self._originate(call, leg, caller_id=call.caller, ring_timeout=ring_timeout)

    async def _offer_answered(self, call: Call, leg: Leg) -> None:
        agent_no = leg.agent_no
        if call.offers.pop(leg.leg_id, None) is None or agent_no is None:
            await self._release(leg)
            return
        now = self._now()
        if call.state is CallState.QUEUED and call.queue_id is not None:
            queue = self._queues[call.queue_id]
            if call.call_id in queue:
                queue.remove_answered(call.call_id, now)
        call.state = CallState.CONNECTED
        leg.purpose = LegPurpose.AGENT
        call.agent_no = agent_no
        call.agent_leg = leg.leg_id
        call.agents.append(agent_no)
        call.missed.clear()
        self._agent_event(agent_no, CallAnswered(call.call_id))
        self._remember_agent(call.caller, agent_no)
        if call.answered_at is None:
            call.answered_at = now
        self._touch(call, "answered")
        for other in list(call.offers):
            await self._release(self._legs[other], HangupCause.CANCELLED)
        if call.customer_leg is None:
            return
        await self._try(self._switch.stop_play(call.customer_leg), "stop music")
        if call.held:
            await self._try(self._switch.resume(call.customer_leg), "resume")
            call.held = False
        if not await self._bridge(call, call.customer_leg, leg.leg_id):
            await self._drop(leg)

    async def _tick(self) -> None:
        now = self._now()
        for session in self._agents.values():
            session.agent.handle_timer(now)
        for queue in self._queues.values():
            for expired in queue.expire_offers(now):
                call = self._calls.get(expired.call_id)
                if call is None:
                    continue
                log.info("call=%s ring timeout for %s", call.call_id, ",".join(expired.offered_to))
                for leg_id in list(call.offers):
                    await self._drop(self._legs[leg_id], HangupCause.NO_ANSWER)
            for overflowed in queue.expire(now):
                call = self._calls.get(overflowed.call.call_id)
                if call is not None:
                    await self._overflow(call, overflowed)
        if self._announce_every is not None:
            for call in list(self._calls.values()):
                due = call.announce_at
                waiting = call.state is CallState.QUEUED and call.announcing is None
                if waiting and due is not None and due <= now:
                    await self._announce(call)

    # --- agents dialling out -----------------------------------------------------

    def _reserve_for_dial(self, agent: Agent, call: Call) -> None:
        """Put a READY or NOT_READY agent on their own outbound call.

        The domain offers calls to READY agents only: pass through READY, and make the
        earlier not-ready reason pending so the agent returns to it after the call.
        """
        now = self._now()
        reason = agent.not_ready_reason
        if agent.state is AgentState.NOT_READY:
            agent.handle(GoReady(), now)
        agent.handle(CallOffered(call.call_id), now)
        if reason is not None:
            agent.handle(GoNotReady(reason), now)

    async def _phone_dials_out(self, session: AgentSession, event: LegOffered) -> None:
        """An agent dialled a number from their phone: answer it, call the number."""
        agent = session.agent
        if agent.state not in (AgentState.READY, AgentState.NOT_READY):
            log.info("agent %s dialled %s while %s", session.agent_no, event.dialled, agent.state)
            await self._try(self._switch.hangup(event.leg, HangupCause.BUSY), "reject")
            return
        call = self._new_call(Direction.OUTBOUND, session.agent_no, event.dialled)
        call.dial_dest = event.dialled
        call.state = CallState.DIALLING
        self._reserve_for_dial(agent, call)
        leg = self._add_leg(call, event.leg, LegPurpose.AGENT, session.phone, session.agent_no)
        call.agent_no = session.agent_no
        call.agent_leg = event.leg
        self._touch(call, "created")
        if not await self._try(self._switch.answer(event.leg), "answer"):
            await self._end_call(call, HangupCause.FAILED, "answer-failed")
            return
        leg.status = LegStatus.UP
        leg.answered_at = self._now()
        await self._dial_agent_answered(call, leg)

    async def _dial_agent_answered(self, call: Call, leg: Leg) -> None:
        if call.state is not CallState.DIALLING or call.dial_dest is None:
            return
        self._agent_event(leg.agent_no, CallAnswered(call.call_id))
        if leg.agent_no is not None:
            call.agents.append(leg.agent_no)
        customer = self._add_leg(
            call, self._new_leg_id(call, "c"), LegPurpose.CUSTOMER, call.dial_dest
        )
        call.customer_leg = customer.leg_id
        self._touch(call, "ringing")
        await self._originate(
            call,
            customer,
            caller_id=self._outbound_caller_id,
            ring_timeout=self._dial_ring_timeout,
        )

    async def _dial_customer_answered(self, call: Call, leg: Leg) -> None:
        if call.state is not CallState.DIALLING or call.agent_leg is None:
            return
        call.state = CallState.CONNECTED
        call.answered_at = self._now()
        self._touch(call, "answered")
        if not await self._bridge(call, leg.leg_id, call.agent_leg):
            await self._end_call(call, HangupCause.FAILED, "bridge-failed")

    # --- flows the command classes complete -----------------------------------------

    async def _consult_answered(self, call: Call, leg: Leg) -> None:
        raise NotImplementedError

    async def _supervisor_answered(self, call: Call, leg: Leg) -> None:
        raise NotImplementedError

    # --- media topology -------------------------------------------------------------

    async def _to_conference(self, call: Call) -> ConferenceId | None:
        """Move a bridged call into a conference (kept until the call ends)."""
        if call.conference is not None:
            return call.conference
        if call.customer_leg is None:
            return None
        talker = call.agent_leg or call.party_leg
        conference = ConferenceId(f"{call.call_id}-conf")
        await self._unbridge(call)
        call.conference = conference
        await self._try(self._switch.join(conference, call.customer_leg, TalkListen()), "join")
        if talker is not None:
            await self._try(self._switch.join(conference, talker, TalkListen()), "join")
            call.parties[talker] = self._legs[talker].agent_no
        log.info("call=%s moved into conference %s", call.call_id, conference)
        self._touch(call)
        return conference

    def _role(self, call: Call, monitor: Monitor) -> Role:
        if monitor.mode is SupervisorMode.LISTEN:
            return ListenOnly()
        if monitor.mode is SupervisorMode.WHISPER and call.agent_leg is not None:
            return WhisperTo(call.agent_leg)
        if monitor.mode is SupervisorMode.WHISPER:
            return ListenOnly()
        return TalkListen()
