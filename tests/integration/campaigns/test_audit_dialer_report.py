"""Audit: the compliance report the API gives for a campaign agrees with the campaign's
own call records, as a compliance officer would check it.

The platform runs on SimSwitch with a virtual clock (a weekday morning in Shanghai) and
two bot agents of the service group; power dialing at three lines per agent makes six
people answer at once, so four are abandoned.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.switch.sim.customers import Fate, Outcome
from integration.campaigns.test_call_record_campaign import stored_calls
from integration.campaigns.test_dialing import Floor, open_floor

PERSON = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=3.0, talk_time=20.0)
NO_ANSWER = Fate(Outcome.NO_ANSWER, ring_after=1.0)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, admin=True)


@pytest.mark.parametrize("backend", ["sqlite"])  # the ledger's store is tested on both
def test_the_windows_count_the_live_and_abandoned_calls_the_call_records_show(
    floor: Floor,
) -> None:
    """Six people answer and two numbers ring out. The dialer view's every window says
    6 live, 4 abandoned; the call records of the campaign show 8 calls, 6 answered, 2 of
    them talking with an agent and 4 ended by the safe-harbour message with no agent."""
    leads = {f"+86138000030{n:02d}": (PERSON,) for n in range(6)}
    leads |= {f"+86138000031{n:02d}": (NO_ANSWER,) for n in range(2)}
    campaign_id = floor.campaign(leads, dialing_mode="power", power_ratio=4)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(60.0)

    view = floor.view(campaign_id)
    calls = stored_calls(floor, campaign_id=str(campaign_id))
    answered = [c for c in calls if c["answered_at"] is not None]
    with_agent = [c for c in answered if c["agent_no"] is not None]
    dropped = [c for c in answered if c["agent_no"] is None]
    assert (len(calls), len(answered), len(with_agent)) == (8, 6, 2), calls
    assert {c["end_reason"] for c in dropped} == {"prompt-played"}
    for window in ("campaign", "rolling-30-days", "calendar-day"):
        counts = view["ledger"][window]
        assert (counts["live"], counts["abandoned"]) == (len(answered), len(dropped)), view
    assert view["abandoned"] == len(dropped) and view["connects"] == len(with_agent)
    assert view["dials"] == len(calls)
