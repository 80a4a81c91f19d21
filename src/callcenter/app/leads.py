"""名单 / a campaign's leads as the dialer sees them: next to dial, attempts, outcomes.

:meth:`LeadService.next_leads` reads a campaign's open leads in dialling order (due
callbacks first, then never-tried leads in file order, then the longest-untried), joins
the blacklist, turns each row into the policy's :class:`~callcenter.domain.dialing_policy.Lead`
and keeps those :func:`~callcenter.domain.dialing_policy.may_dial` allows under the
approved version's rules. With ``take`` the leads are locked for the dialer until it
gives them back (an attempt and its outcome, or a release); a lock expires after
:data:`LOCK_SECONDS` so a crashed dialer parks nothing for ever.

:meth:`LeadService.why_not_dialling` runs the same policy over every lead of the
campaign and counts the reasons, which answers "why is nothing dialling".
:class:`SqlLeadSource` adapts the service to the dialer's ``LeadSource`` port.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, func, or_, select

from callcenter.app.audit import SYSTEM
from callcenter.app.blacklist import BlacklistService, BlockReason, BlockSource
from callcenter.app.campaigns import ApprovedVersion, CampaignService
from callcenter.app.validation import Page
from callcenter.domain.campaign import (
    CampaignSettings,
    DialingMode,
    policy_rules,
    start_violations,
)
from callcenter.domain.dialing_policy import (
    DAY,
    CampaignRules,
    Lead,
    Outcome,
    Reason,
    RetryRule,
    may_dial,
)
from callcenter.errors import NotFound
from callcenter.store.tables import AgentRow, BlacklistRow, LeadListRow, LeadRow
from callcenter.store.uow import UnitOfWork

log = logging.getLogger(__name__)

LOCK_SECONDS = 3600.0
OPEN = ("new", "active", "callback")  # statuses the dialer may still call
CHUNK = 1000
SCAN_MAX = 200_000  # leads looked at by one diagnosis, at most
NOT_APPROVED = "campaign-not-approved"
LIST_NOT_APPROVED = "list-not-approved"
DONE = "done"


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _ts(moment: dt.datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def policy_lead(
    row: LeadRow, blocked: str | None, now: float, callback_agent_no: str | None = None
) -> Lead:
    """The pre-dial policy's view of a lead; ``blocked`` is its blacklist reason, if any.

    A callback's agent is named by agent number (工号), as the CTI engine knows agents:
    ``callback_agent_no`` is the number of the person ``row.callback_agent_id`` names.
    """
    locked = row.locked_until is not None and row.locked_until.timestamp() > now
    return Lead(
        lead_id=str(row.id),
        phone=row.phone,
        time_zone=row.time_zone,
        region=row.region,
        carrier=row.carrier,
        attempts_today=row.attempts_today,
        attempts_lifetime=row.attempts_lifetime,
        attempts_24h=row.attempts_24h,
        oldest_attempt_24h_at=_ts(row.oldest_attempt_24h_at),
        last_attempt_at=_ts(row.last_attempt_at),
        last_outcome=Outcome(row.last_outcome) if row.last_outcome else None,
        abandoned_at=_ts(row.abandoned_at),
        callback_at=_ts(row.callback_at),
        callback_agent_id=callback_agent_no if row.callback_agent_id else None,
        locked=locked,
        do_not_call=blocked == BlockReason.DO_NOT_CALL or row.status == "dnc",
        blacklisted=blocked in (BlockReason.BLACKLIST, BlockReason.COMPLAINT),
        opted_out=blocked == BlockReason.OPT_OUT,
    )


@dataclass
class Diagnosis:
    """Why a campaign's leads are (not) being dialled, counted by reason."""

    campaign_id: int
    state: str
    version: int
    total: int = 0
    scanned: int = 0
    dialable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    next_at: float | None = None  # the first moment a refused lead may be dialled
    # What stops the whole campaign, whatever its leads: not approved, not running, no
    # lists, no agent groups, settings that break a compliance rule, a change waiting.
    problems: list[str] = field(default_factory=list)


def campaign_problems(state: str, revision: str, version: ApprovedVersion | None) -> list[str]:
    """Campaign-wide reasons nothing (or not everything) is dialled."""
    if version is None:
        return [NOT_APPROVED]
    found = [] if version.running else ["campaign-not-running"]
    if not version.list_ids:
        found.append("no-lead-lists")
    settings = version.settings
    if not settings.group_ids and settings.dialing_mode is not DialingMode.IVR_BROADCAST:
        found.append("no-agent-groups")
    if state != "running":
        found += [v.code for v in start_violations(version.campaign_id, settings)]
    if revision != "none":
        found.append(f"revision-{revision}")  # changes (new lists) wait for approval
    return found


