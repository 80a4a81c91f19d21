"""手动外呼 / manual (click-to-dial) campaigns in the running platform.

Theory of operation
-------------------
A campaign in manual mode has a dialer (its caller-ID pool, least-cost routing, the
outcome of each call reaching its lead) that launches nothing by itself: the agents of
its groups dial its leads from the desk, one click each. :class:`ManualDialing` is the
part of :class:`~callcenter.app.dialing.Dialing` that lets them:

* :meth:`ManualDialing.manual` lists the running manual campaigns the agent is logged
  in for (a routing profile with one of their groups) and, given one, hands the agent
  the next lead the pre-dial policy allows (a due callback goes to its own agent, and
  waits for them ``callback_agent_wait``), locked in the database to that agent
  (``manual:<agent>``) for :data:`MANUAL_HOLD` seconds. Asking again gives the same
  lead (the hold renewed, the policy asked again: a lead blocked since goes back and
  the next is taken), so a reload shows one lead, and two agents never share one: the
  takes of a campaign are serialised. The lock is the only record kept: an agent
  holds one lead at a time (asking in another campaign gives the first one back), and
  a restart loses nothing.
* :meth:`ManualDialing.dial_lead` dials it. The policy is asked again at that moment
  (block lists, calling hours in the lead's local time, attempt limits, the campaign's
  dates, a callback due to someone else, another holder); allowed, the lead is locked
  for the call as the dialer's own (``dialer:<campaign>``, unlocked when the call's
  outcome comes back) and the dialer places it for the agent
  (:meth:`~callcenter.app.dialer.placing.Placing.place_for_agent`: the pool's caller ID
  under its daily cap, the trunk routing picks, a call record naming campaign and
  lead). Refused or failed, the lead is unlocked before the error is raised: nothing
  is left locked. A retry with the same command id repeats the first answer.
* :meth:`ManualDialing.release_lead` passes on the lead held: it comes back after the
  campaign's skip delay, as a skipped preview does.

Who may dial what (the agent's manual campaigns, the policy's answer for a lead, a
number typed on the keypad) is asked of the mixin this one extends,
:class:`~callcenter.app.dialing_manual_checks.ManualChecks`; every refusal names its
reason in Chinese and English (:mod:`callcenter.app.dialer.manual`).

The class is a mixin over the platform dialing's own state, named by the
:class:`_Dialing` protocol; the state of its own is a :class:`ManualState`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from sqlalchemy import select

from callcenter.app.dialer import CampaignDialer
from callcenter.app.dialer.manual import (
    NO_LEADS,
    CallNotPlaced,
    LeadNotDialable,
    LeadNotInCampaign,
    NoManualLead,
    NumberNotLead,
    reason_text,
)
from callcenter.app.dialer.placing import NoRoute
from callcenter.app.dialing_manual_checks import (
    ManualChecks,
    callback_elsewhere,
    held_by,
    lock_owner,
)
from callcenter.app.dialing_runs import Busy, Run
from callcenter.app.dialing_views import moment
from callcenter.app.leads import LOCK_SECONDS
from callcenter.clock import Clock
from callcenter.domain.dialing_policy import Lead, may_dial
from callcenter.store.tables import LeadRow
from callcenter.store.uow import UnitOfWork

if TYPE_CHECKING:
    from callcenter.app.outbound import Outbound

__all__ = ["MANUAL_HOLD", "MANUAL_SKIPPED", "ManualDialing", "ManualState", "lead_view"]

log = logging.getLogger(__name__)

MANUAL_HOLD: Final = 1800.0  # seconds a lead shown to an agent stays theirs (renewed on reads)
MANUAL_SKIPPED: Final = "manual-skipped"  # the lock owner of a lead passed on
ANSWERS_KEPT: Final = 1000  # first answers kept for retries with the same command id
TAKE_TRIES: Final = 20  # leads looked at for one agent (callbacks waiting for others)


@dataclass
class ManualState:
    """What manual dialing keeps in memory: a lock per campaign serialising its takes,
    and the first answer to each dial command (a retry repeats it)."""

    hold: float = MANUAL_HOLD
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    answers: OrderedDict[tuple[str, str], dict[str, Any]] = field(default_factory=OrderedDict)

    def lock(self, campaign_id: int) -> asyncio.Lock:
        return self.locks.setdefault(campaign_id, asyncio.Lock())

    def remember(self, key: tuple[str, str], answer: dict[str, Any]) -> None:
        self.answers[key] = answer
        while len(self.answers) > ANSWERS_KEPT:
            self.answers.popitem(last=False)


class _Dialing(Protocol):
    """What manual dialing uses of the platform's dialing."""

    preview_skip_delay: float
    _uow: Callable[[], UnitOfWork]
    _outbound: Outbound
    _runs: dict[int, Run]
    _busy: Busy
    _manual: ManualState

    @property
    def clock(self) -> Clock: ...
    def _manual_runs(self, agent_no: str) -> list[tuple[int, Run]]: ...
    def _manual_run(self, agent_no: str, campaign_id: int) -> Run: ...
    async def _take(
        self, uow: UnitOfWork, run: Run, agent_no: str, now: float
    ) -> LeadRow | None: ...
    async def _refusal(
        self, uow: UnitOfWork, row: LeadRow, dialer: CampaignDialer, agent_no: str, now: float
    ) -> tuple[Lead, str | None]: ...
    async def _unlock(self, lead_id: int, owner: str) -> None: ...


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def lead_view(row: LeadRow) -> dict[str, Any]:
    """A lead as the desk shows it (as a lead on preview): name, number, custom fields."""
    fields = {str(k): v for k, v in (row.fields or {}).items()}
    name = fields.pop("name", "")
    return {
        "id": row.id,
        "name": str(name) if name is not None else "",
        "phone": row.phone,
        "fields": fields,
    }


