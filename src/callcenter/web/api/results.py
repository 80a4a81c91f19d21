"""营销结果 / call results: recorded by agents, exported by campaign and date range."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from callcenter.app import exports
from callcenter.app.auth import Principal
from callcenter.app.results import Export, numbers_export
from callcenter.app.results import ResultIn as Result
from callcenter.store.tables import CallResultRow
from callcenter.web.api.campaigns import CampaignId, lead_out
from callcenter.web.api.common import ERROR_RESPONSES
from callcenter.web.campaign_schemas import Code, LeadOut, OutcomeName, ResultIn, ResultOut
from callcenter.web.errors import language_of
from callcenter.web.schemas import Moment
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(tags=["results"], responses=ERROR_RESPONSES)
LeadId = Annotated[int, Path(ge=1, le=2**62)]
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def result_out(row: CallResultRow) -> ResultOut:
    return ResultOut(
        id=row.id,
        campaign_id=row.campaign_id,
        lead_id=row.lead_id,
        call_id=row.call_id,
        agent_no=row.agent_no,
        disposition_code=row.disposition_code,
        product_id=row.product_id,
        values=row.product_values,
        notes=row.notes,
        callback_at=row.callback_at,
        callback_agent_id=row.callback_agent_id,
        created_at=row.created_at,
    )


@router.post("/campaigns/{campaign_id}/results", status_code=201)
async def record_result(
    campaign_id: CampaignId,
    body: ResultIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("result.record"))],
    uow: UoW,
) -> ResultOut:
    """登记呼叫结果 / record a call's disposition, product values, notes and callback."""
    row = await platform_of(request).outbound.results.record(
        uow,
        actor_of(request, principal),
        campaign_id,
        Result(
            lead_id=body.lead_id,
            disposition_id=body.disposition_id,
            product_id=body.product_id,
            values=body.values,
            notes=body.notes,
            callback_at=body.callback_at,
            callback_to_self=body.callback_to_self,
            call_id=body.call_id,
        ),
        now=dt.datetime.now(dt.UTC),
    )
    return result_out(row)


@router.get("/leads/{lead_id}")
async def get_lead(
    lead_id: LeadId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
) -> LeadOut:
    return lead_out(await platform_of(request).outbound.leads.get_lead(uow, lead_id))


@router.get("/leads/{lead_id}/results")
async def lead_results(
    lead_id: LeadId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
) -> list[ResultOut]:
    outbound = platform_of(request).outbound
    await outbound.leads.get_lead(uow, lead_id)
    return [result_out(r) for r in await outbound.results.for_lead(uow, lead_id)]


@router.get("/campaigns/{campaign_id}/numbers")
async def numbers_by_outcome(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.export"))],
    uow: UoW,
    disposition: Annotated[list[Code] | None, Query(max_length=50)] = None,
    outcome: Annotated[list[OutcomeName] | None, Query(max_length=10)] = None,
) -> list[LeadOut]:
    """按结果取号码 / the leads whose last result is one of those given (for a new list)."""
    rows = await platform_of(request).outbound.results.numbers_by_outcome(
        uow, campaign_id, dispositions=disposition or [], outcomes=outcome or []
    )
    return [lead_out(r) for r in rows]


@router.get(
    "/campaigns/{campaign_id}/numbers/export",
    response_class=Response,
    responses={200: {"content": {CSV: {}, XLSX: {}}, "description": "名单文件 / a lead file"}},
)
async def export_numbers(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.export"))],
    uow: UoW,
    disposition: Annotated[list[Code] | None, Query(max_length=50)] = None,
    outcome: Annotated[list[OutcomeName] | None, Query(max_length=10)] = None,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """按结果导出号码 / those leads as a lead file that imports back as a new list."""
    rows = await platform_of(request).outbound.results.numbers_by_outcome(
        uow, campaign_id, dispositions=disposition or [], outcomes=outcome or []
    )
    return _download(request, numbers_export(rows), format, f"campaign-{campaign_id}-numbers")


@router.get(
    "/campaigns/{campaign_id}/results/export",
    response_class=Response,
    responses={200: {"content": {CSV: {}, XLSX: {}}, "description": "营销结果清单 / results"}},
)
async def export_results(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.export"))],
    uow: UoW,
    since: Annotated[Moment, Query(description="起 / from (inclusive)")],
    until: Annotated[Moment, Query(description="止 / until (exclusive)")],
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """营销结果清单 / the campaign's results recorded in [since, until), as CSV or XLSX."""
    results = platform_of(request).outbound.results
    found = await results.export_rows(uow, campaign_id, since=since, until=until)
    return _download(request, found, format, f"campaign-{campaign_id}-results")


def _download(request: Request, found: Export, format: str, name: str) -> Response:
    """An export as a CSV or XLSX attachment, in the reader's language and the platform's
    time zone."""
    settings = platform_of(request).settings
    out = io.BytesIO()
    write = exports.write_xlsx if format == "xlsx" else exports.write_csv
    write(
        found.rows,
        found.columns,
        out,
        language=language_of(request, settings.language),
        time_zone=settings.timezone,
    )
    return Response(
        out.getvalue(),
        media_type=XLSX if format == "xlsx" else CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )
