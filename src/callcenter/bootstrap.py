"""The composition root: build every adapter from settings and wire them together."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.app.agents import AgentService
from callcenter.app.auth import AuthService, Passwords
from callcenter.app.bus import EventBus
from callcenter.app.groups import GroupService
from callcenter.app.roles import RoleService
from callcenter.config import Settings
from callcenter.store.db import make_async_engine
from callcenter.store.uow import UnitOfWork


@dataclass(eq=False)
class Platform:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    passwords: Passwords
    auth: AuthService
    agents: AgentService
    groups: GroupService
    roles: RoleService

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.bus)

    async def start(self) -> None:
        async with self.uow() as uow:
            await self.roles.ensure_builtin_roles(uow)

    async def close(self) -> None:
        await self.engine.dispose()


def bootstrap(settings: Settings, *, password_hasher: PasswordHasher | None = None) -> Platform:
    """Build the platform. Tests pass a cheaper hasher; production uses argon2 defaults."""
    engine = make_async_engine(
        settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    passwords = Passwords(password_hasher)
    bus = EventBus()
    roles = RoleService()
    auth = AuthService(settings.auth, passwords)
    bus.listen(lambda event: auth.forget_all() if event.type == "auth.changed" else None)
    return Platform(
        settings=settings,
        engine=engine,
        sessions=async_sessionmaker(engine, expire_on_commit=False),
        bus=bus,
        passwords=passwords,
        auth=auth,
        agents=AgentService(passwords, roles),
        groups=GroupService(),
        roles=roles,
    )