class LeadService:
    def __init__(self, campaigns: CampaignService, blacklist: BlacklistService) -> None:
        self.campaigns = campaigns
        self.blacklist = blacklist

    async def policy_view(self, uow: UnitOfWork, row: LeadRow, now: float) -> Lead:
        """The lead as the pre-dial policy sees it now, read afresh: its block-list reason
        and its callback's agent by number."""
        blocked = (await self.blacklist.reasons_for(uow, [row.phone])).get(row.phone)
        agent_no = None
        if row.callback_agent_id is not None:
            person = await uow.session.get(AgentRow, row.callback_agent_id)
            agent_no = person.agent_no if person is not None else None
        return policy_lead(row, blocked, now, agent_no)

    async def get_lead(self, uow: UnitOfWork, lead_id: int) -> LeadRow:
        row = await uow.session.get(LeadRow, lead_id)
        if row is None:
            raise NotFound(kind="lead", id=lead_id)
        return row

    async def lists(self, uow: UnitOfWork, campaign_id: int) -> list[LeadListRow]:
        await self.campaigns.get(uow, campaign_id)
        rows = await uow.session.scalars(
            select(LeadListRow)
            .where(LeadListRow.campaign_id == campaign_id)
            .order_by(LeadListRow.id)
        )
        return list(rows)

    async def search(
        self,
        uow: UnitOfWork,
        campaign_id: int,
        *,
        status: str | None,
        phone: str | None,
        list_id: int | None,
        limit: int,
        offset: int,
    ) -> Page[LeadRow]:
        await self.campaigns.get(uow, campaign_id)
        statement = select(LeadRow).where(LeadRow.campaign_id == campaign_id)
        if status:
            statement = statement.where(LeadRow.status == status)
        if phone:
            statement = statement.where(LeadRow.phone.contains(phone, autoescape=True))
        if list_id is not None:
            statement = statement.where(LeadRow.list_id == list_id)
        total = await uow.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await uow.session.scalars(statement.order_by(LeadRow.id).limit(limit).offset(offset))
        return Page(list(rows), int(total or 0))

    # --- what the dialer asks -----------------------------------------------------

    async def _rules(
        self, uow: UnitOfWork, campaign_id: int
    ) -> tuple[ApprovedVersion | None, CampaignRules]:
        version = await self.campaigns.approved(uow, campaign_id)
        if version is None:
            row = await self.campaigns.get(uow, campaign_id)
            return None, policy_rules(CampaignSettings.parse(row.settings), running=False)
        return version, policy_rules(version.settings, running=version.running)

    def _open_leads(
        self, campaign_id: int, list_ids: Sequence[int], now: float
    ) -> Select[LeadRow, str, str]:
        return (
            select(LeadRow, BlacklistRow.reason, AgentRow.agent_no)
            .outerjoin(BlacklistRow, BlacklistRow.phone == LeadRow.phone)
            .outerjoin(AgentRow, AgentRow.id == LeadRow.callback_agent_id)
            .where(
                LeadRow.campaign_id == campaign_id,
                LeadRow.list_id.in_(list_ids),
                LeadRow.status.in_(OPEN),
                or_(LeadRow.locked_until.is_(None), LeadRow.locked_until <= _at(now)),
            )
            .order_by(
                LeadRow.callback_at.asc().nulls_last(),
                LeadRow.last_attempt_at.asc().nulls_first(),
                LeadRow.id,
            )
        )

    async def next_leads(
        self,
        uow: UnitOfWork,
        campaign_id: int,
        now: float,
        limit: int,
        *,
        take: bool = False,
        owner: str = "dialer",
    ) -> list[tuple[LeadRow, Lead]]:
        """Up to ``limit`` leads the policy allows now, in dialling order; ``take`` locks them."""
        version, rules = await self._rules(uow, campaign_id)
        if version is None or not version.running or limit <= 0:
            return []
        found: list[tuple[LeadRow, Lead]] = []
        statement = self._open_leads(campaign_id, version.list_ids, now)
        for offset in range(0, SCAN_MAX, CHUNK):
            rows = (await uow.session.execute(statement.limit(CHUNK).offset(offset))).all()
            for row, blocked, agent_no in rows:
                lead = policy_lead(row, blocked, now, agent_no)
                if may_dial(lead, rules, now).allowed:
                    found.append((row, lead))
                    if len(found) == limit:
                        break
            if len(found) == limit or len(rows) < CHUNK:
                break
        if take and found:
            until = _at(now + LOCK_SECONDS)
            for row, _ in found:
                row.locked_by, row.locked_until = owner[:64], until
            await uow.commit()
        return found

    async def why_not_dialling(self, uow: UnitOfWork, campaign_id: int, now: float) -> Diagnosis:
        """The policy's reason for each lead of the campaign, counted."""
        campaign = await self.campaigns.get(uow, campaign_id)
        version, rules = await self._rules(uow, campaign_id)
        diagnosis = Diagnosis(campaign_id, campaign.state, campaign.version)
        diagnosis.problems = campaign_problems(campaign.state, campaign.revision, version)
        lists = set(version.list_ids) if version else set()
        last_id = 0
        while diagnosis.scanned < SCAN_MAX:
            rows = (
                await uow.session.execute(
                    select(LeadRow, BlacklistRow.reason)
                    .outerjoin(BlacklistRow, BlacklistRow.phone == LeadRow.phone)
                    .where(LeadRow.campaign_id == campaign_id, LeadRow.id > last_id)
                    .order_by(LeadRow.id)
                    .limit(CHUNK)
                )
            ).all()
            for row, blocked in rows:
                diagnosis.scanned += 1
                reason, retry_at = self._reason(row, blocked, rules, now, version, lists)
                diagnosis.reasons[reason] += 1
                if reason in (Reason.ALLOWED, Reason.CALLBACK_DUE):
                    diagnosis.dialable += 1
                elif retry_at is not None and (
                    diagnosis.next_at is None or retry_at < diagnosis.next_at
                ):
                    diagnosis.next_at = retry_at
            if len(rows) < CHUNK:
                break
            last_id = rows[-1][0].id
        diagnosis.total = int(
            await uow.session.scalar(
                select(func.count()).select_from(LeadRow).where(LeadRow.campaign_id == campaign_id)
            )
            or 0
        )
        return diagnosis

    @staticmethod
    def _reason(
        row: LeadRow,
        blocked: str | None,
        rules: CampaignRules,
        now: float,
        version: ApprovedVersion | None,
        lists: set[int],
    ) -> tuple[str, float | None]:
        if version is None:
            return NOT_APPROVED, None
        if row.list_id not in lists:
            return LIST_NOT_APPROVED, None
        if row.status == DONE:
            return Reason.FINAL_OUTCOME, None
        decision = may_dial(policy_lead(row, blocked, now), rules, now)
        return decision.reason, decision.retry_at

    # --- what the dialer reports --------------------------------------------------

    async def mark_attempt(self, uow: UnitOfWork, lead_id: int, now: float) -> LeadRow:
        """The lead is being dialled now: its attempt counters move (in its local day)."""
        row = await self.get_lead(uow, lead_id)
        try:
            zone: dt.tzinfo = ZoneInfo(row.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        last = _ts(row.last_attempt_at)
        recent = last is not None and last > now - DAY
        same_day = last is not None and (
            dt.datetime.fromtimestamp(last, zone).date()
            == dt.datetime.fromtimestamp(now, zone).date()
        )
        row.attempts_lifetime += 1
        row.attempts_today = (row.attempts_today if same_day else 0) + 1
        row.attempts_24h = (row.attempts_24h if recent else 0) + 1
        if not recent:
            row.oldest_attempt_24h_at = _at(now)
        row.last_attempt_at = _at(now)
        row.callback_at = None
        row.callback_agent_id = None
        if row.status in ("new", "callback"):
            row.status = "active"
        await uow.commit()
        return row

    async def record_outcome(
        self, uow: UnitOfWork, lead_id: int, outcome: Outcome, now: float
    ) -> LeadRow:
        """The attempt ended: the outcome is kept, the lock released, a final outcome closes it."""
        row = await self.get_lead(uow, lead_id)
        row.last_outcome = str(outcome)
        if outcome is Outcome.ABANDONED:
            row.abandoned_at = _at(now)
        version = await self.campaigns.approved(uow, row.campaign_id)
        retry = version.settings.retry if version else {}
        if retry.get(outcome, RetryRule()).final:
            row.status = DONE
        row.locked_by = row.locked_until = None
        await uow.commit()
        return row

    async def release(self, uow: UnitOfWork, lead_id: int) -> None:
        row = await self.get_lead(uow, lead_id)
        row.locked_by = row.locked_until = None
        await uow.commit()

    async def opt_out(self, uow: UnitOfWork, lead_id: int) -> None:
        """The person pressed the opt-out key: blocked at once, for every campaign."""
        row = await self.get_lead(uow, lead_id)
        row.locked_by = row.locked_until = None
        await self.blacklist.block(
            uow,
            SYSTEM,
            [row.phone],
            reason=BlockReason.OPT_OUT,
            source=BlockSource.IVR,
            campaign_id=row.campaign_id,
        )
        await uow.commit()
        log.info("lead %s of campaign %s opted out", row.id, row.campaign_id)


class SqlLeadSource:
    """The dialer's ``LeadSource`` port over the SQL store, for one campaign."""

    def __init__(self, uow: Callable[[], UnitOfWork], leads: LeadService, campaign_id: int) -> None:
        self._uow = uow
        self._leads = leads
        self.campaign_id = campaign_id

    async def next_leads(self, limit: int, now: float) -> Sequence[Lead]:
        async with self._uow() as uow:
            found = await self._leads.next_leads(
                uow, self.campaign_id, now, limit, take=True, owner=f"dialer:{self.campaign_id}"
            )
        return [lead for _, lead in found]

    async def mark_attempt(self, lead_id: str, now: float) -> None:
        async with self._uow() as uow:
            await self._leads.mark_attempt(uow, int(lead_id), now)

    async def record_outcome(self, lead_id: str, outcome: Outcome, now: float) -> None:
        async with self._uow() as uow:
            await self._leads.record_outcome(uow, int(lead_id), outcome, now)

    async def opt_out(self, lead_id: str, now: float) -> None:
        async with self._uow() as uow:
            await self._leads.opt_out(uow, int(lead_id))

    async def release(self, lead_id: str, retry_at: float | None) -> None:
        async with self._uow() as uow:
            await self._leads.release(uow, int(lead_id))
