"""RTCP (RFC 3550 section 6): SR, RR, SDES, BYE and compound packets.

``parse_compound(data)`` splits and parses a compound datagram; ``build_compound(
packets)`` serialises one. Packet types we do not interpret (APP, XR, feedback) are
kept as :class:`RtcpUnknown` so that a relay can pass them on untouched.
:func:`report_block` builds the report block about one received stream from its
:class:`~callcenter.media.rtp.RtpReceiver` (RFC 3550 6.4.1 and A.3).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from callcenter.media.errors import RtcpParseError
from callcenter.media.rtp import RtpReceiver, RtpSender

RTCP_VERSION: Final = 2
RTCP_SR: Final = 200  # RFC 3550 6.4.1
RTCP_RR: Final = 201  # RFC 3550 6.4.2
RTCP_SDES: Final = 202  # RFC 3550 6.5
RTCP_BYE: Final = 203  # RFC 3550 6.6
RTCP_APP: Final = 204  # RFC 3550 6.7
SDES_END: Final = 0  # RFC 3550 6.5: end of item list
SDES_CNAME: Final = 1  # RFC 3550 6.5.1
MAX_COUNT: Final = 31  # RFC 3550 6.4.1: RC/SC is 5 bits
REPORT_BLOCK_SIZE: Final = 24
NTP_UNIX_OFFSET: Final = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01

_HEADER = struct.Struct("!BBH")
_SENDER_INFO = struct.Struct("!IIIIII")  # ssrc, ntp msw, ntp lsw, rtp ts, packets, octets
_BLOCK = struct.Struct("!IIIIII")


def ntp_timestamp(unix_time: float) -> int:
    """64-bit NTP timestamp (RFC 3550 4) for a Unix time passed in by the caller."""
    seconds = unix_time + NTP_UNIX_OFFSET
    whole = int(seconds)
    fraction = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole & 0xFFFFFFFF) << 32) | fraction


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """RFC 3550 6.4.1 reception report block."""

    ssrc: int
    fraction_lost: int  # lost / expected * 256 over the last interval
    cumulative_lost: int  # signed 24 bits
    highest_seq: int  # extended highest sequence number received
    jitter: int  # timestamp units
    lsr: int = 0  # middle 32 bits of the last SR's NTP timestamp
    dlsr: int = 0  # delay since that SR, in 1/65536 s

    def __post_init__(self) -> None:
        if not 0 <= self.fraction_lost <= 255:
            raise ValueError("fraction lost must fit 8 bits")
        if not -(1 << 23) <= self.cumulative_lost < (1 << 23):
            raise ValueError("cumulative lost must fit signed 24 bits")

    @classmethod
    def _parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, lost_word, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(data, offset)
        cumulative = lost_word & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 1 << 24
        return cls(ssrc, lost_word >> 24, cumulative, highest, jitter, lsr, dlsr)

    def __bytes__(self) -> bytes:
        lost_word = (self.fraction_lost << 24) | (self.cumulative_lost & 0xFFFFFF)
        return _BLOCK.pack(self.ssrc, lost_word, self.highest_seq, self.jitter, self.lsr, self.dlsr)


@dataclass(frozen=True, slots=True)
class SenderReport:
    """RFC 3550 6.4.1 SR."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = _SENDER_INFO.pack(
            self.ssrc,
            self.ntp_timestamp >> 32,
            self.ntp_timestamp & 0xFFFFFFFF,
            self.rtp_timestamp,
            self.packet_count,
            self.octet_count,
        ) + b"".join(bytes(r) for r in self.reports)
        return _pack(RTCP_SR, len(self.reports), body)


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RFC 3550 6.4.2 RR."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _pack(RTCP_RR, len(self.reports), body)


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One SSRC's SDES items as (type, value) pairs, e.g. ``(SDES_CNAME, b"...")``."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...]

    @property
    def cname(self) -> str | None:
        for kind, value in self.items:
            if kind == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """RFC 3550 6.5 SDES."""

    chunks: tuple[SdesChunk, ...]

    @classmethod
    def cname(cls, ssrc: int, cname: str) -> SourceDescription:
        return cls((SdesChunk(ssrc, ((SDES_CNAME, cname.encode()),)),))

    def __bytes__(self) -> bytes:
        parts = []
        for chunk in self.chunks:
            data = bytearray(struct.pack("!I", chunk.ssrc))
            for kind, value in chunk.items:
                if not 1 <= kind <= 255 or len(value) > 255:
                    raise ValueError("SDES item type 1..255 and at most 255 octets")
                data += bytes([kind, len(value)]) + value
            data += bytes(4 - len(data) % 4)  # END item plus padding to 32 bits
            parts.append(bytes(data))
        return _pack(RTCP_SDES, len(self.chunks), b"".join(parts))


