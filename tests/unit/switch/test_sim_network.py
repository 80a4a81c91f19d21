"""SimSwitch: the simulated network behind the Switch port, on a virtual clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from callcenter.clock import VirtualClock
from callcenter.switch.ports import (
    BridgeId,
    ConferenceId,
    ConflictingCommand,
    DigitsReceived,
    EventStream,
    HangupCause,
    InvalidArgument,
    InvalidLegState,
    LegAlreadyEnded,
    LegAnswered,
    LegBridged,
    LegHeld,
    LegHungUp,
    LegId,
    LegInUse,
    LegJoinedConference,
    LegLeftConference,
    LegNotAnswered,
    LegOffered,
    LegProgressed,
    LegRedirected,
    LegResumed,
    LegRinging,
    LegUnbridged,
    ListenOnly,
    PlayFinished,
    RecordingFinished,
    RecordingId,
    RecordingStarted,
    Switch,
    SwitchEvent,
    TalkListen,
    UnknownBridge,
    UnknownLeg,
    WhisperTo,
)
from callcenter.switch.sim.agents import AgentPhones
from callcenter.switch.sim.customers import (
    CustomerBook,
    CustomerProfile,
    Fate,
    Fixed,
    InboundCalls,
    Outcome,
)
from callcenter.switch.sim.network import LegState, SimSwitch

A = LegId("a")
B = LegId("b")
C = LegId("c")
BR = BridgeId("br-1")
CONF = ConferenceId("conf-1")
PERSON = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=3.0)
AT_ONCE = Fate(Outcome.HUMAN)


@dataclass
class World:
    clock: VirtualClock
    switch: SimSwitch
    book: CustomerBook
    phones: AgentPhones
    events: list[SwitchEvent] = field(default_factory=list)

    def of(self, leg: LegId) -> list[SwitchEvent]:
        return [e for e in self.events if getattr(e, "leg", None) == leg]

    def kinds(self, leg: LegId | None = None) -> list[str]:
        chosen = self.events if leg is None else self.of(leg)
        return [type(e).__name__ for e in chosen]


def world(prompts: dict[str, float] | None = None) -> World:
    clock = VirtualClock()
    book = CustomerBook(seed=1)
    phones = AgentPhones(seed=1)
    switch = SimSwitch(clock, [phones, book], prompt_seconds=prompts)
    w = World(clock, switch, book, phones)
    switch.subscribe(w.events.append)
    return w


async def answered(w: World, leg: LegId, number: str, fate: Fate = AT_ONCE) -> None:
    """Originate to a scripted customer and let them answer (at once by default)."""
    w.book.script(number, fate)
    await w.switch.originate(leg, number, caller_id="100")
    w.clock.advance(fate.answer_after)
    assert w.switch.leg_state(leg) is LegState.ANSWERED


def test_sim_switch_is_a_switch() -> None:
    """SimSwitch implements the port (mypy checks this assignment)."""
    w = world()
    port: Switch = w.switch
    assert port is w.switch


async def test_customer_who_answers_after_three_seconds() -> None:
    """The phone rings after 1 s and the customer picks up at t=3."""
    w = world()
    w.book.script("+8613800000001", PERSON)
    await w.switch.originate(A, "+8613800000001", caller_id="4000", ring_timeout=30)
    assert w.events == []
    w.clock.advance(10)
    assert w.events == [LegRinging(1.0, A), LegAnswered(3.0, A, None)]
    assert w.clock.pending == 0  # this customer has endless patience and talk time


async def test_early_media_progress_instead_of_ringing() -> None:
    """A carrier playing its own ringback sends progress with early media, no ringing."""
    w = world()
    w.book.script("555", Fate(Outcome.HUMAN, ring_after=0.8, answer_after=6.0, early_media=True))
    await w.switch.originate(A, "555", caller_id="4000")
    w.clock.advance(10)
    assert w.events == [LegProgressed(0.8, A, True), LegAnswered(6.0, A, None)]


async def test_busy_number_fails_fast_with_486() -> None:
    """A busy line fails after its fail delay, without ringing."""
    w = world()
    w.book.script("555", Fate(Outcome.BUSY, fail_after=0.4))
    await w.switch.originate(A, "555", caller_id="4000")
    w.clock.advance(5)
    assert w.events == [LegHungUp(0.4, A, HangupCause.BUSY, 486)]


@pytest.mark.parametrize(
    ("outcome", "cause", "status"),
    [
        (Outcome.INVALID_NUMBER, HangupCause.INVALID_NUMBER, 404),
        (Outcome.CONGESTION, HangupCause.CONGESTION, 503),
    ],
)
async def test_fast_failures(outcome: Outcome, cause: HangupCause, status: int) -> None:
    """Invalid numbers and congestion fail quickly with their SIP status."""
    w = world()
    w.book.script("555", Fate(outcome, fail_after=0.2))
    await w.switch.originate(A, "555", caller_id="4000")
    w.clock.advance(1)
    assert w.events == [LegHungUp(0.2, A, cause, status)]


async def test_no_answer_rings_until_the_ring_timeout() -> None:
    """Nobody picks up: the switch gives up at the ring timeout with no_answer."""
    w = world()
    w.book.script("555", Fate(Outcome.NO_ANSWER, ring_after=2.0))
    await w.switch.originate(A, "555", caller_id="4000", ring_timeout=20)
    w.clock.advance(60)
    assert w.events == [
        LegRinging(2.0, A),
        LegHungUp(20.0, A, HangupCause.NO_ANSWER, None, by="switch"),
    ]
    assert w.clock.pending == 0


async def test_answer_after_the_ring_timeout_is_no_answer() -> None:
    """A customer who would answer at 40 s never gets the chance with a 30 s timeout."""
    w = world()
    w.book.script("555", Fate(Outcome.HUMAN, ring_after=1.0, answer_after=40.0))
    await w.switch.originate(A, "555", caller_id="4000", ring_timeout=30)
    w.clock.advance(60)
    assert w.kinds() == ["LegRinging", "LegHungUp"]
    assert w.events[-1] == LegHungUp(30.0, A, HangupCause.NO_ANSWER, None, by="switch")


async def test_rejected_call_is_declined_while_ringing() -> None:
    w = world()
    w.book.script("555", Fate(Outcome.REJECTED, ring_after=1.0, answer_after=4.0))
    await w.switch.originate(A, "555", caller_id="4000")
    w.clock.advance(10)
    assert w.events == [LegRinging(1.0, A), LegHungUp(4.0, A, HangupCause.REJECTED, 603)]


async def test_answering_machine_is_detected_and_hangs_up_by_itself() -> None:
    """With AMD on, the machine is reported as such; it hangs up after its message."""
    w = world()
    machine = Fate(Outcome.MACHINE, answer_after=5.0, machine_time=20.0, amd="machine")
    w.book.script("555", machine)
    await w.switch.originate(A, "555", caller_id="4000", amd=True)
    w.clock.advance(60)
    assert w.events == [
        LegRinging(0.0, A),
        LegAnswered(5.0, A, "machine"),
        LegHungUp(25.0, A, HangupCause.NORMAL, None),
    ]


async def test_without_amd_the_answer_carries_no_verdict() -> None:
    w = world()
    w.book.script("555", Fate(Outcome.MACHINE, answer_after=5.0, amd="machine"))
    await w.switch.originate(A, "555", caller_id="4000", amd=False)
    w.clock.advance(6)
    assert w.events[-1] == LegAnswered(5.0, A, None)


async def test_a_destination_nobody_knows_is_an_invalid_number() -> None:
    """A switch with no directory for the number fails the call with 404."""
    clock = VirtualClock()
    switch = SimSwitch(clock, [])
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    await switch.originate(A, "555", caller_id="4000")
    clock.advance(1)
    assert events == [LegHungUp(0.0, A, HangupCause.INVALID_NUMBER, 404)]


async def test_retried_originate_with_the_same_id_is_a_no_op() -> None:
    """A retry (same leg id, same arguments) does not dial the customer a second time."""
    w = world()
    w.book.script("555", PERSON)
    for _ in range(3):
        await w.switch.originate(A, "555", caller_id="4000", vars={"lead": "7"})
    w.clock.advance(10)
    assert w.kinds() == ["LegRinging", "LegAnswered"]
    await w.switch.originate(A, "555", caller_id="4000", vars={"lead": "7"})
    assert w.kinds() == ["LegRinging", "LegAnswered"]


async def test_conflicting_originate_with_a_used_id_raises() -> None:
    """Reusing a leg id for another call is a bug in the caller, reported loudly."""
    w = world()
    w.book.script("555", PERSON)
    await w.switch.originate(A, "555", caller_id="4000")
    with pytest.raises(ConflictingCommand) as info:
        await w.switch.originate(A, "556", caller_id="4000")
    assert info.value.code == "conflicting-command"


async def test_originate_rejects_bad_arguments() -> None:
    w = world()
    with pytest.raises(InvalidArgument):
        await w.switch.originate(A, "", caller_id="4000")
    with pytest.raises(InvalidArgument):
        await w.switch.originate(A, "555", caller_id="4000", ring_timeout=0)


async def test_hanging_up_a_ringing_call_cancels_it() -> None:
    """The core gives up before the answer: cancelled, and the customer's timers go."""
    w = world()
    w.book.script("555", PERSON)
    await w.switch.originate(A, "555", caller_id="4000")
    w.clock.advance(2)
    await w.switch.hangup(A)
    await w.switch.hangup(A)  # idempotent
    assert w.events[-1] == LegHungUp(2.0, A, HangupCause.CANCELLED, None, by="switch")
    assert w.clock.pending == 0
    w.clock.advance(10)
    assert w.kinds() == ["LegRinging", "LegHungUp"]


