"""An operator's audit: the rolling 24-hour attempt limit over the stored counters.

The store keeps, per lead, the calls "in 24 hours" and the oldest one's time; the
dialer's attempts move them (:meth:`~callcenter.app.leads.LeadService.mark_attempt`).
Whatever the counters say, no 24 hours may hold more calls than the limit.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest

from callcenter.domain.dialing_policy import DAY, Outcome
from integration.campaigns.campaign_kit import Kit
from integration.campaigns.test_dialer_leads import NOW, run, source, why

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
ALL_DAY = [{"start": "00:00", "end": "23:59"}]
TEN_MINUTES = 600.0


def test_no_24_hours_hold_more_calls_than_the_rolling_limit(kit: Kit) -> None:
    """Limit two in 24 hours, busy retried after ten minutes: two calls, then one a day.

    Busy at 10:00 and 10:10; the next call is 10:00 the day after (the first one has
    left the window). The counters now say three since 10:00 the day before; ten
    minutes later the 10:10 call and that one are still within 24 hours, so the lead
    waits (it waits for its last call to be a day old, the times in between being
    unknown), and is allowed again once it is.
    """
    campaign_id = kit.running(
        leads=({"phone": "+8613800000001"},),
        windows=ALL_DAY,
        max_per_day=10,
        max_24h=2,
        retry={"busy": {"delay": TEN_MINUTES}},
    )
    leads = source(kit, campaign_id)

    def call(now: float) -> bool:
        """Dial the lead at ``now`` if the policy lets it go; a busy line."""
        found = run(kit, partial(leads.next_leads, 1, now))
        if found:
            run(kit, partial(leads.mark_attempt, found[0].lead_id, now))
            run(kit, partial(leads.record_outcome, found[0].lead_id, Outcome.BUSY, now))
        return bool(found)

    assert [call(NOW), call(NOW + TEN_MINUTES), call(NOW + DAY)] == [True, True, True]
    held = why(kit, campaign_id, at=_at(NOW + DAY + TEN_MINUTES))
    assert held["reasons"] == {"max-attempts-24h": 1}
    assert dt.datetime.fromisoformat(held["next_at"]) == _at(NOW + 2 * DAY)
    assert not call(NOW + DAY + TEN_MINUTES)
    assert call(NOW + 2 * DAY)


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
