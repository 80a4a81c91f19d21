"""班长席 / the supervisor console: the live picture and controls over calls and agents.

Each control needs its own permission and is audited with the call or agent it touched.
The live picture names queues by id (``service``, ``campaign:7``); /supervisor/queues
gives the console a name for each, so that people see a campaign's name, not its id.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from callcenter.app.auth import Principal
from callcenter.app.cti.outbound import QUEUE_PREFIX
from callcenter.bootstrap import Platform
from callcenter.errors import NotFound
from callcenter.store.uow import UnitOfWork
from callcenter.web.api.common import ERROR_RESPONSES
from callcenter.web.api.desk import command_id, perform, telephony_of
from callcenter.web.schemas import CommandIn, MonitorIn, NotReadyIn
from callcenter.web.security import Requires, UoW, platform_of

router = APIRouter(prefix="/supervisor", tags=["supervisor"], responses=ERROR_RESPONSES)

CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]
AgentNoPath = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[\w.-]+$")]


def _as(code: str) -> Any:
    return Depends(Requires(code))


@router.get("/snapshot")
async def snapshot(
    request: Request, _: Annotated[Principal, _as("supervisor.monitor")]
) -> dict[str, Any]:
    """Every logged-in agent, live call and queue, shaped like the live events."""
    return telephony_of(request).engine.snapshot()


class QueueNameOut(BaseModel):
    queue_id: str
    kind: Literal["inbound", "campaign"]
    campaign_id: int | None
    name: str  # the campaign's name; empty for an inbound queue (the console names it)


@router.get("/queues")
async def queue_names(
    request: Request, _: Annotated[Principal, _as("supervisor.monitor")], uow: UoW
) -> list[QueueNameOut]:
    """The inbound queues, and the queue each campaign dials for (running or not)."""
    platform = platform_of(request)
    inbound = platform.telephony.queues() if platform.telephony is not None else []
    campaigns = await platform.outbound.campaigns.list_campaigns(uow)
    return [inbound_queue(q.queue_id) for q in inbound] + [
        campaign_queue(c.id, c.name) for c in campaigns
    ]


def inbound_queue(queue_id: str) -> QueueNameOut:
    return QueueNameOut(queue_id=queue_id, kind="inbound", campaign_id=None, name="")


def campaign_queue(campaign_id: int, name: str) -> QueueNameOut:
    return QueueNameOut(
        queue_id=f"{QUEUE_PREFIX}{campaign_id}", kind="campaign", campaign_id=campaign_id, name=name
    )


async def name_queue(
    platform: Platform, uow: UnitOfWork, queue_id: str | None, campaign_id: str | int | None
) -> QueueNameOut | None:
    """What people call the queue of one call, as /supervisor/queues names it.

    A campaign's call (``campaign_id`` set, or a ``campaign:<id>`` queue; a preview call
    has no queue) is named by its campaign, with an empty name if the campaign is gone;
    any other queue is inbound and named by the UI; no queue and no campaign: None.
    """
    if campaign_id is None and queue_id is not None and queue_id.startswith(QUEUE_PREFIX):
        campaign_id = queue_id.removeprefix(QUEUE_PREFIX)
    if campaign_id is not None and str(campaign_id).isdigit():
        number = int(campaign_id)
        try:
            campaign = await platform.outbound.campaigns.get(uow, number)
        except NotFound:
            return campaign_queue(number, "")
        return campaign_queue(number, campaign.name)
    return inbound_queue(queue_id) if queue_id is not None else None


@router.post("/calls/{call_id}/listen", status_code=204)
async def listen(
    call_id: CallId, body: MonitorIn, request: Request,
    principal: Annotated[Principal, _as("supervisor.listen")], uow: UoW,
) -> None:  # fmt: skip
    """监听: the supervisor's phone hears both sides and is heard by none."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.listen",
                  engine.listen(command_id(body), principal.agent_no, call_id, body.phone),
                  target_type="call", target_id=call_id, detail={"phone": body.phone})  # fmt: skip


@router.post("/calls/{call_id}/whisper", status_code=204)
async def whisper(
    call_id: CallId, body: MonitorIn, request: Request,
    principal: Annotated[Principal, _as("supervisor.whisper")], uow: UoW,
) -> None:  # fmt: skip
    """密语: heard by the agent only."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.whisper",
                  engine.whisper(command_id(body), principal.agent_no, call_id, body.phone),
                  target_type="call", target_id=call_id, detail={"phone": body.phone})  # fmt: skip


@router.post("/calls/{call_id}/barge", status_code=204)
async def barge(
    call_id: CallId, body: MonitorIn, request: Request,
    principal: Annotated[Principal, _as("supervisor.barge")], uow: UoW,
) -> None:  # fmt: skip
    """强插: heard by both sides."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.barge",
                  engine.barge(command_id(body), principal.agent_no, call_id, body.phone),
                  target_type="call", target_id=call_id, detail={"phone": body.phone})  # fmt: skip


@router.post("/calls/{call_id}/takeover", status_code=204)
async def take_over(
    call_id: CallId, request: Request,
    principal: Annotated[Principal, _as("supervisor.takeover")], uow: UoW,
    body: CommandIn | None = None,
) -> None:  # fmt: skip
    """接管: the supervisor becomes a full party; the agent leaves to wrap-up."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.takeover",
                  engine.take_over(command_id(body), principal.agent_no, call_id),
                  target_type="call", target_id=call_id)  # fmt: skip


@router.post("/calls/{call_id}/hangup", status_code=204)
async def force_hang_up(
    call_id: CallId, request: Request,
    principal: Annotated[Principal, _as("supervisor.force_hangup")], uow: UoW,
    body: CommandIn | None = None,
) -> None:  # fmt: skip
    """强拆: end the call."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.force_hangup",
                  engine.force_hang_up(command_id(body), principal.agent_no, call_id),
                  target_type="call", target_id=call_id)  # fmt: skip


@router.post("/agents/{agent_no}/logout", status_code=204)
async def force_log_out(
    agent_no: AgentNoPath, request: Request,
    principal: Annotated[Principal, _as("supervisor.force_logout")], uow: UoW,
    body: CommandIn | None = None,
) -> None:  # fmt: skip
    """强制签出."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.force_logout",
                  engine.force_log_out(command_id(body), principal.agent_no, agent_no),
                  target_id=agent_no)  # fmt: skip


@router.post("/agents/{agent_no}/ready", status_code=204)
async def force_ready(
    agent_no: AgentNoPath, request: Request,
    principal: Annotated[Principal, _as("supervisor.force_state")], uow: UoW,
    body: CommandIn | None = None,
) -> None:  # fmt: skip
    """强制示闲."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.force_ready",
                  engine.force_ready(command_id(body), principal.agent_no, agent_no),
                  target_id=agent_no)  # fmt: skip


@router.post("/agents/{agent_no}/not-ready", status_code=204)
async def force_not_ready(
    agent_no: AgentNoPath, body: NotReadyIn, request: Request,
    principal: Annotated[Principal, _as("supervisor.force_state")], uow: UoW,
) -> None:  # fmt: skip
    """强制示忙."""
    engine = telephony_of(request).engine
    await perform(request, principal, uow, "supervisor.force_not_ready",
                  engine.force_not_ready(command_id(body), principal.agent_no, agent_no,
                                         body.reason),
                  target_id=agent_no, detail={"reason": body.reason})  # fmt: skip
