"""A preview campaign's own countdown and skip delay (预览倒计时、跳过后再次呼叫): the
approved version's settings reach the dialer, else the platform's defaults do, and the
preview desk keeps to them."""

from __future__ import annotations

from typing import Any

from callcenter.app.campaigns import ApprovedVersion
from callcenter.app.dialer import DialingMode, PreviewDesk
from callcenter.app.dialer.preview import PreviewChange, PreviewEnded, PreviewOffered
from callcenter.app.dialing import dialer_settings
from callcenter.domain.campaign import CampaignSettings
from cctest import DialerFloor

PLATFORM = {"preview_timeout": 20.0, "preview_skip_delay": 900.0}  # not the built-in ones
NUMBERS = ("+8613700000001", "+8613700000002")


def mapped(**settings: Any) -> tuple[float, float]:
    version = ApprovedVersion(
        3, 1, CampaignSettings.parse({"dialing_mode": "preview"} | settings), (1,), "", running=True
    )
    dialer = dialer_settings(3, version, frozenset({"out"}), **PLATFORM)
    return dialer.preview_timeout, dialer.preview_skip_delay


def test_the_campaigns_own_timings_win_and_the_platforms_fill_in_what_it_leaves_out() -> None:
    assert mapped() == (20.0, 900.0)
    assert mapped(preview_timeout_seconds=60) == (60.0, 900.0)
    assert mapped(preview_skip_delay_minutes=5) == (20.0, 300.0)
    assert mapped(preview_timeout_seconds=10, preview_skip_delay_minutes=0.5) == (10.0, 30.0)
    assert mapped(preview_skip_delay_minutes=0) == (20.0, 0.0)  # zero is its own: at once


async def test_the_desk_offers_for_the_campaigns_countdown_and_holds_a_skip_its_delay() -> None:
    """The campaign gives 10 s to decide and holds a skipped lead back 2 minutes: the
    offer's deadline is 10 s after it is made; nobody deciding sends the lead back
    (no dialling on timeout here); both leads come back 120 s after they left, not
    before."""
    f = await DialerFloor.open(
        DialingMode.PREVIEW, numbers=NUMBERS, preview_timeout=10.0, preview_skip_delay=120.0
    )
    try:
        desk = PreviewDesk(f.dialer, dial_on_timeout=False)
        assert desk.skip_delay == 120.0  # the campaign's, since the desk is given none
        changes: list[PreviewChange] = []
        desk.listeners.append(changes.append)
        start = f.clock.now()
        await f.dialer.step()
        first = desk.offer_for("1001")
        assert first is not None and first.lead.lead_id == "L0"
        assert first.expires_at - first.offered_at == 10.0
        await desk.skip("1001", "not now")
        skipped_at = f.clock.now()
        await f.dialer.step()
        second = desk.offer_for("1001")
        assert second is not None and second.lead.lead_id == "L1"
        await f.dialer.start()
        await f.run(10.5)  # L1's deadline passes
        ended = [c for c in changes if isinstance(c, PreviewEnded)]
        assert [(c.offer.lead.lead_id, c.reason.value) for c in ended] == [
            ("L0", "skipped"),
            ("L1", "skipped-on-timeout"),
        ]
        timed_out_at = ended[-1].at
        assert timed_out_at - second.offered_at < 11.0

        await f.run(skipped_at + 119.0 - f.clock.now())
        assert desk.offer_for("1001") is None  # L0 is still held back
        await f.run(2.0)
        again = desk.offer_for("1001")
        assert again is not None and again.lead.lead_id == "L0"
        assert 120.0 <= again.offered_at - skipped_at <= 121.0
        await desk.skip("1001")
        await f.run(timed_out_at + 121.0 - f.clock.now())
        last = desk.offer_for("1001")
        assert last is not None and last.lead.lead_id == "L1"
        assert last.offered_at - timed_out_at >= 120.0
        offered = [c.offer.lead.lead_id for c in changes if isinstance(c, PreviewOffered)]
        assert offered == ["L0", "L1", "L0", "L1"]
        assert f.engine.calls() == [] and f.clock.now() - start < 150.0
    finally:
        await f.close()
