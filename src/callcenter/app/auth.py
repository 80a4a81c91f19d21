"""Log-in, sessions, bearer tokens and lock-out.

Theory of operation: a person logs in with agent number (工号) and password from any
seat (hot-desking: nothing ties work to a seat). A successful log-in issues a random
token; only its SHA-256 is stored. A browser keeps it in an HTTP-only cookie
(``kind="session"``), an integration sends it as ``Authorization: Bearer``
(``kind="api"``). Failed log-ins are counted within a window; at the limit the
account is locked until a time, and every attempt is written to the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.permissions import effective_permissions
from callcenter.config import AuthSettings
from callcenter.errors import (
    AccountDisabled,
    AccountLocked,
    AppError,
    InvalidCredentials,
    NotFound,
    Unauthenticated,
)
from callcenter.store.tables import (
    AgentRoleRow,
    AgentRow,
    AuthTokenRow,
    RolePermissionRow,
    RoleRow,
)
from callcenter.store.uow import UnitOfWork

TokenKind = Literal["session", "api"]

# Refresh last_used_at at most this often, so reads do not turn into writes.
_TOUCH_INTERVAL = dt.timedelta(minutes=1)
# A resolved token is trusted this long without asking the database again. Any change
# to people, roles or tokens empties the cache at once (see forget_all); the time
# limit bounds staleness for changes made by another process.
PRINCIPAL_TTL = dt.timedelta(seconds=5)
_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person and what they may do."""

    agent_id: int
    agent_no: str
    name: str
    roles: frozenset[str]
    permissions: frozenset[str]
    token_id: int
    token_kind: TokenKind

    def can(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    token_id: int
    expires_at: dt.datetime


class Passwords:
    """argon2id hashing; the dummy hash keeps unknown agent numbers as slow as known ones."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AuthService:
    def __init__(self, settings: AuthSettings, passwords: Passwords) -> None:
        self._settings = settings
        self._passwords = passwords
        # token hash -> (principal, token expiry, cached until)
        self._cache: dict[str, tuple[Principal, dt.datetime, dt.datetime]] = {}

    def forget_all(self) -> None:
        """Drop every cached principal (people, roles or tokens changed)."""
        self._cache.clear()

    async def login(
        self,
        uow: UnitOfWork,
        agent_no: str,
        password: str,
        *,
        kind: TokenKind,
        ip: str,
        user_agent: str,
        token_name: str = "",
    ) -> tuple[IssuedToken, Principal]:
        """Check the password and issue a token; failures are counted and audited."""
        now = _now()
        agent = await uow.session.scalar(select(AgentRow).where(AgentRow.agent_no == agent_no))
        actor = Actor(agent.id if agent else None, agent_no[:20], ip, user_agent)
        if agent is not None and agent.locked_until is not None and agent.locked_until > now:
            until = agent.locked_until.isoformat(timespec="seconds")
            await self._refuse(uow, actor, agent, "denied", {"reason": "locked"},
                               AccountLocked(locked_until=until))  # fmt: skip
        if not self._passwords.verify(agent.password_hash if agent else None, password):
            detail: dict[str, object] = {"reason": "bad-credentials"}
            locked_until = self._count_failure(agent, now) if agent is not None else None
            error: AppError = InvalidCredentials()
            if locked_until is not None:
                detail["locked_until"] = until = locked_until.isoformat(timespec="seconds")
                error = AccountLocked(locked_until=until)
            await self._refuse(uow, actor, agent, "failed", detail, error)
        assert agent is not None
        if not agent.enabled:
            await self._refuse(uow, actor, agent, "denied", {"reason": "disabled"},
                               AccountDisabled())  # fmt: skip
        agent.failed_logins = 0
        agent.first_failed_at = None
        agent.locked_until = None
        agent.last_login_at = now
        if self._passwords.needs_rehash(agent.password_hash):
            agent.password_hash = self._passwords.hash(password)
        lifetime = (
            dt.timedelta(hours=self._settings.session_hours)
            if kind == "session"
            else dt.timedelta(days=self._settings.api_token_days)
        )
        issued = await self._issue(uow, agent.id, kind, token_name, now + lifetime, ip)
        audit.record(
            uow, actor, "auth.login", target_type="agent", target_id=agent.id, detail={"kind": kind}
        )
        await uow.commit()
        principal = await self.principal_for(uow, agent, issued.token_id, kind)
        return issued, principal

    @staticmethod
    async def _refuse(
        uow: UnitOfWork,
        actor: Actor,
        agent: AgentRow | None,
        outcome: audit.Outcome,
        detail: dict[str, object],
        error: AppError,
    ) -> NoReturn:
        """Audit a refused log-in, commit (failure counters too), and raise ``error``."""
        target = agent.id if agent else ""
        audit.record(uow, actor, "auth.login", target_type="agent", target_id=target,
                     outcome=outcome, detail=detail)  # fmt: skip
        await uow.commit()
        raise error

    def _count_failure(self, agent: AgentRow, now: dt.datetime) -> dt.datetime | None:
        window = dt.timedelta(seconds=self._settings.failure_window_seconds)
        if agent.first_failed_at is None or now - agent.first_failed_at > window:
            agent.first_failed_at = now
            agent.failed_logins = 0
        agent.failed_logins += 1
        if agent.failed_logins >= self._settings.max_failed_logins:
            agent.locked_until = now + dt.timedelta(seconds=self._settings.lockout_seconds)
            agent.failed_logins = 0
            agent.first_failed_at = None
            return agent.locked_until
        return None

    async def _issue(
        self,
        uow: UnitOfWork,
        agent_id: int,
        kind: TokenKind,
        name: str,
        expires_at: dt.datetime,
        ip: str,
    ) -> IssuedToken:
        token = secrets.token_urlsafe(32)
        row = AuthTokenRow(
            token_hash=hash_token(token),
            agent_id=agent_id,
            kind=kind,
            name=name,
            created_at=_now(),
            expires_at=expires_at,
            ip=ip[:64],
        )
        uow.session.add(row)
        await uow.session.flush()
        return IssuedToken(token, row.id, expires_at)

    async def create_api_token(
        self, uow: UnitOfWork, actor: Actor, principal: Principal, name: str, days: int | None
    ) -> IssuedToken:
        lifetime = dt.timedelta(days=days or self._settings.api_token_days)
        issued = await self._issue(
            uow, principal.agent_id, "api", name, _now() + lifetime, actor.ip
        )
        audit.record(
            uow,
            actor,
            "token.create",
            target_type="token",
            target_id=issued.token_id,
            detail={"name": name},
        )
        await uow.commit()
        return issued

    async def list_tokens(self, uow: UnitOfWork, agent_id: int) -> list[AuthTokenRow]:
        rows = await uow.session.scalars(
            select(AuthTokenRow)
            .where(AuthTokenRow.agent_id == agent_id, AuthTokenRow.kind == "api")
            .order_by(AuthTokenRow.id)
        )
        return list(rows)

    async def revoke(self, uow: UnitOfWork, actor: Actor, agent_id: int, token_id: int) -> None:
        row = await uow.session.get(AuthTokenRow, token_id)
        if row is None or row.agent_id != agent_id:
            raise NotFound(kind="token", id=token_id)
        if row.revoked_at is None:
            row.revoked_at = _now()
        audit.record(uow, actor, "token.revoke", target_type="token", target_id=token_id)
        uow.emit("auth.changed", {"agent_id": agent_id}, "internal")
        await uow.commit()

    async def logout(self, uow: UnitOfWork, actor: Actor, principal: Principal) -> None:
        await uow.session.execute(
            update(AuthTokenRow)
            .where(AuthTokenRow.id == principal.token_id)
            .values(revoked_at=_now())
        )
        audit.record(uow, actor, "auth.logout", target_type="agent", target_id=principal.agent_id)
        uow.emit("auth.changed", {"agent_id": principal.agent_id}, "internal")
        await uow.commit()

    async def authenticate(self, uow: UnitOfWork, token: str) -> Principal:
        """Resolve a presented token to a principal, or raise Unauthenticated."""
        now = _now()
        token_hash = hash_token(token)
        cached = self._cache.get(token_hash)
        if cached is not None and now < cached[1] and now < cached[2]:
            return cached[0]
        found = (
            await uow.session.execute(
                select(AuthTokenRow, AgentRow)
                .join(AgentRow, AgentRow.id == AuthTokenRow.agent_id)
                .where(AuthTokenRow.token_hash == token_hash)
            )
        ).first()
        if found is None:
            raise Unauthenticated()
        row, agent = found
        if row.revoked_at is not None or row.expires_at <= now or not agent.enabled:
            raise Unauthenticated()
        if row.last_used_at is None or now - row.last_used_at > _TOUCH_INTERVAL:
            row.last_used_at = now
            await uow.commit()
        kind: TokenKind = "api" if row.kind == "api" else "session"
        principal = await self.principal_for(uow, agent, row.id, kind)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token_hash] = (principal, row.expires_at, now + PRINCIPAL_TTL)
        return principal

    async def principal_for(
        self, uow: UnitOfWork, agent: AgentRow, token_id: int, kind: TokenKind
    ) -> Principal:
        roles: set[str] = set()
        granted: set[str] = set()
        rows = await uow.session.execute(
            select(RoleRow.code, RolePermissionRow.permission)
            .join(AgentRoleRow, AgentRoleRow.role_id == RoleRow.id)
            .outerjoin(RolePermissionRow, RolePermissionRow.role_id == RoleRow.id)
            .where(AgentRoleRow.agent_id == agent.id)
        )
        for role_code, permission in rows:
            roles.add(role_code)
            if permission is not None:
                granted.add(permission)
        return Principal(
            agent_id=agent.id,
            agent_no=agent.agent_no,
            name=agent.name,
            roles=frozenset(roles),
            permissions=effective_permissions(roles, granted),
            token_id=token_id,
            token_kind=kind,
        )
