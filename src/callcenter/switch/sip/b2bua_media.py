"""The SIP switch's media commands: hold, prompts, digits, recordings, conferences.

Theory of operation
-------------------
:class:`MediaCommands` is the part of :class:`~callcenter.switch.sip.b2bua.SipSwitch`
that talks to the media. Without a media engine each leg's port is a relay port
(:mod:`relay`): ``hold`` and ``resume`` still re-INVITE the far end and stop (start)
relaying, and the commands that need the engine (play, collect, DTMF, recording,
conferences) check the leg like every command, then raise :class:`NotSupported`. With
an engine each leg's port is its endpoint (:mod:`engine_port`), a bridge is the
engine's bridge, a held leg hears music on hold, and the commands go to
:class:`~callcenter.switch.sip.media.SwitchMedia` once the leg's earlier engine
commands have settled (an endpoint's commands run in order).

The class is a mixin over the switch's own state, named by the :class:`_Switch`
protocol (the legs, the bridges, the signalling, the event sink).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from callcenter.media.control import EngineError
from callcenter.switch.ports import (
    AmdResult,
    BridgeId,
    ConferenceId,
    HangupCause,
    LegAnswered,
    LegId,
    LegInUse,
    RecordingId,
    Role,
    SwitchError,
    SwitchEvent,
    UnknownRecording,
)
from callcenter.switch.sip.engine_port import EngineRtpPort, MediaFailed
from callcenter.switch.sip.legs import LegState, SipLeg
from callcenter.switch.sip.media import SwitchMedia
from callcenter.switch.sip.relay import RtpPort, connect
from callcenter.switch.sip.signalling import Signalling

__all__ = ["Bridge", "MediaCommands", "NotSupported"]

log = logging.getLogger(__name__)


class NotSupported(SwitchError):
    """The command needs a part of the switch not built yet (the media engine)."""

    code = "not-supported"


@dataclass
class Bridge:
    id: BridgeId
    legs: tuple[LegId, LegId]
    active: bool = True


class _Switch(Protocol):
    """What the media commands use of the switch."""

    media: SwitchMedia | None
    rtp_timeout: float | None
    sip: Signalling
    _legs: dict[LegId, SipLeg]
    _bridges: dict[BridgeId, Bridge]

    def now(self) -> float: ...
    def _emit(self, event: SwitchEvent) -> None: ...
    def _leg(self, leg: LegId) -> SipLeg: ...
    def _answered(self, leg: LegId) -> SipLeg: ...
    def _end_here(self, record: SipLeg, cause: HangupCause) -> None: ...


def _need_media(media: SwitchMedia | None, what: str) -> SwitchMedia:
    if media is None:
        raise NotSupported(f"{what} needs the media engine")
    return media


async def _settled(record: SipLeg) -> None:
    """Wait for the leg's earlier engine commands (a relay port has none)."""
    if isinstance(record.rtp, EngineRtpPort):
        await record.rtp.settled()


