"""坐席组 / agent groups and memberships, optionally limited to a daily time window.

The same agent can serve different groups (and so campaigns or queues) at different
hours: a membership applies on some weekdays between a start and an end time in the
site's wall clock; a window whose start is after its end wraps midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from callcenter.app import audit
from callcenter.app.agents import get_agent_row
from callcenter.app.audit import Actor
from callcenter.app.validation import WEEKDAYS_PATTERN, check_text, flush_unique, utc_now
from callcenter.errors import AlreadyExists, InvalidInput, NotFound
from callcenter.store.tables import AgentRow, GroupRow, MembershipRow
from callcenter.store.uow import UnitOfWork


def membership_active(row: MembershipRow, local: dt.datetime) -> bool:
    """Whether a membership applies at a local wall-clock moment (windows may wrap midnight)."""
    if str(local.isoweekday()) not in row.weekdays:
        return False
    if row.start_time is None or row.end_time is None:
        return True
    now = local.time().replace(tzinfo=None)
    if row.start_time <= row.end_time:
        return row.start_time <= now < row.end_time
    return now >= row.start_time or now < row.end_time


class GroupService:
    async def _group(self, uow: UnitOfWork, group_id: int) -> GroupRow:
        group = await uow.session.get(GroupRow, group_id)
        if group is None:
            raise NotFound(kind="group", id=group_id)
        return group

    async def list_groups(self, uow: UnitOfWork) -> list[tuple[GroupRow, int]]:
        counts = dict(
            (
                await uow.session.execute(
                    select(
                        MembershipRow.group_id, func.count(func.distinct(MembershipRow.agent_id))
                    ).group_by(MembershipRow.group_id)
                )
            ).all()
        )
        groups = await uow.session.scalars(select(GroupRow).order_by(GroupRow.name))
        return [(group, counts.get(group.id, 0)) for group in groups]

    async def get_group(self, uow: UnitOfWork, group_id: int) -> GroupRow:
        return await self._group(uow, group_id)

    async def create_group(
        self, uow: UnitOfWork, actor: Actor, *, name: str, description: str
    ) -> GroupRow:
        name = check_text("name", name)
        if not name:
            raise InvalidInput(field="name", reason_zh="名称不能为空", reason_en="name is empty")
        if await uow.session.scalar(select(GroupRow.id).where(GroupRow.name == name)):
            raise AlreadyExists(kind="group", value=name)
        now = utc_now()
        group = GroupRow(
            name=name,
            description=check_text("description", description),
            created_at=now,
            updated_at=now,
        )
        uow.session.add(group)
        await flush_unique(uow, "group", name)
        audit.record(
            uow,
            actor,
            "group.create",
            target_type="group",
            target_id=group.id,
            detail={"name": name},
        )
        uow.emit("group.created", {"id": group.id, "name": name}, "group.view")
        await uow.commit()
        return group

    async def update_group(
        self,
        uow: UnitOfWork,
        actor: Actor,
        group_id: int,
        *,
        name: str | None,
        description: str | None,
    ) -> GroupRow:
        group = await self._group(uow, group_id)
        changes: dict[str, Any] = {}
        if name is not None:
            name = check_text("name", name)
            if not name:
                raise InvalidInput(
                    field="name", reason_zh="名称不能为空", reason_en="name is empty"
                )
            clash = await uow.session.scalar(
                select(GroupRow.id).where(GroupRow.name == name, GroupRow.id != group.id)
            )
            if clash:
                raise AlreadyExists(kind="group", value=name)
            group.name = changes["name"] = name
        if description is not None:
            group.description = changes["description"] = check_text("description", description)
        group.updated_at = utc_now()
        await flush_unique(uow, "group", group.name)
        audit.record(
            uow, actor, "group.update", target_type="group", target_id=group.id, detail=changes
        )
        uow.emit("group.updated", {"id": group.id, "name": group.name}, "group.view")
        await uow.commit()
        return group

    async def delete_group(self, uow: UnitOfWork, actor: Actor, group_id: int) -> None:
        group = await self._group(uow, group_id)
        name = group.name
        await uow.session.delete(group)
        audit.record(
            uow,
            actor,
            "group.delete",
            target_type="group",
            target_id=group_id,
            detail={"name": name},
        )
        uow.emit("group.deleted", {"id": group_id, "name": name}, "group.view")
        await uow.commit()

    async def list_members(
        self, uow: UnitOfWork, group_id: int, *, active_at: dt.datetime | None
    ) -> list[tuple[MembershipRow, AgentRow]]:
        await self._group(uow, group_id)
        rows = (
            await uow.session.execute(
                select(MembershipRow, AgentRow)
                .join(AgentRow, AgentRow.id == MembershipRow.agent_id)
                .where(MembershipRow.group_id == group_id)
                .order_by(AgentRow.agent_no, MembershipRow.id)
            )
        ).all()
        members = [(m, a) for m, a in rows]
        if active_at is None:
            return members
        return [(m, a) for m, a in members if membership_active(m, active_at)]

    async def memberships_of(
        self, uow: UnitOfWork, agent_id: int
    ) -> list[tuple[MembershipRow, GroupRow]]:
        await get_agent_row(uow, agent_id)
        rows = await uow.session.execute(
            select(MembershipRow, GroupRow)
            .join(GroupRow, GroupRow.id == MembershipRow.group_id)
            .where(MembershipRow.agent_id == agent_id)
            .order_by(GroupRow.name, MembershipRow.id)
        )
        return [(m, g) for m, g in rows]

    async def add_member(
        self,
        uow: UnitOfWork,
        actor: Actor,
        group_id: int,
        *,
        agent_id: int,
        start_time: dt.time | None,
        end_time: dt.time | None,
        weekdays: str,
        skill_level: int,
    ) -> tuple[MembershipRow, AgentRow]:
        group = await self._group(uow, group_id)
        agent = await get_agent_row(uow, agent_id)
        if (start_time is None) != (end_time is None):
            raise InvalidInput(
                field="start_time",
                reason_zh="开始和结束时间须同时填写或同时留空",
                reason_en="give both start_time and end_time, or neither",
            )
        if start_time is not None and start_time == end_time:
            raise InvalidInput(
                field="end_time",
                reason_zh="结束时间不能等于开始时间",
                reason_en="end_time must differ from start_time",
            )
        if not re.fullmatch(WEEKDAYS_PATTERN, weekdays):
            raise InvalidInput(
                field="weekdays",
                reason_zh="星期须为 1 到 7 的数字，不重复",
                reason_en="weekdays are the digits 1 (Monday) to 7 (Sunday), each at most once",
            )
        weekdays = "".join(sorted(weekdays))
        # Windows are in the site's wall-clock time; a zone given with them is dropped.
        start_time = start_time.replace(tzinfo=None) if start_time else None
        end_time = end_time.replace(tzinfo=None) if end_time else None
        duplicate = await uow.session.scalar(
            select(MembershipRow.id).where(
                MembershipRow.group_id == group.id,
                MembershipRow.agent_id == agent.id,
                MembershipRow.start_time.is_(None)
                if start_time is None
                else MembershipRow.start_time == start_time,
                MembershipRow.end_time.is_(None)
                if end_time is None
                else MembershipRow.end_time == end_time,
                MembershipRow.weekdays == weekdays,
            )
        )
        if duplicate:
            raise AlreadyExists(kind="membership", value=f"{agent.agent_no}@{group.name}")
        membership = MembershipRow(
            group_id=group.id,
            agent_id=agent.id,
            start_time=start_time,
            end_time=end_time,
            weekdays=weekdays,
            skill_level=skill_level,
            created_at=utc_now(),
        )
        uow.session.add(membership)
        await uow.session.flush()
        audit.record(
            uow,
            actor,
            "group.add_member",
            target_type="group",
            target_id=group.id,
            detail={
                "agent_no": agent.agent_no,
                "membership_id": membership.id,
                "start_time": start_time.isoformat() if start_time else None,
                "end_time": end_time.isoformat() if end_time else None,
                "weekdays": weekdays,
                "skill_level": skill_level,
            },
        )
        uow.emit("group.members_changed", {"id": group.id}, "group.view")
        await uow.commit()
        return membership, agent

    async def remove_member(
        self, uow: UnitOfWork, actor: Actor, group_id: int, membership_id: int
    ) -> None:
        membership = await uow.session.get(MembershipRow, membership_id)
        if membership is None or membership.group_id != group_id:
            raise NotFound(kind="membership", id=membership_id)
        agent_id = membership.agent_id
        await uow.session.delete(membership)
        audit.record(
            uow,
            actor,
            "group.remove_member",
            target_type="group",
            target_id=group_id,
            detail={"membership_id": membership_id, "agent_id": agent_id},
        )
        uow.emit("group.members_changed", {"id": group_id}, "group.view")
        await uow.commit()