async def test_bridged_leg_hanging_up_leaves_the_other_leg_up() -> None:
    """B2BUA semantics: the customer hangs up; the switch tears the bridge down but does
    not hang up the agent's leg: the core decides what happens to it."""
    w = world()
    talk = Fate(Outcome.HUMAN, answer_after=1.0, talk_time=60.0)
    await answered(w, A, "555", talk)
    await answered(w, B, "556")
    w.events.clear()
    await w.switch.bridge(BR, [A, B])
    assert w.events == [LegBridged(1.0, A, BR, B), LegBridged(1.0, B, BR, A)]
    w.clock.advance(100)
    assert w.events[2:] == [
        LegUnbridged(61.0, A, BR),
        LegUnbridged(61.0, B, BR),
        LegHungUp(61.0, A, HangupCause.NORMAL, None),
    ]
    assert w.switch.leg_state(B) is LegState.ANSWERED


async def test_the_other_leg_regains_patience_after_the_bridge_ends() -> None:
    """Left alone after the agent hangs up, a customer waits their patience and leaves."""
    w = world()
    patient = Fate(Outcome.HUMAN, answer_after=1.0, patience=15.0)
    await answered(w, A, "555", patient)
    await answered(w, B, "556")
    await w.switch.bridge(BR, [A, B])
    await w.switch.hangup(B)
    assert w.switch.leg_state(A) is LegState.ANSWERED
    w.clock.advance(100)
    assert w.events[-1] == LegHungUp(16.0, A, HangupCause.NORMAL, None)


