"""Outbound campaign calls in the CTI core (外呼任务呼叫).

Theory of operation
-------------------
A campaign is opened on the engine with :meth:`OutboundFlows.open_campaign`: its
settings (:class:`CampaignSetup`) and a listener that receives what happens to each of
its calls (:class:`DialAnswered`, :class:`DialConnected`, :class:`DialOptedOut`,
:class:`DialEnded`). Opening adds a queue ``campaign:<id>`` served by the campaign's
agent groups, whose maximum wait is the drop timeout.

A dialled call (:meth:`OutboundFlows.dial_lead`) is a customer leg originated with the
campaign's caller ID, trunk, ring time and answering-machine detection. Then:

* not answered: busy, no answer, failed, congestion; the call ends and the listener
  hears the outcome (the dialer retries, or fails over to another trunk on congestion);
* answered, AMD says machine: hang up, or play the campaign's message and hang up; a
  key pressed during that message shows a person, not a machine, answered: the
  listener hears :class:`DialMachineWasPerson` (an AMD false positive, which the UK
  rule counts as an abandoned call);
* answered by a person (AMD human or unsure, or AMD off): the call joins the campaign's
  queue and the ACD connects it to a ready agent at once (agents' phones answer
  automatically: nothing rings long). Connected, it is an ordinary call: transfers,
  monitoring, wrap-up all apply (an agent's phone rings no longer than the drop timeout
  leaves). Not connected within the drop timeout, the queue lets it go: the person
  hears the safe-harbour message (the seller and a number to call back), the call
  ends, and it is *dropped* (abandoned): the queue's abandoned-call log records it and
  the dialer's compliance ledger counts it;
* IVR broadcast: a person hears the message; key 1 joins the queue (waiting up to the
  broadcast's agent wait, then hearing the safe-harbour message), key 9 opts out at once
  (the listener is told before the confirmation plays), nothing pressed ends the call
  after the message.

Preview calls and callbacks to their agent (:meth:`OutboundFlows.dial_for_agent`) are
the agent's own outbound call (the agent's phone first, then the customer) with the
outcome reported the same way; the customer's leg presents the caller ID and takes the
trunk the dialer chose for it (the campaign's pool and least-cost routing), not the
engine's platform-wide caller ID.

Every call of a campaign, dialled or placed for an agent, names its campaign and lead
from its first call record on (``Call.campaign_id``, ``Call.lead_id``): the call view
and the stored call records carry them.

The outcome of every call is decided once, when it ends, from what the core saw.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from callcenter.app.cti.desk import AgentCommands
from callcenter.app.cti.engine import CtiEngine
from callcenter.app.cti.model import Call, CallState, Direction, Leg, LegPurpose, LegStatus
from callcenter.domain.agent import Agent, AgentState
from callcenter.domain.errors import DomainError
from callcenter.domain.queue import CallQueue, Overflowed, QueueConfig
from callcenter.switch.ports import (
    DigitsReceived,
    HangupCause,
    LegAnswered,
    LegBridged,
    LegHeld,
    LegHungUp,
    LegJoinedConference,
    LegLeftConference,
    LegProgressed,
    LegResumed,
    LegRinging,
    LegUnbridged,
    PlayFinished,
    RecordingFinished,
    RecordingStarted,
    SwitchError,
    SwitchEvent,
)

log = logging.getLogger(__name__)

QUEUE_PREFIX: Final = "campaign:"
MIN_OFFER_RING: Final = 0.2  # seconds an agent's phone rings at least for a campaign call

_QUIET: Final = (
    LegRinging,
    LegProgressed,
    LegBridged,
    LegUnbridged,
    LegHeld,
    LegResumed,
    LegJoinedConference,
    LegLeftConference,
    RecordingStarted,
    RecordingFinished,
    PlayFinished,
)
"""Events that report the core's own doing: when handling one changed nothing, the
step needs no routing and publishes nothing (a dialer makes many of them)."""


class UnknownCampaign(DomainError):
    code = "campaign-not-open"
    status = 404
    message_zh = "外呼任务 {campaign_id} 未在呼叫引擎上运行"
    message_en = "Campaign {campaign_id} is not open on the call engine"


class MachineAction(enum.Enum):
    HANG_UP = "hang-up"
    LEAVE_MESSAGE = "leave-message"


@dataclass(frozen=True)
class Broadcast:
    """IVR broadcast (语音群呼): the message, and what the keys do."""

    prompt: str
    agent_key: str = "1"
    opt_out_key: str = "9"
    opt_out_prompt: str = "opted-out"
    key_timeout: float = 10.0  # seconds to press a key once the message starts
    agent_wait: float = 60.0  # seconds someone who pressed for an agent may wait


@dataclass(frozen=True)
class CampaignSetup:
    """What the engine needs to know about a campaign to run its calls."""

    campaign_id: str
    groups: frozenset[str]
    safe_harbour_prompt: str
    drop_timeout: float = 2.0
    machine_action: MachineAction = MachineAction.HANG_UP
    machine_prompt: str | None = None
    broadcast: Broadcast | None = None
    agent_ring_timeout: float = 10.0

    @property
    def queue_id(self) -> str:
        return QUEUE_PREFIX + self.campaign_id


class CampaignOutcome(enum.Enum):
    """How a campaign call ended, as the dialer and the lead's retry rules see it."""

    CONNECTED = "connected"  # talked with an agent
    DROPPED = "dropped"  # a person answered, no agent in time (abandoned)
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    INVALID_NUMBER = "invalid-number"  # the number does not exist (404, 484): never again
    FAILED = "failed"  # rejected or another failure
    CONGESTION = "congestion"  # the trunk or network refused (503): another trunk may do
    OPTED_OUT = "opted-out"  # pressed the opt-out key in a broadcast
    BROADCAST_HEARD = "broadcast-heard"  # heard the broadcast, no agent asked for


