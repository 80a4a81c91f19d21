"""Health: open to load balancers and `make demo`'s readiness check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import callcenter
from callcenter.web.schemas import HealthOut
from callcenter.web.security import PUBLIC, platform_of

router = APIRouter(tags=["system"])


@router.get("/health", dependencies=[Depends(PUBLIC)], responses={503: {"model": HealthOut}})
async def health(request: Request, response: Response) -> HealthOut:
    try:
        async with platform_of(request).engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        response.status_code = 503
        return HealthOut(status="degraded", version=callcenter.__version__, database="down")
    return HealthOut(status="ok", version=callcenter.__version__, database="up")
