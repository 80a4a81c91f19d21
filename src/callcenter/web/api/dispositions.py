"""呼叫结果 / dispositions: the results agents record, their flags and retry outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from callcenter.app.auth import Principal
from callcenter.store.tables import DispositionRow
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID
from callcenter.web.campaign_schemas import DispositionIn, DispositionOut, DispositionPatch
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/dispositions", tags=["dispositions"], responses=ERROR_RESPONSES)
DispositionId = Annotated[int, Path(ge=1, le=MAX_ID)]


def disposition_out(row: DispositionRow) -> DispositionOut:
    return DispositionOut(
        id=row.id,
        code=row.code,
        name=row.name,
        flags=row.flags,
        outcome=row.outcome,
        enabled=row.enabled,
    )


@router.get("")
async def list_dispositions(
    request: Request,
    _: Annotated[Principal, Depends(Requires("disposition.view"))],
    uow: UoW,
    campaign_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="只列该外呼任务可用的 / only those the campaign uses"),
    ] = None,
) -> list[DispositionOut]:
    outbound = platform_of(request).outbound
    rows = await outbound.dispositions.list_dispositions(uow)
    if campaign_id is not None:
        offered, _products = await outbound.results.offered(uow, campaign_id)
        rows = [r for r in rows if not offered or r.id in offered]
    return [disposition_out(r) for r in rows]


@router.post("", status_code=201)
async def create_disposition(
    body: DispositionIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("disposition.manage"))],
    uow: UoW,
) -> DispositionOut:
    row = await platform_of(request).outbound.dispositions.create(
        uow,
        actor_of(request, principal),
        code=body.code,
        name=body.name,
        flags=body.flags,
        outcome=body.outcome,
        enabled=body.enabled,
    )
    return disposition_out(row)


@router.post("/defaults")
async def add_default_dispositions(
    request: Request,
    principal: Annotated[Principal, Depends(Requires("disposition.manage"))],
    uow: UoW,
) -> list[DispositionOut]:
    """加入默认呼叫结果 / add the default set's missing codes; answers the full list."""
    service = platform_of(request).outbound.dispositions
    await service.ensure_defaults(uow, actor_of(request, principal))
    return [disposition_out(r) for r in await service.list_dispositions(uow)]


@router.patch("/{disposition_id}")
async def update_disposition(
    disposition_id: DispositionId,
    body: DispositionPatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("disposition.manage"))],
    uow: UoW,
) -> DispositionOut:
    row = await platform_of(request).outbound.dispositions.update(
        uow,
        actor_of(request, principal),
        disposition_id,
        name=body.name,
        flags=body.flags,
        outcome=body.outcome,
        enabled=body.enabled,
    )
    return disposition_out(row)


@router.delete("/{disposition_id}", status_code=204)
async def delete_disposition(
    disposition_id: DispositionId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("disposition.manage"))],
    uow: UoW,
) -> None:
    await platform_of(request).outbound.dispositions.delete(
        uow, actor_of(request, principal), disposition_id
    )
