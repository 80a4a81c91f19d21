"""The running platform gives every campaign's dialer one count of a number's calls: two
running campaigns presenting the firm's one number, 2 calls a day, place 2 calls in all
(issue 6), and each one's live view says the cap counts the other's calls."""

from __future__ import annotations

import pytest

from callcenter.telephony import SERVICE_GROUP
from integration.campaigns.campaign_kit import COMPLIANT
from integration.campaigns.test_dialing import NO_ANSWER, Floor, floor

__all__ = ["floor"]

NUMBER = COMPLIANT["caller_ids"][0]  # the one caller ID of both campaigns


@pytest.mark.parametrize("backend", ["sqlite"])  # the SQL store has its own test on both
def test_two_running_campaigns_sharing_a_number_place_its_daily_cap_in_all(floor: Floor) -> None:
    kit = floor.kit
    group = kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    campaigns = []
    for n, name in enumerate(("车险续保", "房贷预审")):
        campaign_id = kit.campaign(
            name,
            **COMPLIANT,
            group_ids=[group["id"]],
            windows=[{"start": "00:00", "end": "23:59"}],
            caller_id_daily_cap=2,
        )
        phones = [f"+86136100{n}{i:04d}" for i in range(3)]
        for phone in phones:
            floor.script(phone, NO_ANSWER)
        kit.add_leads(campaign_id, *({"phone": phone} for phone in phones))
        kit.approve(campaign_id)
        campaigns.append(campaign_id)
    for campaign_id in campaigns:
        kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(40.0)  # time for every lead of both, were the number not spent

    views = [floor.view(campaign_id) for campaign_id in campaigns]
    assert sum(view["dials"] for view in views) == 2
    for view in views:
        assert view["caller_ids"]["today"] == {NUMBER: 2}
        assert view["caller_ids"]["spent"] is True
        others = 2 - view["caller_ids"]["own"][NUMBER]
        assert f"其他外呼任务 {others} 次" in view["caller_ids"]["message"]["zh"]
        assert view["not_dialled"]["caller-id-cap"] >= 1
    dialing = floor.platform.dialing
    assert dialing is not None
    first, second = (dialing.dialer(campaign_id) for campaign_id in campaigns)
    assert first is not None and second is not None
    assert first.caller_ids.shared is second.caller_ids.shared
