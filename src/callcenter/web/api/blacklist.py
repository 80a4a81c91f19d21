"""黑名单 / the blacklist, do-not-call and opt-out numbers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile

from callcenter.app.auth import Principal
from callcenter.app.blacklist import BlockReason, BlockSource
from callcenter.app.lead_import import MAX_FILE_BYTES
from callcenter.errors import InvalidInput
from callcenter.store.tables import BlacklistRow
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID, Limit, Offset
from callcenter.web.campaign_schemas import BlacklistImportOut, BlacklistIn, BlacklistOut
from callcenter.web.schemas import Page, SearchText
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/blacklist", tags=["blacklist"], responses=ERROR_RESPONSES)
EntryId = Annotated[int, Path(ge=1, le=MAX_ID)]


def entry_out(row: BlacklistRow) -> BlacklistOut:
    return BlacklistOut(
        id=row.id,
        phone=row.phone,
        reason=row.reason,
        source=row.source,
        note=row.note,
        campaign_id=row.campaign_id,
        added_by_no=row.added_by_no,
        created_at=row.created_at,
    )


@router.get("")
async def search_blacklist(
    request: Request,
    _: Annotated[Principal, Depends(Requires("blacklist.view"))],
    uow: UoW,
    phone: Annotated[SearchText | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[BlacklistOut]:
    page = await platform_of(request).outbound.blacklist.search(
        uow, phone=phone, limit=limit, offset=offset
    )
    return Page[BlacklistOut](items=[entry_out(r) for r in page.items], total=page.total)


@router.post("", status_code=201)
async def add_to_blacklist(
    body: BlacklistIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("blacklist.manage"))],
    uow: UoW,
) -> list[BlacklistOut]:
    """加入黑名单 / block numbers (by hand, or a pasted list); effective at once."""
    rows = await platform_of(request).outbound.blacklist.add(
        uow,
        actor_of(request, principal),
        body.phones,
        reason=BlockReason(body.reason),
        source=BlockSource.MANUAL if len(body.phones) == 1 else BlockSource.IMPORT,
        note=body.note,
    )
    return [entry_out(r) for r in rows]


@router.delete("/{entry_id}", status_code=204)
async def remove_from_blacklist(
    entry_id: EntryId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("blacklist.manage"))],
    uow: UoW,
) -> None:
    await platform_of(request).outbound.blacklist.remove(
        uow, actor_of(request, principal), entry_id
    )


@router.post("/import", status_code=201)
async def import_blacklist(
    request: Request,
    principal: Annotated[Principal, Depends(Requires("blacklist.manage"))],
    uow: UoW,
    file: Annotated[UploadFile, File(description="CSV 或 XLSX，含号码列 / CSV or XLSX")],
    reason: Annotated[
        Literal["blacklist", "do_not_call", "opt_out", "complaint"], Form()
    ] = "blacklist",
) -> BlacklistImportOut:
    """导入黑名单 / block every number of a file (its phone column, as for lead files)."""
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            field="file",
            reason_zh=f"文件超过 {MAX_FILE_BYTES >> 20} MiB",
            reason_en=f"the file is larger than {MAX_FILE_BYTES >> 20} MiB",
        )
    found = await platform_of(request).outbound.blacklist.import_file(
        uow,
        actor_of(request, principal),
        data,
        file.filename or "blacklist.csv",
        reason=BlockReason(reason),
    )
    return BlacklistImportOut(added=found.added, already=found.already, invalid=found.invalid)