class MediaCommands:
    """The switch's media commands (mixed into :class:`SipSwitch`)."""

    async def hold(self: _Switch, leg: LegId, music: str = "default") -> None:
        """Stop relaying to the leg and re-INVITE it ``inactive``; LegHeld on the 2xx."""
        record = self._answered(leg)
        if record.want_hold:
            return
        record.want_hold, record.music = True, music
        record.rtp.sending = False
        self.sip.midcall.sync(record)
        if self.media is not None:
            await self.media.hold(leg)

    async def resume(self: _Switch, leg: LegId) -> None:
        """Re-INVITE the leg ``sendrecv``; LegResumed on the 2xx."""
        record = self._answered(leg)
        if not record.want_hold:
            return
        record.want_hold = False
        record.rtp.sending = record.remote_sends
        self.sip.midcall.sync(record)
        if self.media is not None:
            await self.media.resume(leg)

    async def play(
        self: _Switch, leg: LegId, prompt: str, *, loop: bool = False, barge_in_digits: str = ""
    ) -> None:
        record = self._answered(leg)
        media = _need_media(self.media, "play")
        await _settled(record)
        await media.play(leg, prompt, loop=loop, barge_in_digits=barge_in_digits)

    async def stop_play(self: _Switch, leg: LegId) -> None:
        record = self._leg(leg)
        if self.media is not None and record.state is LegState.ANSWERED:
            await self.media.stop_play(leg)

    async def collect(
        self: _Switch, leg: LegId, *, max_digits: int, timeout: float, terminator: str = "#"
    ) -> None:
        self._answered(leg)
        media = _need_media(self.media, "collect")
        await media.collect(leg, max_digits, timeout, terminator)

    async def send_dtmf(self: _Switch, leg: LegId, digits: str) -> None:
        record = self._answered(leg)
        media = _need_media(self.media, "send_dtmf")
        await _settled(record)
        await media.send_dtmf(leg, digits)

    async def record(
        self: _Switch,
        recording: RecordingId,
        target: LegId | BridgeId,
        *,
        stereo: bool = True,
        fmt: str = "wav",
    ) -> None:
        """Record a leg, or a bridge in stereo (its first leg left, second right)."""
        media = _need_media(self.media, "record")
        bridge = self._bridges.get(BridgeId(target))
        if bridge is not None and bridge.active:
            for leg in bridge.legs:
                await _settled(self._legs[leg])
        elif bridge is None and not media.has_recording(recording):
            await _settled(self._answered(LegId(target)))
        await media.record(recording, target, stereo, fmt)

    async def stop_record(self: _Switch, recording: RecordingId) -> None:
        if self.media is None:
            raise UnknownRecording(f"no recording {recording}")
        await self.media.stop_record(recording)

    async def join(self: _Switch, conference: ConferenceId, leg: LegId, role: Role) -> None:
        record = self._answered(leg)
        media = _need_media(self.media, "conferences")
        if record.bridge is not None:
            raise LegInUse(f"leg {leg} is in {record.bridge}")
        await _settled(record)
        await media.join(conference, leg, role)

    async def leave(self: _Switch, conference: ConferenceId, leg: LegId) -> None:
        self._leg(leg)
        if self.media is not None:
            await self.media.leave(conference, leg)

    # -- the ports, bridges and reports of the engine ---------------------------------

    def _new_port(self: _Switch, leg: LegId) -> RtpPort:
        if self.media is None:
            return RtpPort()
        return EngineRtpPort(self.media.port, leg, inactivity_timeout=self.rtp_timeout or 0.0)

    async def _connect(self: _Switch, first: SipLeg, second: SipLeg, bridge: BridgeId) -> None:
        if self.media is None:
            connect(first.rtp, second.rtp)
            return
        for record in (first, second):  # a prompt would drown the partner
            if self.media.interrupt(record.id) and isinstance(record.rtp, EngineRtpPort):
                record.rtp.later(partial(self.media.port.stop_play, record.id))
        await _settled(first)
        await _settled(second)
        try:
            await self.media.port.bridge(bridge, first.id, second.id)
        except EngineError as exc:
            del self._bridges[bridge]
            raise MediaFailed(
                f"the engine cannot bridge {first.id} and {second.id}: {exc}"
            ) from exc

    def _handoff_media(self: _Switch, caller: SipLeg, far: SipLeg) -> None:
        """A blind transfer's far side answered: the caller talks with it."""
        if self.media is None or not isinstance(caller.rtp, EngineRtpPort):
            connect(caller.rtp, far.rtp)
            return
        bridge = BridgeId(f"{caller.id}>handoff")
        caller.handoff_bridge = bridge
        port, media = caller.rtp, self.media.port
        port.later(lambda: media.bridge(bridge, caller.id, far.id))

    def _engine_unbridge(self: _Switch, record: SipLeg, bridge: BridgeId) -> None:
        if self.media is not None and isinstance(record.rtp, EngineRtpPort):
            media = self.media.port
            record.rtp.later(lambda: media.unbridge(bridge))

    def _amd_decided(self: _Switch, leg: LegId, result: AmdResult) -> None:
        record = self._legs.get(leg)
        if record is not None and record.state is LegState.ANSWERED:
            log.info("leg %s: answering-machine detection says %s", leg, result)
            self._emit(LegAnswered(self.now(), leg, result))

    def _rtp_timed_out(self: _Switch, leg: LegId) -> None:
        """The engine heard nothing from the leg's far end for ``rtp_timeout``."""
        record = self._legs.get(leg)
        if record is None or record.state is not LegState.ANSWERED:
            return
        if record.held or not record.remote_sends:
            return  # silence on hold is expected
        log.warning("leg %s: no RTP for %.1f s, hanging up", leg, self.rtp_timeout or 0.0)
        self._end_here(record, HangupCause.FAILED)
