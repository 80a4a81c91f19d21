"""通话记录 / call history, read-only: the desktop's screen pop and the console.

A supervisor (``supervisor.monitor``) reads every call; anyone else reads only the
history of the numbers they are handling now: other numbers find nothing (see
:mod:`callcenter.app.calls`). Each leg to a customer or a number names the caller ID it
presented (``caller_id``), and ``?caller_id=`` finds the calls that presented a number;
each names the trunk it was dialled on (``trunk``), and ``?trunk=`` finds the calls with
a leg on a trunk (by its configured name).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from callcenter.app import calls
from callcenter.app.auth import Principal
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID, Offset
from callcenter.web.schemas import Moment, Page, SearchText
from callcenter.web.security import Requires, UoW, platform_of

router = APIRouter(prefix="/calls", tags=["calls"], responses=ERROR_RESPONSES)

CallLimit = Annotated[int, Query(ge=1, le=200)]


class CallLegOut(BaseModel):
    leg_id: str
    purpose: str
    dest: str
    agent_no: str | None
    created_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    cause: str | None
    caller_id: str | None  # 主叫号码: the caller ID a leg to a customer or number presented
    trunk: str | None  # 中继: the trunk a leg to a customer or number was dialled on


class CallOut(BaseModel):
    call_id: str
    direction: str
    state: str
    caller: str
    dialled: str
    queue_id: str | None
    agent_no: str | None
    agents: list[str]
    created_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    cause: str | None
    end_reason: str | None
    talk_seconds: float | None
    legs: list[CallLegOut]
    campaign_id: int | None  # a campaign's call (外呼任务): its campaign and lead
    lead_id: int | None


@router.get("")
async def list_calls(
    request: Request,
    principal: Annotated[Principal, Depends(Requires(None))],
    uow: UoW,
    number: Annotated[
        SearchText | None, Query(description="主叫或被叫 / caller or dialled")
    ] = None,
    agent_no: SearchText | None = None,
    campaign_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="外呼任务 / only this campaign's calls")
    ] = None,
    caller_id: Annotated[
        SearchText | None,
        Query(description="主叫号码 / calls that presented this caller ID (E.164 or as stored)"),
    ] = None,
    trunk: Annotated[
        SearchText | None,
        Query(description="中继 / calls with a leg dialled on this trunk (its configured name)"),
    ] = None,
    since: Moment | None = None,
    until: Moment | None = None,
    limit: CallLimit = 20,
    offset: Offset = 0,
) -> Page[CallOut]:
    """Calls newest first, each with its legs; an agent sees the numbers they handle now."""
    platform = platform_of(request)
    region = platform.outbound.blacklist.default_region
    query = calls.CallQuery(
        number=number or None,
        agent_no=agent_no or None,
        campaign_id=campaign_id,
        caller_ids=calls.caller_id_forms(caller_id, region) if caller_id else None,
        trunk=(trunk or "").strip() or None,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    telephony = platform.telephony
    handled: set[str] = set()
    if telephony is not None and not principal.can(calls.SEE_ALL):
        handled = calls.numbers_handled(telephony.engine.snapshot(), principal.agent_no)
    query = calls.scoped(query, principal.permissions, handled)
    found, total = await calls.search(uow, query)
    return Page[CallOut](
        items=[CallOut.model_validate(dataclasses.asdict(c)) for c in found], total=total
    )