async def test_bridge_is_idempotent_and_checks_its_legs() -> None:
    """Same bridge again: nothing. Other legs under the same id, unanswered legs, legs
    already bridged, or a single leg: errors with stable codes."""
    w = world()
    await answered(w, A, "555")
    await answered(w, B, "556")
    await answered(w, C, "557")
    await w.switch.bridge(BR, [A, B])
    count = len(w.events)
    await w.switch.bridge(BR, [A, B])
    assert len(w.events) == count
    with pytest.raises(ConflictingCommand):
        await w.switch.bridge(BR, [A, C])
    with pytest.raises(LegInUse) as in_use:
        await w.switch.bridge(BridgeId("br-2"), [A, C])
    assert in_use.value.code == "leg-in-use"
    with pytest.raises(InvalidArgument):
        await w.switch.bridge(BridgeId("br-3"), [C])
    w.book.script("558", PERSON)
    await w.switch.originate(LegId("d"), "558", caller_id="1")
    with pytest.raises(LegNotAnswered) as not_answered:
        await w.switch.bridge(BridgeId("br-4"), [C, LegId("d")])
    assert not_answered.value.code == "leg-not-answered"
    with pytest.raises(UnknownLeg) as unknown:
        await w.switch.bridge(BridgeId("br-5"), [C, LegId("nope")])
    assert unknown.value.code == "unknown-leg"


async def test_unbridge_separates_the_legs_once() -> None:
    w = world()
    await answered(w, A, "555")
    await answered(w, B, "556")
    await w.switch.bridge(BR, [A, B])
    w.events.clear()
    await w.switch.unbridge(BR)
    await w.switch.unbridge(BR)
    assert w.events == [LegUnbridged(0.0, A, BR), LegUnbridged(0.0, B, BR)]
    with pytest.raises(UnknownBridge):
        await w.switch.unbridge(BridgeId("other"))


