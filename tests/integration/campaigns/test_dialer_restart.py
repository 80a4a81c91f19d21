"""A restart of the platform resets no compliance window and no caller ID's daily count.

The platform runs on SimSwitch with a virtual clock reading Unix seconds (a weekday
morning in Shanghai); two bot agents of the 客服 group take the campaign's calls. The
platform is stopped and a new one started over the same database an hour later, as
after a crash or an upgrade: the campaign is still running, and its new dialer reads
back what the old one wrote.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from callcenter.switch.sim.customers import Fate, Outcome
from cctest import seed_admin
from integration.campaigns.test_dialing import MORNING, Floor, open_floor

PERSON = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=3.0, talk_time=20.0)
NO_ANSWER = Fate(Outcome.NO_ANSWER, ring_after=1.0)
POOL = ["+861058001001", "+861058001002"]


def open_floor_at(tmp_path: Path, database_url: str, start: float) -> Iterator[Floor]:
    """The platform on a virtual clock starting at ``start``, until the generator ends."""
    yield from open_floor(tmp_path, database_url, start=start)


def run_then_restart(
    tmp_path: Path,
    database_url: str,
    leads: Mapping[str, tuple[Fate, ...]],
    seconds: float,
    **settings: Any,
) -> tuple[int, dict[str, Any], Iterator[Floor], Floor]:
    """Start a campaign, dial for ``seconds``, stop the platform and start it again an
    hour later; returns the campaign, its view before the stop and the new floor."""
    floors = open_floor_at(tmp_path, database_url, MORNING)
    floor = next(floors)
    assert floor.api.client.portal is not None
    floor.api.client.portal.call(seed_admin, floor.platform)
    campaign_id = floor.campaign(leads, **settings)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(seconds)
    before = floor.view(campaign_id)
    next(floors, None)  # the platform stops

    restarted = open_floor_at(tmp_path, database_url, MORNING + 3600)
    return campaign_id, before, restarted, next(restarted)


def test_the_abandonment_windows_and_the_spent_budget_survive_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    """Power dialing at three lines per agent: six people answer, two agents take two
    of them and four are abandoned after the safe-harbour message. An hour after a
    restart the dialer status still shows every window over the limit with the same
    counts, and the new dialer's budget has no abandoned call left to spend."""
    leads = {f"+86138000010{n:02d}": (PERSON,) for n in range(6)}
    campaign_id, before, restarted, again = run_then_restart(
        tmp_path, database_url, leads, 30, dialing_mode="power", power_ratio=3
    )
    try:
        assert before["dials"] == 6 and before["abandoned"] == 4, before
        assert before["ledger"]["calendar-day"] == {
            "live": 6.0,
            "abandoned": 4.0,
            "rate": 4 / 6,
            "remaining": 0.03 * 6 - 4,
        }
        after = again.view(campaign_id)
        assert after["dialing"] is True and after["dials"] == 0  # a new dialer
        assert after["ledger"] == before["ledger"]
        assert after["abandonment"] == before["abandonment"]
        assert {w["window"] for w in after["abandonment"]} == {
            "campaign",
            "rolling-30-days",
            "calendar-day",
        }
        assert all(w["over"] for w in after["abandonment"])
        dialing = again.platform.dialing
        assert dialing is not None
        dialer = dialing.dialer(campaign_id)
        assert dialer is not None
        assert dialer.budget(again.clock.now()).remaining < 0
    finally:
        next(restarted, None)


@pytest.mark.parametrize("backend", ["sqlite"])  # both stores: tests/integration/store
def test_the_caller_ids_daily_counts_survive_a_restart_and_say_why_nothing_dials(
    tmp_path: Path, database_url: str
) -> None:
    """Two caller IDs capped at one call a day, three leads, and two agents who would
    take two lines each: two calls go out, one on each number; the third lead waits,
    and the status says every caller ID is at its cap until midnight in Shanghai.
    After a restart the numbers are still spent: nothing is dialled, for the same reason."""
    leads = {f"+86138000020{n:02d}": (NO_ANSWER,) for n in range(3)}
    campaign_id, before, restarted, again = run_then_restart(
        tmp_path,
        database_url,
        leads,
        5,
        dialing_mode="power",
        power_ratio=2,
        caller_ids=POOL,
        caller_id_daily_cap=1,
    )
    try:
        assert before["dials"] == 2, before
        assert before["caller_ids"]["today"] == dict.fromkeys(POOL, 1)
        assert before["not_dialled"]["caller-id-cap"] >= 1
        spent = before["caller_ids"]
        assert spent["spent"] is True and spent["cap"] == 1
        assert spent["resumes_at"] == "2026-11-26T00:00:00+08:00"
        assert "主叫号码" in spent["message"]["zh"] and "caller ID" in spent["message"]["en"]

        again.run(3)
        after = again.view(campaign_id)
        assert after["dialing"] is True and after["dials"] == 0
        assert after["caller_ids"]["today"] == dict.fromkeys(POOL, 1)
        assert after["caller_ids"]["spent"] is True
        assert after["not_dialled"]["caller-id-cap"] >= 1
    finally:
        next(restarted, None)


@pytest.mark.parametrize("backend", ["sqlite"])  # both stores are tested above
def test_a_campaign_paused_before_a_restart_still_shows_its_windows(
    tmp_path: Path, database_url: str
) -> None:
    """A paused campaign has no dialer after a restart; its dialer view still shows
    the stored windows, so the supervisor sees the abandonment before resuming."""
    floors = open_floor_at(tmp_path, database_url, MORNING)
    floor = next(floors)
    assert floor.api.client.portal is not None
    floor.api.client.portal.call(seed_admin, floor.platform)
    leads = {f"+86138000030{n:02d}": (PERSON,) for n in range(3)}
    campaign_id = floor.campaign(leads, dialing_mode="power", power_ratio=1.5)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(30)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/pause")
    floor.run(1)
    before = floor.view(campaign_id)
    next(floors, None)

    restarted = open_floor_at(tmp_path, database_url, MORNING + 3600)
    again = next(restarted)
    try:
        after = again.view(campaign_id)
        assert after["state"] == "paused" and after["dialing"] is False
        assert before["ledger"]["campaign"]["abandoned"] == 1.0, before
        assert after["ledger"] == before["ledger"]
        assert after["abandonment"] == before["abandonment"]
    finally:
        next(restarted, None)
