"""The media engine's core: endpoints, rooms, prompts, digits and recordings, per tick.

Theory of operation
-------------------
:class:`MediaCore` holds the engine's state and runs every command except the two
that need a socket (creating and deleting an endpoint: the process adapter in
:mod:`callcenter.media.engine` binds the port and hands the :class:`Endpoint` in).
It reads no clock: ``now`` is passed to each command and to :meth:`tick`.

Relayed audio never waits for a tick: an endpoint forwards to its bridge partner as
packets arrive. :meth:`tick`, every 20 ms, does the rest in one batch:

1. takes one frame from every *tapped* endpoint (in a recording, a conference, or
   under detection) and decodes them all with one table lookup per codec;
2. feeds in-band DTMF and answering-machine detectors, mixes conferences and
   sends each member its mix, adds the frames to recordings and flushes the
   recordings whose slot this tick is (see :mod:`callcenter.media.room`);
3. sends one frame of every prompt being played and the due RFC 4733 packets of
   digits being sent;
4. reports RFC 4733 digits (including events whose end packets were all lost) and,
   once a second, endpoints silent for longer than their inactivity timeout.

Events come out through :meth:`take_events`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from callcenter.media.control import (
    AmdDecided,
    DtmfDetected,
    EngineError,
    MediaEvent,
    PlayFinished,
    RecordingFinished,
    RecordingStarted,
    RtpTimedOut,
)
from callcenter.media.dtmf import DtmfDetector, ScheduledEvent, TelephoneEventSender
from callcenter.media.endpoint import DECODE, FRAME_SAMPLES, Endpoint
from callcenter.media.errors import InvalidDigitError
from callcenter.media.room import (
    FLUSH_TICKS,
    AudioSource,
    Bridge,
    ConferenceRoom,
    Recording,
    RecordingGroup,
    RecordingSink,
    parse_role,
)

log = logging.getLogger(__name__)

TICK: Final = 0.020
TIMEOUT_CHECK_TICKS: Final = 50  # inactivity is checked once a second
Pcm = npt.NDArray[np.int16]


class AmdVerdict(Protocol):
    @property
    def result(self) -> str: ...  # human | machine | unsure

    @property
    def reason(self) -> str: ...

    @property
    def elapsed(self) -> float: ...  # seconds of audio after the answer


class AnsweringMachineDetector(Protocol):
    """What the engine needs of an AMD: 20 ms frames in, a verdict once decided."""

    def feed(self, frame: Pcm, now: float) -> AmdVerdict | None: ...


SourceFactory = Callable[[dict[str, Any]], AudioSource]
SinkFactory = Callable[[str, str, bool], RecordingSink]
AmdFactory = Callable[[dict[str, Any]], AnsweringMachineDetector]


@dataclass(slots=True)
class _Play:
    play_id: str
    source: AudioSource


@dataclass(slots=True)
class _DigitsOut:
    start: float
    packets: list[ScheduledEvent]
    next_index: int = 0


@dataclass(slots=True, eq=False)
class MediaCore:
    make_source: SourceFactory
    make_sink: SinkFactory | None = None
    make_amd: AmdFactory | None = None
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    conferences: dict[str, ConferenceRoom] = field(default_factory=dict)
    recordings: dict[str, Recording] = field(default_factory=dict)
    ticks: int = 0
    _attention: set[Endpoint] = field(default_factory=set)
    _tapped: dict[Endpoint, None] = field(default_factory=dict)  # in tap order
    _tap_plan: tuple[list[tuple[str, list[Endpoint]]], dict[str, int]] | None = None
    _groups: list[RecordingGroup] = field(
        default_factory=lambda: [RecordingGroup() for _ in range(FLUSH_TICKS)]
    )
    _plays: dict[str, _Play] = field(default_factory=dict)
    _digits_out: dict[str, _DigitsOut] = field(default_factory=dict)
    _inband: dict[str, DtmfDetector] = field(default_factory=dict)
    _amd: dict[str, AnsweringMachineDetector] = field(default_factory=dict)
    _events: list[MediaEvent] = field(default_factory=list)
    _recordings_made: int = 0
    _ungrouped: dict[str, Recording] = field(default_factory=dict)  # not in a group
    # How the tick takes one frame of each tapped endpoint: the engine's compiled relay
    # holds the taps of the bridges it relays (see ``relayable``).
    take_frames: Callable[[list[Endpoint]], bytes] = field(
        default=lambda endpoints: _own_frames(endpoints)
    )

    # --- endpoints -----------------------------------------------------------------
    def add_endpoint(self, endpoint: Endpoint, now: float) -> None:
        if endpoint.endpoint_id in self.endpoints:
            raise EngineError("already-exists", kind="endpoint", id=endpoint.endpoint_id)
        endpoint.attention = self._attention
        endpoint.last_packet = now
        self.endpoints[endpoint.endpoint_id] = endpoint

    def remove_endpoint(self, endpoint_id: str, now: float) -> Endpoint:
        """Take an endpoint out of every room; recordings of it are finished."""
        endpoint = self._endpoint(endpoint_id)
        for bridge in [b for b in self.bridges.values() if endpoint in b.parties]:
            self._unbridge(bridge.bridge_id, now)
        for room in self.conferences.values():
            room.leave(endpoint_id)
        for conference_id in [c for c, room in self.conferences.items() if not room.members]:
            del self.conferences[conference_id]
        for rec in [r for r in self.recordings.values() if endpoint in r.parties]:
            self._finish_recording(rec, now)
        self._stop_play(endpoint, now)
        self._digits_out.pop(endpoint_id, None)
        self._inband.pop(endpoint_id, None)
        self._amd.pop(endpoint_id, None)
        self._attention.discard(endpoint)
        self._tapped.pop(endpoint, None)
        self._tap_plan = None
        del self.endpoints[endpoint_id]
        return endpoint

    def _endpoint(self, endpoint_id: object) -> Endpoint:
        endpoint = self.endpoints.get(str(endpoint_id))
        if endpoint is None:
            raise EngineError("unknown-endpoint", id=endpoint_id)
        return endpoint

    def _in_room(self, endpoint: Endpoint) -> bool:
        return endpoint.partner is not None or any(
            endpoint.endpoint_id in room.members for room in self.conferences.values()
        )

    def _retap(self, endpoint: Endpoint) -> None:
        eid = endpoint.endpoint_id
        tapped = (
            eid in self._inband
            or eid in self._amd
            or any(eid in room.members for room in self.conferences.values())
            or any(endpoint in rec.parties for rec in self.recordings.values())
        )
        if endpoint.tapped and not tapped:
            endpoint.clear_tap()
        endpoint.tapped = tapped
        self._tap_plan = None
        if tapped:
            self._tapped[endpoint] = None
        else:
            self._tapped.pop(endpoint, None)

    def relayable(self, endpoint: Endpoint) -> bool:
        """True when the endpoint's bridge needs only relaying (and tapping) per packet.

        Both parties bridged to each other in one codec, neither playing, sending digits
        nor under detection: then a compiled relay may do :meth:`Endpoint.receive`'s
        common case for the pair, and hand everything else back.
        """
        partner = endpoint.partner
        if partner is None or partner.partner is not endpoint or partner.codec != endpoint.codec:
            return False
        return not any(
            e.playing or e.injecting or e.endpoint_id in self._inband or e.endpoint_id in self._amd
            for e in (endpoint, partner)
        )

    # --- commands ------------------------------------------------------------------
    def command(self, op: str, args: dict[str, Any], now: float) -> dict[str, Any]:
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            raise EngineError("unknown-op", op=op)
        try:
            result: dict[str, Any] = handler(args, now)
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError("bad-arguments", reason=f"{op}: {exc!r}") from None
        return result

    def _op_set_remote(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        endpoint = self._endpoint(args["endpoint"])
        if "codec" in args:
            endpoint.set_codec(str(args["codec"]), args.get("event_payload_type", 101))
            self._tap_plan = None
        if args.get("host") is not None:
            endpoint.set_remote((str(args["host"]), int(args["port"])))
        if "inactivity_timeout" in args:
            endpoint.inactivity_timeout = float(args["inactivity_timeout"])
            endpoint.timed_out = False
            endpoint.last_packet = now
        return {}

    def _op_bridge(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        bridge_id = str(args["bridge"])
        if bridge_id in self.bridges:
            raise EngineError("already-exists", kind="bridge", id=bridge_id)
        a, b = self._endpoint(args["a"]), self._endpoint(args["b"])
        if a is b:
            raise EngineError("bad-arguments", reason="a bridge needs two endpoints")
        for endpoint in (a, b):
            if self._in_room(endpoint):
                raise EngineError("endpoint-busy", id=endpoint.endpoint_id)
        bridge = Bridge(bridge_id, a, b)
        bridge.connect()
        self.bridges[bridge_id] = bridge
        return {"relay": a.codec == b.codec}

    def _op_unbridge(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        self._unbridge(str(args["bridge"]), now)
        return {}

    def _unbridge(self, bridge_id: str, now: float) -> None:
        bridge = self.bridges.pop(bridge_id, None)
        if bridge is None:
            raise EngineError("unknown-bridge", id=bridge_id)
        bridge.disconnect()
        for rec in [r for r in self.recordings.values() if r.parties == bridge.parties]:
            self._finish_recording(rec, now)

    def _op_join(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        conference_id = str(args["conference"])
        endpoint = self._endpoint(args["endpoint"])
        room = self.conferences.get(conference_id)
        if endpoint.partner is not None or any(
            endpoint.endpoint_id in r.members for r in self.conferences.values() if r is not room
        ):
            raise EngineError("endpoint-busy", id=endpoint.endpoint_id)
        role = parse_role(str(args.get("role", "talk_listen")), args.get("whisper_to"))
        if room is None:
            room = self.conferences[conference_id] = ConferenceRoom(conference_id)
        room.join(endpoint, role)
        self._retap(endpoint)
        return {"parties": len(room.members)}

    def _op_leave(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        conference_id = str(args["conference"])
        room = self.conferences.get(conference_id)
        if room is None:
            raise EngineError("unknown-conference", id=conference_id)
        endpoint = self._endpoint(args["endpoint"])
        room.leave(endpoint.endpoint_id)
        if not room.members:
            del self.conferences[conference_id]
        self._retap(endpoint)
        return {}

    def _op_play(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        endpoint = self._endpoint(args["endpoint"])
        source = self.make_source(args)
        self._stop_play(endpoint, now)
        self._plays[endpoint.endpoint_id] = _Play(str(args.get("play", "")), source)
        endpoint.playing = True
        return {}

    def _op_stop_play(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        return {"stopped": self._stop_play(self._endpoint(args["endpoint"]), now)}

    def _stop_play(self, endpoint: Endpoint, now: float) -> bool:
        play = self._plays.pop(endpoint.endpoint_id, None)
        endpoint.playing = False
        if play is None:
            return False
        self._events.append(PlayFinished(endpoint.endpoint_id, play.play_id, True, now))
        return True

    def _op_record(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        recording_id = str(args["recording"])
        if recording_id in self.recordings:
            raise EngineError("already-exists", kind="recording", id=recording_id)
        if self.make_sink is None:
            raise EngineError("not-supported", what="recording")
        target = str(args["target"])
        parties: tuple[Endpoint, ...]
        if target in self.bridges:
            parties = self.bridges[target].parties
        elif target in self.conferences:
            parties = tuple(self.conferences[target].members.values())
        else:
            parties = (self._endpoint(target),)
        path = str(args["path"])
        stereo = bool(args.get("stereo", True))
        sink = self.make_sink(path, str(args.get("format", "pcm16")), stereo)
        rec = Recording(
            recording_id, path, sink, parties, stereo, self._recordings_made % FLUSH_TICKS, now
        )
        self._recordings_made += 1
        self.recordings[recording_id] = rec
        if RecordingGroup.takes(rec):
            self._groups[rec.slot].add(rec)
        else:
            self._ungrouped[recording_id] = rec
        for endpoint in parties:
            self._retap(endpoint)
        self._events.append(RecordingStarted(recording_id, path, rec.party_ids, now))
        return {"parties": list(rec.party_ids)}

    def _op_stop_record(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        recording_id = str(args["recording"])
        rec = self.recordings.get(recording_id)
        if rec is None:
            raise EngineError("unknown-recording", id=recording_id)
        self._finish_recording(rec, now)
        return {"seconds": rec.seconds}

    def _finish_recording(self, rec: Recording, now: float) -> None:
        self.recordings.pop(rec.recording_id, None)
        if self._ungrouped.pop(rec.recording_id, None) is None:
            self._groups[rec.slot].remove(rec)  # its frames so far first
        size = 0
        try:
            rec.close()
            size = file_size(rec.path)
        except OSError as exc:
            log.warning("recording %s: %s", rec.recording_id, exc)
        for endpoint in rec.parties:
            self._retap(endpoint)
        self._events.append(
            RecordingFinished(rec.recording_id, rec.path, rec.seconds, size, rec.party_ids, now)
        )

    def _op_send_dtmf(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        endpoint = self._endpoint(args["endpoint"])
        if endpoint.event_payload_type is None:
            raise EngineError("not-supported", what="telephone-event")
        sender = TelephoneEventSender(
            digit_duration=float(args.get("duration", 0.1)), gap=float(args.get("gap", 0.1))
        )
        try:
            packets = sender.schedule(str(args["digits"]), endpoint.out.timestamp)
        except InvalidDigitError as exc:
            raise EngineError("bad-arguments", reason=str(exc)) from None
        self._digits_out[endpoint.endpoint_id] = _DigitsOut(now, packets)
        endpoint.injecting = True
        return {"packets": len(packets)}

    def _op_start_detection(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        endpoint = self._endpoint(args["endpoint"])
        kind = str(args["kind"])
        if kind == "dtmf_inband":
            self._inband[endpoint.endpoint_id] = DtmfDetector()
        elif kind == "amd":
            if self.make_amd is None:
                raise EngineError("not-supported", what="amd")
            self._amd[endpoint.endpoint_id] = self.make_amd(dict(args.get("params", {})))
        else:
            raise EngineError("bad-arguments", reason=f"unknown detection {kind!r}")
        self._retap(endpoint)
        return {}

    def _op_stop_detection(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        endpoint = self._endpoint(args["endpoint"])
        kind = str(args["kind"])
        (self._inband if kind == "dtmf_inband" else self._amd).pop(endpoint.endpoint_id, None)
        self._retap(endpoint)
        return {}

    def _op_stats(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        if args.get("endpoint") is not None:
            endpoint = self._endpoint(args["endpoint"])
            remote = endpoint.remote
            return {
                **endpoint.stats.as_dict(),
                "codec": endpoint.codec,
                "local_port": endpoint.local[1],
                "remote": list(remote) if remote else None,
            }
        totals: dict[str, int] = {}
        for endpoint in self.endpoints.values():
            for name, value in endpoint.stats.as_dict().items():
                if isinstance(value, int):
                    totals[name] = totals.get(name, 0) + value
        return {
            "endpoints": len(self.endpoints),
            "bridges": len(self.bridges),
            "conferences": len(self.conferences),
            "recordings": len(self.recordings),
            "ticks": self.ticks,
            "totals": totals,
        }

    def _op_ping(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        return {"now": now}

    # --- the tick ------------------------------------------------------------------
    def tick(self, now: float) -> None:
        self.ticks += 1
        frames = self._decode_tapped()
        for endpoint_id, detector in self._inband.items():
            for digit in detector.feed(frames[endpoint_id]):
                self._events.append(DtmfDetected(endpoint_id, digit.digit, "inband", now))
        for endpoint_id, amd in list(self._amd.items()):
            verdict = amd.feed(frames[endpoint_id], now)
            if verdict is not None:
                del self._amd[endpoint_id]
                self._retap(self.endpoints[endpoint_id])
                self._events.append(
                    AmdDecided(endpoint_id, verdict.result, verdict.reason, verdict.elapsed, now)
                )
        for room in self.conferences.values():
            room.mix({eid: frames[eid] for eid in room.members})
        slot = self.ticks % FLUSH_TICKS
        for group in self._groups:
            group.add_tick(frames.block, frames.rows)
        self._groups[slot].flush()
        for rec in self._ungrouped.values():
            rec.add_tick(frames)
            if rec.slot == slot:
                rec.flush()
        self._play(now)
        self._send_digits(now)
        for endpoint in list(self._attention):
            for digit in endpoint.take_digits(now):
                self._events.append(DtmfDetected(endpoint.endpoint_id, digit.digit, "rfc4733", now))
            if endpoint.events.get_timer() is None:
                self._attention.discard(endpoint)
        if self.ticks % TIMEOUT_CHECK_TICKS == 0:
            self._check_inactivity(now)

    def _decode_tapped(self) -> TickFrames:
        """One frame of every tapped endpoint, decoded in one lookup per codec.

        Only the tapped endpoints are visited (relayed calls cost the tick nothing), the
        grouping by codec is kept until the taps change, and the frames stay rows of
        one block (:class:`TickFrames`).
        """
        plan = self._tap_plan
        if plan is None:
            plan = self._tap_plan = self._plan_taps()
            for group in self._groups:
                group.reindex()
        by_codec, rows = plan
        blocks = [
            DECODE[codec].take(np.frombuffer(self.take_frames(endpoints), np.uint8))
            for codec, endpoints in by_codec
        ]
        if len(blocks) == 1:
            block = blocks[0].reshape(-1, FRAME_SAMPLES)
        elif blocks:
            block = np.concatenate(blocks).reshape(-1, FRAME_SAMPLES)
        else:
            block = np.zeros((0, FRAME_SAMPLES), np.int16)
        return TickFrames(block, rows)

    def _plan_taps(self) -> tuple[list[tuple[str, list[Endpoint]]], dict[str, int]]:
        """The tapped endpoints by codec, in tap order, and each one's row in the block."""
        by_codec: dict[str, list[Endpoint]] = {}
        for endpoint in self._tapped:
            by_codec.setdefault(endpoint.codec, []).append(endpoint)
        order = [e.endpoint_id for group in by_codec.values() for e in group]
        return list(by_codec.items()), {eid: row for row, eid in enumerate(order)}

    def _play(self, now: float) -> None:
        for endpoint_id, play in list(self._plays.items()):
            endpoint = self.endpoints[endpoint_id]
            samples = play.source.read(FRAME_SAMPLES)
            if len(samples):
                if len(samples) < FRAME_SAMPLES:
                    samples = np.pad(samples, (0, FRAME_SAMPLES - len(samples)))
                if not endpoint.injecting:
                    endpoint.send_pcm(np.ascontiguousarray(samples, dtype=np.int16))
            if play.source.finished:
                del self._plays[endpoint_id]
                endpoint.playing = False
                self._events.append(PlayFinished(endpoint_id, play.play_id, False, now))

    def _send_digits(self, now: float) -> None:
        for endpoint_id, out in list(self._digits_out.items()):
            endpoint = self.endpoints[endpoint_id]
            elapsed = now - out.start + TICK / 2
            packets = out.packets
            while out.next_index < len(packets) and packets[out.next_index].offset <= elapsed:
                scheduled = packets[out.next_index]
                packet = endpoint.out.packet(
                    bytes(scheduled.event),
                    timestamp=scheduled.timestamp,
                    marker=scheduled.marker,
                    payload_type=endpoint.event_payload_type,
                )
                endpoint.send_packet(packet)
                out.next_index += 1
            endpoint.out.skip(FRAME_SAMPLES)
            if out.next_index >= len(packets):
                del self._digits_out[endpoint_id]
                endpoint.injecting = False

    def _check_inactivity(self, now: float) -> None:
        for endpoint in self.endpoints.values():
            timeout = endpoint.inactivity_timeout
            if timeout <= 0:
                continue
            silent = now - endpoint.last_packet
            if silent < timeout:
                endpoint.timed_out = False  # media again: the next silence is reported too
            elif not endpoint.timed_out:
                endpoint.timed_out = True
                log.info("endpoint %s: no RTP for %.1f s", endpoint.endpoint_id, silent)
                self._events.append(RtpTimedOut(endpoint.endpoint_id, round(silent, 3), now))

    def take_events(self) -> list[MediaEvent]:
        events, self._events = self._events, []
        return events

    def close(self, now: float) -> None:
        """Finish every recording (the process is stopping)."""
        for rec in list(self.recordings.values()):
            self._finish_recording(rec, now)


class TickFrames(Mapping[str, Pcm]):
    """The tick's decoded frames by endpoint id: rows of one block, made when asked."""

    __slots__ = ("block", "rows")

    def __init__(self, block: Pcm, rows: dict[str, int]) -> None:
        self.block = block
        self.rows = rows

    def __getitem__(self, endpoint_id: str) -> Pcm:
        row: Pcm = self.block[self.rows[endpoint_id]]
        return row

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _own_frames(endpoints: list[Endpoint]) -> bytes:
    return b"".join([e.take_frame() for e in endpoints])


def file_size(path: str) -> int:
    return os.stat(path).st_size
