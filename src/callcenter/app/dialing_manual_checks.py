"""手动外呼的检查 / who may dial what by hand, in the running platform.

Theory of operation
-------------------
Manual dialing (:mod:`callcenter.app.dialing_manual`) asks three questions before it
hands out a lead or places a call, all answered here by :class:`ManualChecks`, the part
of :class:`~callcenter.app.dialing.Dialing` that knows the rules:

* Which campaigns may the agent dial by hand now? The running manual campaigns with one
  of their groups active in the agent's routing profile (:func:`works_for`):
  :meth:`ManualChecks._manual_runs` lists them, :meth:`ManualChecks._manual_run` names
  one or says why not (not running, not manual, not the agent's).
* May the agent dial this lead now? :meth:`ManualChecks._refusal` asks the pre-dial
  policy (block lists, calling hours in the lead's local time, attempt limits, the
  campaign's dates, another holder) with the lead's list in the approved version, no
  final outcome, and no due callback still waiting for another agent
  (:func:`callback_elsewhere`). A lead the agent holds (:func:`held_by`, locked to
  :func:`lock_owner`) is not held back by their own lock.
* May a number typed on the keypad be dialled? :meth:`ManualChecks.check_typed_number`:
  by an agent of a running campaign's groups, only if it is on no block list
  (blacklist, do-not-call, opt-out, complaint); it stays an ordinary call.

The answers are reason codes and errors of :mod:`callcenter.app.dialer.manual`, named
in Chinese and English. Nothing here changes a lead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from callcenter.app.cti.outbound import OutboundFlows
from callcenter.app.dialer import CampaignDialer, DialingMode
from callcenter.app.dialer.manual import (
    CALLBACK_ELSEWHERE,
    LIST_NOT_APPROVED,
    CampaignNotDialling,
    CampaignNotManual,
    NotCampaignAgent,
    NumberBlocked,
    reason_text,
)
from callcenter.app.dialing_runs import Busy, Run
from callcenter.app.leads import DONE
from callcenter.domain.campaign import State
from callcenter.domain.dialing_policy import Decision, Lead, Reason, may_dial
from callcenter.domain.phone import PhoneError, normalise
from callcenter.store.tables import LeadRow
from callcenter.store.uow import UnitOfWork

if TYPE_CHECKING:
    from callcenter.app.outbound import Outbound

__all__ = ["ManualChecks", "callback_elsewhere", "held_by", "lock_owner", "works_for"]


class _Dialing(Protocol):
    """What the checks use of the platform's dialing."""

    _uow: Callable[[], UnitOfWork]
    _outbound: Outbound
    _runs: dict[int, Run]
    _problems: dict[int, str]
    _busy: Busy


def lock_owner(agent_no: str) -> str:
    """The lock owner of a lead the agent holds (``manual:<agent>``)."""
    return f"manual:{agent_no}"[:64]


def works_for(dialer: CampaignDialer, agent_no: str) -> bool:
    """Is the agent logged in with one of the campaign's groups active now?"""
    engine: OutboundFlows = dialer.engine
    return any(a.agent_id == agent_no for a in engine.campaign_agents(dialer.settings.setup.groups))


def callback_elsewhere(
    dialer: CampaignDialer, lead: Lead, decision: Decision, agent_no: str, now: float
) -> bool:
    """Is the lead a due callback still waiting for another agent than ``agent_no``?"""
    theirs = decision.agent_id is not None and decision.agent_id != agent_no
    due = decision.callback_from if decision.callback_from is not None else now
    return theirs and now < due + dialer.settings.callback_agent_wait


def held_by(row: LeadRow, owner: str, now: float) -> bool:
    """Is the lead locked to ``owner`` at ``now``?"""
    until = row.locked_until
    return row.locked_by == owner and until is not None and until.timestamp() > now


class ManualChecks:
    """Who may dial what by hand (mixed into the platform's dialing)."""

    def _manual_runs(self: _Dialing, agent_no: str) -> list[tuple[int, Run]]:
        """The running manual campaigns the agent is logged in for, by id."""
        return [
            (campaign_id, run)
            for campaign_id, run in sorted(self._runs.items())
            if run.dialer.settings.mode is DialingMode.MANUAL
            and run.state == State.RUNNING
            and campaign_id not in self._problems
            and works_for(run.dialer, agent_no)
        ]

    def _manual_run(self: _Dialing, agent_no: str, campaign_id: int) -> Run:
        """The campaign's run if the agent may dial it by hand now, else why not."""
        run = self._runs.get(campaign_id)
        if run is None or run.state != State.RUNNING or campaign_id in self._problems:
            raise CampaignNotDialling(campaign_id=campaign_id)
        mode = run.dialer.settings.mode
        if mode is not DialingMode.MANUAL:
            raise CampaignNotManual(campaign_id=campaign_id, mode=mode.value)
        if not works_for(run.dialer, agent_no):
            raise NotCampaignAgent(agent_no=agent_no, campaign_id=campaign_id)
        return run

    async def _refusal(
        self: _Dialing,
        uow: UnitOfWork,
        row: LeadRow,
        dialer: CampaignDialer,
        agent_no: str,
        now: float,
    ) -> tuple[Lead, str | None]:
        """The policy's lead and why it may not be dialled by the agent now (None: it may)."""
        lead = await self._outbound.leads.policy_view(uow, row, now)
        if held_by(row, lock_owner(agent_no), now):
            lead = dataclasses.replace(lead, locked=False)  # held by the agent dialling it
        version = await self._outbound.campaigns.approved(uow, row.campaign_id)
        if version is None or row.list_id not in version.list_ids:
            return lead, LIST_NOT_APPROVED
        if row.status == DONE:
            return lead, Reason.FINAL_OUTCOME.value
        decision = may_dial(lead, dialer.settings.rules, now)
        if not decision.allowed:
            return lead, decision.reason.value
        if callback_elsewhere(dialer, lead, decision, agent_no, now):
            return lead, CALLBACK_ELSEWHERE
        return lead, None

    async def check_typed_number(self: _Dialing, agent_no: str, number: str) -> None:
        """A number typed by an agent of a running campaign's groups must be on no block
        list (numbers that are not telephone numbers, extensions, are not checked)."""
        working = any(
            run.state == State.RUNNING and works_for(run.dialer, agent_no)
            for run in self._runs.values()
        )
        if not working:
            return
        found = normalise(number, self._outbound.blacklist.default_region)
        if isinstance(found, PhoneError):
            return
        async with self._busy.hold(), self._uow() as uow:
            reasons = await self._outbound.blacklist.reasons_for(uow, [found.e164])
        blocked = reasons.get(found.e164)
        if blocked is not None:
            zh, en = reason_text(blocked)
            raise NumberBlocked(number=number, reason=blocked, reason_zh=zh, reason_en=en)
