"""The Switch port: the only way the call-center core talks to telephony.

Theory of operation
-------------------
A call is made of *legs*: one leg per far end (a customer, an agent's phone). The core
sends **commands** down and receives **events** up; it never sees SIP or media.

Identifiers are chosen by the caller (the core) for every thing it creates: legs it
originates, bridges, recordings, conferences. Legs that arrive from outside (inbound
calls) get ids chosen by the switch and announced in :class:`LegOffered`.

Idempotency. Every command may be retried safely:

* Commands that create something (``originate``, ``bridge``, ``record``, ``join``) are
  keyed by the id of the thing. Re-sending the command with the same id and the same
  arguments is a no-op, at any later time, even after the thing ended. Re-sending it with
  different arguments raises :class:`ConflictingCommand`. ``join`` with a new role for a
  leg already in that conference is a role change, not a conflict.
* Commands that move something to a state (``answer``, ``hangup``, ``unbridge``, ``hold``,
  ``resume``, ``stop_play``, ``stop_record``, ``leave``) are no-ops when the target is
  already in that state. ``hangup`` of a leg that already ended is a no-op.
* ``play`` and ``collect`` are no-ops while an identical play/collect is in progress on
  the leg and raise :class:`ConflictingCommand` while a different one is; once finished,
  sending it again starts it again. ``redirect`` is a no-op while (or after) the same
  redirect is in progress. ``send_dtmf`` has no key and is at-least-once.

Commands return when the switch has accepted them. Their outcome arrives as events, which
may be delivered before the command returns (the simulated switch does that for instant
effects such as holds) or later (the SIP switch waits for the far end); the core must not
depend on which.

Events are delivered through :meth:`Switch.subscribe`: the handler is called
synchronously, once per event, in the order the switch produced them, with ``at`` set
from the switch's clock. Handlers must be quick and must not raise; a handler that wants
to await (for instance, to send the next command) hands the event to a task.
:class:`EventStream` adapts a subscription to ``async for``.

B2BUA semantics. When one leg of a bridge hangs up, the switch tears the bridge down
(:class:`LegUnbridged` for each leg, then :class:`LegHungUp` for the leg that left) but
does **not** hang up the other leg: the core decides what happens to it (wrap-up, survey,
a transfer, hang up).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, NewType, Protocol, TypeAlias

__all__ = [
    "SIP_STATUS_FOR_CAUSE",
    "AmdResult",
    "BridgeId",
    "ConferenceId",
    "ConflictingCommand",
    "DigitsReceived",
    "EventStream",
    "HangupCause",
    "InvalidArgument",
    "InvalidLegState",
    "LegAlreadyEnded",
    "LegAnswered",
    "LegBridged",
    "LegHeld",
    "LegHungUp",
    "LegId",
    "LegInUse",
    "LegJoinedConference",
    "LegLeftConference",
    "LegNotAnswered",
    "LegOffered",
    "LegProgressed",
    "LegRedirected",
    "LegResumed",
    "LegRinging",
    "LegUnbridged",
    "ListenOnly",
    "PlayFinished",
    "RecordingFinished",
    "RecordingId",
    "RecordingStarted",
    "Role",
    "Subscription",
    "Switch",
    "SwitchError",
    "SwitchEvent",
    "TalkListen",
    "UnknownBridge",
    "UnknownLeg",
    "UnknownRecording",
    "WhisperTo",
]

LegId = NewType("LegId", str)
BridgeId = NewType("BridgeId", str)
RecordingId = NewType("RecordingId", str)
ConferenceId = NewType("ConferenceId", str)

AmdResult: TypeAlias = Literal["human", "machine", "unsure"]


class HangupCause(enum.Enum):
    """Why a leg ended, independent of the signalling protocol."""

    NORMAL = "normal"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    CONGESTION = "congestion"
    FAILED = "failed"
    CANCELLED = "cancelled"


# The SIP final response usually behind each cause (RFC 3261 21; RFC 3398 for the
# ISDN cause mapping). NORMAL ends with BYE, so no status.
SIP_STATUS_FOR_CAUSE: Final[Mapping[HangupCause, int | None]] = {
    HangupCause.NORMAL: None,
    HangupCause.BUSY: 486,  # Busy Here
    HangupCause.NO_ANSWER: 480,  # Temporarily Unavailable
    HangupCause.REJECTED: 603,  # Decline
    HangupCause.INVALID_NUMBER: 404,  # Not Found
    HangupCause.CONGESTION: 503,  # Service Unavailable
    HangupCause.FAILED: 500,  # Server Internal Error
    HangupCause.CANCELLED: 487,  # Request Terminated
}


# -- conference roles ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TalkListen:
    """A full participant: hears everyone, heard by everyone."""


@dataclass(frozen=True, slots=True)
class ListenOnly:
    """Hears everyone, heard by no one (silent monitoring)."""


@dataclass(frozen=True, slots=True)
class WhisperTo:
    """Hears everyone, heard only by ``leg`` (coaching an agent)."""

    leg: LegId


Role: TypeAlias = TalkListen | ListenOnly | WhisperTo


# -- events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegOffered:
    """An inbound call arrived; the leg waits for ``answer`` or ``hangup``."""

    at: float
    leg: LegId
    caller: str
    dialled: str
    trunk: str | None


@dataclass(frozen=True, slots=True)
class LegProgressed:
    """The far end sent progress (SIP 183); ``early_media`` if audio flows already."""

    at: float
    leg: LegId
    early_media: bool


@dataclass(frozen=True, slots=True)
class LegRinging:
    """The far end is alerting (SIP 180)."""

    at: float
    leg: LegId


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """The leg is up. ``amd`` is the detector's verdict when ``originate(amd=True)``."""

    at: float
    leg: LegId
    amd: AmdResult | None


