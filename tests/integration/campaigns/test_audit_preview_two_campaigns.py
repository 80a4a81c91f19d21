"""One agent in the groups of two preview campaigns sees one lead at a time.

Both campaigns' dialers step at the same instants; each looks for the next lead in the
database before it makes its offer. The agent must never hold two offers (the second
would be dialled by its timer to a person the agent never saw), however the two steps
interleave.
"""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.telephony import SERVICE_GROUP
from integration.campaigns.campaign_kit import COMPLIANT
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_preview_dialing import AGENT, floor

__all__ = ["floor"]


def held(events: list[Any]) -> int:
    """The most offers the agent held at once, as the events tell."""
    holding = most = 0
    for event in events:
        if event.type.startswith("preview.") and event.data["agent_no"] == AGENT:
            holding += 1 if event.type == "preview.offered" else -1
            most = max(most, holding)
    return most


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_an_agent_of_two_preview_campaigns_holds_one_offer_at_a_time(floor: Floor) -> None:
    kit = floor.kit
    agent_id = floor.api.person(AGENT, "agent", name="张伟")
    group = kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
    campaigns = []
    for n, name in enumerate(("车险续保", "房贷预审")):
        campaign_id = kit.campaign(
            name,
            **COMPLIANT,
            group_ids=[group["id"]],
            windows=[{"start": "00:00", "end": "23:59"}],
            dialing_mode="preview",
        )
        kit.add_leads(campaign_id, *({"phone": f"+86136000{n}{i:04d}"} for i in range(3)))
        kit.approve(campaign_id)
        campaigns.append(campaign_id)
    phone = kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=AGENT)["phone"]
    kit.ok("POST", "/desk/login", 204, json={"phone": phone}, as_=AGENT)
    kit.ok("POST", "/desk/ready", 204, as_=AGENT)
    for campaign_id in campaigns:
        kit.ok("POST", f"/campaigns/{campaign_id}/start")
    for _ in range(4):  # skip what is shown; the next offer may come from either
        floor.run(1.5)
        assert kit.ok("GET", "/desk/preview", as_=AGENT) is not None
        kit.ok("POST", "/desk/preview/skip", 204, as_=AGENT)
    floor.run(1.5)
    assert held(floor.events) == 1