_UNANSWERED: Final = {
    HangupCause.BUSY: CampaignOutcome.BUSY,
    HangupCause.INVALID_NUMBER: CampaignOutcome.INVALID_NUMBER,
    HangupCause.NO_ANSWER: CampaignOutcome.NO_ANSWER,
    HangupCause.CONGESTION: CampaignOutcome.CONGESTION,
    HangupCause.CANCELLED: CampaignOutcome.NO_ANSWER,
}


@dataclass(frozen=True)
class DialRequest:
    """One lead to dial for a campaign."""

    campaign_id: str
    lead_id: str
    number: str
    caller_id: str
    trunk: str | None = None
    ring_timeout: float = 30.0
    amd: bool = False


@dataclass(frozen=True)
class DialRinging:
    call_id: str
    at: float


@dataclass(frozen=True)
class DialAnswered:
    call_id: str
    at: float
    human: bool
    amd: str | None


@dataclass(frozen=True)
class DialConnected:
    call_id: str
    at: float
    answered_at: float
    agent_no: str


@dataclass(frozen=True)
class DialOptedOut:
    call_id: str
    lead_id: str
    at: float


@dataclass(frozen=True)
class DialEnded:
    call_id: str
    lead_id: str
    outcome: CampaignOutcome
    dialled_at: float
    at: float
    answered_at: float | None
    connected_at: float | None
    safe_harbour_played: bool
    trunk: str | None
    agent_no: str | None
    amd: str | None


@dataclass(frozen=True)
class DialMachineWasPerson:
    """A call AMD took for a machine was a person: they pressed a key at the message."""

    call_id: str
    answered_at: float
    at: float


OutboundEvent = (
    DialRinging | DialAnswered | DialConnected | DialOptedOut | DialEnded | DialMachineWasPerson
)
Listener = Callable[[OutboundEvent], None]


@dataclass
class _CampaignCall:
    setup: CampaignSetup
    lead_id: str
    dialled_at: float
    trunk: str | None
    preview: bool = False
    caller_id: str | None = None  # a preview call's customer leg presents this
    answered_at: float | None = None
    connected_at: float | None = None
    agent_no: str | None = None
    amd: str | None = None
    machine: bool = False
    person_found: bool = False  # a key pressed on a machine-verdict call
    playing: str | None = None  # the prompt whose end ends the call
    harbour: bool = False
    harbour_played: bool = False
    opted_out: bool = False
    heard: bool = False


@dataclass
class _Campaign:
    setup: CampaignSetup
    listener: Listener
    calls: set[str] = field(default_factory=set)