@dataclass(frozen=True, slots=True)
class LegHungUp:
    """The leg ended. ``by`` says which side ended it; ``sip_status`` is the final
    response for a call that never connected, None for a BYE."""

    at: float
    leg: LegId
    cause: HangupCause
    sip_status: int | None
    by: Literal["remote", "switch"] = "remote"


@dataclass(frozen=True, slots=True)
class LegBridged:
    """``leg`` now talks with ``peer`` in ``bridge`` (one event per leg)."""

    at: float
    leg: LegId
    bridge: BridgeId
    peer: LegId


@dataclass(frozen=True, slots=True)
class LegUnbridged:
    """``leg`` left ``bridge`` (one event per leg; the bridge is gone)."""

    at: float
    leg: LegId
    bridge: BridgeId


@dataclass(frozen=True, slots=True)
class LegHeld:
    at: float
    leg: LegId
    music: str


@dataclass(frozen=True, slots=True)
class LegResumed:
    at: float
    leg: LegId


@dataclass(frozen=True, slots=True)
class LegJoinedConference:
    """``leg`` joined ``conference`` with ``role`` (sent again on a role change)."""

    at: float
    leg: LegId
    conference: ConferenceId
    role: Role


@dataclass(frozen=True, slots=True)
class LegLeftConference:
    at: float
    leg: LegId
    conference: ConferenceId


@dataclass(frozen=True, slots=True)
class LegRedirected:
    """``leg`` was handed to ``dest`` (blind transfer); a LegHungUp follows."""

    at: float
    leg: LegId
    dest: str


@dataclass(frozen=True, slots=True)
class DigitsReceived:
    """DTMF from the far end: a finished ``collect`` (``timed_out`` if it ran out of time;
    the terminator is not included) or, with no collect running, each digit as it comes."""

    at: float
    leg: LegId
    digits: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class PlayFinished:
    """A ``play`` ended: ran to its end, or ``interrupted`` (stop_play, barge-in, bridge)."""

    at: float
    leg: LegId
    prompt: str
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    at: float
    recording: RecordingId
    target: str
    path: str


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    at: float
    recording: RecordingId
    path: str
    seconds: float
    bytes: int


