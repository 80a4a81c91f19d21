"""The campaign setting "give up long-ringing calls" (提前放弃振铃) in the domain: off
unless chosen, kept through JSON (so frozen in each approved version), and only true
or false."""

from __future__ import annotations

import pytest

from callcenter.domain.campaign import CampaignSettings, InvalidCampaignSettings


def test_it_is_off_unless_chosen_also_in_versions_saved_before_it_existed() -> None:
    assert CampaignSettings().give_up_ringing is False
    older = CampaignSettings().to_json()
    del older["give_up_ringing"]  # a version approved before the setting existed
    assert CampaignSettings.parse(older).give_up_ringing is False
    assert CampaignSettings.parse({"give_up_ringing": None}).give_up_ringing is False


def test_a_predictive_campaigns_choice_round_trips_through_json() -> None:
    chosen = CampaignSettings.parse({"dialing_mode": "predictive", "give_up_ringing": True})
    assert chosen.give_up_ringing is True
    assert chosen.to_json()["give_up_ringing"] is True
    assert CampaignSettings.parse(chosen.to_json()) == chosen


@pytest.mark.parametrize("value", ["yes", 1, 0, "false", [True]])
def test_anything_but_true_or_false_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidCampaignSettings) as caught:
        CampaignSettings.parse({"give_up_ringing": value})
    assert caught.value.details["field"] == "give_up_ringing"
    assert "true 或 false" in caught.value.message("zh-CN")
    assert "must be true or false" in caught.value.message("en")
