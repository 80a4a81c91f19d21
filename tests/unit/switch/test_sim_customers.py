"""Virtual customers: fates drawn per number, reproducible, and traffic at a rate."""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter

import pytest

from callcenter.clock import VirtualClock
from callcenter.switch.ports import (
    BridgeId,
    DigitsReceived,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegId,
    LegOffered,
    SwitchEvent,
)
from callcenter.switch.sim.agents import AgentPhones, BotProfile
from callcenter.switch.sim.customers import (
    DEFAULT_OUTCOMES,
    CustomerBook,
    CustomerProfile,
    Exponential,
    Fate,
    Fixed,
    InboundCalls,
    LogNormal,
    Never,
    Outcome,
    Uniform,
    draw_fate,
)
from callcenter.switch.sim.network import SimSwitch

NUMBERS = [f"+86138{n:08d}" for n in range(200)]


def test_a_seed_fixes_each_leads_fate_whatever_the_dialing_order() -> None:
    """Common random numbers: two dialers call the same list in opposite orders and
    meet exactly the same customers."""
    forward = CustomerBook(seed=42)
    backward = CustomerBook(seed=42)
    fates_forward = {n: forward.next_fate(n) for n in NUMBERS}
    fates_backward = {n: backward.next_fate(n) for n in reversed(NUMBERS)}
    assert fates_forward == fates_backward


def test_each_attempt_has_its_own_fate_and_fate_is_pure() -> None:
    """The n-th call to a number is drawn from its own stream; fate() does not consume."""
    book = CustomerBook(seed=7)
    number = NUMBERS[0]
    assert book.fate(number, 0) == book.fate(number, 0)
    attempts = [book.next_fate(number) for _ in range(5)]
    assert attempts == [book.fate(number, k) for k in range(5)]
    assert len({f.answer_after for f in attempts}) == 5


def test_another_seed_draws_other_customers() -> None:
    one = [CustomerBook(seed=1).fate(n, 0) for n in NUMBERS]
    two = [CustomerBook(seed=2).fate(n, 0) for n in NUMBERS]
    assert one != two


def test_outcomes_follow_the_profile_weights() -> None:
    """Over 5,000 numbers each outcome's share is within 2.5 points of its weight."""
    book = CustomerBook(seed=3)
    counts = Counter(book.fate(f"n{k}", 0).outcome for k in range(5000))
    total = sum(DEFAULT_OUTCOMES.values())
    for outcome, weight in DEFAULT_OUTCOMES.items():
        assert counts[outcome] / 5000 == pytest.approx(weight / total, abs=0.025)


def test_scripted_fates_come_first_then_draws_resume() -> None:
    """Tests can force the next fates of a number; the attempt counter still advances."""
    book = CustomerBook(seed=5)
    forced = Fate(Outcome.BUSY, fail_after=0.1)
    book.script("555", forced)
    assert book.next_fate("555") == forced
    assert book.next_fate("555") == book.fate("555", 1)


def test_profiles_by_exact_number_and_longest_prefix() -> None:
    vip = CustomerProfile(amd_error=0.0)
    beijing = CustomerProfile(amd_error=0.2)
    mobile = CustomerProfile(amd_error=0.3)
    book = CustomerBook(profiles={"+8610": vip, "+8610*": beijing, "+861*": mobile})
    assert book.profile_for("+8610") is vip
    assert book.profile_for("+861012345678") is beijing
    assert book.profile_for("+8613812345678") is mobile
    assert book.profile_for("+4420") is book.default


def test_the_detector_is_right_unless_it_errs() -> None:
    """amd_error=0: the verdict is the truth; amd_error=1: never the truth."""
    right = CustomerProfile(outcomes={Outcome.MACHINE: 1.0}, amd_error=0.0)
    wrong = CustomerProfile(outcomes={Outcome.HUMAN: 1.0}, amd_error=1.0)
    assert {draw_fate(right, random.Random(k)).amd for k in range(100)} == {"machine"}
    verdicts = Counter(draw_fate(wrong, random.Random(k)).amd for k in range(400))
    assert set(verdicts) == {"machine", "unsure"}


def test_early_media_share_follows_the_profile() -> None:
    profile = CustomerProfile(early_media=0.4)
    shares = [draw_fate(profile, random.Random(k)).early_media for k in range(2000)]
    assert sum(shares) / 2000 == pytest.approx(0.4, abs=0.04)


def test_every_fate_takes_the_same_draws_whatever_the_outcome() -> None:
    """After a draw the stream sits at the same place for every outcome, so changing
    one weight does not reshuffle every later field."""
    states = set()
    for outcome in Outcome:
        rng = random.Random(11)
        draw_fate(CustomerProfile(outcomes={outcome: 1.0}), rng)
        states.add(rng.random())
    assert len(states) == 1