class OutboundFlows(AgentCommands):
    """Campaign calls on the engine; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._campaigns: dict[str, _Campaign] = {}
        self._campaign_calls: dict[str, _CampaignCall] = {}
        self._quiet_step = False
        self._placing: tuple[str, str] | None = None  # (campaign, lead) of a call for an agent

    # --- campaigns ------------------------------------------------------------------

    async def open_campaign(self, setup: CampaignSetup, listener: Listener) -> None:
        """Run ``setup``'s calls here and tell ``listener`` what becomes of them."""
        async with self._lock:
            wait = setup.broadcast.agent_wait if setup.broadcast else setup.drop_timeout
            config = QueueConfig(
                queue_id=setup.queue_id,
                groups=setup.groups,
                max_wait=wait,
                ring_timeout=setup.agent_ring_timeout,
            )
            queue = self._queues.get(setup.queue_id)
            if queue is None:
                self._queues[setup.queue_id] = CallQueue(config)
            else:
                queue.config = config
            self._campaigns[setup.campaign_id] = _Campaign(setup, listener)
            log.info("campaign %s opened (queue %s)", setup.campaign_id, setup.queue_id)

    def campaign_agents(self, groups: frozenset[str]) -> list[Agent]:
        """The logged-in agents of ``groups`` (for the dialer's view of the floor)."""
        now = self._now()
        return [
            s.agent
            for s in self._agents.values()
            if s.agent.state is not AgentState.LOGGED_OUT and s.agent.in_group(groups, now)
        ]

    # --- dialling -------------------------------------------------------------------

    async def dial_lead(self, request: DialRequest) -> str:
        """Dial a lead for its campaign; returns the call id (its end is reported)."""
        return (await self.dial_leads([request]))[0]

    async def dial_leads(self, requests: Sequence[DialRequest]) -> list[str]:
        """Dial several leads in one step; returns their call ids, in order."""
        async with self._lock:
            try:
                return [await self._dial_lead(request) for request in requests]
            finally:
                await self._commit()

    def _campaign(self, campaign_id: str) -> _Campaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise UnknownCampaign(campaign_id=campaign_id)
        return campaign

    async def _dial_lead(self, request: DialRequest) -> str:
        campaign = self._campaign(request.campaign_id)
        call = self._new_call(Direction.OUTBOUND, request.caller_id, request.number)
        call.dial_dest = request.number
        call.state = CallState.DIALLING
        call.campaign_id, call.lead_id = request.campaign_id, request.lead_id
        self._campaign_calls[call.call_id] = _CampaignCall(
            campaign.setup, request.lead_id, self._now(), request.trunk
        )
        campaign.calls.add(call.call_id)
        leg = self._add_leg(call, self._new_leg_id(call, "c"), LegPurpose.CUSTOMER, request.number)
        call.customer_leg = leg.leg_id
        leg.caller_id = request.caller_id
        leg.trunk = request.trunk
        self._touch(call, "created")
        try:
            carried = await self._switch.originate(
                leg.leg_id,
                request.number,
                caller_id=request.caller_id,
                trunk=request.trunk,
                ring_timeout=request.ring_timeout,
                amd=request.amd,
            )
        except SwitchError as error:
            log.warning("call=%s originate refused: %s", call.call_id, error)
            await self._leg_ended(leg, HangupCause.FAILED)
        else:
            leg.trunk = carried or request.trunk  # the switch's word, else the one named
        return call.call_id

    async def cancel_call(self, call_id: str) -> None:
        """Give up a campaign call (a trunk that never answered): its end is reported."""
        async with self._lock:
            try:
                call = self._calls.get(call_id)
                if call is not None and not call.ended:
                    await self._end_call(call, HangupCause.CANCELLED, "cancelled")
            finally:
                await self._commit()

    async def give_up_call(self, call_id: str) -> bool:
        """End a campaign call that is still ringing (nobody answered): a call given up
        after the legal ring time is not an abandoned call. False when it has ended or
        been answered meanwhile (then it goes on)."""
        async with self._lock:
            try:
                call = self._calls.get(call_id)
                record = self._campaign_calls.get(call_id)
                if call is None or call.ended or record is None or record.answered_at is not None:
                    return False
                await self._end_call(call, HangupCause.CANCELLED, "given-up")
                return True
            finally:
                await self._commit()

    async def dial_for_agent(
        self,
        campaign_id: str,
        lead_id: str,
        agent_no: str,
        number: str,
        *,
        caller_id: str | None = None,
        trunk: str | None = None,
    ) -> str:
        """A preview call: the agent's phone, then the lead; the outcome is reported.

        The lead's leg presents ``caller_id`` (None: the engine's own) on ``trunk``.
        """
        campaign = self._campaign(campaign_id)
        async with self._lock:
            try:
                self._placing = (campaign_id, lead_id)
                try:
                    call_id = await self._dial(agent_no, number)
                finally:
                    self._placing = None
                record = _CampaignCall(
                    campaign.setup, lead_id, self._now(), trunk, preview=True, caller_id=caller_id
                )
                self._campaign_calls[call_id] = record
                campaign.calls.add(call_id)
                call = self._calls.get(call_id)
                if call is None or call.ended:
                    self._report_end(call_id, record, CampaignOutcome.FAILED)
                return call_id
            finally:
                await self._commit()

    def _new_call(self, direction: Direction, caller: str, dialled: str) -> Call:
        """A call placed for an agent names its campaign and lead from its first record."""
        call = super()._new_call(direction, caller, dialled)
        if self._placing is not None:  # once: the next call created is not this lead's
            (call.campaign_id, call.lead_id), self._placing = self._placing, None
        return call

    async def _originate(
        self, call: Call, leg: Leg, *, caller_id: str, ring_timeout: float
    ) -> bool:
        """A preview call's customer leg goes out with the dialer's caller ID and trunk."""
        record = self._campaign_calls.get(call.call_id)
        if record is None or not record.preview or leg.purpose is not LegPurpose.CUSTOMER:
            return await super()._originate(
                call, leg, caller_id=caller_id, ring_timeout=ring_timeout
            )
        leg.caller_id = record.caller_id or caller_id
        leg.trunk = record.trunk
        try:
            carried = await self._switch.originate(
                leg.leg_id,
                leg.dest,
                caller_id=leg.caller_id,
                trunk=record.trunk,
                ring_timeout=ring_timeout,
            )
        except SwitchError as error:
            log.warning("call=%s originate %s refused: %s", call.call_id, leg.leg_id, error)
            await self._leg_ended(leg, HangupCause.FAILED)
            return False
        leg.trunk = carried or record.trunk  # the switch's word, else the one named
        return True

    # --- events ---------------------------------------------------------------------

    async def _dispatch(self, event: SwitchEvent) -> None:
        self._quiet_step = isinstance(event, _QUIET) or (
            isinstance(event, LegHungUp)
            and (event.leg not in self._legs or self._legs[event.leg].ended)
        )
        if self._campaign_calls and await self._campaign_event(event):
            return
        await super()._dispatch(event)

    async def _commit(self) -> None:
        quiet, self._quiet_step = self._quiet_step, False
        if (
            quiet
            and not (self._dirty_calls or self._dirty_legs or self._dirty_agents)
            and not any(s.agent.records for s in self._agents.values())
        ):
            return  # nothing changed: the last routing and publication still hold
        await super()._commit()

    async def _campaign_event(self, event: SwitchEvent) -> bool:
        """Handle an event of a campaign call; False leaves it to the inbound flows."""
        if not isinstance(
            event, LegAnswered | LegRinging | LegProgressed | PlayFinished | DigitsReceived
        ):
            return False
        leg = self._legs.get(event.leg)
        if leg is None or leg.ended:
            return False
        record = self._campaign_calls.get(leg.call_id)
        call = self._calls.get(leg.call_id)
        if record is None or call is None or call.ended or leg.leg_id != call.customer_leg:
            return False
        if isinstance(event, LegRinging | LegProgressed):
            self._notify(record, DialRinging(call.call_id, event.at))
            return False
        if record.preview:
            if isinstance(event, LegAnswered) and record.answered_at is None:
                record.answered_at = self._now()
            return False
        if isinstance(event, LegAnswered):
            if not leg.up:
                await self._campaign_answered(call, record, event.amd)
            return True
        if isinstance(event, PlayFinished):
            return await self._campaign_play_finished(call, record, event)
        if isinstance(event, DigitsReceived):
            if record.machine:
                self._machine_was_person(call, record)
                return True
            await self._broadcast_key(call, record, event)
            return True
        return False

    async def _campaign_answered(self, call: Call, record: _CampaignCall, amd: str | None) -> None:
        now = self._now()
        assert call.customer_leg is not None
        leg = self._legs[call.customer_leg]
        leg.status = LegStatus.UP
        leg.answered_at = now
        self._touch_leg(leg)
        call.answered_at = now
        record.answered_at = now
        record.amd = amd
        record.machine = amd == "machine"
        self._touch(call, "answered")
        self._notify(record, DialAnswered(call.call_id, now, not record.machine, amd))
        setup = record.setup
        log.info("call=%s answered (amd %s)", call.call_id, amd)
        if record.machine:
            prompt = setup.machine_prompt
            if setup.machine_action is MachineAction.LEAVE_MESSAGE and prompt:
                await self._play_then_end(call, record, prompt)
            else:
                await self._end_call(call, HangupCause.NORMAL, "machine")
            return
        if setup.broadcast is not None:
            await self._start_broadcast(call, setup.broadcast)
            return
        await self._enqueue(call, setup.queue_id)

    def _machine_was_person(self, call: Call, record: _CampaignCall) -> None:
        if record.person_found or record.answered_at is None:
            return
        record.person_found = True
        log.info("call=%s AMD said machine; a key was pressed: a person", call.call_id)
        self._notify(record, DialMachineWasPerson(call.call_id, record.answered_at, self._now()))

    async def _play_then_end(self, call: Call, record: _CampaignCall, prompt: str) -> None:
        assert call.customer_leg is not None
        await self._try(self._switch.stop_play(call.customer_leg), "stop music")
        if await self._try(self._switch.play(call.customer_leg, prompt), "play"):
            record.playing = prompt
        else:
            await self._end_call(call, HangupCause.NORMAL, "prompt-failed")

    async def _campaign_play_finished(
        self, call: Call, record: _CampaignCall, event: PlayFinished
    ) -> bool:
        if record.playing != event.prompt:
            return record.setup.broadcast is not None  # the broadcast message itself
        record.playing = None
        if record.harbour:
            record.harbour_played = not event.interrupted
        await self._end_call(call, HangupCause.NORMAL, "prompt-played")
        return True

    # --- IVR broadcast --------------------------------------------------------------

    async def _start_broadcast(self, call: Call, broadcast: Broadcast) -> None:
        assert call.customer_leg is not None
        keys = broadcast.agent_key + broadcast.opt_out_key
        await self._try(
            self._switch.play(call.customer_leg, broadcast.prompt, barge_in_digits=keys),
            "broadcast",
        )
        if not await self._try(
            self._switch.collect(call.customer_leg, max_digits=1, timeout=broadcast.key_timeout),
            "collect",
        ):
            await self._end_call(call, HangupCause.NORMAL, "collect-failed")

    async def _broadcast_key(
        self, call: Call, record: _CampaignCall, event: DigitsReceived
    ) -> None:
        broadcast = record.setup.broadcast
        if broadcast is None or call.state is not CallState.DIALLING:
            return
        assert call.customer_leg is not None
        if event.digits == broadcast.opt_out_key:
            record.opted_out = True
            log.info("call=%s lead %s opted out", call.call_id, record.lead_id)
            self._notify(record, DialOptedOut(call.call_id, record.lead_id, self._now()))
            await self._play_then_end(call, record, broadcast.opt_out_prompt)
        elif event.digits == broadcast.agent_key:
            await self._try(self._switch.stop_play(call.customer_leg), "stop broadcast")
            await self._enqueue(call, record.setup.queue_id)
        else:
            record.heard = True
            await self._end_call(call, HangupCause.NORMAL, "broadcast-heard")

    # --- the drop timeout -----------------------------------------------------------

    async def _ring_agent(self, call: Call, agent_no: str, ring_timeout: float) -> bool:
        """A dialled person's offer rings no longer than their drop timeout leaves: an
        agent's phone slow to answer must not keep them waiting on without the
        safe-harbour message (the queue's maximum wait does not run while one rings)."""
        record = self._campaign_calls.get(call.call_id)
        if (
            record is not None
            and not record.preview
            and record.setup.broadcast is None
            and record.answered_at is not None
        ):
            left = record.answered_at + record.setup.drop_timeout - self._now()
            ring_timeout = min(ring_timeout, max(left, MIN_OFFER_RING))
        return await super()._ring_agent(call, agent_no, ring_timeout)

    async def _route(self) -> bool:
        """Dialled people past their drop timeout hear the safe-harbour message before the
        ACD may offer them again (an offer cut at the timeout puts them back in line)."""
        now = self._now()
        for campaign in self._campaigns.values():
            queue = self._queues.get(campaign.setup.queue_id)
            if queue is None or campaign.setup.broadcast is not None or not len(queue):
                continue
            for overflowed in queue.expire(now):
                call = self._calls.get(overflowed.call.call_id)
                if call is not None:
                    await self._overflow(call, overflowed)
        return await super()._route()

    async def _overflow(self, call: Call, overflowed: Overflowed, hops: int = 0) -> None:
        record = self._campaign_calls.get(call.call_id)
        if record is None or record.preview:
            await super()._overflow(call, overflowed, hops)
            return
        if record.setup.broadcast is None:
            log.info(
                "call=%s no agent within %.1f s: safe harbour",
                call.call_id,
                overflowed.record.waited,
            )
        else:  # asked for an agent at the broadcast; none came in its agent wait
            log.info("call=%s no agent for the broadcast: safe harbour", call.call_id)
        record.harbour = True
        await self._play_then_end(call, record, record.setup.safe_harbour_prompt)

    async def _offer_answered(self, call: Call, leg: Leg) -> None:
        await super()._offer_answered(call, leg)
        record = self._campaign_calls.get(call.call_id)
        if record is None or call.state is not CallState.CONNECTED:
            return
        if record.connected_at is None and call.agent_no is not None:
            record.connected_at = self._now()
            record.agent_no = call.agent_no
            answered = record.answered_at if record.answered_at is not None else self._now()
            self._notify(record, DialConnected(call.call_id, self._now(), answered, call.agent_no))

    async def _dial_customer_answered(self, call: Call, leg: Leg) -> None:
        await super()._dial_customer_answered(call, leg)
        record = self._campaign_calls.get(call.call_id)
        if record is not None and call.state is CallState.CONNECTED and call.agent_no:
            record.connected_at = self._now()
            record.agent_no = call.agent_no
            answered = record.answered_at if record.answered_at is not None else self._now()
            self._notify(record, DialConnected(call.call_id, self._now(), answered, call.agent_no))

    # --- the end --------------------------------------------------------------------

    async def _end_call(self, call: Call, cause: HangupCause, reason: str) -> None:
        record = self._campaign_calls.get(call.call_id)
        if record is None or call.ended:
            await super()._end_call(call, cause, reason)
            return
        outcome = self._outcome(call, record)
        await super()._end_call(call, cause, reason)
        self._report_end(call.call_id, record, outcome)

    def _outcome(self, call: Call, record: _CampaignCall) -> CampaignOutcome:
        if record.opted_out:
            return CampaignOutcome.OPTED_OUT
        if record.connected_at is not None:
            return CampaignOutcome.CONNECTED
        if record.machine:
            return CampaignOutcome.MACHINE
        if record.answered_at is not None:
            if record.setup.broadcast is not None and not record.preview:
                return CampaignOutcome.BROADCAST_HEARD
            return CampaignOutcome.DROPPED
        customer = self._legs.get(call.customer_leg) if call.customer_leg else None
        cause = customer.cause if customer is not None else None
        if cause is None:
            return CampaignOutcome.NO_ANSWER  # ended by us before the network answered
        return _UNANSWERED.get(cause, CampaignOutcome.FAILED)

    def _report_end(self, call_id: str, record: _CampaignCall, outcome: CampaignOutcome) -> None:
        self._campaign_calls.pop(call_id, None)
        campaign = self._campaigns.get(record.setup.campaign_id)
        if campaign is not None:
            campaign.calls.discard(call_id)
        harbour = record.harbour_played or (record.harbour and record.playing is not None)
        log.info("call=%s lead %s: %s", call_id, record.lead_id, outcome.value)
        self._notify(
            record,
            DialEnded(
                call_id,
                record.lead_id,
                outcome,
                record.dialled_at,
                self._now(),
                record.answered_at,
                record.connected_at,
                harbour,
                record.trunk,
                record.agent_no,
                record.amd,
            ),
        )

    def _notify(self, record: _CampaignCall, event: OutboundEvent) -> None:
        campaign = self._campaigns.get(record.setup.campaign_id)
        if campaign is None:
            return
        try:
            campaign.listener(event)
        except Exception:
            log.exception("campaign %s listener failed", record.setup.campaign_id)

    def campaign_calls(self, campaign_id: str) -> Sequence[str]:
        """The ids of the campaign's calls not ended yet."""
        campaign = self._campaigns.get(campaign_id)
        return sorted(campaign.calls) if campaign is not None else []


class CampaignEngine(OutboundFlows, CtiEngine):
    """The CTI engine with campaign calls: what a platform that dials runs."""
