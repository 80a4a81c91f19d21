"""Preview dialing (预览式外呼): the agent sees the lead first, then dials or skips.

Theory of operation
-------------------
A :class:`PreviewDesk` drives a campaign in preview mode. At each dialer step every
ready agent of the campaign without an offer is offered the next lead the pre-dial
policy allows (:class:`PreviewOffer`, with a deadline). The agent then:

* accepts (:meth:`PreviewDesk.accept`): the agent's phone rings, then the lead's
  number, presenting the next caller ID of the campaign's pool (counted against its
  daily cap) on the trunk least-cost routing picks
  (:meth:`~callcenter.app.dialer.runtime.CampaignDialer.place_for_agent`); the call's
  outcome comes back like any campaign call's;
* skips (:meth:`PreviewDesk.skip`): the lead goes back to the source, to be dialled
  again after ``skip_delay``, and the agent gets the next lead at the next step;
* does nothing until the deadline: the call is placed (``dial_on_timeout``) or the
  lead is skipped.

The deadline is ``preview_timeout`` after the offer and the skip delay
``preview_skip_delay``, both from the campaign's
:class:`~callcenter.app.dialer.settings.DialerSettings` (a desk may be given its own
``skip_delay``).

A lead is checked by the pre-dial policy when it is offered, and again when its call
is due (``recheck``, given the lead and the time: None, or why it may not be dialled
now): a number put on a block list while the agent looked at it, or calling hours that
ended, ends the offer without a call (:attr:`PreviewEnd.REFUSED`), the lead goes back
to the source, and an agent who clicked is told why (:class:`LeadNotDialable`).

No more leads are offered than the campaign's caller IDs have calls left today (every
campaign's calls counted), the offers already made included (``caller-id-cap``). An
offer lapses without a call if the agent is no longer ready when it is due (a pause, a
logout, an inbound call): the lead goes back at once. When the campaign stops dialling
(paused, finished, replaced) its offers are withdrawn the same way
(:meth:`PreviewDesk.withdraw_all`).

A skipped lead goes back with its retry time; a lead source that does not keep leads
back by themselves (the SQL one only unlocks) is given ``hold_back``, which keeps the
lead from being taken until then.

An agent in the groups of several preview campaigns sees one lead at a time: the
desk skips the agents ``busy_elsewhere`` names, asked again once the lead is found (the
other desks step while this one waits for its lead source). Every offer made and ended is told
to the ``listeners`` (:class:`PreviewOffered`, :class:`PreviewEnded`), which the
platform turns into events for the agent's desktop.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callcenter.app.dialer.manual import LeadNotDialable, reason_text
from callcenter.app.dialer.runtime import CALLER_ID_CAP, CampaignDialer, NoRoute
from callcenter.domain.agent import AgentState
from callcenter.domain.dialing_policy import Lead
from callcenter.domain.errors import DomainError

log = logging.getLogger(__name__)


class NoPreviewOffer(DomainError):
    code = "preview-offer-missing"
    status = 409
    message_zh = "坐席 {agent_id} 当前没有预览中的名单"
    message_en = "Agent {agent_id} has no lead on preview"


@dataclass(frozen=True)
class PreviewOffer:
    """A lead shown to an agent, until ``expires_at``."""

    offer_id: str
    agent_no: str
    lead: Lead
    offered_at: float
    expires_at: float


class PreviewEnd(enum.StrEnum):
    """Why an offer left the agent's desktop."""

    ACCEPTED = "accepted"  # the agent dialled
    SKIPPED = "skipped"  # the agent passed
    DIALLED_ON_TIMEOUT = "dialled-on-timeout"  # the deadline passed; the call was placed
    SKIPPED_ON_TIMEOUT = "skipped-on-timeout"  # the deadline passed; the lead went back
    LAPSED = "lapsed"  # the agent was no longer ready
    REFUSED = "refused"  # when due, the pre-dial policy refused the lead (a block list)
    WITHDRAWN = "withdrawn"  # the campaign stopped dialling


