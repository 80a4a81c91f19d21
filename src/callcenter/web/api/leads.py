"""名单导入 / lead lists: upload a CSV or XLSX file, follow the job, download its report."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import Response

from callcenter.app.auth import Principal
from callcenter.app.lead_import import MAX_FILE_BYTES
from callcenter.errors import InvalidInput
from callcenter.store.tables import LeadImportJobRow, LeadListRow
from callcenter.web.api.campaigns import CampaignId
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID
from callcenter.web.campaign_schemas import ImportJobOut, LeadListOut
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(tags=["leads"], responses=ERROR_RESPONSES)
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
CSV = "text/csv; charset=utf-8"


def job_out(job: LeadImportJobRow) -> ImportJobOut:
    return ImportJobOut(
        id=job.id,
        campaign_id=job.campaign_id,
        list_id=job.list_id,
        filename=job.filename,
        state=job.state,
        rows_read=job.rows_read,
        imported=job.imported,
        invalid=job.invalid,
        duplicate=job.duplicate,
        blocked=job.blocked,
        blocked_by_reason=job.blocked_by_reason,
        message=job.message,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def list_out(row: LeadListRow) -> LeadListOut:
    return LeadListOut(
        id=row.id,
        campaign_id=row.campaign_id,
        name=row.name,
        lead_count=row.lead_count,
        created_by_no=row.created_by_no,
        created_at=row.created_at,
    )


def _column_map(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 64
        for k, v in value.items()
    ):
        raise InvalidInput(
            field="column_map",
            reason_zh='列映射须为 JSON 对象：{"表头": "phone"}',
            reason_en='the column map is a JSON object: {"header": "phone"}',
        )
    return value


@router.post("/campaigns/{campaign_id}/imports", status_code=202)
async def import_leads(
    campaign_id: CampaignId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("lead.import"))],
    uow: UoW,
    file: Annotated[UploadFile, File(description="CSV（UTF-8 或 GBK）或 XLSX / CSV or XLSX")],
    column_map: Annotated[
        str | None,
        Form(max_length=4000, description='列映射 / column map, JSON: {"手机": "phone"}'),
    ] = None,
    sheet: Annotated[
        str | None,
        Form(max_length=31, description="XLSX 工作表名（默认第一个）/ the XLSX sheet to read"),
    ] = None,
) -> ImportJobOut:
    """导入名单 / start importing a file; follow it with GET /imports/{job_id}."""
    if file.size is not None and file.size > MAX_FILE_BYTES:
        raise InvalidInput(
            field="file",
            reason_zh=f"文件超过 {MAX_FILE_BYTES >> 20} MiB",
            reason_en=f"the file is larger than {MAX_FILE_BYTES >> 20} MiB",
        )
    data = await file.read(MAX_FILE_BYTES + 1)
    job = await platform_of(request).outbound.imports.start(
        uow,
        actor_of(request, principal),
        campaign_id,
        data=data,
        filename=file.filename or "leads.csv",
        column_map=_column_map(column_map),
        sheet=sheet or None,
    )
    return job_out(job)


@router.get("/campaigns/{campaign_id}/imports")
async def list_imports(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
) -> list[ImportJobOut]:
    return [job_out(j) for j in await platform_of(request).outbound.imports.jobs(uow, campaign_id)]


@router.get("/campaigns/{campaign_id}/lists")
async def list_lead_lists(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
) -> list[LeadListOut]:
    return [list_out(r) for r in await platform_of(request).outbound.leads.lists(uow, campaign_id)]


@router.get("/imports/{job_id}")
async def get_import(
    job_id: JobId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
) -> ImportJobOut:
    """导入进度 / the job's state and counts (rows read so far while it runs)."""
    return job_out(await platform_of(request).outbound.imports.get_job(uow, job_id))


@router.get(
    "/imports/{job_id}/report",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "错误报告 / the rejected rows"}},
)
async def import_report(
    job_id: JobId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("lead.view"))],
    uow: UoW,
) -> Response:
    """错误报告 / rejected, duplicate and blocked rows with their reasons, as CSV."""
    data = await platform_of(request).outbound.imports.report_csv(uow, job_id)
    return Response(
        data,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="import-{job_id}-report.csv"'},
    )
