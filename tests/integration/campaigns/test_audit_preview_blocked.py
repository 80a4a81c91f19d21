"""Preview dialing (预览式外呼) when the lead changes while the agent looks at it.

A lead is checked against the block lists when it is offered; the agent may then look
at it for the campaign's whole countdown. A number blacklisted in that time (the person
opted out on another call, say) must not be dialled when the agent clicks: the offer
ends, the lead is not attempted, the agent is told why in Chinese and English, and the
next lead is offered.
"""

from __future__ import annotations

import pytest

from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.preview import PreviewChange, PreviewDesk, PreviewEnd, PreviewEnded
from callcenter.domain.dialing_policy import Lead, may_dial
from cctest import DialerFloor
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_preview_dialing import (
    AGENT,
    TIMEOUT,
    floor,
    offer,
    preview_campaign,
)

__all__ = ["floor"]

NUMBERS = tuple(f"+8613700000{i:03d}" for i in range(3))


def offered_then_blocked(floor: Floor) -> tuple[int, str, int]:
    """A preview campaign offers 1001 a lead, whose number is then put on the block list
    (an opt-out): the campaign, the number, and where the events after it start."""
    campaign_id = preview_campaign(floor)
    floor.run(1.5)
    shown = offer(floor)
    assert shown is not None
    phone: str = shown["lead"]["phone"]
    floor.kit.ok("POST", "/blacklist", 201, json={"phones": [phone], "reason": "opt_out"})
    return campaign_id, phone, len(floor.events)


def ended_reasons(floor: Floor, mark: int) -> list[str]:
    return [e.data["reason"] for e in floor.events[mark:] if e.type == "preview.ended"]


def nothing_dialled_and_the_next_offered(floor: Floor, campaign_id: int, phone: str) -> None:
    assert floor.leads(campaign_id)[phone]["attempts_lifetime"] == 0
    assert floor.view(campaign_id)["dials"] == 0
    following = offer(floor)
    assert following is not None and following["lead"]["phone"] != phone


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_lead_blacklisted_while_on_preview_is_not_dialled_on_accept(floor: Floor) -> None:
    campaign_id, phone, mark = offered_then_blocked(floor)

    refused = floor.api.call(
        "POST", "/desk/preview/accept", as_=AGENT, headers={"Accept-Language": "zh-CN"}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "lead-not-dialable"
    assert "客户已要求不再来电" in refused.json()["message"]
    again = floor.api.call("POST", "/desk/preview/accept", as_=AGENT)
    assert again.json()["error"] == "preview-offer-missing"  # the offer ended
    assert ended_reasons(floor, mark) == ["refused"]

    floor.run(3.0)
    assert floor.kit.ok("GET", "/desk/state", as_=AGENT)["call"] is None
    nothing_dialled_and_the_next_offered(floor, campaign_id, phone)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_lead_blacklisted_while_on_preview_is_not_dialled_when_the_timer_runs_out(
    floor: Floor,
) -> None:
    """Nobody clicks: at the deadline the platform's desk reads the lead afresh, finds its
    number blocked, dials nothing and offers the next lead."""
    campaign_id, phone, mark = offered_then_blocked(floor)

    floor.run(TIMEOUT + 1.0)
    assert ended_reasons(floor, mark) == ["refused"]
    nothing_dialled_and_the_next_offered(floor, campaign_id, phone)


async def test_the_timer_does_not_dial_a_lead_the_policy_refuses_when_due() -> None:
    """L0 is offered to 1001 for 10 s; the person opts out meanwhile. At the deadline
    the desk asks again, dials nothing, ends the offer as refused, and offers L1."""
    f = await DialerFloor.open(DialingMode.PREVIEW, numbers=NUMBERS, preview_timeout=10.0)
    try:

        async def recheck(lead: Lead, now: float) -> str | None:
            decision = may_dial(f.leads.lead(lead.lead_id), f.dialer.settings.rules, now)
            return None if decision.allowed else decision.reason.value

        desk = PreviewDesk(f.dialer, recheck=recheck)
        changes: list[PreviewChange] = []
        desk.listeners.append(changes.append)
        await f.dialer.start()
        await f.run(1.0)
        shown = desk.offer_for("1001")
        assert shown is not None and shown.lead.lead_id == "L0"
        await f.leads.opt_out("L0", f.clock.now())
        await f.run(10.5)
        ended = [c for c in changes if isinstance(c, PreviewEnded)]
        assert [(c.offer.lead.lead_id, c.reason) for c in ended] == [("L0", PreviewEnd.REFUSED)]
        assert f.engine.calls() == []
        assert f.leads.lead("L0").attempts_lifetime == 0
        following = desk.offer_for("1001")
        assert following is not None and following.lead.lead_id == "L1"
    finally:
        await f.close()
