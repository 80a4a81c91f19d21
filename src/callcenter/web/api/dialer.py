"""外呼监控 / the live view of a campaign's dialer: lines, connects, abandonment, why not.

The abandonment windows come from the campaign's stored compliance ledger
(:mod:`callcenter.app.dialer.records`), so a restart or a pause shows the same counts.

The same view is pushed as ``dialer.status`` on the event WebSocket every few seconds
while the campaign has a dialer (see :mod:`callcenter.app.dialing`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from callcenter.app.auth import Principal
from callcenter.app.dialing import Dialing
from callcenter.errors import TelephonyOff
from callcenter.web.api.common import ERROR_RESPONSES, MAX_ID
from callcenter.web.security import Requires, platform_of

router = APIRouter(prefix="/campaigns", tags=["dialer"], responses=ERROR_RESPONSES)
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]


def dialing_of(request: Request) -> Dialing:
    dialing = platform_of(request).dialing
    if dialing is None:
        raise TelephonyOff()
    return dialing


@router.get("/{campaign_id}/dialer")
async def dialer_status(
    campaign_id: CampaignId,
    request: Request,
    _: Annotated[Principal, Depends(Requires("campaign.view"))],
) -> dict[str, Any]:
    """外呼实时状态 / lines in flight, ratio and level, connects, abandonment per window
    against the limit (``ledger``: each window's live answers and abandoned calls, kept
    across restarts and pauses), the caller-ID pool's calls today against its daily cap
    (``caller_ids``), agents by state, and why leads are not being dialled."""
    return await dialing_of(request).view(campaign_id, fresh=True)
