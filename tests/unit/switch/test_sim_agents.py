"""Bot agents' phones: ring, answer after a delay, talk, or never answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.clock import VirtualClock
from callcenter.switch.ports import (
    BridgeId,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegId,
    LegOffered,
    LegRinging,
    LegUnbridged,
    SwitchEvent,
)
from callcenter.switch.sim.agents import AgentPhones, BotProfile
from callcenter.switch.sim.customers import CustomerBook, Fate, Fixed, Outcome
from callcenter.switch.sim.network import SimSwitch

AGENT = LegId("agent-leg")
CUSTOMER = LegId("customer-leg")


@dataclass
class Office:
    clock: VirtualClock
    switch: SimSwitch
    phones: AgentPhones
    book: CustomerBook
    events: list[SwitchEvent] = field(default_factory=list)


def office(seed: int = 0) -> Office:
    clock = VirtualClock()
    phones = AgentPhones(seed=seed)
    book = CustomerBook(seed=seed)
    switch = SimSwitch(clock, [phones, book])
    result = Office(clock, switch, phones, book)
    switch.subscribe(result.events.append)
    return result


async def test_a_registered_phone_rings_and_answers_after_its_delay() -> None:
    """Calling agent:1001 rings the phone at once; the bot picks up after 2 s."""
    o = office()
    o.phones.register("1001", BotProfile(answer_delay=Fixed(2.0)))
    await o.switch.originate(AGENT, o.phones.dest("1001"), caller_id="queue")
    o.clock.advance(10)
    assert o.events == [LegRinging(0.0, AGENT), LegAnswered(2.0, AGENT, None)]
    phone = o.phones.phone("1001")
    assert (phone.calls_offered, phone.calls_answered, phone.current) == (1, 1, AGENT)


async def test_a_phone_that_never_answers_times_out() -> None:
    """For ring-timeout tests: the bot lets it ring until the switch gives up."""
    o = office()
    o.phones.register("1002", BotProfile(answers=False))
    await o.switch.originate(AGENT, "agent:1002", caller_id="queue", ring_timeout=15)
    o.clock.advance(60)
    assert o.events == [
        LegRinging(0.0, AGENT),
        LegHungUp(15.0, AGENT, HangupCause.NO_ANSWER, None, by="switch"),
    ]
    assert o.phones.phone("1002").current is None


async def test_a_phone_in_a_call_is_busy() -> None:
    """One call at a time: a second call to a phone in use gets 486 Busy Here."""
    o = office()
    o.phones.register("1003", BotProfile(answer_delay=Fixed(1.0)))
    await o.switch.originate(AGENT, "agent:1003", caller_id="queue")
    await o.switch.originate(LegId("second"), "agent:1003", caller_id="queue")
    o.clock.advance(5)
    assert LegHungUp(0.0, LegId("second"), HangupCause.BUSY, 486) in o.events
    await o.switch.hangup(AGENT)
    await o.switch.originate(LegId("third"), "agent:1003", caller_id="queue")
    o.clock.advance(5)
    assert LegAnswered(6.0, LegId("third"), None) in o.events


async def test_an_unregistered_phone_is_temporarily_unavailable() -> None:
    o = office()
    await o.switch.originate(AGENT, "agent:9999", caller_id="queue")
    o.phones.register("1004")
    o.phones.unregister("1004")
    await o.switch.originate(LegId("other"), "agent:1004", caller_id="queue")
    o.clock.advance(1)
    assert o.events == [
        LegHungUp(0.0, AGENT, HangupCause.FAILED, 480),
        LegHungUp(0.0, LegId("other"), HangupCause.FAILED, 480),
    ]


async def test_an_agent_with_a_talk_time_ends_the_call() -> None:
    """Bridged to a customer with endless talk time, the bot hangs up after 45 s; the
    customer's leg stays up for the core to handle."""
    o = office()
    o.phones.register("1005", BotProfile(answer_delay=Fixed(1.0), talk_time=Fixed(45.0)))
    o.book.script("555", Fate(Outcome.HUMAN, answer_after=1.0))
    await o.switch.originate(CUSTOMER, "555", caller_id="400")
    await o.switch.originate(AGENT, "agent:1005", caller_id="queue")
    o.clock.advance(1)
    await o.switch.bridge(BridgeId("b"), [CUSTOMER, AGENT])
    o.clock.advance(100)
    assert o.events[-3:] == [
        LegUnbridged(46.0, CUSTOMER, BridgeId("b")),
        LegUnbridged(46.0, AGENT, BridgeId("b")),
        LegHungUp(46.0, AGENT, HangupCause.NORMAL, None),
    ]


async def test_a_bot_phone_answers_the_same_way_for_the_same_seed() -> None:
    """The n-th call to a phone draws from its own seeded stream."""
    answered_at: list[list[float]] = []
    for _ in range(2):
        o = office(seed=77)
        o.phones.register("1006")
        times: list[float] = []
        for k in range(5):
            leg = LegId(f"call-{k}")
            await o.switch.originate(leg, "agent:1006", caller_id="queue")
            o.clock.advance(10)
            times.extend(e.at for e in o.events if isinstance(e, LegAnswered) and e.leg == leg)
            await o.switch.hangup(leg)
        answered_at.append(times)
    assert answered_at[0] == answered_at[1]
    assert len(set(answered_at[0])) == 5


async def test_customer_book_leaves_agent_destinations_to_the_phones() -> None:
    """A CustomerBook never claims an agent: destination, even when asked first."""
    clock = VirtualClock()
    book = CustomerBook()
    phones = AgentPhones()
    phones.register("1001", BotProfile(answer_delay=Fixed(1.0)))
    switch = SimSwitch(clock, [book, phones])
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    await switch.originate(AGENT, "agent:1001", caller_id="queue")
    clock.advance(5)
    assert events[-1] == LegAnswered(1.0, AGENT, None)
    assert phones.phone("1001").calls_offered == 1


async def test_an_agent_dials_out_by_hand() -> None:
    """A manual call: the switch is offered a leg from agent:1007; the core answers it
    and bridges it to the customer; the bot ends it after its 20 s talk time."""
    o = office()
    o.phones.register("1007", BotProfile(talk_time=Fixed(20.0)))
    leg = o.phones.place_call(o.switch, "1007", "+8613800000009")
    offered = o.events[0]
    assert offered == LegOffered(0.0, leg, "agent:1007", "+8613800000009", None)
    await o.switch.answer(leg)
    o.book.script("+8613800000009", Fate(Outcome.HUMAN, answer_after=2.0))
    await o.switch.originate(CUSTOMER, "+8613800000009", caller_id="4000")
    o.clock.advance(2)
    await o.switch.bridge(BridgeId("manual"), [leg, CUSTOMER])
    o.clock.advance(60)
    assert o.events[-1] == LegHungUp(22.0, leg, HangupCause.NORMAL, None)
    assert o.phones.phone("1007").current is None
