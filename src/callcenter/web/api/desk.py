"""话务员操作台 / the agent desktop: an agent's own log-in, state and call control.

Every command acts on the caller's own agent number, takes an optional ``command_id``
(a retry with the same id repeats the first answer), and is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from callcenter.app import audit
from callcenter.app.auth import Principal
from callcenter.app.cti import ToAgent, ToNumber, ToQueue
from callcenter.app.groups import membership_active
from callcenter.errors import InvalidInput, TelephonyOff
from callcenter.telephony import Telephony
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID
from callcenter.web.api.dialer import dialing_of
from callcenter.web.schemas import (
    CommandIn,
    DeskLoginIn,
    DialIn,
    DtmfIn,
    ManualReleaseIn,
    NotReadyIn,
    TransferIn,
)
from callcenter.web.security import Requires, UoW, actor_of, platform_of

router = APIRouter(prefix="/desk", tags=["desk"], responses=ERROR_RESPONSES)

Desk = Annotated[Principal, Depends(Requires("desk.use"))]


def telephony_of(request: Request) -> Telephony:
    telephony = platform_of(request).telephony
    if telephony is None:
        raise TelephonyOff()
    return telephony


def command_id(body: CommandIn | None) -> str:
    return body.command_id if body and body.command_id else uuid.uuid4().hex


async def perform(
    request: Request,
    principal: Principal,
    uow: UoW,
    action: str,
    outcome: Awaitable[Any],
    *,
    target_type: str = "agent",
    target_id: str = "",
    detail: dict[str, Any] | None = None,
) -> Any:
    """Run a CTI command, then append its audit row."""
    result = await outcome
    audit.record(
        uow,
        actor_of(request, principal),
        action,
        target_type=target_type,
        target_id=target_id or principal.agent_no,
        detail=detail,
    )
    await uow.commit()
    return result


@router.get("/state")
async def desk_state(request: Request, principal: Desk, uow: UoW) -> dict[str, Any]:
    """The caller's own agent as the supervisors see it (logged out: state logged-out).

    ``queue`` names the call's queue as /supervisor/queues does (an agent may not read
    that): a campaign's call by the campaign's name, an inbound queue by its id.
    ``last_call`` and ``last_queue``: in wrap-up after a call that has ended, that call
    in the same shapes (a desktop reloaded during wrap-up shows it again, with its
    disposition form).
    """
    # supervisor.py imports this module's helpers: import its name helper when used.
    from callcenter.web.api.supervisor import name_queue

    engine = telephony_of(request).engine
    snapshot = engine.snapshot()
    for agent in snapshot["agents"]:
        if agent.get("agent_no") == principal.agent_no:
            # The call in hand as the console sees it (caller, held, consultation...).
            calls = [c for c in snapshot["calls"] if c["call_id"] == agent.get("call_id")]
            call = calls[0] if calls else None
            last_call = engine.wrap_up_call(principal.agent_no) if call is None else None
            shown = call if call is not None else last_call
            queue = None
            if shown is not None:
                platform = platform_of(request)
                named = await name_queue(platform, uow, shown["queue_id"], shown["campaign_id"])
                queue = None if named is None else named.model_dump()
            return {
                **agent,
                "at": snapshot["at"],
                "call": call,
                "queue": queue if call is not None else None,
                "last_call": last_call,
                "last_queue": queue if last_call is not None else None,
            }
    return {"agent_no": principal.agent_no, "state": "logged-out"}


class VirtualPhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    auto_answer: bool = False


@router.post("/virtual-phone")
async def desk_virtual_phone(
    request: Request, principal: Desk, body: VirtualPhoneIn | None = None
) -> dict[str, str]:
    """浏览器虚拟话机: a phone on the simulated network for a person without a SIP phone.

    It rings until the desktop's Answer (``auto_answer``: it answers by itself, for a
    supervisor's listen / whisper / barge). Log in (or monitor) with the phone returned.
    """
    auto = body.auto_answer if body is not None else False
    return {"phone": telephony_of(request).virtual_phone(principal.agent_no, auto_answer=auto)}


@router.post("/answer", status_code=204)
async def desk_answer(
    request: Request,
    principal: Annotated[Principal, Depends(Requires("call.answer"))],
    uow: UoW,
    body: CommandIn | None = None,
) -> None:
    """接听: pick up the call ringing on a phone that can be answered from the desktop."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "call.answer",
                  engine.answer(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/login", status_code=204)
async def desk_login(body: DeskLoginIn, request: Request, principal: Desk, uow: UoW) -> None:
    """签入: log in from any phone (hot-desking); routing follows the agent's groups now."""
    telephony = telephony_of(request)
    platform = platform_of(request)
    zone = platform.settings.zone
    local = dt.datetime.now(zone)
    memberships = await platform.groups.memberships_of(uow, principal.agent_id)
    telephony.set_profile(
        principal.agent_no, [g.name for m, g in memberships if membership_active(m, local)]
    )
    await perform(request, principal, uow, "desk.login",
                  telephony.engine.log_in(command_id(body), principal.agent_no, body.phone),
                  detail={"phone": body.phone})  # fmt: skip


@router.post("/logout", status_code=204)
async def desk_logout(
    request: Request, principal: Desk, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.logout",
                  engine.log_out(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/ready", status_code=204)
async def desk_ready(
    request: Request, principal: Desk, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.ready",
                  engine.ready(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/not-ready", status_code=204)
async def desk_not_ready(body: NotReadyIn, request: Request, principal: Desk, uow: UoW) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.not_ready",
                  engine.not_ready(command_id(body), principal.agent_no, body.reason),
                  detail={"reason": body.reason})  # fmt: skip


@router.post("/hangup", status_code=204)
async def desk_hang_up(
    request: Request, principal: Desk, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.hangup",
                  engine.hang_up(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/hold", status_code=204)
async def desk_hold(
    request: Request, principal: Desk, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.hold",
                  engine.hold(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/resume", status_code=204)
async def desk_resume(
    request: Request, principal: Desk, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.resume",
                  engine.resume(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/dtmf", status_code=204)
async def desk_dtmf(body: DtmfIn, request: Request, principal: Desk, uow: UoW) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "desk.dtmf",
                  engine.send_dtmf(command_id(body), principal.agent_no, body.digits))  # fmt: skip


@router.post("/dial")
async def desk_dial(
    body: DialIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("call.dial"))],
    uow: UoW,
) -> dict[str, Any]:
    """外拨: call a number from the agent's phone; returns the new call's id.

    With ``campaign_id`` and ``lead_id`` (手动外呼), the manual campaign's lead is dialled
    through its dialer: the campaign's caller ID and route, the pre-dial policy asked
    again, the call naming campaign and lead (``number`` must be the lead's). Without
    them, an agent of a running campaign may dial only a number on no block list.
    """
    if body.campaign_id is not None or body.lead_id is not None:
        return await _dial_lead(body, request, principal, uow)
    dialing = platform_of(request).dialing
    if dialing is not None:
        await dialing.check_typed_number(principal.agent_no, body.number)
    engine = telephony_of(request).engine
    call_id = await perform(request, principal, uow, "call.dial",
                            engine.dial(command_id(body), principal.agent_no, body.number),
                            detail={"number": body.number})  # fmt: skip
    return {"call_id": str(call_id)}


async def _dial_lead(
    body: DialIn, request: Request, principal: Principal, uow: UoW
) -> dict[str, Any]:
    """手动外呼: the manual campaign's lead, dialled through its dialer."""
    if body.campaign_id is None or body.lead_id is None:
        raise InvalidInput(
            field="lead_id",
            reason_zh="手动外呼须同时给出 campaign_id 与 lead_id",
            reason_en="a manual campaign's call needs both campaign_id and lead_id",
        )
    placed: dict[str, Any] = await perform(
        request, principal, uow, "call.dial",
        dialing_of(request).dial_lead(principal.agent_no, body.campaign_id, body.lead_id,
                                      body.number, command_id(body)),
        target_type="lead", target_id=str(body.lead_id),
        detail={"number": body.number, "campaign_id": body.campaign_id},
    )  # fmt: skip
    return placed


@router.get("/manual")
async def desk_manual(
    request: Request,
    principal: Desk,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    """手动外呼: the running manual campaigns the caller is logged in for, and the lead
    they hold; with ``campaign_id``, that campaign's next lead the pre-dial policy allows,
    held for the caller (asking again gives the same lead) with its name, number and
    custom fields, or ``reason`` when there is none now."""
    return await dialing_of(request).manual(principal.agent_no, campaign_id)


@router.post("/manual/release")
async def desk_manual_release(
    body: ManualReleaseIn,
    request: Request,
    principal: Annotated[Principal, Depends(Requires("call.dial"))],
    uow: UoW,
) -> dict[str, Any]:
    """下一个: pass on the manual campaign's lead held; it comes back after the skip delay."""
    released: dict[str, Any] = await perform(
        request, principal, uow, "manual.release",
        dialing_of(request).release_lead(principal.agent_no, body.campaign_id, body.lead_id),
        target_type="lead", target_id=str(body.lead_id),
        detail={"campaign_id": body.campaign_id},
    )  # fmt: skip
    return released


def _target(body: TransferIn, *, queue_allowed: bool) -> ToAgent | ToNumber | ToQueue:
    given = [v for v in (body.agent_no, body.queue_id, body.number) if v is not None]
    if len(given) != 1 or (body.queue_id is not None and not queue_allowed):
        choices = "agent_no, queue_id, number" if queue_allowed else "agent_no, number"
        raise InvalidInput(
            field="target",
            reason_zh=f"须且只须给出一个转接目标：{choices}",
            reason_en=f"give exactly one transfer target: {choices}",
        )
    if body.agent_no is not None:
        return ToAgent(body.agent_no)
    if body.queue_id is not None:
        return ToQueue(body.queue_id)
    assert body.number is not None
    return ToNumber(body.number)


Transferrer = Annotated[Principal, Depends(Requires("call.transfer"))]


@router.post("/transfer", status_code=204)
async def desk_transfer(
    body: TransferIn, request: Request, principal: Transferrer, uow: UoW
) -> None:
    """盲转: the agent leaves at once; the customer goes to the target."""
    target = _target(body, queue_allowed=True)
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "call.transfer",
                  engine.blind_transfer(command_id(body), principal.agent_no, target),
                  detail=body.model_dump(exclude_none=True))  # fmt: skip


@router.post("/consult", status_code=204)
async def desk_consult(
    body: TransferIn, request: Request, principal: Transferrer, uow: UoW
) -> None:
    """咨询: the customer waits on hold while the agent calls the target."""
    target = _target(body, queue_allowed=False)
    assert not isinstance(target, ToQueue)
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "call.consult",
                  engine.consult(command_id(body), principal.agent_no, target),
                  detail=body.model_dump(exclude_none=True))  # fmt: skip


@router.post("/consult/complete", status_code=204)
async def desk_complete_transfer(
    request: Request, principal: Transferrer, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "call.transfer_complete",
                  engine.complete_transfer(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/consult/cancel", status_code=204)
async def desk_cancel_consult(
    request: Request, principal: Transferrer, uow: UoW, body: CommandIn | None = None
) -> None:
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "call.consult_cancel",
                  engine.cancel_consult(command_id(body), principal.agent_no))  # fmt: skip


@router.post("/conference", status_code=204)
async def desk_conference(
    request: Request,
    principal: Annotated[Principal, Depends(Requires("call.conference"))],
    uow: UoW,
    body: CommandIn | None = None,
) -> None:
    """三方通话: the consulted party joins the agent and the customer."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "call.conference",
                  engine.conference(command_id(body), principal.agent_no))  # fmt: skip
