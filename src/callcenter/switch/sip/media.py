"""The SIP switch's media commands on the media engine: prompts, digits, recordings,
conferences, music on hold and answering-machine detection.

Theory of operation
-------------------
:class:`SwitchMedia` is the part of :class:`~callcenter.switch.sip.b2bua.SipSwitch`
that talks to a :class:`~callcenter.media.port.MediaPort`. Every leg's endpoint is
named by the leg's id (:mod:`engine_port`), bridges and conferences by the core's ids,
recordings by the core's recording ids; so the engine's events name the core's things
and are translated one for one (:meth:`SwitchMedia.on_engine_event`).

Prompts are named as :mod:`media_names` says (``say:TEXT`` is spoken by espeak-ng
here, once, and cached). The core's ``play`` gets a fresh engine play id each time,
so the engine's PlayFinished for an older play (or for music on hold) is not the
core's.

Digits: the engine reports each DTMF digit (RFC 4733, or in-band when asked). With a
``collect`` running they gather until ``max_digits``, the terminator or the timeout
(a timer here) and go up as one DigitsReceived; without one each digit goes up alone.
A digit in a play's ``barge_in_digits`` stops the play.

Hold: the held leg's endpoint plays the music on hold, looping, while the re-INVITE
tells the far end we send only; resume stops it. Recording files go to the
recordings directory as ``<recording>.wav``; in a bridge the first leg the core named
(the customer) is the left channel and the second (the agent) the right.

Answering-machine detection: ``originate(amd=True)`` starts the engine's detector when
the far end answers, and LegAnswered waits for its verdict (``amd`` set), or for
``amd_timeout`` seconds (then ``unsure``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from callcenter.media import control
from callcenter.media.control import EngineError
from callcenter.media.port import MediaPort, RecordingFormat
from callcenter.media.prompts import SpeechError, SpeechPrompts
from callcenter.switch.ports import (
    AmdResult,
    ConferenceId,
    ConflictingCommand,
    DigitsReceived,
    InvalidArgument,
    LegId,
    LegJoinedConference,
    LegLeftConference,
    PlayFinished,
    RecordingFinished,
    RecordingId,
    RecordingStarted,
    Role,
    SwitchEvent,
    UnknownRecording,
)
from callcenter.switch.sip.engine_port import MediaFailed
from callcenter.switch.sip.media_names import MediaOptions, engine_role, play_source

__all__ = ["MediaOptions", "SwitchMedia", "engine_role", "play_source"]

log = logging.getLogger(__name__)

DTMF_DIGITS: Final = frozenset("0123456789*#ABCD")
HOLD_PLAY: Final = "hold"
RECORDING_FORMATS: Final[Mapping[str, RecordingFormat]] = {
    "wav": "pcm16",
    "pcm16": "pcm16",
    "alaw": "alaw",
    "ulaw": "ulaw",
    "gsm": "gsm",
}
AMD_RESULTS: Final[frozenset[str]] = frozenset({"human", "machine", "unsure"})


@dataclass
class _Play:
    prompt: str
    loop: bool
    barge_in: str
    play_id: str


@dataclass
class _Collect:
    max_digits: int
    timeout: float
    terminator: str
    digits: str = ""
    timer: asyncio.TimerHandle | None = None

    @property
    def args(self) -> tuple[int, float, str]:
        return (self.max_digits, self.timeout, self.terminator)


@dataclass
class _Recording:
    id: RecordingId
    target: str
    stereo: bool
    fmt: str
    path: str
    finished: bool = False


class SwitchMedia:
    """Media state of the switch's legs; ``emit`` sends the core its events and
    ``amd_decided`` answers a leg that waited for its verdict."""

    def __init__(
        self,
        media: MediaPort,
        options: MediaOptions,
        *,
        emit: Callable[[SwitchEvent], None],
        now: Callable[[], float],
        amd_decided: Callable[[LegId, AmdResult], None],
        timed_out: Callable[[LegId], None],
    ) -> None:
        self.port = media
        self.options = options
        self._emit = emit
        self._now = now
        self._amd_decided = amd_decided
        self._timed_out = timed_out
        self._plays: dict[LegId, _Play] = {}
        self._collects: dict[LegId, _Collect] = {}
        self._recordings: dict[RecordingId, _Recording] = {}
        self._members: dict[LegId, tuple[ConferenceId, Role]] = {}
        self._amd_timers: dict[LegId, asyncio.TimerHandle] = {}
        self._held: set[LegId] = set()
        self._play_seq = 0
        self._speech = SpeechPrompts(options.prompts_dir or options.recordings_dir / "prompts")
        self._pump: asyncio.Task[None] | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        self._pump = asyncio.get_running_loop().create_task(self._read_events())

    async def aclose(self) -> None:
        for handle in self._amd_timers.values():
            handle.cancel()
        for collect in self._collects.values():
            if collect.timer is not None:
                collect.timer.cancel()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def _read_events(self) -> None:
        async for event in self.port.events():
            try:
                self.on_engine_event(event)
            except Exception:
                log.exception("engine event %s not handled", event)

    # -- plays ------------------------------------------------------------------------

    async def play(self, leg: LegId, prompt: str, *, loop: bool, barge_in_digits: str) -> None:
        current = self._plays.get(leg)
        if current is not None:
            if (current.prompt, current.loop, current.barge_in) == (prompt, loop, barge_in_digits):
                return
            raise ConflictingCommand(f"leg {leg} is playing {current.prompt}")
        source = await self._source(prompt)
        self._play_seq += 1
        play = _Play(prompt, loop, barge_in_digits, f"{leg}#{self._play_seq}")
        self._plays[leg] = play
        try:
            await self.port.play(leg, play.play_id, **source, loop=loop)
        except EngineError as exc:
            self._plays.pop(leg, None)
            raise MediaFailed(f"cannot play {prompt}: {exc}") from exc

    async def _source(self, prompt: str) -> dict[str, Any]:
        if prompt.startswith("say:"):
            text = prompt.removeprefix("say:")
            try:
                path = await self._speech.synthesize(text, self.options.voice)
            except SpeechError as exc:
                raise InvalidArgument(f"cannot speak {text!r}: {exc}") from exc
            return {"prompt": str(path)}
        source = play_source(prompt, self.options)
        if source is None:
            raise InvalidArgument(f"no prompt {prompt!r}")
        return source

    async def stop_play(self, leg: LegId) -> None:
        """Stop the core's play on the leg: PlayFinished(interrupted) at once, as the
        command returns (the engine's own report of it is then not the core's)."""
        if self.interrupt(leg):
            with contextlib.suppress(EngineError):
                await self.port.stop_play(leg)

    def interrupt(self, leg: LegId) -> bool:
        """Forget the core's play on the leg, telling the core it was interrupted."""
        play = self._plays.pop(leg, None)
        if play is None:
            return False
        self._emit(PlayFinished(self._now(), leg, play.prompt, True))
        return True

    async def hold(self, leg: LegId) -> None:
        """Music on hold to the held leg (it replaces a prompt of the core's)."""
        self.interrupt(leg)
        self._held.add(leg)
        source = play_source("moh", self.options)
        assert source is not None
        try:
            await self.port.play(leg, HOLD_PLAY, **source, loop=True)
        except EngineError as exc:
            raise MediaFailed(f"no music on hold for {leg}: {exc}") from exc

    async def resume(self, leg: LegId) -> None:
        if leg in self._held:
            self._held.discard(leg)
            with contextlib.suppress(EngineError):
                await self.port.stop_play(leg)

    # -- digits -----------------------------------------------------------------------

    async def collect(self, leg: LegId, max_digits: int, timeout: float, terminator: str) -> None:
        if max_digits < 1 or timeout <= 0 or (terminator and terminator not in DTMF_DIGITS):
            raise InvalidArgument("collect needs max_digits >= 1, a timeout and a DTMF terminator")
        current = self._collects.get(leg)
        if current is not None:
            if current.args == (max_digits, timeout, terminator):
                return
            raise ConflictingCommand(f"leg {leg} is collecting digits")
        collect = _Collect(max_digits, timeout, terminator)
        loop = asyncio.get_running_loop()
        collect.timer = loop.call_later(timeout, self._collect_done, leg, True)
        self._collects[leg] = collect

    async def send_dtmf(self, leg: LegId, digits: str) -> None:
        if not digits or not set(digits.upper()) <= DTMF_DIGITS:
            raise InvalidArgument(f"not DTMF digits: {digits!r}")
        try:
            await self.port.send_dtmf(leg, digits.upper())
        except EngineError as exc:
            raise MediaFailed(f"cannot send {digits} to {leg}: {exc}") from exc

    def _digit(self, leg: LegId, digit: str) -> None:
        play = self._plays.get(leg)
        if play is not None and digit in play.barge_in:
            self.interrupt(leg)
            asyncio.get_running_loop().create_task(self._stop_quietly(leg))
        collect = self._collects.get(leg)
        if collect is None:
            self._emit(DigitsReceived(self._now(), leg, digit))
            return
        if collect.terminator and digit == collect.terminator:
            self._collect_done(leg, False)
            return
        collect.digits += digit
        if len(collect.digits) >= collect.max_digits:
            self._collect_done(leg, False)

    def _collect_done(self, leg: LegId, timed_out: bool) -> None:
        collect = self._collects.pop(leg, None)
        if collect is None:
            return
        if collect.timer is not None:
            collect.timer.cancel()
        self._emit(DigitsReceived(self._now(), leg, collect.digits, timed_out))

    async def _stop_quietly(self, leg: LegId) -> None:
        with contextlib.suppress(EngineError):
            await self.port.stop_play(leg)

    # -- recordings -------------------------------------------------------------------

    async def record(self, recording: RecordingId, target: str, stereo: bool, fmt: str) -> None:
        existing = self._recordings.get(recording)
        if existing is not None:
            if (existing.target, existing.stereo, existing.fmt) != (target, stereo, fmt):
                raise ConflictingCommand(f"recording {recording} exists for {existing.target}")
            return
        engine_format = RECORDING_FORMATS.get(fmt)
        if engine_format is None:
            raise InvalidArgument(f"no recording format {fmt!r}")
        if fmt == "wav":
            engine_format = self.options.recording_format
        if "/" in recording or recording.startswith("."):
            raise InvalidArgument(f"bad recording id {recording!r}")
        self.options.recordings_dir.mkdir(parents=True, exist_ok=True)
        path = str(self.options.recordings_dir / f"{recording}.wav")
        self._recordings[recording] = _Recording(recording, target, stereo, fmt, path)
        try:
            await self.port.record(recording, target, path, fmt=engine_format, stereo=stereo)
        except EngineError as exc:
            del self._recordings[recording]
            raise MediaFailed(f"cannot record {target}: {exc}") from exc

    def has_recording(self, recording: RecordingId) -> bool:
        return recording in self._recordings

    async def stop_record(self, recording: RecordingId) -> None:
        record = self._recordings.get(recording)
        if record is None:
            raise UnknownRecording(f"no recording {recording}")
        if record.finished:
            return
        record.finished = True
        with contextlib.suppress(EngineError):  # it ended with its call already
            await self.port.stop_record(recording)

    # -- conferences ------------------------------------------------------------------

    def conference_of(self, leg: LegId) -> ConferenceId | None:
        member = self._members.get(leg)
        return member[0] if member is not None else None

    async def join(self, conference: ConferenceId, leg: LegId, role: Role) -> None:
        member = self._members.get(leg)
        if member is not None and member == (conference, role):
            return
        name, whisper_to = engine_role(role)
        try:
            await self.port.join(conference, leg, name, whisper_to)
        except EngineError as exc:
            raise MediaFailed(f"cannot join {leg} to {conference}: {exc}") from exc
        self._members[leg] = (conference, role)
        self._emit(LegJoinedConference(self._now(), leg, conference, role))

    async def leave(self, conference: ConferenceId, leg: LegId) -> None:
        member = self._members.get(leg)
        if member is None or member[0] != conference:
            return
        del self._members[leg]
        with contextlib.suppress(EngineError):
            await self.port.leave(conference, leg)
        self._emit(LegLeftConference(self._now(), leg, conference))

    # -- answering-machine detection ----------------------------------------------------

    def start_amd(self, leg: LegId, start: Callable[[], None]) -> None:
        """Run the detector on the answered leg (``start`` queues the command)."""
        loop = asyncio.get_running_loop()
        timeout = self.options.amd_timeout
        self._amd_timers[leg] = loop.call_later(timeout, self._amd_result, leg, "unsure")
        start()

    def _amd_result(self, leg: LegId, result: AmdResult) -> None:
        handle = self._amd_timers.pop(leg, None)
        if handle is None:
            return
        handle.cancel()
        self._amd_decided(leg, result)

    # -- the engine's events ----------------------------------------------------------

    def on_engine_event(self, event: control.MediaEvent) -> None:
        now = self._now()
        if isinstance(event, control.DtmfDetected):
            self._digit(LegId(event.endpoint), event.digit)
        elif isinstance(event, control.PlayFinished):
            leg = LegId(event.endpoint)
            play = self._plays.get(leg)
            if play is not None and play.play_id == event.play:
                del self._plays[leg]
                self._emit(PlayFinished(now, leg, play.prompt, event.stopped))
        elif isinstance(event, control.RecordingStarted):
            record = self._recordings.get(RecordingId(event.recording))
            if record is not None:
                self._emit(RecordingStarted(now, record.id, record.target, event.path))
        elif isinstance(event, control.RecordingFinished):
            record = self._recordings.get(RecordingId(event.recording))
            if record is not None:
                record.finished = True
                self._emit(
                    RecordingFinished(now, record.id, event.path, event.seconds, event.bytes)
                )
        elif isinstance(event, control.RtpTimedOut):
            self._timed_out(LegId(event.endpoint))
        elif isinstance(event, control.AmdDecided):
            result = event.result if event.result in AMD_RESULTS else "unsure"
            self._amd_result(LegId(event.endpoint), result)  # type: ignore[arg-type]

    def leg_ended(self, leg: LegId) -> None:
        """Forget the leg's plays, digits and membership (the engine dropped them with
        the endpoint); a play in progress ends interrupted for the core."""
        play = self._plays.pop(leg, None)
        if play is not None:
            self._emit(PlayFinished(self._now(), leg, play.prompt, True))
        collect = self._collects.pop(leg, None)
        if collect is not None and collect.timer is not None:
            collect.timer.cancel()
        member = self._members.pop(leg, None)
        if member is not None:
            self._emit(LegLeftConference(self._now(), leg, member[0]))
        self._held.discard(leg)
        handle = self._amd_timers.pop(leg, None)
        if handle is not None:
            handle.cancel()
