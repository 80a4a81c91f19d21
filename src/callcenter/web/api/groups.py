"""坐席组 / agent groups and their memberships (optionally limited to a time window)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from callcenter.app.auth import Principal
from callcenter.store.tables import AgentRow, GroupRow, MembershipRow
from callcenter.web.api.common import ERROR_RESPONSES, GroupId, MembershipId
from callcenter.web.schemas import (
    GroupIn,
    GroupOut,
    GroupPatch,
    MembershipIn,
    MembershipOut,
    Moment,
)
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/groups", tags=["groups"], responses=ERROR_RESPONSES)


def group_out(group: GroupRow, member_count: int) -> GroupOut:
    return GroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        member_count=member_count,
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


def membership_out(m: MembershipRow, agent: AgentRow, group_name: str) -> MembershipOut:
    return MembershipOut(
        id=m.id,
        group_id=m.group_id,
        group_name=group_name,
        agent_id=agent.id,
        agent_no=agent.agent_no,
        agent_name=agent.name,
        start_time=m.start_time,
        end_time=m.end_time,
        weekdays=m.weekdays,
        skill_level=m.skill_level,
    )


async def _count(request: Request, uow: UoW, group_id: int) -> int:
    members = await platform_of(request).groups.list_members(uow, group_id, active_at=None)
    return len({agent.id for _, agent in members})


@router.get("")
async def list_groups(
    request: Request, _: Annotated[Principal, Depends(Requires("group.view"))], uow: UoW
) -> list[GroupOut]:
    return [group_out(g, n) for g, n in await platform_of(request).groups.list_groups(uow)]


@router.post("", status_code=201)
async def create_group(
    body: GroupIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("group.create"))],
    uow: UoW,
) -> GroupOut:
    group = await platform_of(request).groups.create_group(
        uow, actor_of(request, principal), name=body.name, description=body.description
    )
    return group_out(group, 0)


@router.get("/{group_id}")
async def get_group(
    group_id: GroupId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("group.view"))],
    uow: UoW,
) -> GroupOut:
    group = await platform_of(request).groups.get_group(uow, group_id)
    return group_out(group, await _count(request, uow, group_id))


@router.patch("/{group_id}")
async def update_group(
    group_id: GroupId,
    body: GroupPatch,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("group.update"))],
    uow: UoW,
) -> GroupOut:
    group = await platform_of(request).groups.update_group(
        uow, actor_of(request, principal), group_id, name=body.name, description=body.description
    )
    return group_out(group, await _count(request, uow, group_id))


@router.delete("/{group_id}", status_code=204)
async def delete_group(
    group_id: GroupId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("group.delete"))],
    uow: UoW,
) -> None:
    await platform_of(request).groups.delete_group(uow, actor_of(request, principal), group_id)


@router.get("/{group_id}/members")
async def list_members(
    group_id: GroupId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("group.view"))],
    uow: UoW,
    active_at: Annotated[
        Moment | None,
        Query(description="只列出此刻生效的成员 / only memberships active at this moment"),
    ] = None,
) -> list[MembershipOut]:
    platform = platform_of(request)
    group = await platform.groups.get_group(uow, group_id)
    local = None
    if active_at is not None:
        zone = platform.settings.zone
        local = (active_at if active_at.tzinfo else active_at.replace(tzinfo=zone)).astimezone(zone)
    rows = await platform.groups.list_members(uow, group_id, active_at=local)
    return [membership_out(m, a, group.name) for m, a in rows]


@router.post("/{group_id}/members", status_code=201)
async def add_member(
    group_id: GroupId,
    body: MembershipIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("group.members"))],
    uow: UoW,
) -> MembershipOut:
    platform = platform_of(request)
    membership, agent = await platform.groups.add_member(
        uow,
        actor_of(request, principal),
        group_id,
        agent_id=body.agent_id,
        start_time=body.start_time,
        end_time=body.end_time,
        weekdays=body.weekdays,
        skill_level=body.skill_level,
    )
    group = await platform.groups.get_group(uow, group_id)
    return membership_out(membership, agent, group.name)


@router.delete("/{group_id}/members/{membership_id}", status_code=204)
async def remove_member(
    group_id: GroupId,
    membership_id: MembershipId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("group.members"))],
    uow: UoW,
) -> None:
    await platform_of(request).groups.remove_member(
        uow, actor_of(request, principal), group_id, membership_id
    )
