"""A campaign's calls are stored naming their campaign and lead, on both backends.

The platform runs on SimSwitch with a virtual clock (a weekday morning in Shanghai) and
its two bot agents of the 客服 group, who take the campaign's calls and the inbound
ones. A supervisor then reads the call log filtered by campaign, as a report would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcenter.switch.sim.customers import Customer, Fate, Outcome
from callcenter.switch.sim.network import Line, Remote
from integration.campaigns.test_dialing import Floor, open_floor

CUSTOMER = "+8613800000001"
INBOUND_CALLER = "+8613912345678"
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=10.0)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, admin=True)


def call_in(floor: Floor, number: str) -> None:
    """A customer calls the site's number (the 客服 queue) and talks for ten seconds."""
    telephony = floor.platform.telephony
    assert telephony is not None
    switch, book = telephony.switch, telephony.book
    assert switch is not None and book is not None

    def make_remote(line: Line) -> Remote:
        return Customer(floor.clock, line, TALK, book.profile_for(number))

    assert floor.api.client.portal is not None
    floor.api.client.portal.call(
        lambda: switch.offer_call(number, telephony.settings.sim.did, None, make_remote)
    )


def stored_calls(floor: Floor, **params: str) -> list[dict[str, Any]]:
    """The call log as a supervisor reads it, once every record so far is written."""
    telephony = floor.platform.telephony
    assert telephony is not None and floor.api.client.portal is not None
    floor.api.client.portal.call(telephony.drain)
    page: dict[str, Any] = floor.kit.ok("GET", "/calls", params={"limit": "50", **params})
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    return items


def test_a_campaign_call_is_stored_with_its_campaign_and_lead_and_filtered_by_them(
    floor: Floor,
) -> None:
    """The campaign dials its one lead, a bot talks with the customer, the call ends;
    meanwhile a customer calls in. The log holds both: the campaign's call names the
    campaign and the lead (the lead's own id, so it joins the leads table), the inbound
    call names neither, and filtering by the campaign finds only its call."""
    campaign_id = floor.campaign({CUSTOMER: (TALK,)})
    lead_id = floor.leads(campaign_id)[CUSTOMER]["id"]
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    call_in(floor, INBOUND_CALLER)
    floor.run(30)

    calls = {c["direction"]: c for c in stored_calls(floor)}
    assert set(calls) == {"outbound", "inbound"}
    outbound, inbound = calls["outbound"], calls["inbound"]
    assert (outbound["dialled"], outbound["state"]) == (CUSTOMER, "ended")
    assert outbound["answered_at"] and outbound["agents"]  # a bot talked with the lead
    assert (outbound["campaign_id"], outbound["lead_id"]) == (campaign_id, lead_id)
    assert (inbound["caller"], inbound["state"]) == (INBOUND_CALLER, "ended")
    assert (inbound["campaign_id"], inbound["lead_id"]) == (None, None)

    mine = stored_calls(floor, campaign_id=str(campaign_id))
    assert [c["call_id"] for c in mine] == [outbound["call_id"]]
    assert stored_calls(floor, campaign_id=str(campaign_id + 1)) == []
    by_both = stored_calls(floor, campaign_id=str(campaign_id), number=INBOUND_CALLER)
    assert by_both == []  # the filters narrow together

    refused = floor.api.call("GET", "/calls", params={"campaign_id": "0"})
    assert refused.status_code == 422, refused.text
