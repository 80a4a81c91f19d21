"""The FastAPI application: REST under /api/v1, the event WebSocket, the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import callcenter
from callcenter.bootstrap import Platform
from callcenter.web import errors, ws
from callcenter.web.api import agents, audit, auth, groups, roles, system

API_PREFIX = "/api/v1"
# Every REST router, mounted under API_PREFIX (the permission test walks this list).
ROUTERS = (system.router, auth.router, agents.router, groups.router, roles.router, audit.router)


def create_app(platform: Platform, *, manage_lifecycle: bool = True) -> FastAPI:
    """Build the web app around a platform; with ``manage_lifecycle`` it starts and closes it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await platform.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await platform.close()

    app = FastAPI(
        title="callcenter",
        version=callcenter.__version__,
        description="呼叫中心平台 API / contact-center platform API",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.state.default_language = platform.settings.language
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(ws.router, prefix=API_PREFIX)
    return app
