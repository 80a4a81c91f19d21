"""Log-in and log-out, the caller's own profile, password and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from callcenter.app.auth import Principal
from callcenter.store.uow import UnitOfWork
from callcenter.web.api.common import ERROR_RESPONSES, TokenId
from callcenter.web.schemas import (
    BearerOut,
    LoginIn,
    LoginOut,
    MeOut,
    MyRoleOut,
    NewTokenOut,
    PasswordChangeIn,
    TokenIn,
    TokenLoginIn,
    TokenOut,
)
from callcenter.web.security import PUBLIC, Requires, UoW, actor_of, client_ip, platform_of

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)

Me = Annotated[Principal, Depends(Requires(None))]


async def me_out(request: Request, uow: UnitOfWork, principal: Principal) -> MeOut:
    """Who is logged in, what they may do, and their own roles' names (which a person
    without ``role.view`` could not read from /roles)."""
    named = await platform_of(request).roles.roles_named(uow, principal.roles)
    return MeOut(
        id=principal.agent_id,
        agent_no=principal.agent_no,
        name=principal.name,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        role_names=[MyRoleOut(code=r.code, name=r.name, builtin=r.builtin) for r in named],
    )


@router.post("/auth/login", dependencies=[Depends(PUBLIC)])
async def login(body: LoginIn, request: Request, response: Response, uow: UoW) -> LoginOut:
    """Log in with agent number (工号) and password; sets the HTTP-only session cookie."""
    platform = platform_of(request)
    issued, principal = await platform.auth.login(
        uow,
        body.agent_no,
        body.password,
        kind="session",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    settings = platform.settings
    response.set_cookie(
        settings.auth.cookie_name,
        issued.token,
        max_age=int(settings.auth.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.http.cookie_secure,
        path="/",
    )
    return LoginOut(agent=await me_out(request, uow, principal), expires_at=issued.expires_at)


@router.post("/auth/token", dependencies=[Depends(PUBLIC)])
async def token_login(body: TokenLoginIn, request: Request, uow: UoW) -> BearerOut:
    """For integrations: log in and receive a bearer token instead of a cookie."""
    platform = platform_of(request)
    issued, principal = await platform.auth.login(
        uow,
        body.agent_no,
        body.password,
        kind="api",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        token_name=body.name,
    )
    agent = await me_out(request, uow, principal)
    return BearerOut(agent=agent, expires_at=issued.expires_at, token=issued.token)


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, response: Response, principal: Me, uow: UoW) -> None:
    platform = platform_of(request)
    await platform.auth.logout(uow, actor_of(request, principal), principal)
    response.delete_cookie(platform.settings.auth.cookie_name, path="/")


@router.get("/me")
async def me(request: Request, principal: Me, uow: UoW) -> MeOut:
    return await me_out(request, uow, principal)


@router.post("/me/password", status_code=204)
async def change_password(
    body: PasswordChangeIn, request: Request, principal: Me, uow: UoW
) -> None:
    await platform_of(request).agents.change_own_password(
        uow,
        actor_of(request, principal),
        principal.agent_id,
        body.current_password,
        body.new_password,
    )


@router.get("/me/tokens")
async def list_tokens(
    request: Request,
    principal: Annotated[Principal, Depends(Requires("token.manage"))],
    uow: UoW,
) -> list[TokenOut]:
    rows = await platform_of(request).auth.list_tokens(uow, principal.agent_id)
    return [TokenOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/me/tokens", status_code=201)
async def create_token(
    body: TokenIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("token.manage"))],
    uow: UoW,
) -> NewTokenOut:
    """Create a bearer token for an integration; the token is shown only this once."""
    platform = platform_of(request)
    issued = await platform.auth.create_api_token(
        uow, actor_of(request, principal), principal, body.name, body.days
    )
    rows = await platform.auth.list_tokens(uow, principal.agent_id)
    row = next(r for r in rows if r.id == issued.token_id)
    return NewTokenOut(
        token=issued.token, **TokenOut.model_validate(row, from_attributes=True).model_dump()
    )


@router.delete("/me/tokens/{token_id}", status_code=204)
async def revoke_token(
    token_id: TokenId,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("token.manage"))],
    uow: UoW,
) -> None:
    await platform_of(request).auth.revoke(
        uow, actor_of(request, principal), principal.agent_id, token_id
    )
