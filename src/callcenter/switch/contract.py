"""Contract tests of the Switch port, shared by every implementation.

Theory of operation
-------------------
Each check is an ``async def check(h: Harness) -> None`` that drives one switch through
the port and asserts what the port promises (see ``callcenter.switch.ports``). The
implementation under test provides a :class:`Harness`: the switch, a way to let switch
time pass (``advance``: a virtual clock's ``advance_async``, or a real ``sleep``), and
four destinations with known behaviour (answering, busy, silent, invalid). Checks wait
for events by advancing in small steps until an event matches or a deadline passes, so
the same check runs in microseconds on SimSwitch and in seconds against SIPp.

A test module runs them with::

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    async def test_contract(check: Check) -> None:
        await check(make_harness())

Checks use ids starting with ``h.prefix`` so several checks may share one switch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from callcenter.switch.ports import (
    BridgeId,
    ConferenceId,
    ConflictingCommand,
    DigitsReceived,
    HangupCause,
    LegAnswered,
    LegBridged,
    LegHeld,
    LegHungUp,
    LegId,
    LegJoinedConference,
    LegNotAnswered,
    LegProgressed,
    LegRedirected,
    LegResumed,
    LegRinging,
    LegUnbridged,
    ListenOnly,
    PlayFinished,
    RecordingFinished,
    RecordingId,
    Switch,
    SwitchError,
    SwitchEvent,
    TalkListen,
    UnknownLeg,
    WhisperTo,
)

__all__ = ["CHECKS", "Check", "Harness", "Recorder", "run_contract"]


@dataclass
class Harness:
    """One switch under test and what the checks need to know about its world.

    ``answering`` answers within ``answer_within`` seconds, stays up until hung up and,
    asked for digits, presses ``keys``. ``busy`` fails busy, ``silent`` rings and never
    answers, ``invalid`` does not exist. ``prompt`` is a prompt the switch can play,
    shorter than ``prompt_within`` seconds.
    """

    switch: Switch
    advance: Callable[[float], Awaitable[None]]
    now: Callable[[], float]
    answering: str
    busy: str
    silent: str
    invalid: str
    prompt: str
    answer_within: float = 5.0
    prompt_within: float = 30.0
    keys: str = "1"
    prefix: str = ""
    step: float = 0.25


Check = Callable[[Harness], Awaitable[None]]


@dataclass
class Recorder:
    """Collects the switch's events and waits for the ones a check expects."""

    harness: Harness
    events: list[SwitchEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._subscription = self.harness.switch.subscribe(self.events.append)

    def of(self, leg: LegId) -> list[SwitchEvent]:
        return [e for e in self.events if getattr(e, "leg", None) == leg]

    async def wait_for(
        self, predicate: Callable[[SwitchEvent], bool], within: float, what: str
    ) -> SwitchEvent:
        h = self.harness
        deadline = h.now() + within
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            if h.now() >= deadline:
                raise AssertionError(f"no {what} within {within} s; got {self.events}")
            await h.advance(h.step)

    async def idle(self, seconds: float) -> None:
        """Let ``seconds`` of switch time pass."""
        h = self.harness
        end = h.now() + seconds
        while h.now() < end:
            await h.advance(min(h.step, end - h.now()))

    def close(self) -> None:
        self._subscription.close()
        stamps = [e.at for e in self.events]
        assert stamps == sorted(stamps), f"event times go backwards: {stamps}"


def _hung_up(leg: LegId) -> Callable[[SwitchEvent], bool]:
    return lambda e: isinstance(e, LegHungUp) and e.leg == leg


def _bridged(leg: LegId) -> Callable[[SwitchEvent], bool]:
    return lambda e: isinstance(e, LegBridged) and e.leg == leg


def _answered(leg: LegId) -> Callable[[SwitchEvent], bool]:
    return lambda e: isinstance(e, LegAnswered) and e.leg == leg


async def _answered_leg(h: Harness, rec: Recorder, name: str) -> LegId:
    leg = LegId(h.prefix + name)
    await h.switch.originate(leg, h.answering, caller_id="4000")
    await rec.wait_for(_answered(leg), h.answer_within + 1, f"answer of {leg}")
    return leg


# -- the checks ---------------------------------------------------------------------


async def originate_to_an_answering_number(h: Harness) -> None:
    """Ringing (if any) comes before the answer; the core's hangup ends the leg."""
    rec = Recorder(h)
    leg = await _answered_leg(h, rec, "a")
    kinds = [type(e) for e in rec.of(leg)]
    assert kinds[-1] is LegAnswered and kinds.count(LegAnswered) == 1, kinds
    assert set(kinds) <= {LegProgressed, LegRinging, LegAnswered}, kinds
    await h.switch.hangup(leg)
    event = await rec.wait_for(_hung_up(leg), 5, "hang-up")
    assert isinstance(event, LegHungUp)
    assert (event.cause, event.by) == (HangupCause.NORMAL, "switch")
    rec.close()


async def originate_to_a_busy_number(h: Harness) -> None:
    rec = Recorder(h)
    leg = LegId(h.prefix + "busy")
    await h.switch.originate(leg, h.busy, caller_id="4000")
    event = await rec.wait_for(_hung_up(leg), 10, "busy")
    assert isinstance(event, LegHungUp) and event.cause is HangupCause.BUSY, event
    assert not any(isinstance(e, LegAnswered) for e in rec.of(leg))
    rec.close()


async def originate_to_an_invalid_number(h: Harness) -> None:
    rec = Recorder(h)
    leg = LegId(h.prefix + "invalid")
    await h.switch.originate(leg, h.invalid, caller_id="4000")
    event = await rec.wait_for(_hung_up(leg), 10, "failure")
    assert isinstance(event, LegHungUp) and event.cause is HangupCause.INVALID_NUMBER, event
    rec.close()


async def ring_timeout_gives_no_answer(h: Harness) -> None:
    """A silent number is given up at the ring timeout, give or take a second."""
    rec = Recorder(h)
    leg = LegId(h.prefix + "silent")
    start = h.now()
    await h.switch.originate(leg, h.silent, caller_id="4000", ring_timeout=5.0)
    event = await rec.wait_for(_hung_up(leg), 10, "ring timeout")
    assert isinstance(event, LegHungUp) and event.cause is HangupCause.NO_ANSWER, event
    assert 4.0 <= event.at - start <= 6.0, event
    rec.close()


async def hangup_while_ringing_cancels(h: Harness) -> None:
    rec = Recorder(h)
    leg = LegId(h.prefix + "cancel")
    await h.switch.originate(leg, h.silent, caller_id="4000", ring_timeout=30.0)
    await rec.idle(1.0)
    await h.switch.hangup(leg)
    event = await rec.wait_for(_hung_up(leg), 5, "cancel")
    assert isinstance(event, LegHungUp) and event.cause is HangupCause.CANCELLED, event
    await h.switch.hangup(leg)
    await rec.idle(1.0)
    assert len([e for e in rec.of(leg) if isinstance(e, LegHungUp)]) == 1
    rec.close()


async def originate_is_idempotent_per_leg_id(h: Harness) -> None:
    """Same id, same arguments: one call. Same id, other arguments: ConflictingCommand."""
    rec = Recorder(h)
    leg = LegId(h.prefix + "retry")
    for _ in range(3):
        await h.switch.originate(leg, h.answering, caller_id="4000", vars={"k": "v"})
    await rec.wait_for(_answered(leg), h.answer_within + 1, "answer")
    await h.switch.originate(leg, h.answering, caller_id="4000", vars={"k": "v"})
    await rec.idle(1.0)
    assert len([e for e in rec.of(leg) if isinstance(e, LegAnswered)]) == 1
    try:
        await h.switch.originate(leg, h.busy, caller_id="4000")
    except ConflictingCommand as error:
        assert error.code == "conflicting-command"
    else:
        raise AssertionError("a conflicting originate was accepted")
    await h.switch.hangup(leg)
    rec.close()


async def bridged_hangup_leaves_the_other_leg_up(h: Harness) -> None:
    """B2BUA semantics: the bridge goes, the other leg stays until the core acts."""
    rec = Recorder(h)
    a = await _answered_leg(h, rec, "bridge-a")
    b = await _answered_leg(h, rec, "bridge-b")
    bridge = BridgeId(h.prefix + "bridge")
    await h.switch.bridge(bridge, [a, b])
    await h.switch.bridge(bridge, [a, b])
    for leg in (a, b):
        await rec.wait_for(_bridged(leg), 5, "bridged")
    await h.switch.hangup(a)
    await rec.wait_for(_hung_up(a), 5, "hang-up of a")
    await rec.wait_for(lambda e: isinstance(e, LegUnbridged) and e.leg == b, 5, "unbridged b")
    await rec.idle(2.0)
    assert not any(isinstance(e, LegHungUp) for e in rec.of(b)), rec.of(b)
    assert len([e for e in rec.of(a) if isinstance(e, LegBridged)]) == 1
    await h.switch.hangup(b)
    await rec.wait_for(_hung_up(b), 5, "hang-up of b")
    rec.close()


async def hold_and_resume(h: Harness) -> None:
    rec = Recorder(h)
    leg = await _answered_leg(h, rec, "hold")
    await h.switch.hold(leg)
    await h.switch.hold(leg)
    await rec.wait_for(lambda e: isinstance(e, LegHeld) and e.leg == leg, 5, "held")
    await h.switch.resume(leg)
    await h.switch.resume(leg)
    await rec.wait_for(lambda e: isinstance(e, LegResumed) and e.leg == leg, 5, "resumed")
    await rec.idle(1.0)
    kinds = [type(e) for e in rec.of(leg)]
    assert kinds.count(LegHeld) == 1 and kinds.count(LegResumed) == 1, kinds
    await h.switch.hangup(leg)
    rec.close()


async def play_to_the_end_and_stop_play(h: Harness) -> None:
    rec = Recorder(h)
    leg = await _answered_leg(h, rec, "play")
    await h.switch.play(leg, h.prompt)
    done = await rec.wait_for(
        lambda e: isinstance(e, PlayFinished) and e.leg == leg, h.prompt_within, "end of play"
    )
    assert isinstance(done, PlayFinished) and not done.interrupted
    await h.switch.play(leg, h.prompt, loop=True)
    await rec.idle(0.5)
    await h.switch.stop_play(leg)
    stopped = await rec.wait_for(
        lambda e: isinstance(e, PlayFinished) and e.interrupted and e.leg == leg, 5, "stop"
    )
    assert isinstance(stopped, PlayFinished)
    await h.switch.hangup(leg)
    rec.close()


async def collect_receives_the_callers_keys(h: Harness) -> None:
    rec = Recorder(h)
    leg = await _answered_leg(h, rec, "collect")
    await h.switch.collect(leg, max_digits=len(h.keys), timeout=10.0)
    event = await rec.wait_for(
        lambda e: isinstance(e, DigitsReceived) and e.leg == leg, 12, "digits"
    )
    assert isinstance(event, DigitsReceived)
    assert (event.digits, event.timed_out) == (h.keys, False), event
    await h.switch.hangup(leg)
    rec.close()


async def conference_roles(h: Harness) -> None:
    rec = Recorder(h)
    customer = await _answered_leg(h, rec, "conf-customer")
    agent = await _answered_leg(h, rec, "conf-agent")
    supervisor = await _answered_leg(h, rec, "conf-supervisor")
    conference = ConferenceId(h.prefix + "conf")
    await h.switch.join(conference, customer, TalkListen())
    await h.switch.join(conference, agent, TalkListen())
    await h.switch.join(conference, supervisor, ListenOnly())
    await h.switch.join(conference, supervisor, WhisperTo(agent))
    await rec.wait_for(
        lambda e: isinstance(e, LegJoinedConference) and e.role == WhisperTo(agent),
        5,
        "whisper",
    )
    roles = [e.role for e in rec.events if isinstance(e, LegJoinedConference)]
    assert roles == [TalkListen(), TalkListen(), ListenOnly(), WhisperTo(agent)], roles
    for leg in (customer, agent, supervisor):
        await h.switch.hangup(leg)
    rec.close()


async def record_a_bridge(h: Harness) -> None:
    """Two seconds of recording give a file of about two seconds and some bytes."""
    rec = Recorder(h)
    a = await _answered_leg(h, rec, "rec-a")
    b = await _answered_leg(h, rec, "rec-b")
    bridge = BridgeId(h.prefix + "rec-bridge")
    await h.switch.bridge(bridge, [a, b])
    recording = RecordingId(h.prefix + "rec")
    await h.switch.record(recording, bridge)
    await rec.idle(2.0)
    await h.switch.stop_record(recording)
    event = await rec.wait_for(
        lambda e: isinstance(e, RecordingFinished) and e.recording == recording, 10, "file"
    )
    assert isinstance(event, RecordingFinished)
    assert 1.5 <= event.seconds <= 3.0 and event.bytes > 0, event
    for leg in (a, b):
        await h.switch.hangup(leg)
    rec.close()


async def redirect_hands_the_leg_over(h: Harness) -> None:
    rec = Recorder(h)
    leg = await _answered_leg(h, rec, "redirect")
    await h.switch.redirect(leg, h.answering)
    await h.switch.redirect(leg, h.answering)
    await rec.wait_for(lambda e: isinstance(e, LegRedirected) and e.leg == leg, 5, "redirect")
    await rec.wait_for(_hung_up(leg), 10, "end of the redirected leg")
    rec.close()


async def errors_carry_stable_codes(h: Harness) -> None:
    """Unknown legs and unanswered legs are refused with their codes, changing nothing."""
    rec = Recorder(h)
    ghost = LegId(h.prefix + "ghost")
    errors: list[SwitchError] = []
    try:
        await h.switch.hold(ghost)
    except UnknownLeg as error:
        errors.append(error)
    leg = LegId(h.prefix + "ringing")
    await h.switch.originate(leg, h.silent, caller_id="4000", ring_timeout=30)
    try:
        await h.switch.play(leg, h.prompt)
    except LegNotAnswered as error:
        errors.append(error)
    assert [e.code for e in errors] == ["unknown-leg", "leg-not-answered"], errors
    await h.switch.hangup(leg)
    await rec.wait_for(_hung_up(leg), 5, "cancel")
    rec.close()


CHECKS: tuple[Check, ...] = (
    originate_to_an_answering_number,
    originate_to_a_busy_number,
    originate_to_an_invalid_number,
    ring_timeout_gives_no_answer,
    hangup_while_ringing_cancels,
    originate_is_idempotent_per_leg_id,
    bridged_hangup_leaves_the_other_leg_up,
    hold_and_resume,
    play_to_the_end_and_stop_play,
    collect_receives_the_callers_keys,
    conference_roles,
    record_a_bridge,
    redirect_hands_the_leg_over,
    errors_carry_stable_codes,
)


async def run_contract(make_harness: Callable[[], Awaitable[Harness]]) -> None:
    """Run every check, each on a fresh harness."""
    for check in CHECKS:
        await check(await make_harness())
