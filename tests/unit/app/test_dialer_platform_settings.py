"""What the platform's settings give its dialers: the trunks least-cost routing uses,
and a campaign's AMD false-positive rate counted in its abandonment windows."""

from __future__ import annotations

import random
from typing import Any

import pytest

from callcenter.app.bus import EventBus
from callcenter.app.campaigns import ApprovedVersion
from callcenter.app.cti.model import AgentProfile
from callcenter.app.cti.outbound import (
    CampaignEngine,
    CampaignOutcome,
    CampaignSetup,
    MachineAction,
)
from callcenter.app.dialer import CampaignDialer, DialerSettings, DialingMode, MemoryLeads
from callcenter.app.dialing import dialer_settings
from callcenter.clock import Clock, VirtualClock
from callcenter.config import TelephonySettings
from callcenter.domain.campaign import (
    AMD_FALSE_POSITIVE_RATE,
    CampaignSettings,
    InvalidCampaignSettings,
    pick_caller_id,
)
from callcenter.domain.compliance import LedgerConfig
from callcenter.domain.dialing_policy import CallerIdPool, Lead
from callcenter.domain.trunk_routing import NoTrunk, NoTrunkReason, NumberInfo
from callcenter.switch.sim.agents import AgentPhones
from callcenter.switch.sim.customers import Customer, CustomerBook, Fate, Outcome
from callcenter.switch.sim.network import Line, Remote, SimSwitch
from callcenter.telephony import Telephony
from cctest import DialerFloor

MOBILE = NumberInfo("+8613800000001", carrier="China Mobile", region="CN")
UNICOM = NumberInfo("+8613000000001", carrier="China Unicom", region="CN")
COMPLIANT: dict[str, Any] = {
    "safe_harbour_text": "您好，这里是星河保险，稍后回电 4008001234",
    "caller_ids": ["+861058001234"],
}


def telephony(**settings: Any) -> Telephony:
    return Telephony(TelephonySettings.model_validate(settings), EventBus(), sessions=None)  # type: ignore[arg-type]


def test_the_sip_trunks_in_the_settings_make_the_platforms_one_router() -> None:
    """Two SIP trunks with costs, carriers and limits: the router every campaign shares
    picks the cheap mobile trunk for China Mobile, the other for the rest, and holds the
    channel limit (0 in the settings means no limit)."""
    sip = {
        "trunks": [
            {"name": "national", "host": "192.0.2.1", "cost": 0.05, "setup_timeout_seconds": 3},
            {"name": "mobile", "host": "192.0.2.2", "cost": 0.02,
             "carriers": ["China Mobile"], "max_channels": 1, "max_cps": 5},
        ]
    }  # fmt: skip
    platform = telephony(switch="sip", sip=sip)
    router = platform.trunk_router()
    assert router is not None and router is platform.trunk_router()  # one, shared
    national, mobile = router.trunks
    assert (national.max_channels, national.max_cps, national.setup_timeout) == (None, None, 3)
    assert (mobile.max_channels, mobile.max_cps, mobile.cps_burst) == (1, 5, 5)
    assert router.choose(MOBILE, 0.0) == mobile
    assert router.choose(UNICOM, 0.0) == national
    assert router.choose(MOBILE, 0.0) == national  # the mobile trunk's one channel is taken
    router.release("mobile")
    assert router.choose(MOBILE, 1.0) == mobile


def test_the_simulated_network_routes_over_its_own_trunks_and_none_means_no_routing() -> None:
    sim = {"trunks": [{"name": "cn-mobile", "carriers": ["China Mobile"], "regions": ["CN"]}]}
    router = telephony(switch="sim", sim=sim).trunk_router()
    assert router is not None
    assert router.choose(UNICOM, 0.0) == NoTrunk(NoTrunkReason.NOT_SERVED)
    assert telephony(switch="sim").trunk_router() is None
    assert telephony(switch="sip").trunk_router() is None


def test_a_campaign_sets_its_amd_false_positive_rate_and_the_ledger_gets_it() -> None:
    default = CampaignSettings.parse(COMPLIANT)
    assert default.amd_false_positive_rate == AMD_FALSE_POSITIVE_RATE > 0  # never assumed zero
    settings = CampaignSettings.parse(
        COMPLIANT | {"amd_enabled": True, "amd_false_positive_rate": 0.1,
                     "callback_agent_wait_minutes": 5}
    )  # fmt: skip
    assert CampaignSettings.parse(settings.to_json()) == settings
    mapped = dialer_settings(
        3, ApprovedVersion(3, 1, settings, (1,), "", running=True), frozenset()
    )
    assert mapped.ledger.assumed_false_positive_rate == 0.1
    assert mapped.callback_agent_wait == 300
    for bad in (-0.1, 1.5, "many"):
        with pytest.raises(InvalidCampaignSettings) as raised:
            CampaignSettings.parse(COMPLIANT | {"amd_false_positive_rate": bad})
        assert raised.value.details["field"] == "amd_false_positive_rate"