class ManualDialing(ManualChecks):
    """Manual campaigns' leads dialled by hand (mixed into the platform's dialing)."""

    async def manual(self: _Dialing, agent_no: str, campaign_id: int | None) -> dict[str, Any]:
        """The agent's manual campaigns and the lead they hold; given a campaign, its
        next lead the policy allows, held for the agent (see the module docstring)."""
        runs = self._manual_runs(agent_no)
        run = None if campaign_id is None else self._manual_run(agent_no, campaign_id)
        now = self.clock.now()
        owner = lock_owner(agent_no)
        ids = sorted({cid for cid, _ in runs} | ({campaign_id} if campaign_id else set()))
        shown: tuple[int, dict[str, Any]] | None = None
        lock: contextlib.AbstractAsyncContextManager[Any] = (
            contextlib.nullcontext() if campaign_id is None else self._manual.lock(campaign_id)
        )
        async with self._busy.hold(), lock, self._uow() as uow:
            held = list(
                await uow.session.scalars(
                    select(LeadRow)
                    .where(
                        LeadRow.campaign_id.in_(ids),
                        LeadRow.locked_by == owner,
                        LeadRow.locked_until > _at(now),
                    )
                    .order_by(LeadRow.id)
                )
            )
            if run is None:
                row = held[0] if held else None
            else:
                for other in held:
                    if other.campaign_id != campaign_id:  # one lead at a time: back it goes
                        other.locked_by = other.locked_until = None
                row = None
                for mine in (r for r in held if r.campaign_id == campaign_id):
                    _, refused = await self._refusal(uow, mine, run.dialer, agent_no, now)
                    if refused is None and row is None:
                        row = mine
                    else:  # no longer dialable (blocked since, say): back it goes
                        mine.locked_by = mine.locked_until = None
                if row is None:
                    row = await self._take(uow, run, agent_no, now)
                if row is not None:
                    row.locked_until = _at(now + self._manual.hold)
            if row is not None:
                shown = (row.campaign_id, lead_view(row))
            await uow.commit()
        names = {cid: r.name for cid, r in self._runs.items()}
        chosen = campaign_id if campaign_id is not None else shown[0] if shown else None
        reason = None
        if run is not None and shown is None:
            zh, en = reason_text(NO_LEADS)
            reason = {"code": NO_LEADS, "zh": zh, "en": en}
        return {
            "campaigns": [{"id": cid, "name": r.name} for cid, r in runs],
            "campaign": None if chosen is None else {"id": chosen, "name": names.get(chosen, "")},
            "lead": None if shown is None else shown[1],
            "reason": reason,
            "hold_seconds": self._manual.hold,
            "at": moment(now),
        }

    async def _take(
        self: _Dialing, uow: UnitOfWork, run: Run, agent_no: str, now: float
    ) -> LeadRow | None:
        """The campaign's next lead the policy allows, locked to the agent. A due
        callback of another agent is passed over (it waits for them): the first
        :data:`TAKE_TRIES` leads in line are taken at once, the others given back."""
        dialer = run.dialer
        campaign_id = int(dialer.campaign_id)
        found = await self._outbound.leads.next_leads(
            uow, campaign_id, now, TAKE_TRIES, take=True, owner=lock_owner(agent_no)
        )
        chosen = None
        for row, lead in found:
            decision = may_dial(lead, dialer.settings.rules, now)
            if chosen is None and not callback_elsewhere(dialer, lead, decision, agent_no, now):
                chosen = row
            else:
                row.locked_by = row.locked_until = None
        if chosen is not None:
            log.info("manual lead %s of campaign %s to %s", chosen.id, campaign_id, agent_no)
        return chosen

    async def dial_lead(
        self: _Dialing,
        agent_no: str,
        campaign_id: int,
        lead_id: int,
        number: str,
        command_id: str,
    ) -> dict[str, Any]:
        """Dial the campaign's lead for the agent through its dialer; returns the call,
        campaign and lead. Refused or failed, the lead is left unlocked."""
        key = (agent_no, command_id)
        if key in self._manual.answers:
            return self._manual.answers[key]
        run = self._manual_run(agent_no, campaign_id)
        dialer = run.dialer
        now = self.clock.now()
        owner = lock_owner(agent_no)
        async with self._busy.hold(), self._manual.lock(campaign_id), self._uow() as uow:
            row = await uow.session.get(LeadRow, lead_id)
            if row is None or row.campaign_id != campaign_id:
                raise LeadNotInCampaign(lead_id=lead_id, campaign_id=campaign_id)
            lead, refused = await self._refusal(uow, row, dialer, agent_no, now)
            if refused is None and number != row.phone:
                refused = NumberNotLead.code
            if refused is not None:
                if held_by(row, owner, now):  # a refused lead is not kept
                    row.locked_by = row.locked_until = None
                    await uow.commit()
                if refused == NumberNotLead.code:
                    raise NumberNotLead(number=number, lead_id=lead_id)
                zh, en = reason_text(refused)
                raise LeadNotDialable(lead_id=lead_id, reason=refused, reason_zh=zh, reason_en=en)
            in_call = f"dialer:{campaign_id}"  # the dialer's own lock, undone by the outcome
            row.locked_by, row.locked_until = in_call, _at(now + LOCK_SECONDS)
            await uow.commit()
        try:
            call_id = await dialer.place_for_agent(lead, agent_no, now)
        except NoRoute as no_route:
            await self._unlock(lead_id, in_call)
            code = str(no_route.details.get("reason", ""))
            zh, en = reason_text(code)
            raise CallNotPlaced(
                campaign_id=campaign_id, reason=code, reason_zh=zh, reason_en=en
            ) from None
        except BaseException:
            await asyncio.shield(self._unlock(lead_id, in_call))
            raise
        answer = {"call_id": call_id, "campaign_id": campaign_id, "lead_id": lead_id}
        self._manual.remember(key, answer)
        log.info("call=%s manual lead %s dialled by %s", call_id, lead_id, agent_no)
        return answer

    async def _unlock(self: _Dialing, lead_id: int, owner: str) -> None:
        """Unlock the lead if ``owner`` still holds it (a call that was not placed)."""
        async with self._busy.hold(), self._uow() as uow:
            row = await uow.session.get(LeadRow, lead_id)
            if row is not None and row.locked_by == owner:
                row.locked_by = row.locked_until = None
                await uow.commit()

    async def release_lead(
        self: _Dialing, agent_no: str, campaign_id: int, lead_id: int
    ) -> dict[str, Any]:
        """The agent passes on the lead they hold: it comes back after the skip delay."""
        run = self._runs.get(campaign_id)
        delay = run.dialer.settings.preview_skip_delay if run else self.preview_skip_delay
        now = self.clock.now()
        async with self._busy.hold(), self._uow() as uow:
            row = await uow.session.get(LeadRow, lead_id)
            if row is None or row.campaign_id != campaign_id:
                raise LeadNotInCampaign(lead_id=lead_id, campaign_id=campaign_id)
            if not held_by(row, lock_owner(agent_no), now):
                raise NoManualLead(agent_no=agent_no, lead_id=lead_id)
            row.locked_by, row.locked_until = MANUAL_SKIPPED, _at(now + delay)
            await uow.commit()
        log.info("manual lead %s passed on by %s for %.0f s", lead_id, agent_no, delay)
        return {"campaign_id": campaign_id, "lead_id": lead_id, "back_at": moment(now + delay)}
