"""Preview offers in the running platform (预览外呼): what agents see, accept and skip.

Theory of operation
-------------------
:class:`PreviewOffers` is the part of :class:`~callcenter.app.dialing.Dialing` that
joins the preview campaigns' desks (:class:`~callcenter.app.dialer.preview.PreviewDesk`)
to the agents. An agent is offered one lead at a time across the campaigns (a desk asks
:meth:`PreviewOffers._previewing_elsewhere` before it offers). Each offer made or ended
is published as ``preview.offered`` / ``preview.ended`` (permission ``desk.use``)
naming the agent, the campaign and the deadline, but not the lead: every agent holds
``desk.use``, so the lead's name, number and fields are read by the agent's own desktop
(:meth:`PreviewOffers.preview`), as ``desk.changed`` leaves the call to
``/desk/state``. The agent accepts (the call is placed for them) or skips through
:meth:`PreviewOffers.accept_preview` and :meth:`PreviewOffers.skip_preview`.

When an offer's call is due (the agent accepts, the timer dials) the lead is checked
again (:meth:`PreviewOffers._preview_recheck`): a number blacklisted or opted out while
on preview, calling hours that ended, a final outcome recorded since, refuse the call.

A skipped lead, and a callback waiting for its agent, stay locked in the database
until they are due again (:meth:`PreviewOffers._hold_back`): the SQL lead source's
release only unlocks.

The class is a mixin over the platform dialing's own state, named by the
:class:`_Dialing` protocol.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from callcenter.app.bus import EventBus
from callcenter.app.dialer import PreviewDesk
from callcenter.app.dialer.preview import (
    NoPreviewOffer,
    PreviewChange,
    PreviewEnded,
    PreviewOffer,
    PreviewOffered,
)
from callcenter.app.dialing_runs import Busy, Run
from callcenter.app.dialing_views import moment
from callcenter.app.leads import DONE
from callcenter.clock import Clock
from callcenter.domain.dialing_policy import Lead, Reason, may_dial
from callcenter.store.uow import UnitOfWork

if TYPE_CHECKING:
    from callcenter.app.outbound import Outbound

__all__ = [
    "CALLBACK_WAITING",
    "PREVIEW_ENDED",
    "PREVIEW_OFFERED",
    "PREVIEW_PERMISSION",
    "PREVIEW_SKIPPED",
    "PreviewOffers",
]

PREVIEW_OFFERED: Final = "preview.offered"
PREVIEW_ENDED: Final = "preview.ended"
PREVIEW_PERMISSION: Final = "desk.use"
PREVIEW_SKIPPED: Final = "preview-skipped"  # the lock owner of a skipped lead
CALLBACK_WAITING: Final = "callback-waiting"  # ... of a callback waiting for its agent


class _Dialing(Protocol):
    """What the preview offers use of the platform's dialing."""

    preview_dial_on_timeout: bool
    _uow: Callable[[], UnitOfWork]
    _bus: EventBus
    _outbound: Outbound
    _runs: dict[int, Run]
    _busy: Busy

    @property
    def clock(self) -> Clock: ...
    def _desks(self) -> list[tuple[int, PreviewDesk]]: ...
    def preview_offer(self, agent_no: str) -> tuple[int, PreviewDesk, PreviewOffer] | None: ...
    def _preview_recheck(
        self, campaign_id: int
    ) -> Callable[[Lead, float], Awaitable[str | None]]: ...


