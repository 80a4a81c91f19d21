"""One RTP endpoint of the media engine: the checks on what arrives, the stream it sends.

Theory of operation
-------------------
An :class:`Endpoint` is one leg's media: a local port (owned by the engine's socket
adapter), a codec (PCMU or PCMA), the payload types it accepts (the audio codec and,
optionally, RFC 4733 telephone-event), the far end's address (a symmetric-RTP latch)
and counters. Nothing here touches a socket or reads a clock: datagrams come in through
:meth:`Endpoint.receive` with ``now`` (or the ``clock`` the adapter injects), and leave
through the ``send`` callable the adapter injects.

*Inbound.* Every datagram gets cheap checks on the raw bytes, in this order, each
failure dropping and counting it: size (``short``, ``oversized``), RTP version,
source address (a stranger after the latch), payload type (one the SDP did not
agree), SSRC (a packet of another SSRC, unless three in a row show a clean change,
as in :class:`~callcenter.media.rtp.RtpReceiver`), and sequence (duplicates, packets
too late to play, a jump of more than ``MAX_DROPOUT`` until the next packet confirms
it). Timestamp jumps and sequence wraps are counted and do not drop. These checks run
per packet on the bytes, without building an :class:`RtpPacket`, because a relayed
call must cost a few microseconds.

*Where accepted audio goes.* If the endpoint has a ``partner`` (a two-party bridge), the
payload is forwarded at once, transcoded by one table lookup when the codecs differ.
If ``tapped`` (recording, detection, conference, AMD), the code bytes are also kept in
a short buffer that the engine's 20 ms tick drains (:meth:`take_frame`).

*Outbound.* Whatever the engine sends to this endpoint's far end goes out as *our*
stream: our SSRC, our sequence numbers, our timestamps (advanced by the samples
sent), so relay, prompts, conference audio and injected RFC 4733 digits can follow
one another without the far end seeing a new source.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from callcenter.media import g711
from callcenter.media.dtmf import DigitReceived, TelephoneEventReceiver
from callcenter.media.errors import RtpParseError, TelephoneEventParseError
from callcenter.media.rtp import (
    MAX_DROPOUT,
    MAX_MISORDER,
    RTP_HEADER_SIZE,
    RTP_SEQ_MOD,
    RTP_VERSION,
    SSRC_CHANGE_PACKETS,
    RtpPacket,
    RtpSender,
    SymmetricRtpLatch,
)

log = logging.getLogger(__name__)

Address = tuple[str, int]
Codec = Literal["PCMU", "PCMA"]
CODEC_PAYLOAD_TYPES: Final[dict[str, int]] = {"PCMU": 0, "PCMA": 8}  # RFC 3551 table 4
SAMPLE_RATE: Final = 8000
FRAME_SAMPLES: Final = 160  # 20 ms at 8 kHz
MAX_DATAGRAM: Final = 1500  # larger than any G.711 packet a phone sends (Ethernet MTU)
BUFFER_LIMIT: Final = 5 * FRAME_SAMPLES  # tapped audio kept for the tick, at most 100 ms
MAX_TIMESTAMP_JUMP: Final = SAMPLE_RATE  # a jump of more than 1 s is counted
SILENCE_CODE: Final[dict[str, int]] = {"PCMU": g711.ULAW_SILENCE, "PCMA": g711.ALAW_SILENCE}
DECODE: Final = {"PCMU": g711.ULAW_DECODE, "PCMA": g711.ALAW_DECODE}
ENCODE: Final = {"PCMU": g711.ULAW_ENCODE, "PCMA": g711.ALAW_ENCODE}
TRANSCODE: Final = {("PCMU", "PCMA"): g711.ULAW_TO_ALAW, ("PCMA", "PCMU"): g711.ALAW_TO_ULAW}

_HEADER = struct.Struct("!BBHII")
_REWRITE = struct.Struct("!BHII")  # M and PT, sequence, timestamp, SSRC: after the first octet
_unpack: Final = _HEADER.unpack_from  # per packet: one attribute lookup saved
_rewrite: Final = _REWRITE.pack_into
_SIMPLE_HEADER: Final = 0x80  # V=2, no padding, no extension, no CSRC


@dataclass(slots=True)
class EndpointStats:
    """Counters of one endpoint; every dropped datagram is counted under one reason."""

    received: int = 0  # accepted packets (audio and events)
    forwarded: int = 0  # relayed to the partner as they arrived
    sent: int = 0  # packets sent to the far end
    short: int = 0
    oversized: int = 0
    bad_version: int = 0
    strangers: int = 0
    bad_payload_type: int = 0
    wrong_ssrc: int = 0
    duplicates: int = 0
    late: int = 0
    sequence_jumps: int = 0
    malformed: int = 0
    # counted, not dropped
    ssrc_changes: int = 0
    sequence_wraps: int = 0
    timestamp_jumps: int = 0
    lost: int = 0  # gaps in the sequence
    jitter: float = 0.0  # RFC 3550 A.8, timestamp units
    no_remote: int = 0  # packets we had nowhere to send

    @property
    def dropped(self) -> int:
        return (
            self.short + self.oversized + self.bad_version + self.strangers
            + self.bad_payload_type + self.wrong_ssrc + self.duplicates + self.late
            + self.sequence_jumps + self.malformed
        )  # fmt: skip

    def as_dict(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            name: getattr(self, name) for name in EndpointStats.__dataclass_fields__
        }
        out["dropped"] = self.dropped
        return out


# The counters the compiled relay keeps while it holds an endpoint's state.
FAST_COUNTERS: Final = (
    "received", "forwarded", "sent", "short", "oversized", "bad_version", "strangers",
    "bad_payload_type", "sequence_wraps", "timestamp_jumps", "no_remote", "lost",
)  # fmt: skip


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _float(value: object) -> float:
    assert isinstance(value, float)
    return value


def codec_payload_type(codec: str) -> int:
    pt = CODEC_PAYLOAD_TYPES.get(codec)
    if pt is None:
        raise ValueError(f"unsupported codec {codec!r}")
    return pt


@dataclass(slots=True, eq=False)
class Endpoint:
    """One leg's RTP; see the module docstring."""

    endpoint_id: str
    local: Address
    send: Callable[[bytes | bytearray, Address], None]
    clock: Callable[[], float] = field(default=lambda: 0.0, repr=False)  # the adapter's
    codec: str = "PCMU"
    event_payload_type: int | None = 101
    inactivity_timeout: float = 0.0  # seconds without packets before rtp_timeout; 0: never
    latch: SymmetricRtpLatch = field(default_factory=SymmetricRtpLatch)
    stats: EndpointStats = field(default_factory=EndpointStats)
    partner: Endpoint | None = None
    tapped: bool = False
    attention: set[Endpoint] = field(default_factory=set)  # the engine's: digits pending
    events: TelephoneEventReceiver = field(default_factory=TelephoneEventReceiver)
    out: RtpSender = field(init=False)
    last_packet: float = 0.0
    timed_out: bool = False
    playing: bool = False  # a prompt replaces what the partner or conference sends
    injecting: bool = False  # RFC 4733 digits we send replace the audio
    # What the relay sends with: ``send`` unless the socket adapter sets its own (the
    # engine sets both to the transport's ``sendto``; the driver counts relayed packets).
    forward: Callable[[bytes | bytearray, Address], object] = field(init=False, repr=False)
    # The compiled relay's (see callcenter.media._fastpath): this endpoint's slot there, and
    # whether the slot holds the state (attached) rather than this object.
    fast_slot: int = field(default=-1, init=False)
    fast_attached: bool = field(default=False, init=False)
    _audio_pt: int = field(default=0, init=False)
    _ssrc: int | None = field(default=None, init=False)
    _max_seq: int = field(default=0, init=False)
    _bad_seq: int = field(default=-1, init=False)
    _transit: float | None = field(default=None, init=False)
    _candidate: int | None = field(default=None, init=False)
    _candidate_seq: int = field(default=0, init=False)
    _candidate_count: int = field(default=0, init=False)
    _buffer: bytearray = field(default_factory=bytearray, init=False)
    _digits: list[DigitReceived] = field(default_factory=list, init=False)
    _event_in_ts: int | None = field(default=None, init=False)
    _event_out_ts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.forward = self.send
        self._audio_pt = codec_payload_type(self.codec)
        self.out = RtpSender.with_random_start(self._audio_pt)

    # --- configuration -------------------------------------------------------------
    def set_codec(self, codec: str, event_payload_type: int | None) -> None:
        self._audio_pt = codec_payload_type(codec)
        self.codec = codec
        self.out.payload_type = self._audio_pt
        self.event_payload_type = event_payload_type

    def set_remote(self, address: Address | None) -> None:
        """The far end's address from its SDP; re-arms the latch (a re-INVITE moved it)."""
        self.latch.unlatch(address)

    @property
    def remote(self) -> Address | None:
        return self.latch.send_to

    # --- inbound -------------------------------------------------------------------
    def receive(self, data: bytes, source: Address, now: float | None = None) -> None:
        """Check one datagram and forward, buffer or report what it carries.

        ``now`` defaults to the injected ``clock``, so the socket adapter can hand
        datagrams straight to this method. The first branch below is the common case,
        written out for speed: a plain header, the locked source, the next sequence
        number.
        """
        if now is None:
            now = self.clock()
        if not RTP_HEADER_SIZE <= len(data) <= MAX_DATAGRAM:
            self._count_malformed(len(data))
            return
        first, second, seq, ts, ssrc = _unpack(data)
        if first >> 6 != RTP_VERSION:
            self.stats.bad_version += 1
            return
        latch = self.latch
        if source != latch.latched:
            if latch.latched is not None:
                self.stats.strangers += 1
                return
            latch.admit(source)
        if second & 0x7F != self._audio_pt:
            self._receive_other(data, second & 0x7F, now)
            return
        stats = self.stats
        transit = self._transit
        if (
            first == _SIMPLE_HEADER
            and ssrc == self._ssrc
            and seq == (self._max_seq + 1) & 0xFFFF
            and transit is not None
            and self._candidate is None
        ):
            if seq == 0:
                stats.sequence_wraps += 1
            self._max_seq = seq
            now_transit = now * SAMPLE_RATE - ts
            d = now_transit - transit
            self._transit = now_transit
            if d > MAX_TIMESTAMP_JUMP or d < -MAX_TIMESTAMP_JUMP:  # or the timestamp wrapped
                d = (d + (1 << 31)) % (1 << 32) - (1 << 31)
            if d < 0:
                d = -d
            if d <= MAX_TIMESTAMP_JUMP:
                stats.jitter += (d - stats.jitter) * 0.0625  # RFC 3550 A.8: J += (|D| - J)/16
            else:
                stats.timestamp_jumps += 1
            payload, offset = data, RTP_HEADER_SIZE
        else:
            sliced = data[RTP_HEADER_SIZE:] if first == _SIMPLE_HEADER else self._payload(data)
            if sliced is None or not self._accept_sequence(data, now):
                return
            payload, offset = sliced, 0
        stats.received += 1
        self.last_packet = now
        if self.tapped:  # first: a relay whose send raises must not lose the recording
            buffer = self._buffer
            buffer += payload[offset:]
            if len(buffer) > BUFFER_LIMIT:
                del buffer[: len(buffer) - BUFFER_LIMIT]
        partner = self.partner
        if partner is not None:
            partner.relay(payload, offset, self.codec, second & 0x80)
            stats.forwarded += 1

    def _count_malformed(self, size: int) -> None:
        if size < RTP_HEADER_SIZE:
            self.stats.short += 1
        else:
            self.stats.oversized += 1

    def _receive_other(self, data: bytes, pt: int, now: float) -> None:
        if pt == self.event_payload_type:
            self._receive_event(data, now)
        else:
            self.stats.bad_payload_type += 1

    def _accept_sequence(self, data: bytes, now: float) -> bool:
        """SSRC lock and RFC 3550 A.1-style sequence checks on the raw header."""
        _, _, seq, ts, ssrc = _HEADER.unpack_from(data)
        stats = self.stats
        fresh = False
        if ssrc != self._ssrc:
            if self._ssrc is not None and not self._clean_ssrc_change(ssrc, seq):
                stats.wrong_ssrc += 1
                return False
            if self._ssrc is not None:
                stats.ssrc_changes += 1
                log.debug("%s: ssrc change to %08x", self.endpoint_id, ssrc)
            self._ssrc = ssrc
            self._max_seq = (seq - 1) % RTP_SEQ_MOD
            self._transit = None
            self._bad_seq = -1
            fresh = True
        else:
            self._candidate = None
        delta = (seq - self._max_seq) % RTP_SEQ_MOD
        if delta == 0:
            stats.duplicates += 1
            return False
        if delta < MAX_DROPOUT:
            if seq < self._max_seq and not fresh:
                stats.sequence_wraps += 1
            stats.lost += delta - 1
            self._max_seq = seq
        elif delta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                self._bad_seq = (seq + 1) % RTP_SEQ_MOD
                stats.sequence_jumps += 1
                return False
            self._max_seq = seq  # RFC 3550 A.1: two in a row after a jump: a restart
            self._bad_seq = -1
        else:
            stats.late += 1  # within MAX_MISORDER behind: too late to play in order
            return False
        # RFC 3550 A.8 interarrival jitter; a jump of more than a second is counted.
        transit = now * SAMPLE_RATE - ts
        if self._transit is not None:
            d = (transit - self._transit + (1 << 31)) % (1 << 32) - (1 << 31)
            if abs(d) > MAX_TIMESTAMP_JUMP:
                stats.timestamp_jumps += 1
            else:
                stats.jitter += (abs(d) - stats.jitter) / 16.0
        self._transit = transit
        return True

    def _clean_ssrc_change(self, ssrc: int, seq: int) -> bool:
        if self._candidate == ssrc and seq == (self._candidate_seq + 1) % RTP_SEQ_MOD:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = ssrc, 1
        self._candidate_seq = seq
        if self._candidate_count < SSRC_CHANGE_PACKETS:
            return False
        self._candidate = None
        return True

    def _payload(self, data: bytes) -> bytes | None:
        try:
            return RtpPacket.parse(data).payload
        except RtpParseError:
            self.stats.malformed += 1
            return None

    def _receive_event(self, data: bytes, now: float) -> None:
        try:
            packet = RtpPacket.parse(data)
            digits = self.events.receive(packet, now)
        except (RtpParseError, TelephoneEventParseError):
            self.stats.malformed += 1
            return
        self.stats.received += 1
        self.last_packet = now
        self._digits.extend(digits)
        self.attention.add(self)
        partner = self.partner
        if partner is not None:
            partner.forward_event(packet)

    def take_digits(self, now: float) -> list[DigitReceived]:
        """RFC 4733 digits received since the last call (and events whose end was lost)."""
        self._digits.extend(self.events.handle_timer(now))
        digits, self._digits = self._digits, []
        return digits

    def take_frame(self) -> bytes | bytearray:
        """One 20 ms frame of the tapped audio (code bytes), padded with silence."""
        buffer = self._buffer
        if len(buffer) >= FRAME_SAMPLES:
            frame = buffer[:FRAME_SAMPLES]  # a copy already: no second one into bytes
            del buffer[:FRAME_SAMPLES]
            return frame
        padded = bytes(buffer) + bytes([SILENCE_CODE[self.codec]]) * (FRAME_SAMPLES - len(buffer))
        buffer.clear()
        return padded

    def clear_tap(self) -> None:
        self._buffer.clear()

    # --- the compiled relay's state ---------------------------------------------------
    def fast_state(self) -> dict[str, object]:
        """Everything the compiled relay needs to do :meth:`receive`'s common case.

        ``ready`` says the fast branch can apply (SSRC locked, transit known, no SSRC
        change under way); the relay hands off every packet until it is.
        """
        latch, out, stats = self.latch, self.out, self.stats
        return {
            "audio_pt": self._audio_pt,
            "event_pt": -1 if self.event_payload_type is None else self.event_payload_type,
            "out_pt": out.payload_type,
            "ready": (
                self._ssrc is not None and self._transit is not None and self._candidate is None
            ),
            "in_ssrc": self._ssrc or 0,
            "max_seq": self._max_seq,
            "transit": self._transit or 0.0,
            "out_ssrc": out.ssrc,
            "out_seq": out.sequence_number,
            "out_ts": out.timestamp,
            "out_packets": out.packet_count,
            "tapped": self.tapped,
            "silence": SILENCE_CODE[self.codec],
            "latched": latch.latched,
            "target": latch.latched or latch.signalled,
            "jitter": stats.jitter,
            "last_packet": self.last_packet,
            "tap": bytes(self._buffer),
            **{name: getattr(stats, name) for name in FAST_COUNTERS},
        }

    def load_fast_state(self, state: dict[str, object]) -> None:
        """Take back what the compiled relay changed (see :meth:`fast_state`)."""
        out, stats = self.out, self.stats
        if self._transit is not None:  # the relay only moves a stream it could lock onto
            self._max_seq = _int(state["max_seq"])
            self._transit = _float(state["transit"])
        out.sequence_number = _int(state["out_seq"])
        out.timestamp = _int(state["out_ts"])
        out.packet_count = _int(state["out_packets"])
        stats.jitter = _float(state["jitter"])
        self.last_packet = _float(state["last_packet"])
        for name in FAST_COUNTERS:
            setattr(stats, name, _int(state[name]))
        tap = state["tap"]
        assert isinstance(tap, bytes)
        self._buffer[:] = tap

    # --- outbound ------------------------------------------------------------------
    def relay(self, data: bytes, offset: int, codec: str, marker: int) -> None:
        """Send a partner's audio (``data[offset:]``) on our stream, transcoded if need be.

        With a plain 12-octet header (``offset`` 12) and the same codec, the datagram is
        copied once and its header rewritten in place.
        """
        if self.playing or self.injecting:
            return
        latch = self.latch
        target = latch.latched or latch.signalled
        out = self.out
        samples = len(data) - offset
        if target is None:
            self.stats.no_remote += 1
            out.timestamp = (out.timestamp + samples) & 0xFFFFFFFF
            return
        sequence_number = out.sequence_number
        timestamp = out.timestamp
        if offset == RTP_HEADER_SIZE and codec == self.codec:
            packet = bytearray(data)
            _rewrite(packet, 1, marker | out.payload_type, sequence_number, timestamp, out.ssrc)
        else:
            payload = data[offset:]
            if codec != self.codec:
                codes = np.frombuffer(payload, np.uint8)
                payload = TRANSCODE[(codec, self.codec)][codes].tobytes()
            header = _HEADER.pack(
                0x80, marker | out.payload_type, sequence_number, timestamp, out.ssrc
            )
            packet = bytearray(header + payload)
        out.sequence_number = (sequence_number + 1) & 0xFFFF
        out.timestamp = (timestamp + samples) & 0xFFFFFFFF
        out.packet_count += 1
        self.forward(packet, target)
        self.stats.sent += 1

    def send_payload(self, payload: bytes, *, marker: bool = False) -> None:
        """Send one audio payload (code bytes) on our stream."""
        target = self.latch.send_to
        out = self.out
        if target is None:
            self.stats.no_remote += 1
            out.skip(len(payload))
            return
        header = _HEADER.pack(
            0x80,
            (0x80 if marker else 0) | out.payload_type,
            out.sequence_number,
            out.timestamp,
            out.ssrc,
        )
        out.sequence_number = (out.sequence_number + 1) % RTP_SEQ_MOD
        out.timestamp = (out.timestamp + len(payload)) & 0xFFFFFFFF
        out.packet_count += 1
        self.send(header + payload, target)
        self.stats.sent += 1

    def send_pcm(self, samples: npt.NDArray[np.int16]) -> None:
        """Encode linear samples in our codec and send them."""
        self.send_payload(ENCODE[self.codec][samples.view(np.uint16)].tobytes())

    def send_packet(self, packet: RtpPacket) -> None:
        """Send a packet built on :attr:`out` (RFC 4733 digits we inject)."""
        target = self.latch.send_to
        if target is None:
            self.stats.no_remote += 1
            return
        self.send(bytes(packet), target)
        self.stats.sent += 1

    def forward_event(self, packet: RtpPacket) -> None:
        """Relay a partner's RFC 4733 packet on our stream (its event start mapped)."""
        pt = self.event_payload_type
        if pt is None:
            return
        if packet.timestamp != self._event_in_ts:
            self._event_in_ts = packet.timestamp
            self._event_out_ts = self.out.timestamp
        self.send_packet(
            self.out.packet(
                packet.payload, timestamp=self._event_out_ts, marker=packet.marker, payload_type=pt
            )
        )

    @property
    def muted(self) -> bool:
        """True while our own prompt or digits replace the audio relayed or mixed to it."""
        return self.playing or self.injecting

    def decode(self, frame: bytes) -> npt.NDArray[np.int16]:
        return DECODE[self.codec][np.frombuffer(frame, np.uint8)]
