"""RTP packets (RFC 3550 section 5) and the per-stream state around them.

Theory of operation
-------------------
* :class:`RtpPacket` is the wire type: ``RtpPacket.parse(data)`` and ``bytes(packet)``.
* :class:`RtpReceiver` is fed every parsed packet of one stream together with its
  arrival time ``now`` (seconds, any monotonic origin). It locks onto the first SSRC,
  keeps the RFC 3550 Appendix A.1 sequence state (extended highest sequence number,
  probation, resync after a large jump), the A.8 interarrival jitter, loss and
  reordering counters, and it says whether the packet should be played
  (``receive()`` returns ``True``) or dropped.
* A packet from another SSRC is dropped and counted, unless the other SSRC makes a
  *clean change*: ``SSRC_CHANGE_PACKETS`` consecutive, in-sequence packets with no
  packet of the locked SSRC in between (what a peer does after a re-INVITE or a
  transfer). Then the receiver re-locks onto it and restarts its statistics.
* :class:`RtpSender` stamps sequence number, timestamp and SSRC on outgoing payloads.
* :class:`SymmetricRtpLatch` implements symmetric RTP (RFC 4961): send to the address
  that the first valid packet came from, drop packets from anyone else.

Nothing here reads a clock or touches a socket.
"""

from __future__ import annotations

import logging
import secrets
import struct
from dataclasses import dataclass, field
from typing import Final

from callcenter.media.errors import RtpParseError

log = logging.getLogger(__name__)

RTP_VERSION: Final = 2  # RFC 3550 5.1: V
RTP_HEADER_SIZE: Final = 12  # RFC 3550 5.1: fixed header
MAX_CSRC_COUNT: Final = 15  # RFC 3550 5.1: CC is 4 bits
RTP_SEQ_MOD: Final = 1 << 16  # RFC 3550 A.1
MAX_DROPOUT: Final = 3000  # RFC 3550 A.1
MAX_MISORDER: Final = 100  # RFC 3550 A.1
MIN_SEQUENTIAL: Final = 2  # RFC 3550 A.1: packets before a source is valid
SSRC_CHANGE_PACKETS: Final = 3  # ours: sequential packets that make a clean SSRC change
MAX_TIMESTAMP_JUMP_SECONDS: Final = 1.0  # ours: transit change counted as a timestamp jump

_FIXED = struct.Struct("!BBHII")
_EXT_HEADER = struct.Struct("!HH")


