"""Audit of the outbound dialer's calls as a compliance officer and a carrier see them:
the 2-second rule with a slow agent phone, the agent key of a broadcast with nobody to
answer, an opt-out the lead source failed to take, lines per agent, a CPS-1 trunk in a
burst, channels shared by two campaigns and a caller ID pool spent mid-run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from callcenter.app.cti.outbound import Broadcast, CampaignSetup
from callcenter.app.dialer import CampaignDialer, DialerSettings, DialingMode, MemoryLeads
from callcenter.domain.agent import AgentState
from callcenter.domain.dialing_policy import Lead
from callcenter.domain.trunk_routing import Trunk, TrunkRouter
from callcenter.switch.ports import PlayFinished, SwitchEvent
from callcenter.switch.sim.customers import CustomerProfile, Fate, Fixed, Outcome
from cctest import DialerFloor

NUMBERS = tuple(f"+8613600000{i:03d}" for i in range(12))


def person(answer_after: float = 5.0, talk: float = 30.0) -> Fate:
    return Fate(Outcome.HUMAN, ring_after=1.0, answer_after=answer_after, talk_time=talk,
                patience=60.0)  # fmt: skip


@asynccontextmanager
async def floor(mode: DialingMode, **kwargs: Any) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(mode, numbers=kwargs.pop("numbers", NUMBERS), **kwargs)
    try:
        yield f
    finally:
        await f.close()


def prompts_heard(f: DialerFloor) -> list[tuple[float, str]]:
    """(when it ended, prompt) of every message played to completion or cut short."""
    heard: list[tuple[float, str]] = []

    def on_event(event: SwitchEvent) -> None:
        if isinstance(event, PlayFinished):
            heard.append((f.clock.now(), event.prompt))

    f.switch.subscribe(on_event)
    return heard


# --- the 2-second rule ----------------------------------------------------------------


async def test_an_agent_phone_slower_than_two_seconds_gives_the_person_the_safe_harbour() -> None:
    """The agent is ready, but their phone takes 3 s to answer. The person who answered
    at 5 s must not wait on in silence past 7 s: the offer stops ringing at the drop
    timeout and they hear the safe-harbour message; the ledger counts an abandoned call
    with its message (was: connected at 8 s, abandoned and no message ever played)."""
    async with floor(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], answer_delay=3.0) as f:
        heard = prompts_heard(f)
        f.book.script(NUMBERS[0], person())
        assert await f.dialer.step() == 1
        await f.run(6.9)
        assert f.dialer.connects == 0 and f.engine.calls() != []
        await f.run(10.0)
        assert f.outcomes() == {"L0": "dropped"}
        (ended,) = f.ended
        assert ended.safe_harbour_played and ended.connected_at is None
        (music_until, music), (_, message) = heard
        assert (music, message) == ("moh", "safe-harbour")
        assert ended.answered_at is not None
        assert music_until - ended.answered_at == pytest.approx(2.0, abs=0.05)
        totals = f.dialer.ledger.totals
        assert (totals.live, totals.abandoned, totals.abandoned_without_message) == (1, 1, 0)
        assert f.engine.agent("1001").state is not AgentState.TALKING


async def test_an_agent_phone_answering_within_the_two_seconds_still_connects() -> None:
    """The cut-off is the drop timeout, not less: a phone that answers in 1.5 s connects
    the person, and the ledger counts a live answer that is not abandoned."""
    async with floor(DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], answer_delay=1.5) as f:
        f.book.script(NUMBERS[0], person(talk=10.0))
        assert await f.dialer.step() == 1
        await f.run(30.0)
        assert f.outcomes() == {"L0": "connected"}
        (ended,) = f.ended
        assert ended.connected_at is not None and ended.answered_at is not None
        assert ended.connected_at - ended.answered_at <= 2.0
        assert (f.dialer.ledger.totals.live, f.dialer.ledger.totals.abandoned) == (1, 0)


# --- IVR broadcast --------------------------------------------------------------------

BROADCAST = CampaignSetup(
    "c1",
    frozenset({"out"}),
    safe_harbour_prompt="safe-harbour",
    broadcast=Broadcast("promo-message", agent_wait=20.0),
)


async def test_the_agent_key_with_no_agent_free_ends_with_the_safe_harbour_message() -> None:
    """A broadcast with nobody logged in: the person presses 1 for an agent, waits the
    broadcast's agent wait (20 s), then hears the seller's name and a number to call back
    before the call ends (was: hung up on in silence). A broadcast has no 2-second
    rule: nothing goes to the ledger."""
    async with floor(
        DialingMode.BROADCAST, setup=BROADCAST, agents=(), numbers=NUMBERS[:1], broadcast_lines=1
    ) as f:
        heard = prompts_heard(f)
        f.book.default = CustomerProfile(keys={"1": 1.0}, key_delay=Fixed(1.0))
        f.book.script(NUMBERS[0], person(answer_after=3.0, talk=120.0))
        assert await f.dialer.step() == 1
        await f.run(20.0)
        assert f.ended == []  # still waiting for an agent
        await f.run(20.0)
        assert f.outcomes() == {"L0": "broadcast-heard"}
        assert [p for _, p in heard][-1] == "safe-harbour"
        (ended,) = f.ended
        assert ended.safe_harbour_played
        assert f.dialer.ledger.totals.live == 0


class FlakyOptOuts(MemoryLeads):
    """Leads whose first opt-out write fails (a database that hiccups once)."""

    failures = 1

    async def opt_out(self, lead_id: str, now: float) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database went away")
        await super().opt_out(lead_id, now)


async def test_an_opt_out_the_lead_source_failed_to_take_is_recorded_before_the_next_dial(
) -> None:  # fmt: skip
    """The person presses 9; the lead source's first write of the opt-out fails. The
    next step records it before it takes any lead, so the number is never offered again
    (was: the failed write vanished in a background task and the lead stayed dialable)."""
    async with floor(
        DialingMode.BROADCAST, setup=BROADCAST, numbers=NUMBERS[:1], broadcast_lines=1
    ) as f:
        flaky = FlakyOptOuts([Lead("L0", NUMBERS[0], "Asia/Shanghai")])
        f.dialer.leads = flaky
        f.book.default = CustomerProfile(keys={"9": 1.0}, key_delay=Fixed(1.0))
        f.book.script(NUMBERS[0], person(answer_after=3.0))
        assert await f.dialer.step() == 1
        await f.run(4.5)
        assert flaky.failures == 0 and not flaky.lead("L0").opted_out
        await f.dialer.step()
        assert flaky.lead("L0").opted_out
        await f.run(30.0)
        assert f.outcomes() == {"L0": "opted-out"}


# --- lines, trunks and caller IDs -----------------------------------------------------


async def test_power_mode_dials_its_lines_per_ready_agent_and_no_more() -> None:
    """Three lines per ready agent, two agents: six calls, and none while they ring."""
    async with floor(DialingMode.POWER, agents=("1001", "1002"), lines_per_agent=3.0) as f:
        for number in NUMBERS:
            f.book.script(number, person(answer_after=20.0))
        assert await f.dialer.step() == 6
        assert await f.dialer.step() == 0
        assert len(f.engine.calls()) == 6


async def test_a_cps_one_trunk_takes_one_new_call_a_second_on_the_engines_clock() -> None:
    """Five ready agents want five lines at once; the only trunk allows 1 call a second.
    Stepping every 0.25 s, the calls go out one a second, never two within a second."""
    router = TrunkRouter([Trunk("cps1", 0.1, max_cps=1.0)])
    agents = ("1001", "1002", "1003", "1004", "1005")
    async with floor(DialingMode.PROGRESSIVE, agents=agents, trunks=router) as f:
        for number in NUMBERS:
            f.book.script(number, person(answer_after=20.0))
        start = f.clock.now()
        sent: list[float] = []
        for _ in range(18):
            sent += [f.clock.now() - start] * await f.dialer.step()
            await f.run(0.25)
        assert sent == [0.0, 1.0, 2.0, 3.0, 4.0]
        assert f.dialer.not_dialled["no-trunk:trunks-at-cps-limit"] > 0


async def test_two_campaigns_on_one_trunk_share_its_channels() -> None:
    """A trunk of 3 channels: the first campaign takes 2, the second gets the last one
    and the reason for the rest; when a call ends its channel is free for either."""
    router = TrunkRouter([Trunk("shared", 0.1, max_channels=3)])
    async with floor(
        DialingMode.PROGRESSIVE, agents=("1001", "1002"), numbers=NUMBERS[:2], trunks=router
    ) as f:
        other = CampaignDialer(
            f.engine,
            f.clock,
            DialerSettings(
                CampaignSetup("c2", frozenset({"out"}), safe_harbour_prompt="safe-harbour"),
                DialingMode.POWER,
                caller_id="+862000000002",
                lines_per_agent=4.0,
            ),
            MemoryLeads(Lead(f"M{i}", n, "Asia/Shanghai") for i, n in enumerate(NUMBERS[2:8])),
            trunks=router,
        )
        await other.open()
        try:
            f.book.script(NUMBERS[0], Fate(Outcome.BUSY, ring_after=1.0))
            for number in NUMBERS[1:8]:
                f.book.script(number, person(answer_after=40.0))
            assert await f.dialer.step() == 2
            assert await other.step() == 1
            assert router.in_use("shared") == 3  # it wanted 4 lines; the trunk had 1
            await f.run(2.0)  # the busy number's call ends: one channel back
            assert router.in_use("shared") == 2
            assert await other.step() == 1
            assert router.in_use("shared") == 3
        finally:
            await other.stop()


async def test_a_caller_id_spent_mid_run_hands_over_to_the_next_then_the_cap_is_the_reason(
) -> None:  # fmt: skip
    """Two numbers, 2 calls each a day. Calls take turns; when both are spent, the rest
    wait for local midnight and the status says caller-id-cap in Chinese and English."""
    async with floor(
        DialingMode.PROGRESSIVE,
        agents=("1001",),
        caller_ids=("+862000000011", "+862000000012"),
        caller_id_daily_cap=2,
    ) as f:
        for number in NUMBERS:
            f.book.script(number, Fate(Outcome.BUSY, ring_after=1.0))
        for _ in range(6):
            await f.dialer.step()
            await f.run(2.0)
        status = f.dialer.status()
        assert status.caller_ids["today"] == {"+862000000011": 2, "+862000000012": 2}
        assert status.caller_ids["spent"] is True
        assert status.not_dialled["caller-id-cap"] >= 1
        assert "上限" in status.caller_ids["message"]["zh"]
        assert f.dialer.dials == 4


async def test_a_call_failing_over_to_a_trunk_full_for_now_waits_for_it() -> None:
    """Both calls get 503 from the cheap trunk; the backup takes one new call a second.
    One fails over at once, the other a second later when the backup has room again:
    both are connected in one attempt each (was: the second attempt failed)."""
    trunks = TrunkRouter([Trunk("cheap", 0.01), Trunk("backup", 0.03, max_cps=1.0)])
    async with floor(
        DialingMode.PROGRESSIVE, agents=("1001", "1002"), numbers=NUMBERS[:2], trunks=trunks
    ) as f:
        for number in NUMBERS[:2]:
            f.book.script(number, Fate(Outcome.CONGESTION, fail_after=0.5), person())
        assert await f.dialer.step() == 2
        await f.run(1.0)
        assert await f.dialer.step() == 1
        assert f.dialer.not_dialled["no-trunk:trunks-at-cps-limit"] == 1
        await f.run(1.0)
        assert await f.dialer.step() == 1
        await f.run(40.0)
        assert f.outcomes() == {"L0": "connected", "L1": "connected"}
        assert {e.trunk for e in f.ended} == {"backup"}
        for lead_id in ("L0", "L1"):
            assert f.leads.lead(lead_id).attempts_lifetime == 1
        assert trunks.in_use("cheap") == trunks.in_use("backup") == 0


async def test_a_broadcast_holds_no_more_lines_than_it_is_given() -> None:
    """Two broadcast lines, eight numbers; people answer at 3 s and listen to the end
    (the message, then 10 s for a key). Never more than two calls are up at once (was:
    an answered call gave its line back while still playing, four were up at 4 s)."""
    async with floor(
        DialingMode.BROADCAST, setup=BROADCAST, agents=(), numbers=NUMBERS[:8], broadcast_lines=2
    ) as f:
        f.book.default = CustomerProfile(keys={}, key_delay=Fixed(1.0))
        for number in NUMBERS[:8]:
            f.book.script(number, person(answer_after=3.0, talk=60.0))
        most = 0
        for _ in range(40):
            await f.dialer.step()
            most = max(most, len(f.engine.calls()))
            await f.run(1.0)
        assert most == 2
        assert f.dialer.dials >= 4  # lines are given back when calls end
