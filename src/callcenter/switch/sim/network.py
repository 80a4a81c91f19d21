"""SimSwitch: a simulated telephone network behind the Switch port.

Theory of operation
-------------------
SimSwitch keeps the switch's side of every leg (state, bridge, conference, hold, play,
collect, recordings) and runs all timing on a :class:`~callcenter.clock.Clock`, so the
same code runs in real time for the demo and on a ``VirtualClock`` in tests and
benchmarks.

The far end of each leg is a :class:`Remote`: a virtual customer or a bot agent's phone.
The switch tells the remote what happens on its line (dialled, answered, connected to
someone, a collect started, ended); the remote answers back through its :class:`Line`
(ring, answer, fail, hang up, press keys). Remotes only schedule timers from those
notifications and never call their line synchronously, so one command never re-enters
the switch. A ``Line`` call on a leg that has already moved on is ignored.

Destinations are resolved by asking each :class:`Directory` in turn (bot phones for
``agent:NNNN``, customers for everything else); nobody knowing the number fails the
originate with ``invalid_number`` (404). Inbound calls enter through
:meth:`SimSwitch.offer_call`.

Leg states::

    outbound: DIALLING -> RINGING -> ANSWERED -> ENDED   (DIALLING/RINGING -> ENDED on failure)
              (RINGING is entered on LegRinging or LegProgressed: the far end is alerting)
    inbound:  OFFERED  -> ANSWERED -> ENDED              (OFFERED -> ENDED on reject/abandon)

Choices the port leaves open, as made here:

* Instant effects (bridge, hold, join...) emit their events before the command returns.
* Hanging up a bridged leg tears the bridge down (``LegUnbridged`` for both legs, then
  recordings on the bridge finish, then ``LegHungUp``) and leaves the other leg up.
* ``hangup`` of an unanswered outbound leg is reported as ``cancelled``; the ring timeout
  as ``no_answer``; both with ``by="switch"`` and no SIP status.
* ``bridge`` takes exactly two answered legs and interrupts a play on either of them.
* ``redirect`` (blind transfer) emits ``LegRedirected`` then ``LegHungUp(normal)``; the
  simulation does not follow the call to its new destination.
* Answering-machine detection is instantaneous: the verdict comes with ``LegAnswered``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol

from callcenter.clock import Clock, TimerHandle
from callcenter.switch.ports import (
    SIP_STATUS_FOR_CAUSE,
    AmdResult,
    BridgeId,
    ConferenceId,
    ConflictingCommand,
    DigitsReceived,
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
    PlayFinished,
    RecordingFinished,
    RecordingId,
    RecordingStarted,
    Role,
    Subscription,
    SwitchEvent,
    UnknownBridge,
    UnknownLeg,
    UnknownRecording,
    WhisperTo,
)

__all__ = ["BYTES_PER_SECOND", "Directory", "LegState", "Line", "Remote", "SimSwitch"]

log = logging.getLogger(__name__)

DTMF_DIGITS: Final = frozenset("0123456789*#ABCD")

# Audio bytes per second per channel, 8 kHz telephony: 16-bit PCM, or G.711 (8-bit).
BYTES_PER_SECOND: Final[Mapping[str, int]] = {"wav": 16_000, "pcmu": 8_000, "pcma": 8_000}
WAV_HEADER_BYTES: Final = 44


class LegState(enum.Enum):
    OFFERED = "offered"
    DIALLING = "dialling"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


_UNANSWERED: Final = frozenset({LegState.OFFERED, LegState.DIALLING, LegState.RINGING})


class Line(Protocol):
    """The network side of one leg, as its remote sees it."""

    @property
    def leg(self) -> LegId: ...

    def ring(self) -> None: ...

    def progress(self, early_media: bool) -> None: ...

    def answer(self, amd: AmdResult | None) -> None: ...

    def fail(self, cause: HangupCause, sip_status: int | None = None) -> None: ...

    def hang_up(self) -> None: ...

    def press(self, digits: str) -> None: ...


class Remote(Protocol):
    """The far end of a leg: told what happens, answers through its Line by timers."""

    def dialled(self, ring_timeout: float, amd: bool) -> None: ...

    def offered(self) -> None: ...

    def answered(self) -> None: ...

    def connected(self) -> None: ...

    def disconnected(self) -> None: ...

    def collecting(self, max_digits: int, timeout: float, terminator: str) -> None: ...

    def dtmf(self, digits: str) -> None: ...

    def ended(self) -> None: ...


class Directory(Protocol):
    """Who answers a destination: a Remote for ``dest``, or None if unknown here."""

    def dial(self, dest: str, line: Line, clock: Clock) -> Remote | None: ...


class _LineImpl:
    def __init__(self, switch: SimSwitch, leg: LegId) -> None:
        self._switch = switch
        self._leg = leg

    @property
    def leg(self) -> LegId:
        return self._leg

    def ring(self) -> None:
        self._switch._remote_ring(self._leg)

    def progress(self, early_media: bool) -> None:
        self._switch._remote_progress(self._leg, early_media)

    def answer(self, amd: AmdResult | None) -> None:
        self._switch._remote_answer(self._leg, amd)

    def fail(self, cause: HangupCause, sip_status: int | None = None) -> None:
        self._switch._remote_fail(self._leg, cause, sip_status)

    def hang_up(self) -> None:
        self._switch._remote_hang_up(self._leg)

    def press(self, digits: str) -> None:
        self._switch._remote_press(self._leg, digits)


@dataclass
class _Play:
    prompt: str
    loop: bool
    barge_in: str
    timer: TimerHandle


@dataclass
class _Collect:
    max_digits: int
    timeout: float
    terminator: str
    timer: TimerHandle
    digits: str = ""


@dataclass
class _Leg:
    id: LegId
    direction: Literal["inbound", "outbound"]
    state: LegState
    signature: tuple[object, ...]
    caller: str
    dest: str
    amd: bool = False
    remote: Remote | None = None
    ring_timer: TimerHandle | None = None
    music: str | None = None
    bridge: BridgeId | None = None
    conference: ConferenceId | None = None
    play: _Play | None = None
    collect: _Collect | None = None
    redirected_to: str | None = None
    dtmf_sent: list[str] = field(default_factory=list)


@dataclass
class _Bridge:
    id: BridgeId
    legs: tuple[LegId, LegId]
    active: bool = True


@dataclass
class _Recording:
    id: RecordingId
    signature: tuple[object, ...]
    target: str
    path: str
    channels: int
    fmt: str
    started: float
    active: bool = True


@dataclass
class _Subscription:
    switch: SimSwitch
    handler: Callable[[SwitchEvent], None]

    def close(self) -> None:
        self.switch._unsubscribe(self)


class SimSwitch:
    """The simulated switch; implements :class:`callcenter.switch.ports.Switch`."""

    def __init__(
        self,
        clock: Clock,
        directories: Sequence[Directory] = (),
        *,
        prompt_seconds: Mapping[str, float] | None = None,
        default_prompt_seconds: float = 3.0,
        recordings_dir: str = "recordings",
    ) -> None:
        self._clock = clock
        self._directories = list(directories)
        self._prompt_seconds = dict(prompt_seconds or {})
        self._default_prompt_seconds = default_prompt_seconds
        self._recordings_dir = recordings_dir.rstrip("/")
        self._subscriptions: list[_Subscription] = []
        self._legs: dict[LegId, _Leg] = {}
        self._bridges: dict[BridgeId, _Bridge] = {}
        self._conferences: dict[ConferenceId, dict[LegId, Role]] = {}
        self._recordings: dict[RecordingId, _Recording] = {}
        self._recording_now: dict[str, list[_Recording]] = {}  # active, by target
        self._inbound_seq = 0

    @property
    def clock(self) -> Clock:
        return self._clock

    # -- events -----------------------------------------------------------------------

    def subscribe(self, handler: Callable[[SwitchEvent], None]) -> Subscription:
        subscription = _Subscription(self, handler)
        self._subscriptions.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: _Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def _emit(self, event: SwitchEvent) -> None:
        for subscription in list(self._subscriptions):
            subscription.handler(event)

    # -- inspection -------------------------------------------------------------------

    def leg_state(self, leg: LegId) -> LegState:
        return self._leg(leg).state

    def active_legs(self) -> list[LegId]:
        return [leg.id for leg in self._legs.values() if leg.state is not LegState.ENDED]

    def dtmf_sent(self, leg: LegId) -> list[str]:
        return list(self._leg(leg).dtmf_sent)

    def conference_members(self, conference: ConferenceId) -> dict[LegId, Role]:
        return dict(self._conferences.get(conference, {}))

    # -- commands: calls --------------------------------------------------------------

    async def originate(
        self,
        leg: LegId,
        dest: str,
        *,
        caller_id: str,
        trunk: str | None = None,
        ring_timeout: float = 30.0,
        amd: bool = False,
        vars: Mapping[str, str] | None = None,
    ) -> str | None:
        """Dial ``leg``; the network carries it on ``trunk`` as named (it has no default)."""
        signature = (
            "originate",
            dest,
            caller_id,
            trunk,
            ring_timeout,
            amd,
            tuple(sorted((vars or {}).items())),
        )
        existing = self._legs.get(leg)
        if existing is not None:
            if existing.signature != signature:
                raise ConflictingCommand(f"leg {leg} exists with other arguments")
            return trunk
        if not dest:
            raise InvalidArgument("originate needs a destination")
        if ring_timeout <= 0:
            raise InvalidArgument(f"ring_timeout must be positive, not {ring_timeout}")
        record = _Leg(
            leg, "outbound", LegState.DIALLING, signature, caller=caller_id, dest=dest, amd=amd
        )
        self._legs[leg] = record
        log.debug("leg %s: originate to %s", leg, dest)
        now = self._clock.now()
        record.ring_timer = self._clock.call_at(now + ring_timeout, lambda: self._ring_timeout(leg))
        line = _LineImpl(self, leg)
        for directory in self._directories:
            remote = directory.dial(dest, line, self._clock)
            if remote is not None:
                record.remote = remote
                remote.dialled(ring_timeout, amd)
                return trunk
        self._clock.call_at(now, lambda: self._remote_fail(leg, HangupCause.INVALID_NUMBER))
        return trunk

    def offer_call(
        self,
        caller: str,
        dialled: str,
        trunk: str | None,
        make_remote: Callable[[Line], Remote],
    ) -> LegId:
        """An inbound call arrives from ``caller``; returns the leg id the switch chose."""
        leg = LegId("")
        while not leg or leg in self._legs:  # never take an id the core already used
            self._inbound_seq += 1
            leg = LegId(f"sim-in-{self._inbound_seq}")
        record = _Leg(leg, "inbound", LegState.OFFERED, ("inbound",), caller=caller, dest=dialled)
        self._legs[leg] = record
        remote = make_remote(_LineImpl(self, leg))
        record.remote = remote
        log.debug("leg %s: offered from %s to %s", leg, caller, dialled)
        self._emit(LegOffered(self._clock.now(), leg, caller, dialled, trunk))
        remote.offered()
        return leg

    async def answer(self, leg: LegId) -> None:
        record = self._leg(leg)
        if record.state is LegState.ANSWERED:
            return
        if record.state is LegState.ENDED:
            raise LegAlreadyEnded(f"leg {leg} has ended")
        if record.state is not LegState.OFFERED:
            raise InvalidLegState(f"leg {leg} is outbound and {record.state.value}")
        self._set_state(record, LegState.ANSWERED)
        self._emit(LegAnswered(self._clock.now(), leg, None))
        if record.remote is not None:
            record.remote.answered()

    async def hangup(self, leg: LegId, cause: HangupCause = HangupCause.NORMAL) -> None:
        record = self._leg(leg)
        if record.state is LegState.ENDED:
            return
        if record.state is LegState.OFFERED:
            self._end(record, cause, SIP_STATUS_FOR_CAUSE[cause], "switch")
        elif record.state in _UNANSWERED:
            self._end(record, HangupCause.CANCELLED, None, "switch")
        else:
            self._end(record, cause, None, "switch")

    async def redirect(self, leg: LegId, dest: str) -> None:
        record = self._leg(leg)
        if record.redirected_to is not None:
            if record.redirected_to != dest:
                raise ConflictingCommand(f"leg {leg} was redirected to {record.redirected_to}")
            return
        if record.state is LegState.ENDED:
            raise LegAlreadyEnded(f"leg {leg} has ended")
        if record.state not in (LegState.OFFERED, LegState.ANSWERED):
            raise InvalidLegState(f"cannot redirect leg {leg} while {record.state.value}")
        if not dest:
            raise InvalidArgument("redirect needs a destination")
        record.redirected_to = dest
        self._detach(record)
        self._emit(LegRedirected(self._clock.now(), leg, dest))
        status = 302 if record.state is LegState.OFFERED else None  # 302 Moved Temporarily
        self._end(record, HangupCause.NORMAL, status, "switch")

    # -- commands: bridges and conferences --------------------------------------------

    async def bridge(self, bridge: BridgeId, legs: Sequence[LegId]) -> None:
        pair = tuple(legs)
        existing = self._bridges.get(bridge)
        if existing is not None:
            if existing.legs != pair:
                raise ConflictingCommand(f"bridge {bridge} exists with legs {existing.legs}")
            return
        if len(pair) != 2 or pair[0] == pair[1]:
            raise InvalidArgument(f"a bridge joins two distinct legs, not {pair}")
        records = [self._answered_leg(leg) for leg in pair]
        for record in records:
            if record.bridge is not None or record.conference is not None:
                raise LegInUse(f"leg {record.id} is in {record.bridge or record.conference}")
        first, second = records
        self._bridges[bridge] = _Bridge(bridge, (first.id, second.id))
        now = self._clock.now()
        for record, peer in ((first, second), (second, first)):
            record.bridge = bridge
            self._interrupt_play(record)
            self._emit(LegBridged(now, record.id, bridge, peer.id))
        log.debug("bridge %s: %s <-> %s", bridge, first.id, second.id)
        for record in records:
            if record.remote is not None:
                record.remote.connected()

    async def unbridge(self, bridge: BridgeId) -> None:
        record = self._bridges.get(bridge)
        if record is None:
            raise UnknownBridge(f"no bridge {bridge}")
        self._dissolve(record)

    async def join(self, conference: ConferenceId, leg: LegId, role: Role) -> None:
        record = self._answered_leg(leg)
        if record.bridge is not None:
            raise LegInUse(f"leg {leg} is in bridge {record.bridge}")
        if record.conference is not None and record.conference != conference:
            raise LegInUse(f"leg {leg} is in conference {record.conference}")
        members = self._conferences.setdefault(conference, {})
        if isinstance(role, WhisperTo) and (role.leg == leg or role.leg not in members):
            raise InvalidArgument(f"whisper target {role.leg} is not another member")
        first_join = leg not in members
        if members.get(leg) == role:
            return
        members[leg] = role
        record.conference = conference
        self._emit(LegJoinedConference(self._clock.now(), leg, conference, role))
        if first_join and record.remote is not None:
            record.remote.connected()

    async def leave(self, conference: ConferenceId, leg: LegId) -> None:
        record = self._leg(leg)
        if record.conference != conference:
            return
        self._leave_conference(record)

    # -- commands: media --------------------------------------------------------------

    async def hold(self, leg: LegId, music: str = "default") -> None:
        record = self._answered_leg(leg)
        if record.music is not None:
            if record.music != music:
                raise ConflictingCommand(f"leg {leg} is held with music {record.music}")
            return
        record.music = music
        self._emit(LegHeld(self._clock.now(), leg, music))

    async def resume(self, leg: LegId) -> None:
        record = self._answered_leg(leg)
        if record.music is None:
            return
        record.music = None
        self._emit(LegResumed(self._clock.now(), leg))

    async def play(
        self, leg: LegId, prompt: str, *, loop: bool = False, barge_in_digits: str = ""
    ) -> None:
        record = self._answered_leg(leg)
        current = record.play
        if current is not None:
            if (current.prompt, current.loop, current.barge_in) != (
                prompt,
                loop,
                barge_in_digits,
            ):
                raise ConflictingCommand(f"leg {leg} is playing {current.prompt}")
            return
        if not set(barge_in_digits) <= DTMF_DIGITS:
            raise InvalidArgument(f"barge-in digits {barge_in_digits!r} are not DTMF")
        record.play = _Play(prompt, loop, barge_in_digits, self._schedule_play_end(leg, prompt))

    async def stop_play(self, leg: LegId) -> None:
        record = self._leg(leg)
        if record.state is LegState.ENDED:
            return
        self._interrupt_play(record)

    async def collect(
        self, leg: LegId, *, max_digits: int, timeout: float, terminator: str = "#"
    ) -> None:
        record = self._answered_leg(leg)
        current = record.collect
        if current is not None:
            if (current.max_digits, current.timeout, current.terminator) != (
                max_digits,
                timeout,
                terminator,
            ):
                raise ConflictingCommand(f"leg {leg} is already collecting digits")
            return
        if max_digits < 1 or timeout <= 0:
            raise InvalidArgument("collect needs max_digits >= 1 and a positive timeout")
        if terminator and (len(terminator) != 1 or terminator not in DTMF_DIGITS):
            raise InvalidArgument(f"terminator {terminator!r} is not one DTMF digit")
        timer = self._clock.call_at(
            self._clock.now() + timeout, lambda: self._collect_timed_out(leg)
        )
        record.collect = _Collect(max_digits, timeout, terminator, timer)
        if record.remote is not None:
            record.remote.collecting(max_digits, timeout, terminator)

    async def send_dtmf(self, leg: LegId, digits: str) -> None:
        record = self._answered_leg(leg)
        if not digits or not set(digits) <= DTMF_DIGITS:
            raise InvalidArgument(f"{digits!r} is not a DTMF string")
        record.dtmf_sent.append(digits)
        if record.remote is not None:
            record.remote.dtmf(digits)

    async def record(
        self,
        recording: RecordingId,
        target: LegId | BridgeId,
        *,
        stereo: bool = True,
        fmt: str = "wav",
    ) -> None:
        signature = ("record", target, stereo, fmt)
        existing = self._recordings.get(recording)
        if existing is not None:
            if existing.signature != signature:
                raise ConflictingCommand(f"recording {recording} exists with other arguments")
            return
        if fmt not in BYTES_PER_SECOND:
            raise InvalidArgument(f"unknown recording format {fmt!r}")
        if target in self._legs:
            self._answered_leg(LegId(target))
        elif target in self._bridges:
            if not self._bridges[BridgeId(target)].active:
                raise UnknownBridge(f"bridge {target} is gone")
        else:
            raise UnknownLeg(f"no leg or bridge {target}")
        path = f"{self._recordings_dir}/{recording}.{fmt}"
        now = self._clock.now()
        started = _Recording(recording, signature, target, path, 2 if stereo else 1, fmt, now)
        self._recordings[recording] = started
        self._recording_now.setdefault(target, []).append(started)
        self._emit(RecordingStarted(now, recording, target, path))

    async def stop_record(self, recording: RecordingId) -> None:
        record = self._recordings.get(recording)
        if record is None:
            raise UnknownRecording(f"no recording {recording}")
        self._finish_recording(record)

    # -- the remote side --------------------------------------------------------------

    def _remote_ring(self, leg: LegId) -> None:
        record = self._legs[leg]
        if record.state is LegState.DIALLING:
            self._set_state(record, LegState.RINGING)
            self._emit(LegRinging(self._clock.now(), leg))

    def _remote_progress(self, leg: LegId, early_media: bool) -> None:
        record = self._legs[leg]
        if record.state is LegState.DIALLING:
            self._set_state(record, LegState.RINGING)
            self._emit(LegProgressed(self._clock.now(), leg, early_media))

    def _remote_answer(self, leg: LegId, amd: AmdResult | None) -> None:
        record = self._legs[leg]
        if record.state not in (LegState.DIALLING, LegState.RINGING):
            return
        if record.ring_timer is not None:
            record.ring_timer.cancel()
        self._set_state(record, LegState.ANSWERED)
        self._emit(LegAnswered(self._clock.now(), leg, amd if record.amd else None))

    def _remote_fail(self, leg: LegId, cause: HangupCause, sip_status: int | None = None) -> None:
        record = self._legs[leg]
        if record.state in _UNANSWERED:
            status = sip_status if sip_status is not None else SIP_STATUS_FOR_CAUSE[cause]
            self._end(record, cause, status, "remote")

    def _remote_hang_up(self, leg: LegId) -> None:
        record = self._legs[leg]
        if record.state is LegState.ANSWERED:
            self._end(record, HangupCause.NORMAL, None, "remote")
        elif record.state is LegState.OFFERED:
            self._end(record, HangupCause.CANCELLED, None, "remote")
        elif record.state in _UNANSWERED:
            self._end(record, HangupCause.REJECTED, SIP_STATUS_FOR_CAUSE[HangupCause.REJECTED])

    def _remote_press(self, leg: LegId, digits: str) -> None:
        record = self._legs[leg]
        now = self._clock.now()
        for digit in digits:
            if record.state is not LegState.ANSWERED:
                return
            play = record.play
            if play is not None and digit in play.barge_in:
                self._interrupt_play(record)
            collect = record.collect
            if collect is None:
                self._emit(DigitsReceived(now, leg, digit))
            elif digit == collect.terminator:
                self._finish_collect(record, timed_out=False)
            else:
                collect.digits += digit
                if len(collect.digits) >= collect.max_digits:
                    self._finish_collect(record, timed_out=False)

    # -- internals --------------------------------------------------------------------

    def _leg(self, leg: LegId) -> _Leg:
        record = self._legs.get(leg)
        if record is None:
            raise UnknownLeg(f"no leg {leg}")
        return record

    def _answered_leg(self, leg: LegId) -> _Leg:
        record = self._leg(leg)
        if record.state is LegState.ENDED:
            raise LegAlreadyEnded(f"leg {leg} has ended")
        if record.state is not LegState.ANSWERED:
            raise LegNotAnswered(f"leg {leg} is {record.state.value}")
        return record

    def _set_state(self, record: _Leg, state: LegState) -> None:
        log.debug("leg %s: %s -> %s", record.id, record.state.value, state.value)
        record.state = state

    def _ring_timeout(self, leg: LegId) -> None:
        record = self._legs[leg]
        if record.state in (LegState.DIALLING, LegState.RINGING):
            self._end(record, HangupCause.NO_ANSWER, None, "switch")

    def _end(
        self,
        record: _Leg,
        cause: HangupCause,
        sip_status: int | None,
        by: Literal["remote", "switch"] = "remote",
    ) -> None:
        if record.ring_timer is not None:
            record.ring_timer.cancel()
        if record.play is not None:
            record.play.timer.cancel()
            record.play = None
        if record.collect is not None:
            record.collect.timer.cancel()
            record.collect = None
        self._detach(record)
        self._finish_recordings_of(record.id)
        record.music = None
        self._set_state(record, LegState.ENDED)
        self._emit(LegHungUp(self._clock.now(), record.id, cause, sip_status, by))
        if record.remote is not None:
            record.remote.ended()

    def _detach(self, record: _Leg) -> None:
        """Take a leg that is going away out of its bridge or conference; only the
        legs that stay are told they are disconnected."""
        if record.bridge is not None:
            self._dissolve(self._bridges[record.bridge], leaving=record.id)
        if record.conference is not None:
            self._leave_conference(record, notify=False)

    def _dissolve(self, bridge: _Bridge, leaving: LegId | None = None) -> None:
        if not bridge.active:
            return
        bridge.active = False
        now = self._clock.now()
        records = [self._legs[leg] for leg in bridge.legs]
        for record in records:
            record.bridge = None
            self._emit(LegUnbridged(now, record.id, bridge.id))
        self._finish_recordings_of(bridge.id)
        log.debug("bridge %s: dissolved", bridge.id)
        for record in records:
            if record.remote is not None and record.id != leaving:
                record.remote.disconnected()

    def _leave_conference(self, record: _Leg, *, notify: bool = True) -> None:
        conference = record.conference
        if conference is None:
            return
        record.conference = None
        members = self._conferences[conference]
        del members[record.id]
        self._emit(LegLeftConference(self._clock.now(), record.id, conference))
        if notify and record.remote is not None:
            record.remote.disconnected()

    def _finish_recordings_of(self, target: str) -> None:
        for recording in list(self._recording_now.get(target, ())):
            self._finish_recording(recording)

    def _finish_recording(self, recording: _Recording) -> None:
        if not recording.active:
            return
        recording.active = False
        running = self._recording_now[recording.target]
        running.remove(recording)
        if not running:
            del self._recording_now[recording.target]
        now = self._clock.now()
        seconds = now - recording.started
        size = int(seconds * BYTES_PER_SECOND[recording.fmt] * recording.channels)
        if recording.fmt == "wav":
            size += WAV_HEADER_BYTES
        self._emit(RecordingFinished(now, recording.id, recording.path, seconds, size))

    def _prompt_length(self, prompt: str) -> float:
        return self._prompt_seconds.get(prompt, self._default_prompt_seconds)

    def _schedule_play_end(self, leg: LegId, prompt: str) -> TimerHandle:
        when = self._clock.now() + self._prompt_length(prompt)
        return self._clock.call_at(when, lambda: self._play_reached_end(leg))

    def _play_reached_end(self, leg: LegId) -> None:
        record = self._legs[leg]
        play = record.play
        if play is None:
            return
        if play.loop:
            play.timer = self._schedule_play_end(leg, play.prompt)
            return
        record.play = None
        self._emit(PlayFinished(self._clock.now(), leg, play.prompt))

    def _interrupt_play(self, record: _Leg) -> None:
        play = record.play
        if play is None:
            return
        play.timer.cancel()
        record.play = None
        self._emit(PlayFinished(self._clock.now(), record.id, play.prompt, interrupted=True))

    def _collect_timed_out(self, leg: LegId) -> None:
        record = self._legs[leg]
        if record.collect is not None:
            self._finish_collect(record, timed_out=True)

    def _finish_collect(self, record: _Leg, *, timed_out: bool) -> None:
        collect = record.collect
        if collect is None:
            return
        collect.timer.cancel()
        record.collect = None
        self._emit(DigitsReceived(self._clock.now(), record.id, collect.digits, timed_out))