async def test_hold_and_resume() -> None:
    """Hold plays music to the leg; holding twice is a no-op; resume ends it."""
    w = world()
    await answered(w, A, "555")
    w.events.clear()
    await w.switch.hold(A, "jazz")
    await w.switch.hold(A, "jazz")
    w.clock.advance(10)
    await w.switch.resume(A)
    await w.switch.resume(A)
    assert w.events == [LegHeld(0.0, A, "jazz"), LegResumed(10.0, A)]
    await w.switch.hold(A, "jazz")
    with pytest.raises(ConflictingCommand):
        await w.switch.hold(A, "rock")


async def test_media_commands_need_an_answered_leg() -> None:
    w = world()
    w.book.script("555", PERSON)
    await w.switch.originate(A, "555", caller_id="1")
    with pytest.raises(LegNotAnswered):
        await w.switch.hold(A)
    with pytest.raises(LegNotAnswered):
        await w.switch.play(A, "welcome")
    with pytest.raises(UnknownLeg):
        await w.switch.hold(LegId("ghost"))
    await w.switch.hangup(A)
    with pytest.raises(LegAlreadyEnded) as ended:
        await w.switch.play(A, "welcome")
    assert ended.value.code == "leg-already-ended"


async def test_answer_is_for_inbound_legs() -> None:
    w = world()
    w.book.script("555", PERSON)
    await w.switch.originate(A, "555", caller_id="1")
    with pytest.raises(InvalidLegState) as info:
        await w.switch.answer(A)
    assert info.value.code == "invalid-leg-state"


async def test_play_runs_for_the_prompt_length() -> None:
    """A 4 s prompt finishes at +4 s; a looped prompt plays until stopped."""
    w = world(prompts={"welcome": 4.0})
    await answered(w, A, "555")
    w.events.clear()
    await w.switch.play(A, "welcome")
    await w.switch.play(A, "welcome")  # retry while playing: no-op
    with pytest.raises(ConflictingCommand):
        await w.switch.play(A, "other")
    w.clock.advance(10)
    assert w.events == [PlayFinished(4.0, A, "welcome")]
    await w.switch.play(A, "welcome", loop=True)
    w.clock.advance(30)
    await w.switch.stop_play(A)
    await w.switch.stop_play(A)
    assert w.events[-1] == PlayFinished(40.0, A, "welcome", interrupted=True)
    assert len(w.events) == 2


async def test_the_customer_presses_keys_when_prompted() -> None:
    """IVR: play a menu with barge-in and collect one digit. The customer presses 2
    after 1.5 s: the prompt stops and the digit arrives."""
    w = world(prompts={"menu": 10.0})
    profile = CustomerProfile(keys={"2": 1.0}, key_delay=Fixed(1.5))
    w.book = CustomerBook(seed=1, profiles={"555": profile})
    w.switch = SimSwitch(w.clock, [w.book], prompt_seconds={"menu": 10.0})
    w.switch.subscribe(w.events.append)
    await answered(w, A, "555")
    w.events.clear()
    await w.switch.play(A, "menu", barge_in_digits="0123456789")
    await w.switch.collect(A, max_digits=1, timeout=5.0)
    w.clock.advance(20)
    assert w.events == [
        PlayFinished(1.5, A, "menu", interrupted=True),
        DigitsReceived(1.5, A, "2"),
    ]


async def test_collect_stops_at_the_terminator() -> None:
    """The customer types 12#: collect reports 12, without the terminator."""
    w = world()
    w.book = CustomerBook(
        seed=1, profiles={"555": CustomerProfile(keys={"12#": 1.0}, key_delay=Fixed(1))}
    )
    w.switch = SimSwitch(w.clock, [w.book])
    w.switch.subscribe(w.events.append)
    await answered(w, A, "555")
    await w.switch.collect(A, max_digits=4, timeout=10, terminator="#")
    w.clock.advance(20)
    assert w.events[-1] == DigitsReceived(1.0, A, "12")


async def test_collect_times_out_when_nobody_presses_anything() -> None:
    w = world()
    w.book = CustomerBook(seed=1, profiles={"555": CustomerProfile(keys={"": 1.0})})
    w.switch = SimSwitch(w.clock, [w.book])
    w.switch.subscribe(w.events.append)
    await answered(w, A, "555")
    await w.switch.collect(A, max_digits=1, timeout=5)
    await w.switch.collect(A, max_digits=1, timeout=5)  # retry: no-op
    with pytest.raises(ConflictingCommand):
        await w.switch.collect(A, max_digits=2, timeout=5)
    w.clock.advance(20)
    assert w.events[-1] == DigitsReceived(5.0, A, "", timed_out=True)