def test_distributions() -> None:
    """Each distribution draws what it says, from the stream it is given."""
    rng = random.Random(0)
    assert Fixed(2.5).sample(rng) == 2.5
    assert math.isinf(Never().sample(rng))
    assert all(1.0 <= Uniform(1.0, 2.0).sample(rng) <= 2.0 for _ in range(100))
    expo = [Exponential(10.0).sample(rng) for _ in range(5000)]
    assert statistics.fmean(expo) == pytest.approx(10.0, rel=0.06)
    logn = [LogNormal(60.0, 0.5).sample(rng) for _ in range(5000)]
    assert statistics.median(logn) == pytest.approx(60.0, rel=0.06)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_inbound_arrivals_come_at_the_configured_rate(seed: int) -> None:
    """720 calls an hour for two simulated hours: about 1,440 offers (Poisson: within
    10%, about four standard deviations), and none after the traffic stops."""
    clock = VirtualClock()
    book = CustomerBook(seed=seed)
    switch = SimSwitch(clock, [book])
    offered: list[LegOffered] = []
    switch.subscribe(lambda e: offered.append(e) if isinstance(e, LegOffered) else None)
    traffic = InboundCalls(book, "4008001234", 720.0, until=7200.0)
    traffic.start(switch, clock)
    clock.run_until(3 * 3600.0)
    assert len(offered) == len(traffic.offered)
    assert len(offered) == pytest.approx(1440, rel=0.10)
    assert max(e.at for e in offered) <= 7200.0
    assert {e.dialled for e in offered} == {"4008001234"}
    assert len({e.caller for e in offered}) == len(offered)


def test_inbound_callers_are_people_even_if_the_profile_has_machines() -> None:
    """A profile made of machines still gives callers with patience when calling in."""
    clock = VirtualClock()
    book = CustomerBook(seed=1)
    switch = SimSwitch(clock, [book])
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    profile = CustomerProfile(outcomes={Outcome.MACHINE: 1.0}, patience=Fixed(10.0))
    InboundCalls(book, "400", 3600.0, profile=profile, until=20.0).start(switch, clock)
    clock.run_until(100.0)
    offers = [e for e in events if isinstance(e, LegOffered)]
    hang_ups = [e for e in events if isinstance(e, LegHungUp)]
    assert offers
    assert len(hang_ups) == len(offers)
    assert all(e.cause is HangupCause.CANCELLED for e in hang_ups)


async def test_a_dialer_abandon_makes_the_customer_hang_up_after_their_patience() -> None:
    """Answered but never connected to an agent, the customer says hello for their
    patience (4 s) and hangs up."""
    clock = VirtualClock()
    book = CustomerBook(seed=1)
    book.script("555", Fate(Outcome.HUMAN, answer_after=2.0, patience=4.0))
    switch = SimSwitch(clock, [book])
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    await switch.originate(LegId("a"), "555", caller_id="1")
    clock.run_until_idle()
    assert events[-1] == LegHungUp(6.0, LegId("a"), HangupCause.NORMAL, None)


async def test_keys_follow_the_profile_weights() -> None:
    """Asked for one digit, 70% of customers press 1 and 30% press 2."""
    clock = VirtualClock()
    profile = CustomerProfile(
        outcomes={Outcome.HUMAN: 1.0},
        answer_after=Fixed(1.0),
        keys={"1": 0.7, "2": 0.3},
        key_delay=Fixed(1.0),
    )
    book = CustomerBook(seed=9, default=profile)
    switch = SimSwitch(clock, [book])
    digits: list[str] = []
    switch.subscribe(lambda e: digits.append(e.digits) if isinstance(e, DigitsReceived) else None)
    legs = [LegId(f"leg-{k}") for k in range(1000)]
    for leg in legs:
        await switch.originate(leg, f"n-{leg}", caller_id="1")
    clock.advance(1.0)
    for leg in legs:
        await switch.collect(leg, max_digits=1, timeout=5)
    clock.advance(2.0)
    counts = Counter(digits)
    assert len(digits) == 1000
    assert counts["1"] / 1000 == pytest.approx(0.7, abs=0.05)


async def simulate(seed: int) -> list[SwitchEvent]:
    """Ten minutes of a small campaign: 60 outbound calls with AMD, answered people
    bridged to one of five bot agents when free, plus inbound traffic."""
    clock = VirtualClock()
    book = CustomerBook(seed=seed)
    phones = AgentPhones(seed=seed, default=BotProfile(answer_delay=Uniform(0.5, 2.0)))
    for n in range(5):
        phones.register(f"100{n}")
    switch = SimSwitch(clock, [phones, book])
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    InboundCalls(book, "400", 120.0, until=600.0).start(switch, clock)
    for k in range(60):
        await switch.originate(LegId(f"out-{k}"), f"+86139{k:08d}", caller_id="1", amd=True)
    free = [f"100{n}" for n in range(5)]
    seen = 0
    while clock.now() < 600.0:
        clock.advance(1.0)
        for event in events[seen:]:
            if isinstance(event, LegAnswered) and event.amd == "human" and free:
                agent_leg = LegId(f"agent-{event.leg}")
                await switch.originate(agent_leg, phones.dest(free.pop(0)), caller_id="1")
                clock.advance(2.0)
                await switch.bridge(BridgeId(f"br-{event.leg}"), [event.leg, agent_leg])
            elif isinstance(event, LegAnswered) and event.amd is not None:
                await switch.hangup(event.leg)
        seen = len(events)
    return events


async def test_same_seed_same_event_sequence() -> None:
    """Reproducibility: a whole simulated campaign replays event for event."""
    first = await simulate(seed=2024)
    again = await simulate(seed=2024)
    other = await simulate(seed=2025)
    assert len(first) > 100
    assert first == again
    assert first != other
