"""坐席管理 / agents: create, list, change, delete, roles, password, unlock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from callcenter.app.agents import AgentView
from callcenter.app.auth import Principal
from callcenter.web.api.common import ERROR_RESPONSES, AgentId, Limit, Offset
from callcenter.web.api.roles import publish_permissions_changed
from callcenter.web.schemas import (
    AgentIn,
    AgentOut,
    AgentPatch,
    AgentRolesIn,
    MembershipOut,
    Page,
    PasswordResetIn,
    SearchText,
)
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/agents", tags=["agents"], responses=ERROR_RESPONSES)


def agent_out(view: AgentView) -> AgentOut:
    row = view.row
    return AgentOut(
        id=row.id,
        agent_no=row.agent_no,
        name=row.name,
        enabled=row.enabled,
        roles=view.roles,
        locked_until=row.locked_until,
        last_login_at=row.last_login_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get("")
async def list_agents(
    request: Request,
    _: Annotated[Principal, Depends(Requires("agent.view"))],
    uow: UoW,
    search: SearchText | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AgentOut]:
    page = await platform_of(request).agents.list_agents(
        uow, search=search, limit=limit, offset=offset
    )
    return Page[AgentOut](items=[agent_out(v) for v in page.items], total=page.total)


@router.post("", status_code=201)
async def create_agent(
    body: AgentIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("agent.create"))],
    uow: UoW,
) -> AgentOut:
    view = await platform_of(request).agents.create_agent(
        uow,
        actor_of(request, principal),
        principal,
        agent_no=body.agent_no,
        name=body.name,
        password=body.password,
        roles=body.roles,
        enabled=body.enabled,
    )
    return agent_out(view)


@router.get("/{agent_id}")
async def get_agent(
    agent_id: AgentId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("agent.view"))],
    uow: UoW,
) -> AgentOut:
    return agent_out(await platform_of(request).agents.get_agent(uow, agent_id))


@router.patch("/{agent_id}")
async def update_agent(
    agent_id: AgentId,
    body: AgentPatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("agent.update"))],
    uow: UoW,
) -> AgentOut:
    view = await platform_of(request).agents.update_agent(
        uow, actor_of(request, principal), agent_id, name=body.name, enabled=body.enabled
    )
    return agent_out(view)


@router.delete("/{agent_id}", status_code=204)
async def delete_agent(
    agent_id: AgentId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("agent.delete"))],
    uow: UoW,
) -> None:
    await platform_of(request).agents.delete_agent(uow, actor_of(request, principal), agent_id)


@router.put("/{agent_id}/roles")
async def set_roles(
    agent_id: AgentId,
    body: AgentRolesIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("agent.assign_roles"))],
    uow: UoW,
) -> AgentOut:
    view = await platform_of(request).agents.set_agent_roles(
        uow, actor_of(request, principal), principal, agent_id, body.roles
    )
    publish_permissions_changed(request, agent_no=view.row.agent_no)
    return agent_out(view)


@router.post("/{agent_id}/password", status_code=204)
async def reset_password(
    agent_id: AgentId,
    body: PasswordResetIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("agent.reset_password"))],
    uow: UoW,
) -> None:
    await platform_of(request).agents.reset_password(
        uow, actor_of(request, principal), agent_id, body.password
    )


@router.post("/{agent_id}/unlock")
async def unlock(
    agent_id: AgentId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("agent.unlock"))],
    uow: UoW,
) -> AgentOut:
    view = await platform_of(request).agents.unlock(uow, actor_of(request, principal), agent_id)
    return agent_out(view)


@router.get("/{agent_id}/groups")
async def agent_groups(
    agent_id: AgentId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("group.view"))],
    uow: UoW,
) -> list[MembershipOut]:
    view = await platform_of(request).agents.get_agent(uow, agent_id)
    rows = await platform_of(request).groups.memberships_of(uow, agent_id)
    return [
        MembershipOut(
            id=m.id,
            group_id=g.id,
            group_name=g.name,
            agent_id=view.row.id,
            agent_no=view.row.agent_no,
            agent_name=view.row.name,
            start_time=m.start_time,
            end_time=m.end_time,
            weekdays=m.weekdays,
            skill_level=m.skill_level,
        )
        for m, g in rows
    ]