@dataclass(frozen=True, slots=True)
class Goodbye:
    """RFC 3550 6.6 BYE."""

    ssrcs: tuple[int, ...]
    reason: str = ""

    def __bytes__(self) -> bytes:
        body = struct.pack(f"!{len(self.ssrcs)}I", *self.ssrcs)
        if self.reason:
            text = self.reason.encode()[:255]
            body += bytes([len(text)]) + text
            body += bytes(-len(body) % 4)
        return _pack(RTCP_BYE, len(self.ssrcs), body)


@dataclass(frozen=True, slots=True)
class RtcpUnknown:
    """A packet type we carry but do not interpret (APP, XR, RTPFB, PSFB...)."""

    packet_type: int
    count: int
    body: bytes  # as received, including any padding
    padding: bool = False

    def __bytes__(self) -> bytes:
        packed = _pack(self.packet_type, self.count, self.body)
        return bytes([packed[0] | (0x20 if self.padding else 0)]) + packed[1:]


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | RtcpUnknown


def _pack(packet_type: int, count: int, body: bytes) -> bytes:
    if count > MAX_COUNT:
        raise ValueError("at most 31 report blocks / chunks / sources per packet")
    if len(body) % 4:
        raise ValueError("RTCP packet body must be a whole number of 32-bit words")
    header = _HEADER.pack((RTCP_VERSION << 6) | count, packet_type, len(body) // 4)
    return header + body


def _parse_blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if len(body) < offset + count * REPORT_BLOCK_SIZE:
        raise RtcpParseError("report blocks run past the packet")
    return tuple(ReportBlock._parse(body, offset + i * REPORT_BLOCK_SIZE) for i in range(count))


def _parse_sdes(body: bytes, count: int) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        if len(body) < offset + 4:
            raise RtcpParseError("SDES chunk truncated")
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        items = []
        while True:
            if offset >= len(body):
                raise RtcpParseError("SDES item list not terminated")
            kind = body[offset]
            if kind == SDES_END:
                offset += 1
                offset += -offset % 4  # skip padding to the next 32-bit boundary
                break
            if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
                raise RtcpParseError("SDES item truncated")
            length = body[offset + 1]
            items.append((kind, body[offset + 2 : offset + 2 + length]))
            offset += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _parse_bye(body: bytes, count: int) -> Goodbye:
    if len(body) < 4 * count:
        raise RtcpParseError("BYE source list truncated")
    ssrcs = struct.unpack_from(f"!{count}I", body)
    reason = ""
    offset = 4 * count
    if offset < len(body):
        length = body[offset]
        if offset + 1 + length > len(body):
            raise RtcpParseError("BYE reason truncated")
        reason = body[offset + 1 : offset + 1 + length].decode("utf-8", "replace")
    return Goodbye(tuple(ssrcs), reason)


def parse_packet(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    """Parse one RTCP packet body (header already removed, padding stripped)."""
    if packet_type == RTCP_SR:
        if len(body) < _SENDER_INFO.size:
            raise RtcpParseError("SR shorter than its sender info")
        ssrc, msw, lsw, rtp_ts, packets, octets = _SENDER_INFO.unpack_from(body)
        blocks = _parse_blocks(body, _SENDER_INFO.size, count)
        return SenderReport(ssrc, (msw << 32) | lsw, rtp_ts, packets, octets, blocks)
    if packet_type == RTCP_RR:
        if len(body) < 4:
            raise RtcpParseError("RR shorter than its SSRC")
        (ssrc,) = struct.unpack_from("!I", body)
        return ReceiverReport(ssrc, _parse_blocks(body, 4, count))
    if packet_type == RTCP_SDES:
        return _parse_sdes(body, count)
    if packet_type == RTCP_BYE:
        return _parse_bye(body, count)
    return RtcpUnknown(packet_type, count, body)


def parse_compound(
    data: bytes | bytearray | memoryview, *, require_report_first: bool = False
) -> list[RtcpPacket]:
    """Parse a compound RTCP datagram (RFC 3550 6.1), checking every header.

    With ``require_report_first`` the RFC 3550 A.2 validity check that the first
    packet is an SR or RR is applied (leave it off where RFC 5506 reduced-size
    RTCP has been negotiated).
    """
    data = bytes(data)
    if require_report_first and len(data) >= 2 and data[1] not in (RTCP_SR, RTCP_RR):
        raise RtcpParseError("compound RTCP must start with an SR or RR")
    if len(data) < _HEADER.size:
        raise RtcpParseError(f"RTCP datagram too short: {len(data)} octets")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            raise RtcpParseError("trailing octets after the last RTCP packet")
        first, packet_type, words = _HEADER.unpack_from(data, offset)
        if first >> 6 != RTCP_VERSION:
            raise RtcpParseError(f"RTCP version {first >> 6}, expected {RTCP_VERSION}")
        if not 192 <= packet_type <= 223:
            # RFC 5761 4: RTCP packet types 192-223 never collide with RTP PTs.
            raise RtcpParseError(f"not an RTCP packet type: {packet_type}")
        end = offset + 4 + 4 * words
        if end > len(data):
            raise RtcpParseError("RTCP length field runs past the datagram")
        body = data[offset + 4 : end]
        if packet_type not in (RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE):
            packets.append(RtcpUnknown(packet_type, first & 0x1F, body, bool(first & 0x20)))
            offset = end
            continue
        if first & 0x20:
            # RFC 3550 6.4.1: padding only on the last packet of a compound.
            if end != len(data) or not body or not 0 < body[-1] <= len(body):
                raise RtcpParseError("invalid RTCP padding")
            body = body[: -body[-1]]
        packets.append(parse_packet(packet_type, first & 0x1F, body))
        offset = end
    return packets


def build_compound(packets: Iterable[RtcpPacket]) -> bytes:
    return b"".join(bytes(p) for p in packets)


def report_block(receiver: RtpReceiver, now: float) -> ReportBlock:
    """The report block about ``receiver``'s stream, closing its reporting interval.

    LSR/DLSR (RFC 3550 6.4.1) come from the last SR noted on the receiver; ``now``
    is on the same clock as the arrival times given to it.
    """
    if receiver.ssrc is None:
        raise ValueError("no stream received yet")
    interval = receiver.interval_report()
    lsr = dlsr = 0
    if receiver.last_sr_arrival is not None:
        lsr = receiver.last_sr_ntp_middle
        dlsr = max(0, min(int((now - receiver.last_sr_arrival) * 65536), 0xFFFFFFFF))
    return ReportBlock(
        ssrc=receiver.ssrc,
        fraction_lost=interval.fraction_lost,
        cumulative_lost=interval.cumulative_lost,
        highest_seq=interval.extended_highest_seq,
        jitter=interval.jitter & 0xFFFFFFFF,
        lsr=lsr,
        dlsr=dlsr,
    )


def sender_report(
    sender: RtpSender, wallclock: float, reports: Iterable[ReportBlock] = ()
) -> SenderReport:
    """An SR for ``sender`` at Unix time ``wallclock`` (passed in, never read here).

    The RTP timestamp is the sender's next timestamp, which corresponds to
    ``wallclock`` when called at the media tick (RFC 3550 6.4.1).
    """
    return SenderReport(
        ssrc=sender.ssrc,
        ntp_timestamp=ntp_timestamp(wallclock),
        rtp_timestamp=sender.timestamp,
        packet_count=sender.packet_count,
        octet_count=sender.octet_count,
        reports=tuple(reports),
    )


def round_trip_time(block: ReportBlock, arrival_ntp: int) -> float | None:
    """RFC 3550 6.4.1: RTT = A - LSR - DLSR, from a block about our own stream.

    ``arrival_ntp`` is the 64-bit NTP time at which the report arrived.
    """
    if block.lsr == 0:
        return None
    a = (arrival_ntp >> 16) & 0xFFFFFFFF
    rtt = (a - block.lsr - block.dlsr) & 0xFFFFFFFF
    if rtt >= 1 << 31:
        return None
    return rtt / 65536