SwitchEvent: TypeAlias = (
    LegOffered
    | LegProgressed
    | LegRinging
    | LegAnswered
    | LegHungUp
    | LegBridged
    | LegUnbridged
    | LegHeld
    | LegResumed
    | LegJoinedConference
    | LegLeftConference
    | LegRedirected
    | DigitsReceived
    | PlayFinished
    | RecordingStarted
    | RecordingFinished
)


# -- errors -------------------------------------------------------------------------


class SwitchError(Exception):
    """Base of every error a Switch command raises; ``code`` is stable API."""

    code: str = "switch-error"


class InvalidArgument(SwitchError):
    code = "invalid-argument"


class ConflictingCommand(SwitchError):
    """A command reused an id with different arguments."""

    code = "conflicting-command"


class UnknownLeg(SwitchError):
    code = "unknown-leg"


class UnknownBridge(SwitchError):
    code = "unknown-bridge"


class UnknownRecording(SwitchError):
    code = "unknown-recording"


class LegAlreadyEnded(SwitchError):
    code = "leg-already-ended"


class LegNotAnswered(SwitchError):
    code = "leg-not-answered"


class InvalidLegState(SwitchError):
    """The command makes no sense in the leg's state (e.g. answering an outbound leg)."""

    code = "invalid-leg-state"


class LegInUse(SwitchError):
    """The leg is already in another bridge or conference."""

    code = "leg-in-use"


# -- the port -----------------------------------------------------------------------


class Subscription(Protocol):
    def close(self) -> None: ...


class Switch(Protocol):
    """Commands down, events up. See the module docstring for the rules."""

    def subscribe(self, handler: Callable[[SwitchEvent], None]) -> Subscription: ...

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
        """Dial ``leg``; returns the trunk it goes out on: ``trunk`` when named, else the
        one the switch chose for a number (its default); None when it takes no trunk (an
        agent's phone, a ``sip:`` URI) or the switch does not say."""
        ...

    async def answer(self, leg: LegId) -> None: ...

    async def hangup(self, leg: LegId, cause: HangupCause = HangupCause.NORMAL) -> None: ...

    async def bridge(self, bridge: BridgeId, legs: Sequence[LegId]) -> None: ...

    async def unbridge(self, bridge: BridgeId) -> None: ...

    async def hold(self, leg: LegId, music: str = "default") -> None: ...

    async def resume(self, leg: LegId) -> None: ...

    async def play(
        self, leg: LegId, prompt: str, *, loop: bool = False, barge_in_digits: str = ""
    ) -> None: ...

    async def stop_play(self, leg: LegId) -> None: ...

    async def collect(
        self, leg: LegId, *, max_digits: int, timeout: float, terminator: str = "#"
    ) -> None: ...

    async def send_dtmf(self, leg: LegId, digits: str) -> None: ...

    async def record(
        self,
        recording: RecordingId,
        target: LegId | BridgeId,
        *,
        stereo: bool = True,
        fmt: str = "wav",
    ) -> None: ...

    async def stop_record(self, recording: RecordingId) -> None: ...

    async def join(self, conference: ConferenceId, leg: LegId, role: Role) -> None: ...

    async def leave(self, conference: ConferenceId, leg: LegId) -> None: ...

    async def redirect(self, leg: LegId, dest: str) -> None: ...


class EventStream:
    """``async for event in EventStream(switch)``: a subscription feeding a queue."""

    def __init__(self, switch: Switch) -> None:
        self._queue: asyncio.Queue[SwitchEvent] = asyncio.Queue()
        self._subscription = switch.subscribe(self._queue.put_nowait)

    def __aiter__(self) -> AsyncIterator[SwitchEvent]:
        return self

    async def __anext__(self) -> SwitchEvent:
        return await self._queue.get()

    def drain(self) -> list[SwitchEvent]:
        """Every event already queued, without waiting."""
        events: list[SwitchEvent] = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return events

    def close(self) -> None:
        self._subscription.close()
