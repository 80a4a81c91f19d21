"""The call log names the caller ID each campaign call presented, on both backends.

The platform runs on SimSwitch with a virtual clock (a weekday morning in Shanghai) and
its two bot agents of the 客服 group. The campaign's pool has two numbers, typed as its
owner writes them, capped at one call a day each. A supervisor then answers a complaint
("who called me from +86 10 5800 9999?") and audits the pool's caps from the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.switch.sim.customers import Fate, Outcome
from integration.campaigns.test_call_record_campaign import call_in, stored_calls
from integration.campaigns.test_dialing import Floor, open_floor

POOL = ["01058009999", "01058008888"]
CUSTOMERS = ("+8613800000001", "+8613800000002")
INBOUND_CALLER = "+8613912345678"
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=10.0)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, admin=True)


def test_each_campaign_call_names_the_pool_number_it_presented_and_is_found_by_it(
    floor: Floor,
) -> None:
    """The campaign dials its two leads, bots talk with both; a customer calls in
    meanwhile. Each outbound call's customer leg names one of the pool's numbers, a
    different one each (the cap), matching the dialer's count for the day; no other leg
    names anything. Asked for in E.164, in another form or as stored, the log finds the
    one call that presented the number, and nothing for a number of no call."""
    campaign_id = floor.campaign(
        dict.fromkeys(CUSTOMERS, (TALK,)), caller_ids=POOL, caller_id_daily_cap=1
    )
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    call_in(floor, INBOUND_CALLER)
    floor.run(30)

    calls = stored_calls(floor)
    outbound = [c for c in calls if c["direction"] == "outbound"]
    (inbound,) = [c for c in calls if c["direction"] == "inbound"]
    assert len(outbound) == 2 and all(c["answered_at"] for c in outbound), outbound
    presented: dict[str, str] = {}
    for call in outbound:
        (customer,) = [leg for leg in call["legs"] if leg["purpose"] == "customer"]
        assert customer["dest"] == call["dialled"] and customer["caller_id"] in POOL
        presented[customer["caller_id"]] = call["call_id"]
        others = [leg for leg in call["legs"] if leg is not customer]
        assert others and all(leg["caller_id"] is None for leg in others), others
    assert sorted(presented) == sorted(POOL)
    assert floor.view(campaign_id)["caller_ids"]["today"] == dict.fromkeys(POOL, 1)
    assert all(leg["caller_id"] is None for leg in inbound["legs"]), inbound["legs"]

    first, second = POOL
    for asked in ("+861058009999", "010-5800-9999", first):
        found = stored_calls(floor, caller_id=asked)
        assert [c["call_id"] for c in found] == [presented[first]], asked
    assert [c["call_id"] for c in stored_calls(floor, caller_id=second)] == [presented[second]]
    assert stored_calls(floor, caller_id="01058007777") == []
    mine = stored_calls(floor, caller_id=first, campaign_id=str(campaign_id))
    assert [c["call_id"] for c in mine] == [presented[first]]  # the filters narrow together
    assert stored_calls(floor, caller_id=first, number=INBOUND_CALLER) == []

    refused = floor.api.call("GET", "/calls", params={"caller_id": "9" * 65})
    assert refused.status_code == 422, refused.text
