"""角色管理及授权 / roles: built-in and custom roles and the codes they grant.

Nobody grants what they do not hold: creating or editing a role, or assigning one,
requires holding every code involved. The built-in ``admin`` role holds every code,
present and future, and cannot be changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.auth import Principal
from callcenter.app.permissions import ADMIN_ROLE, ALL_CODES, BUILTIN_ROLES
from callcenter.app.validation import ROLE_CODE_PATTERN, check_text, flush_unique, utc_now
from callcenter.errors import (
    AlreadyExists,
    BuiltinRole,
    CannotGrant,
    InUse,
    InvalidInput,
    NotFound,
)
from callcenter.store.tables import AgentRoleRow, RolePermissionRow, RoleRow
from callcenter.store.uow import UnitOfWork


class RoleService:
    async def ensure_builtin_roles(self, uow: UnitOfWork) -> None:
        """Create the built-in roles that are missing; never overwrite an operator's edits."""
        existing = set(await uow.session.scalars(select(RoleRow.code)))
        now = utc_now()
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
        grants = await self.grants(uow, [role.id for role in roles])
        return [(role, self.codes(role, grants.get(role.id, []))) for role in roles]

    async def get_role(self, uow: UnitOfWork, role_id: int) -> tuple[RoleRow, list[str]]:
        role = await self._role(uow, role_id)
        grants = await self.grants(uow, [role.id])
        return role, self.codes(role, grants.get(role.id, []))

    async def roles_named(self, uow: UnitOfWork, codes: Iterable[str]) -> list[RoleRow]:
        """The roles with these codes (a person's own, named for them), in code order; a
        code no role has any more is left out."""
        wanted = sorted(set(codes))
        if not wanted:
            return []
        query = select(RoleRow).where(RoleRow.code.in_(wanted)).order_by(RoleRow.code)
        return list(await uow.session.scalars(query))

    @staticmethod
    def codes(role: RoleRow, granted: list[str]) -> list[str]:
        return sorted(ALL_CODES) if role.code == ADMIN_ROLE else sorted(granted)

    async def grants(self, uow: UnitOfWork, role_ids: list[int]) -> dict[int, list[str]]:
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
        now = utc_now()
        role = RoleRow(
            code=code,
            name=check_text("name", name),
            description=check_text("description", description),
            builtin=False,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(role)
        await flush_unique(uow, "role", code)
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
        role.updated_at = utc_now()
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

    async def resolve(
        self, uow: UnitOfWork, principal: Principal | None, role_codes: Sequence[str]
    ) -> list[RoleRow]:
        wanted = sorted(set(role_codes))
        rows = list(await uow.session.scalars(select(RoleRow).where(RoleRow.code.in_(wanted))))
        missing = sorted(set(wanted) - {row.code for row in rows})
        if missing:
            raise NotFound(kind="role", id=", ".join(missing))
        if principal is not None:
            grants = await self.grants(uow, [row.id for row in rows])
            for row in rows:
                self._check_codes(principal, self.codes(row, grants.get(row.id, [])))
        return rows
