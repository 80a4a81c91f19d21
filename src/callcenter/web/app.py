"""The FastAPI application: REST under /api/v1, the event WebSocket, the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse

import callcenter
from callcenter.bootstrap import Platform
from callcenter.web import errors, ws
from callcenter.web.api import (
    agents,
    audit,
    auth,
    blacklist,
    calls,
    campaigns,
    desk,
    dialer,
    dispositions,
    groups,
    leads,
    preview,
    products,
    results,
    roles,
    scripts,
    supervisor,
    system,
)
from callcenter.web.security import PUBLIC

API_PREFIX = "/api/v1"
# Where `npm run build` in web/ puts the browser UI (not in git; built by make).
UI_DIST = Path(__file__).parent / "ui_dist"
# Every REST router, mounted under API_PREFIX (the permission test walks this list).
ROUTERS = (
    system.router,
    auth.router,
    agents.router,
    groups.router,
    roles.router,
    audit.router,
    desk.router,
    preview.router,
    supervisor.router,
    calls.router,
    campaigns.router,
    results.router,
    leads.router,
    blacklist.router,
    products.router,
    scripts.router,
    dispositions.router,
    dialer.router,
)


def create_app(
    platform: Platform, *, manage_lifecycle: bool = True, ui_dir: Path | None = UI_DIST
) -> FastAPI:
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
    if ui_dir is not None and (ui_dir / "index.html").is_file():
        _mount_ui(app, ui_dir)
    return app


def _mount_ui(app: FastAPI, root: Path) -> None:
    """Serve the built browser UI: its files, and index.html for the client-side routes."""
    root = root.resolve()
    index = root / "index.html"

    @app.get("/{path:path}", include_in_schema=False, dependencies=[Depends(PUBLIC)])
    async def ui(path: str) -> FileResponse:
        if path == "api" or path.startswith("api/"):
            raise HTTPException(status_code=404)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