class PreviewOffers:
    """The preview campaigns' offers to agents (mixed into the platform's dialing)."""

    def _desks(self: _Dialing) -> list[tuple[int, PreviewDesk]]:
        return [
            (campaign_id, run.dialer.preview)
            for campaign_id, run in self._runs.items()
            if isinstance(run.dialer.preview, PreviewDesk)
        ]

    def _previewing_elsewhere(self: _Dialing, campaign_id: int) -> Callable[[str], bool]:
        def elsewhere(agent_no: str) -> bool:
            return any(
                desk.offer_for(agent_no) is not None
                for other, desk in self._desks()
                if other != campaign_id
            )

        return elsewhere

    async def _hold_back(
        self: _Dialing, lead_id: str, until: float, owner: str = PREVIEW_SKIPPED
    ) -> None:
        """A skipped lead (or a callback waiting for its agent) stays locked until it is
        due again (the SQL source's release only unlocks)."""
        async with self._busy.hold(), self._uow() as uow:
            row = await self._outbound.leads.get_lead(uow, int(lead_id))
            row.locked_by = owner
            row.locked_until = dt.datetime.fromtimestamp(until, dt.UTC)
            await uow.commit()

    def _preview_recheck(
        self: _Dialing, campaign_id: int
    ) -> Callable[[Lead, float], Awaitable[str | None]]:
        """Why the lead on preview may not be dialled now (None: it may), read afresh:
        its block lists and the pre-dial policy, not held back by the offer's own lock."""

        async def recheck(lead: Lead, now: float) -> str | None:
            run = self._runs.get(campaign_id)
            if run is None:
                return Reason.CAMPAIGN_NOT_RUNNING.value
            async with self._busy.hold(), self._uow() as uow:
                row = await self._outbound.leads.get_lead(uow, int(lead.lead_id))
                if row.status == DONE:
                    return Reason.FINAL_OUTCOME.value
                fresh = await self._outbound.leads.policy_view(uow, row, now)
            fresh = dataclasses.replace(fresh, locked=False)
            decision = may_dial(fresh, run.dialer.settings.rules, now)
            return None if decision.allowed else decision.reason.value

        return recheck

    def _preview_publisher(
        self: _Dialing, campaign_id: int, name: str
    ) -> Callable[[PreviewChange], None]:
        def publish(change: PreviewChange) -> None:
            offer = change.offer
            data: dict[str, Any] = {
                "agent_no": offer.agent_no,
                "offer_id": offer.offer_id,
                "campaign_id": campaign_id,
                "campaign_name": name,
            }
            if isinstance(change, PreviewOffered):
                now = self.clock.now()
                data |= {
                    "offered_at": moment(offer.offered_at),
                    "expires_at": moment(offer.expires_at),
                    "seconds_left": round(max(0.0, offer.expires_at - now), 3),
                    "dial_on_timeout": self.preview_dial_on_timeout,
                }
                self._bus.publish(PREVIEW_OFFERED, data, PREVIEW_PERMISSION)
            elif isinstance(change, PreviewEnded):
                data |= {"reason": change.reason.value, "call_id": change.call_id}
                self._bus.publish(PREVIEW_ENDED, data, PREVIEW_PERMISSION)

        return publish

    def preview_offer(
        self: _Dialing, agent_no: str
    ) -> tuple[int, PreviewDesk, PreviewOffer] | None:
        """The lead on preview to ``agent_no``, with its campaign and desk."""
        for campaign_id, desk in self._desks():
            offer = desk.offer_for(agent_no)
            if offer is not None:
                return campaign_id, desk, offer
        return None

    async def preview(self: _Dialing, agent_no: str) -> dict[str, Any] | None:
        """What the agent's desktop shows of its offer (None: no lead on preview)."""
        found = self.preview_offer(agent_no)
        if found is None:
            return None
        campaign_id, desk, offer = found
        async with self._busy.hold(), self._uow() as uow:
            row = await self._outbound.leads.get_lead(uow, int(offer.lead.lead_id))
            fields = {str(k): v for k, v in (row.fields or {}).items()}
        now = self.clock.now()
        run = self._runs[campaign_id]
        name = fields.pop("name", "")
        return {
            "offer_id": offer.offer_id,
            "agent_no": agent_no,
            "campaign": {"id": campaign_id, "name": run.name},
            "lead": {
                "id": int(offer.lead.lead_id),
                "name": str(name) if name is not None else "",
                "phone": offer.lead.phone,
                "fields": fields,
            },
            "offered_at": moment(offer.offered_at),
            "expires_at": moment(offer.expires_at),
            "seconds_left": round(max(0.0, offer.expires_at - now), 3),
            "dial_on_timeout": desk.dial_on_timeout,
            "at": moment(now),
        }

    async def accept_preview(self: _Dialing, agent_no: str) -> dict[str, Any]:
        """The agent dials the lead on preview; returns the call and its campaign and lead."""
        found = self.preview_offer(agent_no)
        if found is None:
            raise NoPreviewOffer(agent_id=agent_no)
        campaign_id, desk, offer = found
        call_id = await desk.accept(agent_no, self._preview_recheck(campaign_id))
        return {"call_id": call_id, "campaign_id": campaign_id, "lead_id": int(offer.lead.lead_id)}

    async def skip_preview(self: _Dialing, agent_no: str, reason: str = "") -> dict[str, Any]:
        """The agent passes on the lead on preview; returns its campaign and lead."""
        found = self.preview_offer(agent_no)
        if found is None:
            raise NoPreviewOffer(agent_id=agent_no)
        campaign_id, desk, offer = found
        await desk.skip(agent_no, reason)
        return {"campaign_id": campaign_id, "lead_id": int(offer.lead.lead_id)}
