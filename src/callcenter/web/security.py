"""Who is calling, and may they: every route declares what it needs.

A route declares exactly one of: ``Requires("agent.create")`` (a permission code),
``Requires(None)`` (any logged-in person: their own profile, log-out), or ``PUBLIC``
(log-in, health). A test walks the routes and fails on one that declares none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.auth import Principal
from callcenter.app.permissions import ALL_CODES
from callcenter.bootstrap import Platform
from callcenter.errors import Forbidden, Unauthenticated
from callcenter.store.uow import UnitOfWork

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def platform_of(connection: HTTPConnection) -> Platform:
    platform = connection.app.state.platform
    assert isinstance(platform, Platform)
    return platform


async def unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    async with platform_of(request).uow() as uow:
        yield uow


UoW = Annotated[UnitOfWork, Depends(unit_of_work)]


def presented_token(connection: HTTPConnection) -> str | None:
    """The bearer token, else the session cookie, else (WebSocket only) ?token=."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = connection.cookies.get(platform_of(connection).settings.auth.cookie_name)
    if cookie:
        return cookie
    if connection.scope["type"] == "websocket":
        return connection.query_params.get("token") or None
    return None


def client_ip(connection: HTTPConnection) -> str:
    peer = connection.client.host if connection.client else ""
    trusted = platform_of(connection).settings.http.trusted_proxies
    forwarded = connection.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        candidate = forwarded.split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return peer
    return peer


def actor_of(connection: HTTPConnection, principal: Principal | None) -> Actor:
    return Actor(
        agent_id=principal.agent_id if principal else None,
        agent_no=principal.agent_no if principal else "",
        ip=client_ip(connection),
        user_agent=connection.headers.get("user-agent", "")[:256],
    )


async def authenticate(connection: HTTPConnection) -> Principal:
    token = presented_token(connection)
    if not token or len(token) > 256:
        raise Unauthenticated()
    platform = platform_of(connection)
    async with platform.uow() as uow:
        return await platform.auth.authenticate(uow, token)


class Requires:
    """Route dependency: the caller is logged in and holds ``permission`` (if any)."""

    def __init__(self, permission: str | None) -> None:
        if permission is not None and permission not in ALL_CODES:
            raise ValueError(f"unknown permission code {permission!r}")
        self.permission = permission

    async def __call__(
        self, request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        if self.permission is not None and not principal.can(self.permission):
            if request.method not in SAFE_METHODS:
                platform = platform_of(request)
                async with platform.uow() as uow:
                    audit.record(
                        uow,
                        actor_of(request, principal),
                        self.permission,
                        target_type="route",
                        target_id=request.url.path,
                        outcome="denied",
                    )
                    await uow.commit()
            raise Forbidden(permission=self.permission)
        return principal

    def __repr__(self) -> str:
        return f"Requires({self.permission!r})"


class Public:
    """Route dependency that declares a route open to anyone (log-in, health)."""

    async def __call__(self) -> None:
        return None


PUBLIC = Public()
