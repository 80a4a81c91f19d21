"""A campaign dialer's calls in flight (在途呼叫): what the engine reports of them.

Theory of operation
-------------------
:class:`Flights` is the part of :class:`~callcenter.app.dialer.runtime.CampaignDialer`
that follows each call it launched (:meth:`Flights._send`) or was told of
(:meth:`Flights.track`, a call placed for an agent) until the engine reports its end.

A call is *in flight* (:class:`Flight`) while it rings and, answered by a person, while
it waits for an agent: these are the calls the pacer counts. Once connected to an agent,
answered by a machine, or broadcast to, it is kept apart (no longer pacing-relevant)
until its end. From the engine's reports the dialer teaches the pacing model (ring times
by outcome, talk times), feeds the compliance ledger (AMD verdicts, the false positives
found, live answers and abandoned calls), frees the trunk's channel and tells the lead
source the outcome (:data:`LEAD_OUTCOME`) and every opt-out (one whose recording
failed is tried again before the next step takes leads). A call that a trunk refused
(503) or did not answer in its setup time is not an outcome: it goes back to be dialled
on the next trunk at the next step, unless it was placed for an agent (the agent hears
it fail).

An end may be reported before the engine returns the call's id (a call refused at
once): it is kept until the call is registered, then finished.

The class is a mixin over the dialer's own state, named by the :class:`_Dialer`
protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from callcenter.app.cti.outbound import (
    CampaignOutcome,
    DialAnswered,
    DialConnected,
    DialEnded,
    DialMachineWasPerson,
    DialOptedOut,
    DialRequest,
    DialRinging,
    OutboundEvent,
    OutboundFlows,
)
from callcenter.app.dialer.leads import LeadSource
from callcenter.app.dialer.settings import DialerSettings, DialingMode
from callcenter.domain.compliance import AmdResult, ComplianceLedger
from callcenter.domain.dialing_policy import Lead, Outcome
from callcenter.domain.pacing import CallPhase, PacingModel
from callcenter.domain.pacing import DialOutcome as Observed
from callcenter.domain.trunk_routing import TrunkRouter

__all__ = ["LEAD_OUTCOME", "Flight", "Flights"]

log = logging.getLogger(__name__)

LEAD_OUTCOME: Mapping[CampaignOutcome, Outcome] = {
    CampaignOutcome.CONNECTED: Outcome.ANSWERED,
    CampaignOutcome.DROPPED: Outcome.ABANDONED,
    CampaignOutcome.MACHINE: Outcome.MACHINE,
    CampaignOutcome.BUSY: Outcome.BUSY,
    CampaignOutcome.NO_ANSWER: Outcome.NO_ANSWER,
    CampaignOutcome.INVALID_NUMBER: Outcome.INVALID_NUMBER,
    CampaignOutcome.FAILED: Outcome.FAILED,
    CampaignOutcome.CONGESTION: Outcome.FAILED,
    CampaignOutcome.OPTED_OUT: Outcome.ANSWERED,
    CampaignOutcome.BROADCAST_HEARD: Outcome.ANSWERED,
}


@dataclass
class Flight:
    """One call of the campaign, from its dial to its end."""

    lead: Lead
    phase: CallPhase
    since: float
    trunk: str | None
    tried: tuple[str, ...] = ()
    rang_at: float | None = None  # when the network first answered the INVITE (ringing or progress)
    kept: bool = False  # reached the age it may be given up at, and kept ringing
    given_up: bool = False  # ended by the dialer after the legal ring time, unanswered
    timed_out: bool = False  # cancelled: the trunk did not answer in time
    for_agent: str | None = None  # placed for this agent (preview, callback): no failover


class _Dialer(Protocol):
    """What following the calls uses of the dialer."""

    engine: OutboundFlows
    settings: DialerSettings
    leads: LeadSource
    model: PacingModel
    trunks: TrunkRouter | None
    ledger: ComplianceLedger
    on_end: list[Callable[[DialEnded], None]]
    outcomes: Counter[CampaignOutcome]
    dials: int
    connects: int
    abandoned: int
    _flights: dict[str, Flight]
    _flights_done: dict[str, Flight]
    _redial: list[Flight]
    _ended: dict[str, DialEnded]
    _pending: set[asyncio.Future[None]]
    _ledger_version: int
    _task: asyncio.Task[None] | None
    _opt_outs: dict[str, float]  # lead -> when it opted out, until the lead source has it
    _opt_out_lock: asyncio.Lock

    def _save_later(self) -> None: ...
    async def _record_opt_outs(self) -> None: ...
    def _answered(self, event: DialAnswered) -> None: ...
    def _finish(self, event: DialEnded, flight: Flight) -> None: ...
    def _later(self, work: Any) -> None: ...


class Flights:
    """The calls in flight and the engine's reports of them (mixed into the dialer)."""

    def track(
        self: _Dialer,
        call_id: str,
        lead: Lead,
        now: float,
        *,
        trunk: str | None = None,
        agent_no: str | None = None,
    ) -> None:
        """Report the outcome of a call placed for the campaign elsewhere (preview)."""
        flight = Flight(lead, CallPhase.RINGING, now, trunk, for_agent=agent_no)
        ended = self._ended.pop(call_id, None)
        if ended is None:
            self._flights_done[call_id] = flight
        else:
            self._finish(ended, flight)

    async def _send(self: _Dialer, batch: list[tuple[Flight, DialRequest]]) -> int:
        """Dial the prepared calls in one engine step."""
        if not batch:
            return 0
        self.dials += len(batch)
        call_ids = await self.engine.dial_leads([request for _, request in batch])
        for (flight, _), call_id in zip(batch, call_ids, strict=True):
            ended = self._ended.pop(call_id, None)
            if ended is None:
                self._flights[call_id] = flight
            else:
                self._finish(ended, flight)
        return len(batch)

    def _on_event(self: _Dialer, event: OutboundEvent) -> None:
        if isinstance(event, DialRinging):
            flight = self._flights.get(event.call_id)
            if flight is not None and flight.rang_at is None:
                flight.rang_at = event.at
        elif isinstance(event, DialAnswered):
            self._answered(event)
        elif isinstance(event, DialConnected):
            flight = self._flights.pop(event.call_id, None)
            if flight is not None:
                self._flights_done[event.call_id] = flight
            self.connects += 1
        elif isinstance(event, DialOptedOut):
            self._opt_outs[event.lead_id] = event.at
            self._later(self._record_opt_outs())
        elif isinstance(event, DialMachineWasPerson):
            self.ledger.record_amd_false_positive(event.answered_at, call_id=event.call_id)
            self._ledger_version += 1
        elif isinstance(event, DialEnded):
            flight = self._flights.pop(event.call_id, None)
            if flight is None:
                flight = self._flights_done.pop(event.call_id, None)
            if flight is None:
                self._ended[event.call_id] = event  # ended inside dial_lead itself
                return
            self._finish(event, flight)

    async def _record_opt_outs(self: _Dialer) -> None:
        """Tell the lead source of every opt-out not yet recorded (one writer at a time).

        An opt-out whose recording failed stays to be recorded again, at the latest by
        the next step before it takes leads: a person's "do not call me" is never lost.
        """
        async with self._opt_out_lock:
            for lead_id, at in list(self._opt_outs.items()):
                try:
                    await self.leads.opt_out(lead_id, at)
                except Exception:
                    log.exception("lead %s opt-out not recorded; tried again", lead_id)
                else:
                    del self._opt_outs[lead_id]

    def _answered(self: _Dialer, event: DialAnswered) -> None:
        flight = self._flights.get(event.call_id)
        if flight is None:
            return
        if event.amd is not None:
            self.ledger.record_amd(AmdResult(event.amd), event.at)
            self._ledger_version += 1
        self.model.observe_dial(
            Observed.HUMAN if event.human else Observed.MACHINE, event.at - flight.since
        )
        if event.human and self.settings.mode is not DialingMode.BROADCAST:
            flight.phase = CallPhase.WAITING
            flight.since = event.at
        else:
            self._flights.pop(event.call_id, None)
            self._flights_done[event.call_id] = flight

    def _finish(self: _Dialer, event: DialEnded, flight: Flight) -> None:
        self.outcomes[event.outcome] += 1
        if self.trunks is not None and event.trunk is not None:
            self.trunks.release(event.trunk)
        if event.answered_at is None:
            congested = event.outcome is CampaignOutcome.CONGESTION
            failover = flight.for_agent is None and event.trunk is not None
            if (congested or flight.timed_out) and failover:
                self._redial.append(flight)  # fail over to the next trunk
                return
            rang = event.at - flight.since
            observed = (
                Observed.NO_ANSWER
                if event.outcome is CampaignOutcome.NO_ANSWER
                else (Observed.FAILED)
            )
            if not flight.given_up:  # censored: it might have been answered later
                self.model.observe_dial(observed, rang)
        if event.connected_at is not None:
            self.model.observe_talk(event.at - event.connected_at)
        human = event.outcome in (CampaignOutcome.CONNECTED, CampaignOutcome.DROPPED)
        broadcast = self.settings.mode is DialingMode.BROADCAST
        if human and event.answered_at is not None and not broadcast:
            abandoned = self.ledger.record_live_answer(
                event.answered_at,
                event.connected_at,
                safe_harbour_played=event.safe_harbour_played,
                call_id=event.call_id,
            )
            self.abandoned += int(abandoned)
            self._ledger_version += 1
        for callback in self.on_end:
            callback(event)
        if self._task is None:  # stopped: no step writes what its last calls counted
            self._save_later()
        self._later(self.leads.record_outcome(event.lead_id, LEAD_OUTCOME[event.outcome], event.at))

    def _later(self: _Dialer, work: Any) -> None:
        """Lead-source updates from an engine callback run as a task (they may await)."""
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
