"""The audit trail, read-only: there is no route that changes or deletes a row."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from callcenter.app import audit
from callcenter.app.auth import Principal
from callcenter.web.api.common import ERROR_RESPONSES, Limit, Offset
from callcenter.web.schemas import AuditOut, Moment, Page, SearchText
from callcenter.web.security import Requires, UoW

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("")
async def search_audit(
    _: Annotated[Principal, Depends(Requires("audit.view"))],
    uow: UoW,
    actor_no: SearchText | None = None,
    action: Annotated[SearchText | None, Query(description="前缀 / prefix, e.g. agent.")] = None,
    target_type: SearchText | None = None,
    target_id: SearchText | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AuditOut]:
    rows, total = await audit.search(
        uow,
        audit.AuditQuery(
            actor_no=actor_no,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        ),
    )
    return Page[AuditOut](
        items=[AuditOut.model_validate(row, from_attributes=True) for row in rows], total=total
    )