async def test_send_dtmf_reaches_the_far_end() -> None:
    w = world()
    await answered(w, A, "555")
    await w.switch.send_dtmf(A, "1234#")
    assert w.switch.dtmf_sent(A) == ["1234#"]
    with pytest.raises(InvalidArgument):
        await w.switch.send_dtmf(A, "12x")


async def test_conference_with_talk_listen_and_whisper_roles() -> None:
    """Customer and agent talk in a conference; a supervisor listens, then coaches the
    agent; whisper targets must be members; a bridged leg cannot join."""
    w = world()
    customer, agent, supervisor = A, B, C
    await answered(w, customer, "555")
    await answered(w, agent, "556")
    await answered(w, supervisor, "557")
    w.events.clear()
    await w.switch.join(CONF, customer, TalkListen())
    await w.switch.join(CONF, agent, TalkListen())
    await w.switch.join(CONF, supervisor, ListenOnly())
    await w.switch.join(CONF, supervisor, ListenOnly())  # retry: no-op
    await w.switch.join(CONF, supervisor, WhisperTo(agent))
    assert w.events == [
        LegJoinedConference(0.0, customer, CONF, TalkListen()),
        LegJoinedConference(0.0, agent, CONF, TalkListen()),
        LegJoinedConference(0.0, supervisor, CONF, ListenOnly()),
        LegJoinedConference(0.0, supervisor, CONF, WhisperTo(agent)),
    ]
    assert w.switch.conference_members(CONF)[supervisor] == WhisperTo(agent)
    with pytest.raises(InvalidArgument):
        await w.switch.join(CONF, supervisor, WhisperTo(LegId("stranger")))
    await w.switch.leave(CONF, supervisor)
    await w.switch.leave(CONF, supervisor)
    assert w.events[-1] == LegLeftConference(0.0, supervisor, CONF)
    with pytest.raises(LegInUse):
        await w.switch.join(ConferenceId("conf-2"), agent, TalkListen())
    await w.switch.hangup(customer)
    assert LegLeftConference(0.0, customer, CONF) in w.events
    assert set(w.switch.conference_members(CONF)) == {agent}


async def test_redirect_hands_the_leg_over() -> None:
    """A blind transfer: the bridge goes, LegRedirected, then the leg is gone for us."""
    w = world()
    await answered(w, A, "555")
    await answered(w, B, "556")
    await w.switch.bridge(BR, [A, B])
    w.events.clear()
    await w.switch.redirect(A, "+8601012345678")
    await w.switch.redirect(A, "+8601012345678")  # retry: no-op
    assert w.events == [
        LegUnbridged(0.0, A, BR),
        LegUnbridged(0.0, B, BR),
        LegRedirected(0.0, A, "+8601012345678"),
        LegHungUp(0.0, A, HangupCause.NORMAL, None, by="switch"),
    ]
    with pytest.raises(ConflictingCommand):
        await w.switch.redirect(A, "elsewhere")


async def test_recording_a_bridge_yields_a_simulated_file() -> None:
    """Ten seconds of stereo 16-bit 8 kHz WAV: 44 + 10 * 16000 * 2 bytes."""
    w = world()
    await answered(w, A, "555")
    await answered(w, B, "556")
    await w.switch.bridge(BR, [A, B])
    rec = RecordingId("rec-1")
    await w.switch.record(rec, BR, stereo=True, fmt="wav")
    await w.switch.record(rec, BR, stereo=True, fmt="wav")  # retry: no-op
    with pytest.raises(ConflictingCommand):
        await w.switch.record(rec, BR, stereo=False, fmt="wav")
    w.clock.advance(10)
    await w.switch.stop_record(rec)
    await w.switch.stop_record(rec)
    started = [e for e in w.events if isinstance(e, RecordingStarted)]
    finished = [e for e in w.events if isinstance(e, RecordingFinished)]
    assert started == [RecordingStarted(0.0, rec, "br-1", "recordings/rec-1.wav")]
    assert finished == [RecordingFinished(10.0, rec, "recordings/rec-1.wav", 10.0, 320_044)]


async def test_a_leg_recording_ends_with_the_leg() -> None:
    """A mono mu-law recording of one leg finishes when the leg hangs up."""
    w = world()
    await answered(w, A, "555")
    await w.switch.record(RecordingId("r"), A, stereo=False, fmt="pcmu")
    w.clock.advance(5)
    await w.switch.hangup(A)
    assert w.events[-2:] == [
        RecordingFinished(5.0, RecordingId("r"), "recordings/r.pcmu", 5.0, 40_000),
        LegHungUp(5.0, A, HangupCause.NORMAL, None, by="switch"),
    ]
    with pytest.raises(InvalidArgument):
        await w.switch.record(RecordingId("x"), B, fmt="ogg")


