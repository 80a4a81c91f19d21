"""营销脚本 / marketing scripts, and a script rendered for one lead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from callcenter.app.auth import Principal
from callcenter.errors import Forbidden
from callcenter.store.tables import ScriptRow
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID
from callcenter.web.campaign_schemas import RenderedOut, ScriptIn, ScriptOut, ScriptPatch
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/scripts", tags=["scripts"], responses=ERROR_RESPONSES)
ScriptId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _sees_leads(principal: Principal) -> None:
    """A script filled for a lead shows the lead: who may not see leads may not ask."""
    if not principal.can("lead.view"):
        raise Forbidden(permission="lead.view")


def script_out(row: ScriptRow) -> ScriptOut:
    return ScriptOut(
        id=row.id,
        name=row.name,
        body=row.body,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("")
async def list_scripts(
    request: Request, _: Annotated[Principal, Depends(Requires("script.view"))], uow: UoW
) -> list[ScriptOut]:
    return [script_out(r) for r in await platform_of(request).outbound.scripts.list_scripts(uow)]


@router.post("", status_code=201)
async def create_script(
    body: ScriptIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("script.manage"))],
    uow: UoW,
) -> ScriptOut:
    row = await platform_of(request).outbound.scripts.create(
        uow, actor_of(request, principal), name=body.name, body=body.body
    )
    return script_out(row)


@router.get("/{script_id}")
async def get_script(
    script_id: ScriptId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("script.view"))],
    uow: UoW,
) -> ScriptOut:
    return script_out(await platform_of(request).outbound.scripts.get(uow, script_id))


@router.get("/{script_id}/render")
async def render_script(
    script_id: ScriptId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("script.view"))],
    uow: UoW,
    lead_id: Annotated[int, Query(ge=1, le=2**62)],
    product_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> RenderedOut:
    """话术 / the script with {lead.x} and {product.x} filled for one lead."""
    _sees_leads(principal)
    rendered = await platform_of(request).outbound.scripts.render_for(
        uow, script_id, lead_id=lead_id, product_id=product_id
    )
    return RenderedOut(text=rendered.text, missing=rendered.missing)


@router.get("/campaign/{campaign_id}")
async def render_campaign_script(
    campaign_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    request: Request,
    principal: Annotated[Principal, Depends(Requires("script.view"))],
    uow: UoW,
    lead_id: Annotated[int, Query(ge=1, le=2**62)],
    product_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> RenderedOut:
    """本任务话术 / the script frozen in the campaign's approved version, for one lead
    (and the campaign's product, when it sells only one and none is named)."""
    _sees_leads(principal)
    outbound = platform_of(request).outbound
    version = await outbound.campaigns.approved(uow, campaign_id)
    if product_id is None and version is not None and len(version.settings.product_ids) == 1:
        (product_id,) = version.settings.product_ids
    rendered = await outbound.scripts.render_body(
        uow,
        version.script_body if version else "",
        lead_id=lead_id,
        product_id=product_id,
        campaign_id=campaign_id,
    )
    return RenderedOut(text=rendered.text, missing=rendered.missing)


@router.patch("/{script_id}")
async def update_script(
    script_id: ScriptId,
    body: ScriptPatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("script.manage"))],
    uow: UoW,
) -> ScriptOut:
    row = await platform_of(request).outbound.scripts.update(
        uow, actor_of(request, principal), script_id, name=body.name, body=body.body
    )
    return script_out(row)


@router.delete("/{script_id}", status_code=204)
async def delete_script(
    script_id: ScriptId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("script.manage"))],
    uow: UoW,
) -> None:
    await platform_of(request).outbound.scripts.delete(uow, actor_of(request, principal), script_id)
