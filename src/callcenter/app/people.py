"""People (坐席管理): agents, agent groups (坐席组) and memberships, roles (角色管理及授权).

Every change is checked, written together with its audit row in one transaction, and
announced on the event bus once committed. Nobody can grant what they do not hold:
assigning a role or editing a role's codes requires holding every code involved.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.auth import Passwords, Principal
from callcenter.app.permissions import ADMIN_ROLE, ALL_CODES, BUILTIN_ROLES
from callcenter.errors import (
    AlreadyExists,
    BuiltinRole,
    CannotGrant,
    InUse,
    InvalidInput,
    NotFound,
    SelfLockout,
)
from callcenter.store.tables import (
    AgentRoleRow,
    AgentRow,
    GroupRow,
    MembershipRow,
    RolePermissionRow,
    RoleRow,
)
from callcenter.store.uow import UnitOfWork

AGENT_NO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$"
ROLE_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
WEEKDAYS_PATTERN = r"^(?!.*(.).*\1)[1-7]{1,7}$"
PASSWORD_MIN = 8
PASSWORD_MAX = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_text(field: str, value: str) -> str:
    """Names and descriptions: no control characters, no surrounding blanks."""
    if _CONTROL.search(value):
        raise InvalidInput(
            field=field,
            reason_zh=f"{field} 含有控制字符",
            reason_en=f"{field} contains control characters",
        )
    return value.strip()


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(
            field="password",
            reason_zh=f"密码长度须为 {PASSWORD_MIN} 到 {PASSWORD_MAX} 个字符",
            reason_en=f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
        )
    return password


def check_agent_no(agent_no: str) -> str:
    if not re.fullmatch(AGENT_NO_PATTERN, agent_no):
        raise InvalidInput(
            field="agent_no",
            reason_zh="工号只能包含字母、数字、点、下划线和连字符，最长 20 位",
            reason_en="an agent number has letters, digits, '.', '_' or '-', at most 20",
        )
    return agent_no


@dataclass(frozen=True, slots=True)
class AgentView:
    row: AgentRow
    roles: list[str]


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int


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


class PeopleService:
    def __init__(self, passwords: Passwords) -> None:
        self._passwords = passwords

    # -- roles -------------------------------------------------------------------------

    async def ensure_builtin_roles(self, uow: UnitOfWork) -> None:
        """Create the built-in roles that are missing; never overwrite an operator's edits."""
        existing = set(await uow.session.scalars(select(RoleRow.code)))
        now = _now()
        for builtin in BUILTIN_ROLES:
            if builtin.code in existing:
                continue
            role = RoleRow(
                code=builtin.code,
                name=builtin.name,
                description=builtin.description,
                builtin=True,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(role)
            await uow.session.flush()
            if builtin.code != ADMIN_ROLE:  # admin holds every code implicitly
                uow.session.add_all(
                    RolePermissionRow(role_id=role.id, permission=code)
                    for code in sorted(builtin.permissions)
                )
        await uow.commit()

    async def list_roles(self, uow: UnitOfWork) -> list[tuple[RoleRow, list[str]]]:
        roles = list(await uow.session.scalars(select(RoleRow).order_by(RoleRow.id)))
        grants = await self._grants(uow, [role.id for role in roles])
        return [(role, self._codes(role, grants.get(role.id, []))) for role in roles]

    async def get_role(self, uow: UnitOfWork, role_id: int) -> tuple[RoleRow, list[str]]:
        role = await self._role(uow, role_id)
        grants = await self._grants(uow, [role.id])
        return role, self._codes(role, grants.get(role.id, []))

    @staticmethod
    def _codes(role: RoleRow, granted: list[str]) -> list[str]:
        return sorted(ALL_CODES) if role.code == ADMIN_ROLE else sorted(granted)

    async def _grants(self, uow: UnitOfWork, role_ids: list[int]) -> dict[int, list[str]]:
        grants: dict[int, list[str]] = {}
        rows = await uow.session.execute(
            select(RolePermissionRow.role_id, RolePermissionRow.permission).where(
                RolePermissionRow.role_id.in_(role_ids)
            )
        )
        for role_id, code in rows:
            grants.setdefault(role_id, []).append(code)
        return grants

    async def _role(self, uow: UnitOfWork, role_id: int) -> RoleRow:
        role = await uow.session.get(RoleRow, role_id)
        if role is None:
            raise NotFound(kind="role", id=role_id)
        return role

    @staticmethod
    def _check_known(codes: Iterable[str]) -> list[str]:
        wanted = sorted(set(codes))
        unknown = [code for code in wanted if code not in ALL_CODES]
        if unknown:
            raise InvalidInput(
                field="permissions",
                unknown=unknown,
                reason_zh=f"未知的权限代码：{', '.join(unknown)}",
                reason_en=f"unknown permission codes: {', '.join(unknown)}",
            )
        return wanted

    @staticmethod
    def _check_held(principal: Principal, codes: Iterable[str]) -> None:
        lacking = sorted(code for code in set(codes) if not principal.can(code))
        if lacking:
            raise CannotGrant(permissions=", ".join(lacking))

    def _check_codes(self, principal: Principal, codes: Iterable[str]) -> list[str]:
        wanted = self._check_known(codes)
        self._check_held(principal, wanted)
        return wanted

    async def create_role(
        self,
        uow: UnitOfWork,
        actor: Actor,
        principal: Principal,
        *,
        code: str,
        name: str,
        description: str,
        permissions: Sequence[str],
    ) -> tuple[RoleRow, list[str]]:
        codes = self._check_codes(principal, permissions)
        if not re.fullmatch(ROLE_CODE_PATTERN, code):
            raise InvalidInput(
                field="code",
                reason_zh="角色代码须为小写字母开头的小写字母、数字和下划线",
                reason_en="a role code is lower-case letters, digits and '_', from a letter",
            )
        if await uow.session.scalar(select(RoleRow.id).where(RoleRow.code == code)):
            raise AlreadyExists(kind="role", value=code)
        now = _now()
        role = RoleRow(
            code=code,
            name=check_text("name", name),
            description=check_text("description", description),
            builtin=False,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(role)
        await self._flush_unique(uow, "role", code)
        uow.session.add_all(RolePermissionRow(role_id=role.id, permission=c) for c in codes)
        audit.record(
            uow,
            actor,
            "role.create",
            target_type="role",
            target_id=role.id,
            detail={"code": code, "permissions": codes},
        )
        uow.emit("role.created", {"id": role.id, "code": code}, "role.view")
        await uow.commit()
        return role, codes

    async def update_role(
        self,
        uow: UnitOfWork,
        actor: Actor,
        principal: Principal,
        role_id: int,
        *,
        name: str | None,
        description: str | None,
        permissions: Sequence[str] | None,
    ) -> tuple[RoleRow, list[str]]:
        role, before = await self.get_role(uow, role_id)
        if role.code == ADMIN_ROLE:
            raise BuiltinRole(role=role.code)
        changes: dict[str, Any] = {}
        if name is not None:
            role.name = check_text("name", name)
            changes["name"] = role.name
        if description is not None:
            role.description = check_text("description", description)
            changes["description"] = role.description
        after = before
        if permissions is not None:
            after = self._check_known(permissions)
            # Only the codes that change must be held: removing or adding a code is
            # granting or revoking it; the untouched ones stay as they were.
            self._check_held(principal, set(after) ^ set(before))
            await uow.session.execute(
                delete(RolePermissionRow).where(RolePermissionRow.role_id == role.id)
            )
            uow.session.add_all(RolePermissionRow(role_id=role.id, permission=c) for c in after)
            changes["granted"] = sorted(set(after) - set(before))
            changes["revoked"] = sorted(set(before) - set(after))
        role.updated_at = _now()
        audit.record(
            uow, actor, "role.update", target_type="role", target_id=role.id, detail=changes
        )
        uow.emit("role.updated", {"id": role.id, "code": role.code}, "role.view")
        uow.emit("auth.changed", {"role_id": role.id}, "internal")
        await uow.commit()
        return role, after

    async def delete_role(self, uow: UnitOfWork, actor: Actor, role_id: int) -> None:
        role = await self._role(uow, role_id)
        if role.builtin:
            raise BuiltinRole(role=role.code)
        holders = await uow.session.scalar(
            select(func.count()).where(AgentRoleRow.role_id == role.id)
        )
        if holders:
            raise InUse(kind="role", id=role.code, holders=holders)
        await uow.session.delete(role)
        audit.record(
            uow,
            actor,
            "role.delete",
            target_type="role",
            target_id=role_id,
            detail={"code": role.code},
        )
        uow.emit("role.deleted", {"id": role_id, "code": role.code}, "role.view")
        await uow.commit()

    # -- agents ------------------------------------------------------------------------

    async def _agent(self, uow: UnitOfWork, agent_id: int) -> AgentRow:
        agent = await uow.session.get(AgentRow, agent_id)
        if agent is None:
            raise NotFound(kind="agent", id=agent_id)
        return agent

    async def _roles_of(self, uow: UnitOfWork, agent_ids: list[int]) -> dict[int, list[str]]:
        result: dict[int, list[str]] = {}
        rows = await uow.session.execute(
            select(AgentRoleRow.agent_id, RoleRow.code)
            .join(RoleRow, RoleRow.id == AgentRoleRow.role_id)
            .where(AgentRoleRow.agent_id.in_(agent_ids))
            .order_by(RoleRow.code)
        )
        for agent_id, code in rows:
            result.setdefault(agent_id, []).append(code)
        return result

    async def list_agents(
        self, uow: UnitOfWork, *, search: str | None, limit: int, offset: int
    ) -> Page[AgentView]:
        statement: Select[AgentRow] = select(AgentRow)
        if search:
            statement = statement.where(
                or_(
                    AgentRow.agent_no.contains(search, autoescape=True),
                    AgentRow.name.contains(search, autoescape=True),
                )
            )
        total = await uow.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = list(
            await uow.session.scalars(
                statement.order_by(AgentRow.agent_no).limit(limit).offset(offset)
            )
        )
        roles = await self._roles_of(uow, [row.id for row in rows])
        return Page([AgentView(row, roles.get(row.id, [])) for row in rows], int(total or 0))

    async def get_agent(self, uow: UnitOfWork, agent_id: int) -> AgentView:
        agent = await self._agent(uow, agent_id)
        roles = await self._roles_of(uow, [agent.id])
        return AgentView(agent, roles.get(agent.id, []))

    async def _resolve_roles(
        self, uow: UnitOfWork, principal: Principal | None, role_codes: Sequence[str]
    ) -> list[RoleRow]:
        wanted = sorted(set(role_codes))
        rows = list(await uow.session.scalars(select(RoleRow).where(RoleRow.code.in_(wanted))))
        missing = sorted(set(wanted) - {row.code for row in rows})
        if missing:
            raise NotFound(kind="role", id=", ".join(missing))
        if principal is not None:
            grants = await self._grants(uow, [row.id for row in rows])
            for row in rows:
                self._check_codes(principal, self._codes(row, grants.get(row.id, [])))
        return rows

    async def create_agent(
        self,
        uow: UnitOfWork,
        actor: Actor,
        principal: Principal | None,
        *,
        agent_no: str,
        name: str,
        password: str,
        roles: Sequence[str],
        enabled: bool = True,
    ) -> AgentView:
        """Create an agent. ``principal`` None is the operator at the console (CLI)."""
        check_agent_no(agent_no)
        check_password(password)
        role_rows = await self._resolve_roles(uow, principal, roles)
        if await uow.session.scalar(select(AgentRow.id).where(AgentRow.agent_no == agent_no)):
            raise AlreadyExists(kind="agent", value=agent_no)
        now = _now()
        agent = AgentRow(
            agent_no=agent_no,
            name=check_text("name", name),
            password_hash=self._passwords.hash(password),
            enabled=enabled,
            failed_logins=0,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(agent)
        await self._flush_unique(uow, "agent", agent_no)
        uow.session.add_all(AgentRoleRow(agent_id=agent.id, role_id=r.id) for r in role_rows)
        codes = sorted(r.code for r in role_rows)
        audit.record(
            uow,
            actor,
            "agent.create",
            target_type="agent",
            target_id=agent.id,
            detail={"agent_no": agent_no, "name": agent.name, "roles": codes},
        )
        uow.emit("agent.created", {"id": agent.id, "agent_no": agent_no}, "agent.view")
        await uow.commit()
        return AgentView(agent, codes)

    async def update_agent(
        self,
        uow: UnitOfWork,
        actor: Actor,
        agent_id: int,
        *,
        name: str | None,
        enabled: bool | None,
    ) -> AgentView:
        agent = await self._agent(uow, agent_id)
        changes: dict[str, Any] = {}
        if name is not None:
            agent.name = check_text("name", name)
            changes["name"] = agent.name
        if enabled is not None and enabled != agent.enabled:
            if not enabled and agent.id == actor.agent_id:
                raise SelfLockout()
            if not enabled:
                await self._keep_an_admin(uow, agent.id)
            agent.enabled = enabled
            changes["enabled"] = enabled
        agent.updated_at = _now()
        audit.record(
            uow, actor, "agent.update", target_type="agent", target_id=agent.id, detail=changes
        )
        uow.emit("agent.updated", {"id": agent.id, "agent_no": agent.agent_no}, "agent.view")
        uow.emit("auth.changed", {"agent_id": agent.id}, "internal")
        await uow.commit()
        return await self.get_agent(uow, agent.id)

    async def _keep_an_admin(self, uow: UnitOfWork, leaving_agent_id: int) -> None:
        """Refuse a change that would leave no enabled administrator."""
        others = await uow.session.scalar(
            select(func.count())
            .select_from(AgentRoleRow)
            .join(RoleRow, RoleRow.id == AgentRoleRow.role_id)
            .join(AgentRow, AgentRow.id == AgentRoleRow.agent_id)
            .where(
                RoleRow.code == ADMIN_ROLE,
                AgentRow.enabled.is_(True),
                AgentRow.id != leaving_agent_id,
            )
        )
        is_admin = await uow.session.scalar(
            select(func.count())
            .select_from(AgentRoleRow)
            .join(RoleRow, RoleRow.id == AgentRoleRow.role_id)
            .where(AgentRoleRow.agent_id == leaving_agent_id, RoleRow.code == ADMIN_ROLE)
        )
        if is_admin and not others:
            raise SelfLockout()

    async def set_agent_roles(
        self,
        uow: UnitOfWork,
        actor: Actor,
        principal: Principal,
        agent_id: int,
        roles: Sequence[str],
    ) -> AgentView:
        agent = await self._agent(uow, agent_id)
        before = set((await self._roles_of(uow, [agent.id])).get(agent.id, []))
        after_rows = await self._resolve_roles(uow, principal, roles)
        after = {row.code for row in after_rows}
        removed = before - after
        if removed:
            # Taking a role away needs its codes too, or a leader could strip an admin.
            await self._resolve_roles(uow, principal, sorted(removed))
        if ADMIN_ROLE in removed:
            if agent.id == actor.agent_id:
                raise SelfLockout()
            await self._keep_an_admin(uow, agent.id)
        await uow.session.execute(delete(AgentRoleRow).where(AgentRoleRow.agent_id == agent.id))
        uow.session.add_all(AgentRoleRow(agent_id=agent.id, role_id=r.id) for r in after_rows)
        agent.updated_at = _now()
        audit.record(
            uow,
            actor,
            "agent.assign_roles",
            target_type="agent",
            target_id=agent.id,
            detail={"granted": sorted(after - before), "revoked": sorted(removed)},
        )
        uow.emit("agent.updated", {"id": agent.id, "agent_no": agent.agent_no}, "agent.view")
        uow.emit("auth.changed", {"agent_id": agent.id}, "internal")
        await uow.commit()
        return AgentView(agent, sorted(after))

    async def reset_password(
        self, uow: UnitOfWork, actor: Actor, agent_id: int, password: str
    ) -> None:
        agent = await self._agent(uow, agent_id)
        agent.password_hash = self._passwords.hash(check_password(password))
        agent.updated_at = _now()
        audit.record(uow, actor, "agent.reset_password", target_type="agent", target_id=agent.id)
        await uow.commit()

    async def change_own_password(
        self, uow: UnitOfWork, actor: Actor, agent_id: int, current: str, new: str
    ) -> None:
        agent = await self._agent(uow, agent_id)
        if not self._passwords.verify(agent.password_hash, current):
            audit.record(
                uow,
                actor,
                "auth.change_password",
                target_type="agent",
                target_id=agent.id,
                outcome="failed",
            )
            await uow.commit()
            raise InvalidInput(
                field="current_password",
                reason_zh="当前密码不正确",
                reason_en="the current password is wrong",
            )
        agent.password_hash = self._passwords.hash(check_password(new))
        agent.updated_at = _now()
        audit.record(uow, actor, "auth.change_password", target_type="agent", target_id=agent.id)
        await uow.commit()

    async def unlock(self, uow: UnitOfWork, actor: Actor, agent_id: int) -> AgentView:
        agent = await self._agent(uow, agent_id)
        agent.locked_until = None
        agent.failed_logins = 0
        agent.first_failed_at = None
        agent.updated_at = _now()
        audit.record(uow, actor, "agent.unlock", target_type="agent", target_id=agent.id)
        uow.emit("agent.updated", {"id": agent.id, "agent_no": agent.agent_no}, "agent.view")
        await uow.commit()
        return await self.get_agent(uow, agent.id)

    async def delete_agent(self, uow: UnitOfWork, actor: Actor, agent_id: int) -> None:
        agent = await self._agent(uow, agent_id)
        if agent.id == actor.agent_id:
            raise SelfLockout()
        await self._keep_an_admin(uow, agent.id)
        agent_no = agent.agent_no
        await uow.session.delete(agent)
        audit.record(
            uow,
            actor,
            "agent.delete",
            target_type="agent",
            target_id=agent_id,
            detail={"agent_no": agent_no},
        )
        uow.emit("agent.deleted", {"id": agent_id, "agent_no": agent_no}, "agent.view")
        uow.emit("auth.changed", {"agent_id": agent_id}, "internal")
        await uow.commit()

    # -- groups and memberships --------------------------------------------------------

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
        now = _now()
        group = GroupRow(
            name=name,
            description=check_text("description", description),
            created_at=now,
            updated_at=now,
        )
        uow.session.add(group)
        await self._flush_unique(uow, "group", name)
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
        group.updated_at = _now()
        await self._flush_unique(uow, "group", group.name)
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
        await self._agent(uow, agent_id)
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
        agent = await self._agent(uow, agent_id)
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
            created_at=_now(),
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

    @staticmethod
    async def _flush_unique(uow: UnitOfWork, kind: str, value: str) -> None:
        """Flush, turning a unique-constraint race into AlreadyExists."""
        try:
            await uow.session.flush()
        except IntegrityError:
            await uow.session.rollback()
            raise AlreadyExists(kind=kind, value=value) from None
