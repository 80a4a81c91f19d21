"""角色管理及授权 / roles and the permission catalogue.

When what a role grants changes, or a person's roles change, every live client is told
``permissions.changed`` (naming the role or the person) once it has committed: an open
browser reads its own permissions again and hides the buttons it no longer may use,
without a reload. The API refuses those actions either way.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request

from callcenter.app.auth import Principal
from callcenter.app.permissions import CATALOGUE
from callcenter.store.tables import RoleRow
from callcenter.web.api.common import ERROR_RESPONSES, RoleId
from callcenter.web.schemas import PermissionOut, RoleIn, RoleOut, RolePatch
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(tags=["roles"], responses=ERROR_RESPONSES)

PERMISSIONS_CHANGED: Final = "permissions.changed"


def publish_permissions_changed(request: Request, *, role: str = "", agent_no: str = "") -> None:
    """Tell every live client whose permissions may have changed: holders of ``role``, or
    ``agent_no``. Any authenticated client sees it; each decides whether it is concerned."""
    data = {"role": role} if role else {"agent_no": agent_no}
    platform_of(request).bus.publish(PERMISSIONS_CHANGED, data, None)


def role_out(role: RoleRow, permissions: list[str]) -> RoleOut:
    return RoleOut(
        id=role.id,
        code=role.code,
        name=role.name,
        description=role.description,
        builtin=role.builtin,
        permissions=permissions,
    )


@router.get("/permissions")
async def list_permissions(
    _: Annotated[Principal, Depends(Requires("role.view"))],
) -> list[PermissionOut]:
    """The catalogue: one code per button, grouped by screen (menu)."""
    return [PermissionOut(code=p.code, menu=p.menu, zh=p.zh, en=p.en) for p in CATALOGUE.values()]


@router.get("/roles")
async def list_roles(
    request: Request, _: Annotated[Principal, Depends(Requires("role.view"))], uow: UoW
) -> list[RoleOut]:
    return [role_out(r, p) for r, p in await platform_of(request).roles.list_roles(uow)]


@router.post("/roles", status_code=201)
async def create_role(
    body: RoleIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("role.create"))],
    uow: UoW,
) -> RoleOut:
    role, permissions = await platform_of(request).roles.create_role(
        uow,
        actor_of(request, principal),
        principal,
        code=body.code,
        name=body.name,
        description=body.description,
        permissions=body.permissions,
    )
    return role_out(role, permissions)


@router.get("/roles/{role_id}")
async def get_role(
    role_id: RoleId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("role.view"))],
    uow: UoW,
) -> RoleOut:
    return role_out(*await platform_of(request).roles.get_role(uow, role_id))


@router.patch("/roles/{role_id}")
async def update_role(
    role_id: RoleId,
    body: RolePatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("role.update"))],
    uow: UoW,
) -> RoleOut:
    role, permissions = await platform_of(request).roles.update_role(
        uow,
        actor_of(request, principal),
        principal,
        role_id,
        name=body.name,
        description=body.description,
        permissions=body.permissions,
    )
    if body.permissions is not None:
        publish_permissions_changed(request, role=role.code)
    return role_out(role, permissions)


@router.delete("/roles/{role_id}", status_code=204)
async def delete_role(
    role_id: RoleId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("role.delete"))],
    uow: UoW,
) -> None:
    await platform_of(request).roles.delete_role(uow, actor_of(request, principal), role_id)
