"""产品属性 / products and their attributes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from callcenter.app.auth import Principal
from callcenter.store.tables import ProductRow
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID
from callcenter.web.campaign_schemas import ProductIn, ProductOut, ProductPatch
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/products", tags=["products"], responses=ERROR_RESPONSES)
ProductId = Annotated[int, Path(ge=1, le=MAX_ID)]


def product_out(row: ProductRow) -> ProductOut:
    return ProductOut(
        id=row.id,
        name=row.name,
        description=row.description,
        attributes=row.attributes,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("")
async def list_products(
    request: Request,
    _: Annotated[Principal, Depends(Requires("product.view"))],
    uow: UoW,
    campaign_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="只列该外呼任务可用的 / only those the campaign sells"),
    ] = None,
) -> list[ProductOut]:
    outbound = platform_of(request).outbound
    rows = await outbound.products.list_products(uow)
    if campaign_id is not None:
        _dispositions, offered = await outbound.results.offered(uow, campaign_id)
        rows = [r for r in rows if not offered or r.id in offered]
    return [product_out(r) for r in rows]


@router.post("", status_code=201)
async def create_product(
    body: ProductIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("product.manage"))],
    uow: UoW,
) -> ProductOut:
    row = await platform_of(request).outbound.products.create(
        uow,
        actor_of(request, principal),
        name=body.name,
        description=body.description,
        attributes=[a.model_dump() for a in body.attributes],
    )
    return product_out(row)


@router.get("/{product_id}")
async def get_product(
    product_id: ProductId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("product.view"))],
    uow: UoW,
) -> ProductOut:
    return product_out(await platform_of(request).outbound.products.get(uow, product_id))


@router.patch("/{product_id}")
async def update_product(
    product_id: ProductId,
    body: ProductPatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("product.manage"))],
    uow: UoW,
) -> ProductOut:
    row = await platform_of(request).outbound.products.update(
        uow,
        actor_of(request, principal),
        product_id,
        name=body.name,
        description=body.description,
        attributes=None if body.attributes is None else [a.model_dump() for a in body.attributes],
    )
    return product_out(row)


@router.delete("/{product_id}", status_code=204)
async def delete_product(
    product_id: ProductId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("product.manage"))],
    uow: UoW,
) -> None:
    await platform_of(request).outbound.products.delete(
        uow, actor_of(request, principal), product_id
    )
