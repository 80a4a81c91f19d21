"""黑名单 / the blacklist, do-not-call and opt-out numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from callcenter.app.auth import Principal
from callcenter.app.blacklist import BlockReason, BlockSource
from callcenter.store.tables import BlacklistRow
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID, Limit, Offset
from callcenter.web.campaign_schemas import BlacklistIn, BlacklistOut
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
