"""预览式外呼 / preview dialing on the agent desktop: the lead shown, accept or skip.

A running preview campaign offers each of its ready agents one lead at a time, with a
deadline (see :mod:`callcenter.app.dialer.preview`). The desktop hears
``preview.offered`` / ``preview.ended`` naming its agent and reads the offer here;
after a reconnect it reads it again. Accepting dials the lead from the agent's phone;
skipping sends the lead back for later. Both act on the caller's own agent number,
need their button's permission and are audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import StringConstraints

from callcenter.app import audit
from callcenter.app.auth import Principal
from callcenter.web.api.common import ERROR_RESPONSES
from callcenter.web.api.dialer import dialing_of
from callcenter.web.schemas import CommandIn
from callcenter.web.security import Requires, UoW, actor_of

router = APIRouter(prefix="/desk/preview", tags=["desk"], responses=ERROR_RESPONSES)

Desk = Annotated[Principal, Depends(Requires("desk.use"))]
Accepter = Annotated[Principal, Depends(Requires("preview.accept"))]
Skipper = Annotated[Principal, Depends(Requires("preview.skip"))]


class PreviewSkipIn(CommandIn):
    reason: Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


@router.get("")
async def preview_offer(request: Request, principal: Desk) -> dict[str, Any] | None:
    """The lead on preview to the caller (null: none): campaign, lead's name, number and
    custom fields, the deadline in server time and the seconds left."""
    return await dialing_of(request).preview(principal.agent_no)


@router.post("/accept")
async def preview_accept(
    request: Request, principal: Accepter, uow: UoW, body: CommandIn | None = None
) -> dict[str, Any]:
    """拨打: dial the lead on preview now (the agent's phone rings first)."""
    placed = await dialing_of(request).accept_preview(principal.agent_no)
    audit.record(
        uow,
        actor_of(request, principal),
        "preview.accept",
        target_type="lead",
        target_id=str(placed["lead_id"]),
        detail={"campaign_id": placed["campaign_id"], "call_id": placed["call_id"]},
    )
    await uow.commit()
    return placed


@router.post("/skip", status_code=204)
async def preview_skip(
    request: Request, principal: Skipper, uow: UoW, body: PreviewSkipIn | None = None
) -> None:
    """跳过: pass on the lead on preview; it comes back later, the next lead follows."""
    reason = body.reason if body is not None else ""
    skipped = await dialing_of(request).skip_preview(principal.agent_no, reason)
    audit.record(
        uow,
        actor_of(request, principal),
        "preview.skip",
        target_type="lead",
        target_id=str(skipped["lead_id"]),
        detail={"campaign_id": skipped["campaign_id"], "reason": reason},
    )
    await uow.commit()
