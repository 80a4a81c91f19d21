"""外呼任务 / campaigns: settings, approval, start and pause, and why nothing is dialling."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from callcenter.app.auth import Principal
from callcenter.app.campaigns import lifecycle_of
from callcenter.app.leads import Diagnosis
from callcenter.domain.campaign import Command, allowed_commands
from callcenter.store.tables import CampaignRow, CampaignVersionRow, LeadRow
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID, Limit, Offset
from callcenter.web.campaign_schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignVersionOut,
    DiagnosisOut,
    LeadOut,
)
from callcenter.web.schemas import Moment, Page, SearchText
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=ERROR_RESPONSES)
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
At = Annotated[
    Moment | None, Query(description="判断的时刻（默认现在）/ the moment to judge (default: now)")
]


def campaign_out(row: CampaignRow) -> CampaignOut:
    return CampaignOut(
        id=row.id,
        name=row.name,
        description=row.description,
        state=row.state,
        revision=row.revision,
        version=row.version,
        author_id=row.author_id,
        settings=row.settings,
        commands=[str(c) for c in allowed_commands(lifecycle_of(row))],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def lead_out(row: LeadRow, now: dt.datetime | None = None) -> LeadOut:
    now = now or dt.datetime.now(dt.UTC)
    return LeadOut(
        id=row.id,
        campaign_id=row.campaign_id,
        list_id=row.list_id,
        row_no=row.row_no,
        phone=row.phone,
        region=row.region,
        carrier=row.carrier,
        number_type=row.number_type,
        time_zone=row.time_zone,
        fields=row.fields,
        status=row.status,
        attempts_today=row.attempts_today,
        attempts_24h=row.attempts_24h,
        attempts_lifetime=row.attempts_lifetime,
        last_attempt_at=row.last_attempt_at,
        last_outcome=row.last_outcome,
        last_disposition=row.last_disposition,
        callback_at=row.callback_at,
        callback_agent_id=row.callback_agent_id,
        locked=row.locked_until is not None and row.locked_until > now,
    )


def version_out(row: CampaignVersionRow) -> CampaignVersionOut:
    return CampaignVersionOut(
        version=row.version,
        settings=row.settings,
        author_id=row.author_id,
        approved_by=row.approved_by,
        approved_by_no=row.approved_by_no,
        approved_at=row.approved_at,
    )


def diagnosis_out(d: Diagnosis) -> DiagnosisOut:
    return DiagnosisOut(
        campaign_id=d.campaign_id,
        state=d.state,
        version=d.version,
        total=d.total,
        scanned=d.scanned,
        dialable=d.dialable,
        reasons=dict(d.reasons),
        next_at=dt.datetime.fromtimestamp(d.next_at, dt.UTC) if d.next_at is not None else None,
        problems=d.problems,
    )


def _seconds(at: dt.datetime | None) -> float:
    if at is None:
        return dt.datetime.now(dt.UTC).timestamp()
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp()


@router.get("")
async def list_campaigns(
    request: Request, _: Annotated[Principal, Depends(Requires("campaign.view"))], uow: UoW
) -> list[CampaignOut]:
    rows = await platform_of(request).outbound.campaigns.list_campaigns(uow)
    return [campaign_out(row) for row in rows]


@router.post("", status_code=201)
async def create_campaign(
    body: CampaignIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.create"))],
    uow: UoW,
) -> CampaignOut:
    row = await platform_of(request).outbound.campaigns.create(
        uow,
        actor_of(request, principal),
        name=body.name,
        description=body.description,
        settings=body.settings.to_json(),
    )
    return campaign_out(row)


@router.get("/{campaign_id}")
async def get_campaign(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.view"))],
    uow: UoW,
) -> CampaignOut:
    return campaign_out(await platform_of(request).outbound.campaigns.get(uow, campaign_id))


@router.patch("/{campaign_id}")
async def update_campaign(
    campaign_id: CampaignId,
    body: CampaignPatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.edit"))],
    uow: UoW,
) -> CampaignOut:
    row = await platform_of(request).outbound.campaigns.update(
        uow,
        actor_of(request, principal),
        campaign_id,
        name=body.name,
        description=body.description,
        settings=body.settings.to_json() if body.settings is not None else None,
    )
    return campaign_out(row)


async def _command(
    request: Request, principal: Principal, uow: UoW, campaign_id: int, command: Command
) -> CampaignOut:
    row = await platform_of(request).outbound.campaigns.command(
        uow, actor_of(request, principal), campaign_id, command
    )
    return campaign_out(row)


@router.post("/{campaign_id}/submit")
async def submit_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.edit"))],
    uow: UoW,
) -> CampaignOut:
    """提交审批 / submit the draft (or the pending revision) for approval."""
    return await _command(request, principal, uow, campaign_id, Command.SUBMIT)


@router.post("/{campaign_id}/approve")
async def approve_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.approve"))],
    uow: UoW,
) -> CampaignOut:
    """审批通过 / approve: freezes settings, script and lists as the next version."""
    return await _command(request, principal, uow, campaign_id, Command.APPROVE)


@router.post("/{campaign_id}/reject")
async def reject_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.approve"))],
    uow: UoW,
) -> CampaignOut:
    return await _command(request, principal, uow, campaign_id, Command.REJECT)


@router.post("/{campaign_id}/start")
async def start_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.control"))],
    uow: UoW,
) -> CampaignOut:
    """启动 / start: refused (409) when the approved version breaks a compliance rule."""
    return await _command(request, principal, uow, campaign_id, Command.START)


@router.post("/{campaign_id}/pause")
async def pause_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.control"))],
    uow: UoW,
) -> CampaignOut:
    return await _command(request, principal, uow, campaign_id, Command.PAUSE)


@router.post("/{campaign_id}/resume")
async def resume_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.control"))],
    uow: UoW,
) -> CampaignOut:
    return await _command(request, principal, uow, campaign_id, Command.RESUME)


@router.post("/{campaign_id}/finish")
async def finish_campaign(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("campaign.control"))],
    uow: UoW,
) -> CampaignOut:
    return await _command(request, principal, uow, campaign_id, Command.FINISH)


@router.get("/{campaign_id}/versions")
async def list_versions(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.view"))],
    uow: UoW,
) -> list[CampaignVersionOut]:
    rows = await platform_of(request).outbound.campaigns.versions(uow, campaign_id)
    return [version_out(row) for row in rows]


@router.get("/{campaign_id}/why-not-dialling")
async def why_not_dialling(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.view"))],
    uow: UoW,
    at: At = None,
) -> DiagnosisOut:
    """为何没有外呼 / the pre-dial policy's reason for every lead, counted."""
    diagnosis = await platform_of(request).outbound.leads.why_not_dialling(
        uow, campaign_id, _seconds(at)
    )
    return diagnosis_out(diagnosis)


@router.get("/{campaign_id}/next-leads")
async def next_leads(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.view"))],
    uow: UoW,
    at: At = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[LeadOut]:
    """下一批可拨号码 / the leads the dialer would take next (nothing is locked)."""
    found = await platform_of(request).outbound.leads.next_leads(
        uow, campaign_id, _seconds(at), limit
    )
    return [lead_out(row) for row, _ in found]


@router.get("/{campaign_id}/leads")
async def list_leads(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
    status: Annotated[str | None, Query(pattern=r"^[a-z]{1,16}$")] = None,
    phone: Annotated[SearchText | None, Query()] = None,
    list_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LeadOut]:
    page = await platform_of(request).outbound.leads.search(
        uow, campaign_id, status=status, phone=phone, list_id=list_id, limit=limit, offset=offset
    )
    return Page[LeadOut](items=[lead_out(row) for row in page.items], total=page.total)
