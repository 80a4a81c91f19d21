"""Preview dialing (预览式外呼): the agent sees the lead first, then dials or skips.

Theory of operation
-------------------
A :class:`PreviewDesk` drives a campaign in preview mode. At each dialer step every
ready agent of the campaign without an offer is offered the next lead the pre-dial
policy allows (:class:`PreviewOffer`, with a deadline). The agent then:

* accepts (:meth:`PreviewDesk.accept`): the agent's phone rings, then the lead's
  number; the call's outcome comes back like any campaign call's;
* skips (:meth:`PreviewDesk.skip`): the lead goes back to the source, to be dialled
  again after ``skip_delay``, and the agent gets the next lead at the next step;
* does nothing until the deadline: the call is placed (``dial_on_timeout``) or the
  lead is skipped.

An offer lapses without a call if the agent is no longer ready when it is due (a
pause, a logout, an inbound call): the lead goes back at once.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from callcenter.app.dialer.runtime import CampaignDialer
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


class PreviewDesk:
    """Preview offers for one campaign; see the module docstring."""

    def __init__(
        self, dialer: CampaignDialer, *, dial_on_timeout: bool = True, skip_delay: float = 3600.0
    ) -> None:
        self.dialer = dialer
        self.dial_on_timeout = dial_on_timeout
        self.skip_delay = skip_delay
        self._offers: dict[str, PreviewOffer] = {}
        self._ids = itertools.count(1)
        self.skipped = 0
        dialer.preview = self

    def offers(self) -> list[PreviewOffer]:
        return sorted(self._offers.values(), key=lambda o: o.agent_no)

    def offer_for(self, agent_no: str) -> PreviewOffer | None:
        return self._offers.get(agent_no)

    async def step(self, now: float) -> int:
        """Place or withdraw the offers that are due, then offer leads to ready agents."""
        placed = 0
        ready = {a.agent_id for a in self.dialer.agents() if a.state is AgentState.READY}
        for offer in list(self._offers.values()):
            if offer.agent_no not in ready:
                del self._offers[offer.agent_no]
                await self.dialer.leads.release(offer.lead.lead_id, now)
                log.info("preview offer %s to %s lapsed", offer.offer_id, offer.agent_no)
            elif offer.expires_at <= now:
                if self.dial_on_timeout:
                    await self.accept(offer.agent_no)
                    ready.discard(offer.agent_no)
                    placed += 1
                else:
                    await self.skip(offer.agent_no)
        for agent_no in sorted(ready - set(self._offers)):
            lead = await self._next_lead(now)
            if lead is None:
                break
            offer = PreviewOffer(
                f"pv{next(self._ids)}",
                agent_no,
                lead,
                now,
                now + self.dialer.settings.preview_timeout,
            )
            self._offers[agent_no] = offer
            log.info("preview offer %s: lead %s to %s", offer.offer_id, lead.lead_id, agent_no)
        return placed

    async def _next_lead(self, now: float) -> Lead | None:
        for _ in range(8):
            leads = await self.dialer.leads.next_leads(1, now)
            if not leads:
                return None
            if await self.dialer.admit(leads[0], now):
                return leads[0]
        return None

    async def accept(self, agent_no: str) -> str:
        """The agent dials the lead on preview; returns the call id."""
        offer = self._offers.get(agent_no)
        if offer is None:
            raise NoPreviewOffer(agent_id=agent_no)
        dialer = self.dialer
        now = dialer.clock.now()
        call_id = await dialer.engine.dial_for_agent(
            dialer.campaign_id, offer.lead.lead_id, agent_no, offer.lead.phone
        )
        del self._offers[agent_no]
        await dialer.leads.mark_attempt(offer.lead.lead_id, now)
        dialer.dials += 1
        dialer.track(call_id, offer.lead, now)
        return call_id

    async def skip(self, agent_no: str) -> None:
        """The agent passes on the lead; it comes back after ``skip_delay``."""
        offer = self._offers.pop(agent_no, None)
        if offer is None:
            raise NoPreviewOffer(agent_id=agent_no)
        self.skipped += 1
        now = self.dialer.clock.now()
        await self.dialer.leads.release(offer.lead.lead_id, now + self.skip_delay)
        log.info("preview offer %s skipped by %s", offer.offer_id, agent_no)
