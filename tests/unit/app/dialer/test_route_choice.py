"""Every call of a campaign, the dialer's own and those placed for an agent, takes its
caller ID and trunk from one route choice; each refused call says why, and each path
deals with the refusal its own way.

The floor is the CTI engine on SimSwitch with a virtual clock (tests/cctest.py).
"""

from __future__ import annotations

import pytest

from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.placing import Refusal, Route
from callcenter.app.dialer.runtime import NoRoute
from callcenter.domain.compliance import LedgerConfig
from callcenter.domain.trunk_routing import Trunk, TrunkRouter
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = ("+8613700002001", "+8613700002002")
POOL = ("+861058002001", "+861058002002")
START = 1_777_856_400.0  # Monday 4 May 2026, 09:00 in Shanghai
MIDNIGHT = START + 15 * 3600.0  # the campaign's next local day
SHANGHAI = LedgerConfig(time_zone="Asia/Shanghai")


def no_answer() -> Fate:
    return Fate(Outcome.NO_ANSWER, ring_after=1.0)


async def test_the_route_is_the_least_used_caller_id_and_the_cheapest_untried_trunk() -> None:
    """One call already presented the first number: the route presents the second, on
    the cheap trunk, or on the backup when the cheap one was tried. Choosing takes the
    trunk's channel but counts no call on the number: that is done once it is placed."""
    trunks = TrunkRouter([Trunk("cheap", 0.01), Trunk("backup", 0.03)])
    f = await DialerFloor.open(
        DialingMode.PROGRESSIVE,
        numbers=NUMBERS,
        trunks=trunks,
        caller_ids=POOL,
        caller_id_daily_cap=5,
        ledger=SHANGHAI,
    )
    try:
        now = f.clock.now()
        f.dialer.caller_ids.count(POOL[0], now)
        lead = f.leads.lead("L0")
        assert f.dialer._route(lead, now) == Route(POOL[1], "cheap")
        assert f.dialer._route(lead, now, ("cheap",)) == Route(POOL[1], "backup")
        assert (trunks.in_use("cheap"), trunks.in_use("backup")) == (1, 1)
        assert f.dialer.caller_ids.today(now) == {POOL[0]: 1}
        assert not f.dialer.not_dialled
    finally:
        await f.close()


async def test_without_a_pool_or_a_router_the_campaign_number_on_the_engine_default() -> None:
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, numbers=NUMBERS)
    try:
        route = f.dialer._route(f.leads.lead("L0"), f.clock.now())
        assert route == Route("+862000000000", None)
    finally:
        await f.close()


async def test_a_spent_pool_is_refused_until_local_midnight_before_any_trunk_is_taken() -> None:
    trunks = TrunkRouter([Trunk("cheap", 0.01)])
    f = await DialerFloor.open(
        DialingMode.PROGRESSIVE,
        numbers=NUMBERS,
        trunks=trunks,
        caller_ids=POOL[:1],
        caller_id_daily_cap=1,
        ledger=SHANGHAI,
    )
    try:
        now = f.clock.now()
        f.dialer.caller_ids.count(POOL[0], now)
        refusal = f.dialer._route(f.leads.lead("L0"), now)
        assert refusal == Refusal("caller-id-cap", MIDNIGHT)
        assert trunks.in_use("cheap") == 0
        assert f.dialer.not_dialled == {"caller-id-cap": 1}
    finally:
        await f.close()


@pytest.mark.parametrize(
    ("trunk", "reason"),
    [
        (Trunk("full", 0.01, max_channels=0), "no-trunk:trunks-busy"),
        (Trunk("fixed", 0.01, prefixes=frozenset({"+86105"})), "no-trunk:no-trunk-serves-number"),
    ],
)
async def test_no_trunk_names_why_and_the_lead_may_go_at_the_next_step(
    trunk: Trunk, reason: str
) -> None:
    f = await DialerFloor.open(
        DialingMode.PROGRESSIVE, numbers=NUMBERS, trunks=TrunkRouter([trunk])
    )
    try:
        now = f.clock.now()
        refusal = f.dialer._route(f.leads.lead("L0"), now)
        assert refusal == Refusal(reason, now + f.dialer.settings.interval)
        assert f.dialer.not_dialled == {reason: 1}
    finally:
        await f.close()


async def test_one_refusal_two_handlings_the_agent_is_told_the_dialer_puts_the_lead_back() -> None:
    """The only trunk has no channel free. The call an agent asked for fails with
    NoRoute naming why, in Chinese and English, and the lead is not attempted; the
    dialer's own lead goes back to the source until the next step. Both count it."""
    busy = "no-trunk:trunks-busy"
    trunks = TrunkRouter([Trunk("full", 0.01, max_channels=0)])
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], trunks=trunks)
    try:
        now = f.clock.now()
        with pytest.raises(NoRoute) as refused:
            await f.dialer.place_for_agent(f.leads.lead("L0"), "1001", now)
        assert busy in refused.value.message("zh")
        assert f"cannot place the call now: {busy}" in refused.value.message("en")
        assert f.leads.lead("L0").attempts_lifetime == 0
        assert f.dialer.not_dialled == {busy: 1}

        assert await f.dialer.dial_leads(1, now) == 0
        assert f.dialer.not_dialled[busy] == 2
        assert f.leads.lead("L0").attempts_lifetime == 0
        assert await f.leads.next_leads(1, now) == []
        step = now + f.dialer.settings.interval
        assert [lead.lead_id for lead in await f.leads.next_leads(1, step)] == ["L0"]
    finally:
        await f.close()


async def test_a_call_for_an_agent_and_the_dialers_own_share_the_pool_and_the_trunks() -> None:
    """The agent's call presents the first number on the one-channel cheap trunk; the
    dialer's next call presents the second number on the backup, both counted."""
    trunks = TrunkRouter([Trunk("cheap", 0.01, max_channels=1), Trunk("backup", 0.03)])
    f = await DialerFloor.open(
        DialingMode.PROGRESSIVE,
        numbers=NUMBERS,
        trunks=trunks,
        caller_ids=POOL,
        caller_id_daily_cap=5,
        ledger=SHANGHAI,
    )
    try:
        for number in NUMBERS:
            f.book.script(number, no_answer())
        now = f.clock.now()
        (lead,) = await f.leads.next_leads(1, now)
        await f.dialer.place_for_agent(lead, "1001", now)
        assert await f.dialer.dial_leads(1, now) == 1
        assert f.dialer.caller_ids.today(now) == {POOL[0]: 1, POOL[1]: 1}
        assert (trunks.in_use("cheap"), trunks.in_use("backup")) == (1, 1)
        assert f.dialer.dials == 2
        assert not f.dialer.not_dialled
    finally:
        await f.close()
