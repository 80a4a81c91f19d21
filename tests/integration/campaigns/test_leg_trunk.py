"""The call log names the trunk each call to a customer went out on (issue 6, 中继).

The platform runs on SimSwitch with a virtual clock and the two carrier trunks of
:mod:`integration.campaigns.test_dialing_routes`: ``mobile``, cheap, for China Mobile
numbers alone and one call at a time, and ``national``, dearer, for any number. A
supervisor then audits the records: which trunk carried each call, which refused it
first (a 503, a trunk silent past its setup time), and whether least-cost routing sent
the China Mobile numbers to the mobile trunk. Legs to agents' phones and inbound legs
went out on no trunk of ours and name none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.campaigns.test_call_record_campaign import call_in, stored_calls
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_dialing_routes import (
    MOBILE_1,
    MOBILE_2,
    REFUSED,
    SILENT,
    TALK,
    UNICOM,
    campaign,
    open_floor,
    originations,
    to_leads,
)

INBOUND_CALLER = "+8613912345678"


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, bots=2)


def customer_leg(call: dict[str, Any]) -> dict[str, Any]:
    (leg,) = [leg for leg in call["legs"] if leg["purpose"] == "customer"]
    found: dict[str, Any] = leg
    return found


def attempts(calls: list[dict[str, Any]], number: str) -> list[tuple[str, str | None, bool]]:
    """The calls to ``number``, oldest first: each customer leg's trunk, its cause, and
    whether it was answered."""
    mine = sorted((c for c in calls if c["dialled"] == number), key=lambda c: c["created_at"])
    legs = [customer_leg(c) for c in mine]
    return [(leg["trunk"], leg["cause"], leg["answered_at"] is not None) for leg in legs]


def call_ids(calls: list[dict[str, Any]]) -> set[str]:
    return {c["call_id"] for c in calls}


def test_a_call_that_failed_over_shows_the_trunk_that_refused_and_the_one_that_carried_it(
    floor: Floor,
) -> None:
    """The mobile trunk answers the first number 503 and never answers for the second
    (its setup time runs out); each goes out again on the national trunk and is
    answered. Each attempt is a call of its own whose customer leg names its trunk and
    keeps its end: mobile refused (congestion) or cancelled, national answered. Asked
    for a trunk, the log finds the calls with a leg on it; the agents' legs name none."""
    campaign_id = campaign(
        floor,
        {MOBILE_1: ("China Mobile", (REFUSED, TALK)), MOBILE_2: ("China Mobile", (SILENT, TALK))},
        max_lines=1,
    )
    seen = originations(floor)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(60.0)
    assert sorted(to_leads(seen, MOBILE_1, MOBILE_2)) == [
        (MOBILE_1, "mobile"),
        (MOBILE_1, "national"),
        (MOBILE_2, "mobile"),
        (MOBILE_2, "national"),
    ]

    calls = stored_calls(floor)
    carried = ("national", "normal", True)
    assert attempts(calls, MOBILE_1) == [("mobile", "congestion", False), carried]  # a 503
    assert attempts(calls, MOBILE_2) == [("mobile", "cancelled", False), carried]  # silent
    leads = floor.leads(campaign_id)
    for call in calls:
        assert call["campaign_id"] == campaign_id
        assert call["lead_id"] == leads[call["dialled"]]["id"]  # one lead, both attempts
        others = [leg for leg in call["legs"] if leg["purpose"] != "customer"]
        assert all(leg["trunk"] is None for leg in others), others
    answered = [c for c in calls if c["answered_at"] is not None]
    assert len(answered) == 2 and all(len(c["legs"]) >= 2 for c in answered)  # an agent's

    refused = {c["call_id"] for c in calls if c["answered_at"] is None}
    assert call_ids(stored_calls(floor, trunk="mobile")) == refused
    assert call_ids(stored_calls(floor, trunk="national")) == call_ids(answered)
    by_number = stored_calls(floor, trunk="mobile", number=MOBILE_1)  # filters narrow together
    assert attempts(by_number, MOBILE_1) == [("mobile", "congestion", False)]
    assert stored_calls(floor, trunk="unicom") == []


@pytest.mark.parametrize("backend", ["sqlite"])  # the filter is checked on both above
def test_least_cost_routing_is_seen_in_the_log_number_by_number(floor: Floor) -> None:
    """A China Mobile number and a China Unicom one, dialled one at a time: the mobile
    number's leg names the cheap mobile trunk, the Unicom number's the national one
    (the mobile trunk does not serve it). A customer calling in meanwhile is recorded
    with no trunk on any leg, and is found by neither trunk."""
    campaign_id = campaign(
        floor,
        {MOBILE_1: ("China Mobile", (TALK,)), UNICOM: ("China Unicom", (TALK,))},
        max_lines=1,
    )
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    call_in(floor, INBOUND_CALLER)
    floor.run(40.0)

    calls = stored_calls(floor)
    assert attempts(calls, MOBILE_1) == [("mobile", "normal", True)]
    assert attempts(calls, UNICOM) == [("national", "normal", True)]
    (inbound,) = [c for c in calls if c["direction"] == "inbound"]
    assert inbound["legs"] and all(leg["trunk"] is None for leg in inbound["legs"])
    mobile = stored_calls(floor, trunk="mobile")
    national = stored_calls(floor, trunk=" national ")  # as pasted from a bill
    assert [c["dialled"] for c in mobile] == [MOBILE_1]
    assert [c["dialled"] for c in national] == [UNICOM]
    assert inbound["call_id"] not in call_ids(mobile) | call_ids(national)

    too_long = floor.api.call("GET", "/calls", params={"trunk": "t" * 65})
    assert too_long.status_code == 422, too_long.text
