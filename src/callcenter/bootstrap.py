"""The composition root: build every adapter from settings and wire them together."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.app.agents import AgentService
from callcenter.app.auth import AuthService, Passwords
from callcenter.app.bus import EventBus
from callcenter.app.dialing import Dialing
from callcenter.app.groups import GroupService
from callcenter.app.outbound import Outbound
from callcenter.app.roles import RoleService
from callcenter.clock import Clock
from callcenter.config import Settings
from callcenter.store.db import make_async_engine
from callcenter.store.uow import UnitOfWork
from callcenter.telephony import Telephony, build_telephony


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
    telephony: Telephony | None
    outbound: Outbound
    dialing: Dialing | None = None  # the running campaigns' dialers (with telephony)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.bus)

    async def start(self) -> None:
        async with self.uow() as uow:
            await self.roles.ensure_builtin_roles(uow)
        if self.telephony is not None:
            await self.telephony.start()
        if self.dialing is not None:
            await self.dialing.start()

    async def close(self) -> None:
        try:
            if self.dialing is not None:
                await self.dialing.stop()
            await self.outbound.close()
            if self.telephony is not None:
                await self.telephony.stop()
        finally:
            await self.engine.dispose()


def bootstrap(
    settings: Settings,
    *,
    password_hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
) -> Platform:
    """Build the platform. Tests pass a cheaper hasher and a virtual clock."""
    engine = make_async_engine(
        settings.database_url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    passwords = Passwords(password_hasher)
    bus = EventBus()
    roles = RoleService()
    auth = AuthService(settings.auth, passwords)
    bus.listen(lambda event: auth.forget_all() if event.type == "auth.changed" else None)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    telephony = build_telephony(
        settings.telephony,
        bus,
        sessions,
        clock,
        media=settings.media,
        recordings_dir=settings.recordings_path,
    )
    outbound = Outbound.build(lambda: UnitOfWork(sessions, bus), bus)
    dialing = None
    if telephony is not None:
        dialing = Dialing(lambda: UnitOfWork(sessions, bus), bus, outbound, telephony)
    return Platform(
        settings=settings,
        engine=engine,
        sessions=sessions,
        bus=bus,
        passwords=passwords,
        auth=auth,
        agents=AgentService(passwords, roles),
        groups=GroupService(),
        roles=roles,
        telephony=telephony,
        outbound=outbound,
        dialing=dialing,
    )