@dataclass(frozen=True)
class PreviewOffered:
    offer: PreviewOffer


@dataclass(frozen=True)
class PreviewEnded:
    offer: PreviewOffer
    reason: PreviewEnd
    at: float
    call_id: str | None = None  # the call placed, if one was


PreviewChange = PreviewOffered | PreviewEnded


class PreviewDesk:
    """Preview offers for one campaign; see the module docstring."""

    def __init__(
        self,
        dialer: CampaignDialer,
        *,
        dial_on_timeout: bool = True,
        skip_delay: float | None = None,
        busy_elsewhere: Callable[[str], bool] | None = None,
        hold_back: Callable[[str, float], Awaitable[None]] | None = None,
        recheck: Callable[[Lead, float], Awaitable[str | None]] | None = None,
    ) -> None:
        self.dialer = dialer
        self.dial_on_timeout = dial_on_timeout
        # None: the campaign's (its settings' preview_skip_delay)
        self.skip_delay = dialer.settings.preview_skip_delay if skip_delay is None else skip_delay
        self.busy_elsewhere = busy_elsewhere
        self.hold_back = hold_back
        self.recheck = recheck
        self.listeners: list[Callable[[PreviewChange], None]] = []
        self._offers: dict[str, PreviewOffer] = {}
        self._ids = itertools.count(1)
        self.skipped = 0
        dialer.preview = self

    def offers(self) -> list[PreviewOffer]:
        return sorted(self._offers.values(), key=lambda o: o.agent_no)

    def offer_for(self, agent_no: str) -> PreviewOffer | None:
        return self._offers.get(agent_no)

    def _tell(self, change: PreviewChange) -> None:
        for listener in self.listeners:
            try:
                listener(change)
            except Exception:
                log.exception("preview listener failed")

    async def step(self, now: float) -> int:
        """Place or withdraw the offers that are due, then offer leads to ready agents."""
        placed = 0
        ready = {a.agent_id for a in self.dialer.agents() if a.state is AgentState.READY}
        for offer in list(self._offers.values()):
            if self._offers.get(offer.agent_no) is not offer:
                continue  # accepted or skipped while this step awaited
            if offer.agent_no not in ready:
                await self._withdraw(offer, PreviewEnd.LAPSED, now)
            elif offer.expires_at <= now:
                ready.discard(offer.agent_no)
                if self.dial_on_timeout:
                    try:
                        await self._place(offer, PreviewEnd.DIALLED_ON_TIMEOUT)
                    except (NoRoute, LeadNotDialable) as refused:
                        log.warning("preview offer %s not dialled: %s", offer.offer_id, refused)
                        continue
                    placed += 1
                else:
                    await self._pass(offer, PreviewEnd.SKIPPED_ON_TIMEOUT, now)
        waiting = sorted(ready - set(self._offers))
        room = self.dialer.settings.caller_id_pool.room(self.dialer.caller_ids.today(now))
        if waiting and room is not None and room <= len(self._offers):
            self.dialer.not_dialled[CALLER_ID_CAP] += 1  # no caller ID left for another call
            return placed
        for agent_no in waiting:
            if room is not None and len(self._offers) >= room:
                self.dialer.not_dialled[CALLER_ID_CAP] += 1  # an offer each for the calls left
                break
            if self.busy_elsewhere is not None and self.busy_elsewhere(agent_no):
                continue
            lead = await self._next_lead(now)
            if lead is None:
                break
            if self.busy_elsewhere is not None and self.busy_elsewhere(agent_no):
                # another campaign's desk offered while the lead was looked for
                await self.dialer.leads.release(lead.lead_id, now)
                continue
            offer = PreviewOffer(
                f"pv{next(self._ids)}",
                agent_no,
                lead,
                now,
                now + self.dialer.settings.preview_timeout,
            )
            self._offers[agent_no] = offer
            log.info("preview offer %s: lead %s to %s", offer.offer_id, lead.lead_id, agent_no)
            self._tell(PreviewOffered(offer))
        return placed

    async def _next_lead(self, now: float) -> Lead | None:
        for _ in range(8):
            leads = await self.dialer.leads.next_leads(1, now)
            if not leads:
                return None
            if await self.dialer.admit(leads[0], now):
                return leads[0]
        return None

    async def accept(
        self,
        agent_no: str,
        recheck: Callable[[Lead, float], Awaitable[str | None]] | None = None,
    ) -> str:
        """The agent dials the lead on preview; returns the call id. ``recheck``, if
        given, stands for the desk's own."""
        offer = self._offers.get(agent_no)
        if offer is None:
            raise NoPreviewOffer(agent_id=agent_no)
        return await self._place(offer, PreviewEnd.ACCEPTED, recheck)

    async def _place(
        self,
        offer: PreviewOffer,
        reason: PreviewEnd,
        recheck: Callable[[Lead, float], Awaitable[str | None]] | None = None,
    ) -> str:
        # The offer leaves first: a step running while the call is set up must not see
        # the agent (now reserved) and let the offer lapse under the call.
        del self._offers[offer.agent_no]
        dialer = self.dialer
        now = dialer.clock.now()
        check = recheck or self.recheck
        refused = None if check is None else await check(offer.lead, now)
        if refused is not None:
            await dialer.leads.release(offer.lead.lead_id, now)
            log.info("preview offer %s refused when due: %s", offer.offer_id, refused)
            self._tell(PreviewEnded(offer, PreviewEnd.REFUSED, now))
            zh, en = reason_text(refused)
            raise LeadNotDialable(lead_id=offer.lead.lead_id, reason_zh=zh, reason_en=en)
        try:
            call_id = await dialer.place_for_agent(offer.lead, offer.agent_no, now)
        except Exception:
            await dialer.leads.release(offer.lead.lead_id, now)
            self._tell(PreviewEnded(offer, PreviewEnd.LAPSED, now))
            raise
        log.info(
            "call=%s preview offer %s %s by %s", call_id, offer.offer_id, reason, offer.agent_no
        )
        self._tell(PreviewEnded(offer, reason, now, call_id))
        return call_id

    async def skip(self, agent_no: str, reason: str = "") -> None:
        """The agent passes on the lead; it comes back after ``skip_delay``."""
        offer = self._offers.get(agent_no)
        if offer is None:
            raise NoPreviewOffer(agent_id=agent_no)
        await self._pass(offer, PreviewEnd.SKIPPED, self.dialer.clock.now(), reason)

    async def _pass(
        self, offer: PreviewOffer, why: PreviewEnd, now: float, reason: str = ""
    ) -> None:
        del self._offers[offer.agent_no]
        self.skipped += 1
        if self.hold_back is not None:
            await self.hold_back(offer.lead.lead_id, now + self.skip_delay)
        else:
            await self.dialer.leads.release(offer.lead.lead_id, now + self.skip_delay)
        log.info(
            "preview offer %s %s by %s%s",
            offer.offer_id,
            why,
            offer.agent_no,
            f" ({reason})" if reason else "",
        )
        self._tell(PreviewEnded(offer, why, now))

    async def _withdraw(self, offer: PreviewOffer, why: PreviewEnd, now: float) -> None:
        del self._offers[offer.agent_no]
        await self.dialer.leads.release(offer.lead.lead_id, now)
        log.info("preview offer %s to %s %s", offer.offer_id, offer.agent_no, why)
        self._tell(PreviewEnded(offer, why, now))

    async def withdraw_all(self) -> None:
        """The campaign stops dialling: every lead on preview goes back at once."""
        now = self.dialer.clock.now()
        for offer in list(self._offers.values()):
            await self._withdraw(offer, PreviewEnd.WITHDRAWN, now)
