"""From a taken lead to a call (线索外呼): the pre-dial policy, callbacks, the route.

Theory of operation
-------------------
:class:`Placing` is the part of :class:`~callcenter.app.dialer.runtime.CampaignDialer`
that turns a lead taken from the lead source into a call, or sends it back with its
reason (counted in ``not_dialled``).

1. :meth:`Placing.admit` applies the pre-dial policy
   (:func:`~callcenter.domain.dialing_policy.may_dial`). A due callback scheduled to
   its agent is placed for that agent as soon as they are ready, waits for them
   (``callback-agent-not-ready``) for ``callback_agent_wait`` seconds past its time
   (or past the opening of the calling window, when it was booked outside one), then
   goes to anyone of the campaign.
2. :meth:`Placing._route` is the one route choice of every call, the dialer's own and
   those placed for an agent: the pool's least-used caller ID under its daily cap, a
   number's calls counted across every campaign
   (:func:`~callcenter.domain.dialing_policy.choose_caller_id` over the shared count,
   :class:`~callcenter.app.dialer.caller_id_days.CampaignCallerIds`), then the cheapest
   trunk with room that the call has not tried yet (least-cost routing; the trunk's
   channel is taken). It gives a :class:`Route`, or a :class:`Refusal` naming the
   reason (``caller-id-cap``, ``no-trunk:<why>``) and when to try again.
3. The dialer's own call (:meth:`Placing._prepare`) joins the step's batch, its caller
   ID counted at once; refused, the lead goes back until the refusal's time or, when it
   was failing over to another trunk, its attempt ends as failed (when the trunks left
   are only full for now, it fails over again at the next step). A call for an agent
   (:meth:`Placing.place_for_agent`: an accepted preview, a callback) is dialled at
   once, agent's phone first, its caller ID held in every campaign's count while the
   engine sets the call up and counted once placed; refused, it raises
   :class:`NoRoute` and the lead stays with the caller.

The class is a mixin over the dialer's own state, named by the :class:`_Dialer`
protocol.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from callcenter.app.cti.outbound import DialRequest, OutboundFlows
from callcenter.app.dialer.caller_id_days import CampaignCallerIds
from callcenter.app.dialer.flights import Flight
from callcenter.app.dialer.leads import LeadSource
from callcenter.app.dialer.settings import DialerSettings
from callcenter.domain.agent import Agent, AgentState
from callcenter.domain.dialing_policy import (
    Decision,
    Lead,
    Outcome,
    Reason,
    choose_caller_id,
    may_dial,
)
from callcenter.domain.errors import DomainError
from callcenter.domain.pacing import CallPhase
from callcenter.domain.trunk_routing import NoTrunk, NoTrunkReason, NumberInfo, Trunk, TrunkRouter

__all__ = [
    "CALLBACK_AGENT_NOT_READY",
    "CALLER_ID_CAP",
    "MEMBERS_REFRESH",
    "NO_TRUNK",
    "NoRoute",
    "Placing",
    "Refusal",
    "Route",
]

log = logging.getLogger(__name__)

MEMBERS_REFRESH = 5.0  # seconds between look-ups of the campaign's agents
NO_TRUNK = "no-trunk"
CALLER_ID_CAP = Reason.CALLER_ID_CAP.value
CALLBACK_AGENT_NOT_READY = "callback-agent-not-ready"
TRUNKS_FULL = frozenset(
    f"{NO_TRUNK}:{reason.value}" for reason in (NoTrunkReason.CHANNELS, NoTrunkReason.CPS)
)  # refusals a call failing over waits out: the trunks left have room again soon


class NoRoute(DomainError):
    """A call for an agent could not be placed: no caller ID left today, or no trunk."""

    code = "no-route"
    status = 409
    message_zh = "外呼任务 {campaign_id} 现在无法外呼：{reason}"
    message_en = "Campaign {campaign_id} cannot place the call now: {reason}"


@dataclass(frozen=True)
class Route:
    """How a call goes out: the caller ID it presents and its trunk (whose channel is
    taken; None: the dialer has no router and the engine's default trunk carries it)."""

    caller_id: str
    trunk: str | None


@dataclass(frozen=True)
class Refusal:
    """Why no call can go out now (a reason of ``not_dialled``) and when to try again."""

    reason: str
    retry_at: float


class _Dialer(Protocol):
    """What placing calls uses of the dialer."""

    engine: OutboundFlows
    settings: DialerSettings
    leads: LeadSource
    trunks: TrunkRouter | None
    caller_ids: CampaignCallerIds
    not_dialled: Counter[str]
    dials: int
    hold_back: Callable[[str, float], Awaitable[None]] | None
    _numbers: Mapping[str, NumberInfo]
    _members_at: float | None

    @property
    def campaign_id(self) -> str: ...
    def agents(self) -> list[Agent]: ...
    def track(
        self,
        call_id: str,
        lead: Lead,
        now: float,
        *,
        trunk: str | None = None,
        agent_no: str | None = None,
    ) -> None: ...
    async def place_for_agent(self, lead: Lead, agent_no: str, now: float) -> str: ...
    async def _callback(self, lead: Lead, decision: Decision, now: float) -> bool: ...
    def _route(self, lead: Lead, now: float, tried: tuple[str, ...] = ()) -> Route | Refusal: ...
    def _trunk_for(
        self, lead: Lead, now: float, tried: tuple[str, ...]
    ) -> Trunk | NoTrunk | None: ...


class Placing:
    """Leads admitted, routed and dialled (mixed into the dialer)."""

    _members_at: float | None  # when the campaign's agents were looked up; None: look again

    async def admit(self: _Dialer, lead: Lead, now: float) -> bool:
        """The pre-dial policy for a taken lead; refused, it goes back with its reason.

        A due callback to an agent is placed for that agent here (and is not admitted),
        or waits for them; see the module docstring.
        """
        decision = may_dial(lead, self.settings.rules, now)
        if decision.allowed and decision.agent_id is not None:
            return await self._callback(lead, decision, now)
        if decision.allowed:
            return True
        self.not_dialled[decision.reason.value] += 1
        await self.leads.release(lead.lead_id, decision.retry_at)
        return False

    async def _callback(self: _Dialer, lead: Lead, decision: Decision, now: float) -> bool:
        """The callback's agent, if ready, calls; else it waits, or goes to anyone."""
        agent_no = decision.agent_id
        assert agent_no is not None
        ready = any(a.agent_id == agent_no and a.state is AgentState.READY for a in self.agents())
        if ready:
            try:
                await self.place_for_agent(lead, agent_no, now)
            except Exception:
                log.exception("callback of lead %s to %s not placed", lead.lead_id, agent_no)
                await self.leads.release(lead.lead_id, now + self.settings.interval)
            self._members_at = None  # the agent is taken: look at the floor again
            return False
        due = decision.callback_from if decision.callback_from is not None else now
        if now < due + self.settings.callback_agent_wait:
            self.not_dialled[CALLBACK_AGENT_NOT_READY] += 1
            again = now + MEMBERS_REFRESH  # when the agents are looked at again
            if self.hold_back is not None:
                await self.hold_back(lead.lead_id, again)
            else:
                await self.leads.release(lead.lead_id, again)
            return False
        return True  # waited long enough: anyone may take it

    def _route(
        self: _Dialer, lead: Lead, now: float, tried: tuple[str, ...] = ()
    ) -> Route | Refusal:
        """The caller ID and trunk of a call to ``lead``, or why there are none now.

        The caller ID is the pool's next one under its cap (not yet counted); only then
        is a trunk chosen, none of ``tried``. A refusal's reason is counted in
        ``not_dialled``: the lead waits for local midnight when the pool is spent, for
        the next step when no trunk can take it.
        """
        caller = choose_caller_id(self.settings.caller_id_pool, self.caller_ids, now)
        if caller.allowed:
            trunk = self._trunk_for(lead, now, tried)
            if not isinstance(trunk, NoTrunk):
                name = trunk.name if trunk is not None else None
                return Route(caller.caller_id or self.settings.caller_id, name)
            refusal = Refusal(f"{NO_TRUNK}:{trunk.reason.value}", now + self.settings.interval)
        else:
            retry_at = caller.retry_at if caller.retry_at is not None else now
            refusal = Refusal(caller.reason.value, retry_at)
        self.not_dialled[refusal.reason] += 1
        return refusal

    def _trunk_for(
        self: _Dialer, lead: Lead, now: float, tried: tuple[str, ...]
    ) -> Trunk | NoTrunk | None:
        if self.trunks is None:
            return None
        info = self._numbers.get(lead.phone) or NumberInfo(
            lead.phone, carrier=lead.carrier, region=lead.region
        )
        return self.trunks.choose(info, now, exclude=tried)

    async def _prepare(
        self: _Dialer,
        lead: Lead,
        now: float,
        batch: list[tuple[Flight, DialRequest]],
        tried: tuple[str, ...] = (),
    ) -> bool:
        """Route the call and add it to ``batch`` (or say why not).

        A lead no caller ID or trunk can take goes back with its reason, or, when it was
        failing over (``tried``), ends its attempt as failed; unless the trunks left are
        only full for now (channels, CPS): then it returns True, and the caller fails the
        call over again at the next step.
        """
        route = self._route(lead, now, tried)
        if isinstance(route, Refusal):
            if tried and route.reason in TRUNKS_FULL:
                return True
            if tried:  # it was failing over: the attempt failed
                await self.leads.record_outcome(lead.lead_id, Outcome.FAILED, now)
            else:
                await self.leads.release(lead.lead_id, route.retry_at)
            return False
        self.caller_ids.count(route.caller_id, now)
        if not tried:
            await self.leads.mark_attempt(lead.lead_id, now)
        request = DialRequest(
            self.campaign_id,
            lead.lead_id,
            lead.phone,
            route.caller_id,
            route.trunk,
            self.settings.ring_timeout,
            self.settings.amd,
        )
        name = route.trunk
        flight = Flight(lead, CallPhase.RINGING, now, name, (*tried, name) if name else tried)
        batch.append((flight, request))
        return False

    async def place_for_agent(self: _Dialer, lead: Lead, agent_no: str, now: float) -> str:
        """Dial ``lead`` for ``agent_no`` (agent's phone first); returns the call id.

        The call presents the pool's next caller ID (counted) on the trunk routing
        picks; :class:`NoRoute` when there is neither (the lead stays with the caller).
        """
        await self.caller_ids.load(now)  # counted with every campaign's calls of the date
        route = self._route(lead, now)
        if isinstance(route, Refusal):
            raise NoRoute(campaign_id=self.campaign_id, reason=route.reason)
        self.caller_ids.hold(route.caller_id, now)  # no other call takes it while this waits
        try:
            call_id = await self.engine.dial_for_agent(
                self.campaign_id,
                lead.lead_id,
                agent_no,
                lead.phone,
                caller_id=route.caller_id,
                trunk=route.trunk,
            )
        except Exception:
            self.caller_ids.release(route.caller_id, now)
            if self.trunks is not None and route.trunk is not None:
                self.trunks.release(route.trunk)
            raise
        self.caller_ids.count(route.caller_id, now, held=True)
        await self.leads.mark_attempt(lead.lead_id, now)
        self.dials += 1
        self.track(call_id, lead, now, trunk=route.trunk, agent_no=agent_no)
        log.info(
            "call=%s lead %s placed for %s from %s",
            call_id,
            lead.lead_id,
            agent_no,
            route.caller_id,
        )
        return call_id
