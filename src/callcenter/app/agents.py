"""坐席管理 / agents: the people who log in, their roles and passwords.

An administrator can neither lock themselves out (delete, disable or demote their own
account) nor leave the site without an enabled administrator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.auth import Passwords, Principal
from callcenter.app.permissions import ADMIN_ROLE
from callcenter.app.roles import RoleService
from callcenter.app.validation import (
    Page,
    check_agent_no,
    check_password,
    check_text,
    flush_unique,
    utc_now,
)
from callcenter.errors import AlreadyExists, InvalidInput, NotFound, SelfLockout
from callcenter.store.tables import AgentRoleRow, AgentRow, RoleRow
from callcenter.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class AgentView:
    row: AgentRow
    roles: list[str]


async def get_agent_row(uow: UnitOfWork, agent_id: int) -> AgentRow:
    agent = await uow.session.get(AgentRow, agent_id)
    if agent is None:
        raise NotFound(kind="agent", id=agent_id)
    return agent


class AgentService:
    def __init__(self, passwords: Passwords, roles: RoleService) -> None:
        self._passwords = passwords
        self._roles = roles

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
        agent = await get_agent_row(uow, agent_id)
        roles = await self._roles_of(uow, [agent.id])
        return AgentView(agent, roles.get(agent.id, []))

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
        role_rows = await self._roles.resolve(uow, principal, roles)
        if await uow.session.scalar(select(AgentRow.id).where(AgentRow.agent_no == agent_no)):
            raise AlreadyExists(kind="agent", value=agent_no)
        now = utc_now()
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
        await flush_unique(uow, "agent", agent_no)
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
        agent = await get_agent_row(uow, agent_id)
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
        agent.updated_at = utc_now()
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
        agent = await get_agent_row(uow, agent_id)
        before = set((await self._roles_of(uow, [agent.id])).get(agent.id, []))
        after_rows = await self._roles.resolve(uow, principal, roles)
        after = {row.code for row in after_rows}
        removed = before - after
        if removed:
            # Taking a role away needs its codes too, or a leader could strip an admin.
            await self._roles.resolve(uow, principal, sorted(removed))
        if ADMIN_ROLE in removed:
            if agent.id == actor.agent_id:
                raise SelfLockout()
            await self._keep_an_admin(uow, agent.id)
        await uow.session.execute(delete(AgentRoleRow).where(AgentRoleRow.agent_id == agent.id))
        uow.session.add_all(AgentRoleRow(agent_id=agent.id, role_id=r.id) for r in after_rows)
        agent.updated_at = utc_now()
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
        agent = await get_agent_row(uow, agent_id)
        agent.password_hash = self._passwords.hash(check_password(password))
        agent.updated_at = utc_now()
        audit.record(uow, actor, "agent.reset_password", target_type="agent", target_id=agent.id)
        await uow.commit()

    async def change_own_password(
        self, uow: UnitOfWork, actor: Actor, agent_id: int, current: str, new: str
    ) -> None:
        agent = await get_agent_row(uow, agent_id)
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
        agent.updated_at = utc_now()
        audit.record(uow, actor, "auth.change_password", target_type="agent", target_id=agent.id)
        await uow.commit()

    async def unlock(self, uow: UnitOfWork, actor: Actor, agent_id: int) -> AgentView:
        agent = await get_agent_row(uow, agent_id)
        agent.locked_until = None
        agent.failed_logins = 0
        agent.first_failed_at = None
        agent.updated_at = utc_now()
        audit.record(uow, actor, "agent.unlock", target_type="agent", target_id=agent.id)
        uow.emit("agent.updated", {"id": agent.id, "agent_no": agent.agent_no}, "agent.view")
        await uow.commit()
        return await self.get_agent(uow, agent.id)

    async def delete_agent(self, uow: UnitOfWork, actor: Actor, agent_id: int) -> None:
        agent = await get_agent_row(uow, agent_id)
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