@dataclass(frozen=True, slots=True)
class RtpHeaderExtension:
    """RFC 3550 5.3.1 header extension: a profile-defined 16-bit id and 32-bit words."""

    profile: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise ValueError("extension profile must fit 16 bits")
        if len(self.data) % 4:
            raise ValueError("extension data must be a whole number of 32-bit words")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 5.1). ``padding`` is the number of padding octets."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpHeaderExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 0x7F:
            raise ValueError("payload type must fit 7 bits")
        if not 0 <= self.sequence_number <= 0xFFFF:
            raise ValueError("sequence number must fit 16 bits")
        if not 0 <= self.timestamp <= 0xFFFFFFFF or not 0 <= self.ssrc <= 0xFFFFFFFF:
            raise ValueError("timestamp and SSRC must fit 32 bits")
        if len(self.csrcs) > MAX_CSRC_COUNT:
            raise ValueError("at most 15 CSRCs")
        if not 0 <= self.padding <= 255:
            raise ValueError("padding must be 0..255 octets")

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        """Parse one datagram; raise :class:`RtpParseError` if it is not valid RTP."""
        data = bytes(data)
        if len(data) < RTP_HEADER_SIZE:
            raise RtpParseError(f"RTP packet too short: {len(data)} octets")
        first, second, seq, timestamp, ssrc = _FIXED.unpack_from(data)
        version = first >> 6
        if version != RTP_VERSION:
            raise RtpParseError(f"RTP version {version}, expected {RTP_VERSION}")
        has_padding = bool(first & 0x20)
        has_extension = bool(first & 0x10)
        csrc_count = first & 0x0F
        offset = RTP_HEADER_SIZE + 4 * csrc_count
        if len(data) < offset:
            raise RtpParseError("RTP packet truncated in the CSRC list")
        csrcs = struct.unpack_from(f"!{csrc_count}I", data, RTP_HEADER_SIZE)
        extension = None
        if has_extension:
            if len(data) < offset + 4:
                raise RtpParseError("RTP packet truncated in the extension header")
            profile, words = _EXT_HEADER.unpack_from(data, offset)
            offset += 4
            end = offset + 4 * words
            if len(data) < end:
                raise RtpParseError("RTP header extension longer than the packet")
            extension = RtpHeaderExtension(profile, data[offset:end])
            offset = end
        end = len(data)
        padding = 0
        if has_padding:
            padding = data[-1] if end > offset else 0
            if padding == 0 or padding > end - offset:
                raise RtpParseError(f"invalid RTP padding count {padding}")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=data[offset:end],
            marker=bool(second & 0x80),
            csrcs=tuple(csrcs),
            extension=extension,
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        first = (
            (RTP_VERSION << 6)
            | (0x20 if self.padding else 0)
            | (0x10 if self.extension is not None else 0)
            | len(self.csrcs)
        )
        second = (0x80 if self.marker else 0) | self.payload_type
        parts = [
            _FIXED.pack(first, second, self.sequence_number, self.timestamp, self.ssrc),
            struct.pack(f"!{len(self.csrcs)}I", *self.csrcs),
        ]
        if self.extension is not None:
            ext = self.extension
            parts.append(_EXT_HEADER.pack(ext.profile, len(ext.data) // 4) + ext.data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(parts)


def seq_delta(a: int, b: int) -> int:
    """Signed distance from sequence number ``b`` to ``a`` modulo 2**16 (RFC 1982 style)."""
    d = (a - b) % RTP_SEQ_MOD
    return d - RTP_SEQ_MOD if d >= RTP_SEQ_MOD // 2 else d


@dataclass(frozen=True, slots=True)
class IntervalReport:
    """Loss over one reporting interval (RFC 3550 A.3), for an RTCP report block."""

    fraction_lost: int  # 8-bit fixed point, lost/expected * 256
    cumulative_lost: int  # clamped to the signed 24-bit field
    extended_highest_seq: int
    jitter: int  # timestamp units, RFC 3550 A.8


@dataclass(slots=True)
class RtpReceiver:
    """Reception state of one RTP stream; see the module docstring.

    ``clock_rate`` is the RTP timestamp rate of the payload (8000 for PCMU/PCMA).
    ``min_sequential`` is RFC 3550 A.1's MIN_SEQUENTIAL: how many sequential packets
    a new source must send before its packets are played. The RFC suggests 2; a
    media relay keeps the default of 1 so that a caller's first words are not lost
    (a *change* of SSRC is still guarded by ``SSRC_CHANGE_PACKETS``).
    """

    clock_rate: int = 8000
    min_sequential: int = 1
    ssrc: int | None = field(default=None, init=False)
    # RFC 3550 A.1 source state
    max_seq: int = field(default=0, init=False)
    cycles: int = field(default=0, init=False)
    base_seq: int = field(default=0, init=False)
    bad_seq: int = field(default=RTP_SEQ_MOD + 1, init=False)
    probation: int = field(default=0, init=False)
    received: int = field(default=0, init=False)
    expected_prior: int = field(default=0, init=False)
    received_prior: int = field(default=0, init=False)
    # RFC 3550 A.8 jitter state
    transit: float | None = field(default=None, init=False)
    jitter_ts: float = field(default=0.0, init=False)
    # counters
    packets_seen: int = field(default=0, init=False)
    duplicates: int = field(default=0, init=False)
    reordered: int = field(default=0, init=False)
    timestamp_jumps: int = field(default=0, init=False)
    resyncs: int = field(default=0, init=False)
    wrong_ssrc: int = field(default=0, init=False)
    ssrc_changes: int = field(default=0, init=False)
    last_arrival: float | None = field(default=None, init=False)
    # RTCP: last SR from this source (RFC 3550 6.4.1 LSR/DLSR)
    last_sr_ntp_middle: int = field(default=0, init=False)
    last_sr_arrival: float | None = field(default=None, init=False)
    _candidate_ssrc: int | None = field(default=None, init=False, repr=False)
    _candidate_seq: int = field(default=0, init=False, repr=False)
    _candidate_count: int = field(default=0, init=False, repr=False)
    _recent: set[int] = field(default_factory=set, init=False, repr=False)

    # --- RFC 3550 A.1 -------------------------------------------------------------
    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0
        self._recent.clear()

    def _update_seq(self, seq: int) -> bool:
        """RFC 3550 A.1 ``update_seq``: return False if the packet must be dropped."""
        udelta = (seq - self.max_seq) % RTP_SEQ_MOD
        if self.probation:
            # The source is not valid until min_sequential packets arrive in sequence.
            if seq == (self.max_seq + 1) % RTP_SEQ_MOD:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = self.min_sequential - 1
                self.max_seq = seq
            return False
        if udelta < MAX_DROPOUT:
            # In order, with a permissible gap.
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD  # the sequence number wrapped
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            # A very large jump: accept only if the next packet follows it.
            if seq == self.bad_seq:
                self.resyncs += 1
                log.debug("ssrc %08x resynchronised at seq %d", self.ssrc or 0, seq)
                self._init_seq(seq)
            else:
                self.bad_seq = (seq + 1) % RTP_SEQ_MOD
                return False
        else:
            self.reordered += 1  # late, within MAX_MISORDER: reordered
        self.received += 1
        return True

    # --- public -------------------------------------------------------------------
    @property
    def extended_max_seq(self) -> int:
        """Extended highest sequence number received (RFC 3550 6.4.1)."""
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        if self.ssrc is None or (self.probation and self.received == 0):
            return 0
        return self.extended_max_seq - self.base_seq + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost (RFC 3550 A.3); negative if duplicates arrived."""
        return self.expected - self.received

    @property
    def jitter(self) -> int:
        """Interarrival jitter in timestamp units, as carried in a report block."""
        return int(self.jitter_ts)

    @property
    def jitter_seconds(self) -> float:
        return self.jitter_ts / self.clock_rate

    def receive(self, packet: RtpPacket, now: float) -> bool:
        """Account for one packet that arrived at ``now``; return True to play it."""
        self.packets_seen += 1
        if self.ssrc is None:
            self._lock(packet)
        elif packet.ssrc != self.ssrc:
            if not self._consider_ssrc_change(packet):
                self.wrong_ssrc += 1
                return False
        else:
            self._candidate_ssrc = None
        seq = packet.sequence_number
        if seq in self._recent:
            # RFC 3550 6.4.1 counts duplicates as received (loss may go negative);
            # we count them but never play a frame twice.
            self.duplicates += 1
            self.received += 1
            return False
        if not self._update_seq(seq):
            return False
        self._recent.add(seq)
        if len(self._recent) > 4 * MAX_MISORDER:
            self._recent = {
                s for s in self._recent if 0 <= seq_delta(self.max_seq, s) < 2 * MAX_MISORDER
            }
        self._update_jitter(packet, now)
        self.last_arrival = now
        return True

    def note_sender_report(self, ntp_timestamp: int, now: float) -> None:
        """Remember an SR from this source, for the LSR/DLSR of our next report block."""
        self.last_sr_ntp_middle = (ntp_timestamp >> 16) & 0xFFFFFFFF
        self.last_sr_arrival = now

    def interval_report(self) -> IntervalReport:
        """Close a reporting interval (RFC 3550 A.3) and return its loss figures."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior = expected
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            fraction = 0
        else:
            fraction = min((lost_interval << 8) // expected_interval, 255)
        cumulative = max(-(1 << 23), min(self.lost, (1 << 23) - 1))
        return IntervalReport(fraction, cumulative, self.extended_max_seq & 0xFFFFFFFF, self.jitter)

    # --- internals ----------------------------------------------------------------
    def _lock(self, packet: RtpPacket) -> None:
        """RFC 3550 A.1: a new source starts on probation with max_seq = seq - 1."""
        self.ssrc = packet.ssrc
        self._init_seq(packet.sequence_number)
        self.max_seq = (packet.sequence_number - 1) % RTP_SEQ_MOD
        self.probation = self.min_sequential
        self.transit = None
        self.jitter_ts = 0.0
        log.debug("locked onto ssrc %08x", packet.ssrc)

    def _consider_ssrc_change(self, packet: RtpPacket) -> bool:
        if self._candidate_ssrc == packet.ssrc and packet.sequence_number == (
            (self._candidate_seq + 1) % RTP_SEQ_MOD
        ):
            self._candidate_count += 1
        else:
            self._candidate_ssrc = packet.ssrc
            self._candidate_count = 1
        self._candidate_seq = packet.sequence_number
        if self._candidate_count < SSRC_CHANGE_PACKETS:
            return False
        log.debug("ssrc change %08x -> %08x", self.ssrc or 0, packet.ssrc)
        self.ssrc_changes += 1
        self._candidate_ssrc = None
        self._lock(packet)
        return True

    def _update_jitter(self, packet: RtpPacket, now: float) -> None:
        """RFC 3550 A.8, in arrival order; a huge transit change is a timestamp jump."""
        transit = now * self.clock_rate - packet.timestamp
        if self.transit is None:
            self.transit = transit
            return
        d = transit - self.transit
        # Keep d on the 32-bit timestamp circle, centred on zero.
        d = (d + (1 << 31)) % (1 << 32) - (1 << 31)
        self.transit = transit
        if abs(d) > MAX_TIMESTAMP_JUMP_SECONDS * self.clock_rate:
            self.timestamp_jumps += 1
            log.debug("ssrc %08x timestamp jump of %d units", self.ssrc or 0, int(d))
            return
        self.jitter_ts += (abs(d) - self.jitter_ts) / 16.0


@dataclass(slots=True)
class RtpSender:
    """Stamps outgoing payloads with SSRC, sequence number and timestamp.

    RFC 3550 5.1 asks for random initial sequence number and timestamp; pass them in
    (tests) or use :meth:`with_random_start`.
    """

    ssrc: int
    payload_type: int
    sequence_number: int = 0
    timestamp: int = 0
    packet_count: int = 0  # RFC 3550 6.4.1 sender's packet count
    octet_count: int = 0  # RFC 3550 6.4.1 sender's octet count

    @classmethod
    def with_random_start(cls, payload_type: int, ssrc: int | None = None) -> RtpSender:
        return cls(
            ssrc=secrets.randbits(32) if ssrc is None else ssrc,
            payload_type=payload_type,
            sequence_number=secrets.randbits(16),
            timestamp=secrets.randbits(32),
        )

    def send(self, payload: bytes, samples: int, *, marker: bool = False) -> RtpPacket:
        """Packetise one media frame of ``samples`` timestamp units and advance."""
        packet = self.packet(payload, timestamp=self.timestamp, marker=marker)
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        return packet

    def skip(self, samples: int) -> None:
        """Advance the timestamp over a gap in which nothing is sent (silence)."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF

    def packet(
        self,
        payload: bytes,
        *,
        timestamp: int,
        marker: bool = False,
        payload_type: int | None = None,
    ) -> RtpPacket:
        """Build the next packet with an explicit timestamp (e.g. RFC 4733 events)."""
        packet = RtpPacket(
            payload_type=self.payload_type if payload_type is None else payload_type,
            sequence_number=self.sequence_number,
            timestamp=timestamp & 0xFFFFFFFF,
            ssrc=self.ssrc,
            payload=payload,
            marker=marker,
        )
        self.sequence_number = (self.sequence_number + 1) % RTP_SEQ_MOD
        self.packet_count = (self.packet_count + 1) & 0xFFFFFFFF
        self.octet_count = (self.octet_count + len(payload)) & 0xFFFFFFFF
        return packet


Address = tuple[str, int]


@dataclass(slots=True)
class SymmetricRtpLatch:
    """Symmetric RTP (RFC 4961) latching, the usual NAT traversal of a media relay.

    Call :meth:`admit` for each datagram that parsed as valid RTP. The first source
    address is latched and becomes the address to send to; later packets from other
    addresses are counted as strangers and dropped. :meth:`unlatch` re-arms the latch
    (after a re-INVITE that moved the media).
    """

    signalled: Address | None = None
    latched: Address | None = None
    strangers: int = 0

    @property
    def send_to(self) -> Address | None:
        """Where to send media: the latched source, else the address from SDP."""
        return self.latched if self.latched is not None else self.signalled

    def admit(self, source: Address) -> bool:
        if self.latched is None:
            self.latched = source
            log.debug("latched media source %s:%d", source[0], source[1])
            return True
        if source == self.latched:
            return True
        self.strangers += 1
        return False

    def unlatch(self, signalled: Address | None = None) -> None:
        self.latched = None
        if signalled is not None:
            self.signalled = signalled