async def test_inbound_caller_is_offered_answered_and_runs_out_of_patience() -> None:
    """A caller dials the DID; the core answers at once and leaves them waiting; they
    hang up after their 40 s patience."""
    w = world()
    profile = CustomerProfile(patience=Fixed(40.0))
    traffic = InboundCalls(w.book, "4008001234", 60.0, profile=profile, trunk="ct", until=60)
    legs: list[LegId] = []

    def on_event(event: SwitchEvent) -> None:
        if isinstance(event, LegOffered):
            legs.append(event.leg)

    w.switch.subscribe(on_event)
    traffic.start(w.switch, w.clock)
    while not legs:
        w.clock.advance(1)
    leg = legs[0]
    offered = w.of(leg)[0]
    assert isinstance(offered, LegOffered)
    assert (offered.dialled, offered.trunk) == ("4008001234", "ct")
    await w.switch.answer(leg)
    await w.switch.answer(leg)  # idempotent
    w.clock.advance(100)
    assert w.kinds(leg) == ["LegOffered", "LegAnswered", "LegHungUp"]
    hung_up = w.of(leg)[-1]
    assert isinstance(hung_up, LegHungUp)
    assert hung_up.at == pytest.approx(offered.at + 40.0)
    assert (hung_up.cause, hung_up.by) == (HangupCause.NORMAL, "remote")


async def test_inbound_caller_abandons_while_ringing_is_cancelled() -> None:
    """Never answered, the caller gives up after their patience: cancelled."""
    w = world()
    traffic = InboundCalls(w.book, "400", 60.0, profile=CustomerProfile(patience=Fixed(5.0)))
    traffic.start(w.switch, w.clock)
    w.clock.advance(600)
    traffic.stop()
    leg = traffic.offered[0]
    assert w.kinds(leg) == ["LegOffered", "LegHungUp"]
    last = w.of(leg)[-1]
    assert isinstance(last, LegHungUp)
    assert last.cause is HangupCause.CANCELLED


async def test_inbound_leg_ids_never_collide_with_the_cores_ids() -> None:
    """The switch picks inbound ids; one the core already used for an originate is
    skipped."""
    w = world()
    w.book.script("555", PERSON)
    await w.switch.originate(LegId("sim-in-1"), "555", caller_id="1")
    traffic = InboundCalls(w.book, "400", 3600.0, profile=CustomerProfile(patience=Fixed(9)))
    traffic.start(w.switch, w.clock)
    while not traffic.offered:
        w.clock.advance(1)
    assert traffic.offered[0] == LegId("sim-in-2")
    assert w.switch.leg_state(LegId("sim-in-1")) is not LegState.OFFERED


async def test_rejecting_an_inbound_call_uses_the_given_cause() -> None:
    w = world()
    traffic = InboundCalls(w.book, "400", 60.0, profile=CustomerProfile(patience=Fixed(99)))
    traffic.start(w.switch, w.clock)
    while not traffic.offered:
        w.clock.advance(1)
    leg = traffic.offered[0]
    await w.switch.hangup(leg, HangupCause.BUSY)
    assert w.of(leg)[-1] == LegHungUp(w.clock.now(), leg, HangupCause.BUSY, 486, by="switch")


async def test_customer_talks_for_their_talk_time_once_connected() -> None:
    """Talk time counts from the first connection, not from the answer."""
    w = world()
    await answered(w, A, "555", Fate(Outcome.HUMAN, answer_after=1.0, talk_time=30.0))
    await answered(w, B, "556")
    w.clock.advance(7)  # t = 8 when bridged
    await w.switch.bridge(BR, [A, B])
    w.clock.advance(100)
    hung_up = [e for e in w.events if isinstance(e, LegHungUp)]
    assert hung_up == [LegHungUp(38.0, A, HangupCause.NORMAL, None)]


async def test_event_stream_iterates_events_asynchronously() -> None:
    """EventStream turns the subscription into an async iterator."""
    w = world()
    stream = EventStream(w.switch)
    w.book.script("555", PERSON)
    await w.switch.originate(A, "555", caller_id="1")
    w.clock.advance(5)
    first = await anext(stream)
    assert first == LegRinging(1.0, A)
    assert stream.drain() == [LegAnswered(3.0, A, None)]
    stream.close()
    w.clock.advance(100)
    assert stream.drain() == []