async def test_machine_verdicts_count_their_assumed_false_positives_as_abandoned() -> None:
    """AMD says machine on two calls and a person answers a third; with a rate of one
    in two, one machine verdict counts as a person hung up on: a live answer and an
    abandoned call in every window, shown in the dialer's status."""
    numbers = ("+8613700000001", "+8613700000002", "+8613700000003")
    ledger = LedgerConfig(time_zone="Asia/Shanghai", assumed_false_positive_rate=0.5)
    f = await DialerFloor.open(
        DialingMode.POWER, numbers=numbers, amd=True, ledger=ledger, lines_per_agent=3.0
    )
    try:
        for number in numbers[:2]:
            f.book.script(
                number, Fate(Outcome.MACHINE, ring_after=1.0, answer_after=3.0, amd="machine")
            )
        f.book.script(numbers[2], Fate(Outcome.HUMAN, ring_after=1.0, answer_after=3.0,
                                       talk_time=5.0))  # fmt: skip
        assert await f.dialer.step() == 3
        await f.run(15.0)
        status = f.dialer.status()
        assert status.amd["machine"] == 2 and status.amd["human"] == 1
        assert status.amd["false_positives_found"] == 0
        assert status.amd["false_positives_counted"] == 1.0
        for window in ("campaign", "rolling-30-days", "calendar-day"):
            assert status.ledger[window]["live"] == 2.0  # the person, and one assumed
            assert status.ledger[window]["abandoned"] == 1.0
    finally:
        await f.close()


def test_the_campaigns_caller_id_pick_is_the_pools() -> None:
    pool = ("+8610555", "+8610666")
    settings = CampaignSettings(caller_ids=pool, caller_id_daily_cap=1)
    for used in ({}, {"+8610555": 1}, {"+8610555": 1, "+8610666": 1}):
        assert pick_caller_id(settings, used) == CallerIdPool(pool, 1).pick(used)


class KeyPressingPerson(Customer):
    """A person AMD takes for a machine, who presses 5 a second into the message."""

    def _pick_up(self, amd: bool) -> None:
        super()._pick_up(amd)
        self._after(1.0, lambda: self._line.press("5"))


class PeopleWhoPressKeys(CustomerBook):
    def dial(self, dest: str, line: Line, clock: Clock) -> Remote | None:
        return KeyPressingPerson(clock, line, self.next_fate(dest), self.profile_for(dest))


async def test_a_key_pressed_at_the_machine_message_counts_a_found_false_positive() -> None:
    """AMD says machine and the campaign leaves its message; the person who answered
    presses a key during it: the ledger counts a false positive found, an abandoned
    live call, beyond the rate assumed (zero here)."""
    clock = VirtualClock(1_777_856_400.0)
    phones = AgentPhones(1)
    book = PeopleWhoPressKeys(1)
    switch = SimSwitch(clock, [phones, book])
    profiles = {"1001": AgentProfile.in_groups("out")}
    engine = CampaignEngine(switch, clock, EventBus(max_queue=100), rng=random.Random(1),
                            queues=[], routes={}, profiles=profiles)  # fmt: skip
    setup = CampaignSetup(
        "c1",
        frozenset({"out"}),
        safe_harbour_prompt="safe-harbour",
        machine_action=MachineAction.LEAVE_MESSAGE,
        machine_prompt="machine-message",
    )
    settings = DialerSettings(
        setup,
        DialingMode.PROGRESSIVE,
        caller_id="+862000000000",
        amd=True,
        ledger=LedgerConfig(time_zone="Asia/Shanghai", assumed_false_positive_rate=0.0),
    )
    number = "+8613700000009"
    dialer = CampaignDialer(
        engine, clock, settings, MemoryLeads([Lead("L0", number, "Asia/Shanghai")])
    )
    book.script(number, Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, amd="machine"))
    await engine.start()
    phones.register("1001")
    await engine.log_in("in", "1001", phones.dest("1001"))
    await engine.ready("ready", "1001")
    try:
        assert await dialer.step() == 1
        await clock.advance_async(10.0)
        status = dialer.status()
        assert status.amd["machine"] == 1 and status.amd["false_positives_found"] == 1
        assert status.amd["false_positives_counted"] == 1.0
        assert status.ledger["calendar-day"]["abandoned"] == 1.0
        assert dialer.outcomes[CampaignOutcome.MACHINE] == 1
    finally:
        await dialer.stop()
        await engine.stop()
