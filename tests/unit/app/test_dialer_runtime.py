"""The dialer runtime: trunks with failover, why leads are not dialled, the ledger's
windows, and the live status."""

from __future__ import annotations

import dataclasses

import pytest

from callcenter.app.cti.outbound import DialRequest, UnknownCampaign
from callcenter.app.dialer import DialingMode, MemoryLeads
from callcenter.domain.dialing_policy import Lead
from callcenter.domain.pacing import FixedRatioPacer
from callcenter.domain.trunk_routing import Trunk, TrunkRouter
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = tuple(f"+8613600000{i:03d}" for i in range(4))


def person(answer_after: float = 4.0, talk: float = 30.0) -> Fate:
    return Fate(Outcome.HUMAN, ring_after=1.0, answer_after=answer_after, talk_time=talk,
                patience=60.0)  # fmt: skip


async def test_a_503_fails_over_to_the_next_cheapest_trunk() -> None:
    """The cheap trunk answers 503 (congestion): the same lead goes out on the next
    trunk at the next step, one attempt in all, and is connected."""
    trunks = TrunkRouter([Trunk("cheap", 0.01), Trunk("backup", 0.03)])
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], trunks=trunks)
    try:
        f.book.script(NUMBERS[0], Fate(Outcome.CONGESTION, fail_after=0.5), person())
        assert await f.dialer.step() == 1
        await f.run(1.0)
        assert f.ended == []  # not an outcome yet: it is being retried elsewhere
        assert await f.dialer.step() == 1
        await f.run(40.0)
        (ended,) = f.ended
        assert (ended.trunk, ended.outcome.value) == ("backup", "connected")
        assert f.leads.lead("L0").attempts_lifetime == 1
        assert trunks.in_use("cheap") == trunks.in_use("backup") == 0
    finally:
        await f.close()


async def test_when_every_trunk_refuses_the_attempt_failed() -> None:
    trunks = TrunkRouter([Trunk("only", 0.01)])
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], trunks=trunks)
    try:
        f.book.script(NUMBERS[0], Fate(Outcome.CONGESTION, fail_after=0.5))
        await f.dialer.step()
        await f.run(1.0)
        await f.dialer.step()
        await f.run(0.5)
        assert f.leads.lead("L0").last_outcome is not None
        assert f.leads.lead("L0").last_outcome.value == "failed"
        assert f.dialer.status().not_dialled["no-trunk:no-trunk-serves-number"] == 1
    finally:
        await f.close()


async def test_trunk_channels_cap_the_lines_and_no_trunk_is_a_reason() -> None:
    """Four agents ready but one channel: one call; the dialer says why not more."""
    trunks = TrunkRouter([Trunk("small", 0.01, max_channels=1)])
    f = await DialerFloor.open(
        DialingMode.POWER,
        agents=("1001", "1002", "1003", "1004"),
        numbers=NUMBERS,
        lines_per_agent=1.0,
        trunks=trunks,
        pacer=FixedRatioPacer(1.0),
    )
    try:
        assert await f.dialer.step() == 1
        f.dialer.pacer = FixedRatioPacer(2.0)
        f.dialer.settings = dataclasses.replace(f.dialer.settings, max_lines=None)
        assert await f.dialer.step() == 0  # capped by the free channels
        assert f.dialer.status().in_flight == 1
    finally:
        await f.close()


async def test_the_status_counts_why_leads_are_not_dialled() -> None:
    """A do-not-call lead and an opted-out one are skipped with their reasons; the
    third is dialled; with the list empty the status says there are no leads."""
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, agents=("1001", "1002"))
    try:
        f.dialer.leads = MemoryLeads(
            [
                Lead("dnc", "+8613500000001", "Asia/Shanghai", do_not_call=True),
                Lead("out", "+8613500000002", "Asia/Shanghai", opted_out=True),
                Lead("ok", "+8613500000003", "Asia/Shanghai"),
            ]
        )
        assert await f.dialer.step() == 1
        status = f.dialer.status()
        assert status.not_dialled == {"do-not-call": 1, "opted-out": 1, "no-leads": 1}
        assert status.agents == {"ready": 2}
        assert status.in_flight == status.ringing == 1
    finally:
        await f.close()


async def test_outside_the_calling_window_nothing_is_dialled_and_the_reason_is_given() -> None:
    """At 07:00 local time (before 08:00) the lead waits for the window to open."""
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], start=1_777_849_200.0)
    try:
        assert await f.dialer.step() == 0
        assert f.dialer.status().not_dialled["outside-window"] == 1
    finally:
        await f.close()


async def test_the_ledger_windows_follow_the_calendar_day() -> None:
    """An abandoned call today weighs on today's window and the campaign's; tomorrow the
    calendar-day window starts clean while the 30-day and campaign windows remember."""
    f = await DialerFloor.open(DialingMode.POWER, numbers=NUMBERS[:2], lines_per_agent=2.0)
    try:
        for number in NUMBERS[:2]:
            f.book.script(number, person(talk=20.0))
        await f.dialer.step()
        await f.run(40.0)
        today = f.dialer.ledger.report(f.clock.now())
        assert today.calendar_day.rate == 0.5
        assert today.binding.rate == 0.5
        tomorrow = f.dialer.ledger.report(f.clock.now() + 86_400)
        assert tomorrow.calendar_day.live == 0
        assert tomorrow.rolling_30_days.rate == 0.5
        assert tomorrow.campaign.rate == 0.5
        assert f.dialer.status().abandon_rates == {
            "campaign": 0.5,
            "rolling-30-days": 0.5,
            "calendar-day": 0.5,
        }
    finally:
        await f.close()


async def test_a_trunk_that_does_not_answer_in_time_fails_over() -> None:
    """The cheap trunk gives no sign of life within its 5 s setup time: the call is
    cancelled and the lead goes out on the next trunk."""
    trunks = TrunkRouter([Trunk("silent", 0.01, setup_timeout=5.0), Trunk("good", 0.02)])
    f = await DialerFloor.open(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], trunks=trunks)
    try:
        f.book.script(NUMBERS[0], Fate(Outcome.NO_ANSWER, ring_after=60.0), person())
        await f.dialer.start()
        await f.run(8.0)
        assert f.ended == []
        await f.run(40.0)
        (ended,) = f.ended
        assert (ended.trunk, ended.outcome.value) == ("good", "connected")
        assert f.leads.lead("L0").attempts_lifetime == 1
    finally:
        await f.close()


async def test_dialling_for_a_campaign_that_is_not_open_is_refused() -> None:
    """The engine only dials for campaigns opened on it; the error speaks both languages."""
    f = await DialerFloor.open(DialingMode.MANUAL)
    try:
        with pytest.raises(UnknownCampaign) as refused:
            await f.engine.dial_lead(DialRequest("nope", "L1", NUMBERS[0], "+862000000000"))
        assert refused.value.code == "campaign-not-open"
        assert refused.value.message("zh") == "外呼任务 nope 未在呼叫引擎上运行"
        assert f.engine.calls() == []
    finally:
        await f.close()
