"""RTCP: compound parsing and building, report blocks from receiver statistics."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.media.errors import RtcpParseError
from callcenter.media.rtcp import (
    RTCP_APP,
    SDES_CNAME,
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    RtcpUnknown,
    SdesChunk,
    SenderReport,
    SourceDescription,
    build_compound,
    ntp_timestamp,
    parse_compound,
    report_block,
    round_trip_time,
    sender_report,
)
from callcenter.media.rtp import RtpPacket, RtpReceiver, RtpSender

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "media"


def load_hex(name: str) -> bytes:
    lines = (FIXTURES / name).read_text().splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.startswith("#")))


def test_captured_sr_with_sdes_parses_and_round_trips() -> None:
    """A phone's compound report: SR with one block, then its CNAME; bytes are exact."""
    data = load_hex("rtcp_sr_sdes.hex")
    sr, sdes = parse_compound(data)
    assert isinstance(sr, SenderReport) and isinstance(sdes, SourceDescription)
    assert sr.ssrc == 0xDEADBEEF
    assert sr.ntp_timestamp == 0xE8F1A2B3_80000000
    assert (sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (8000, 100, 16000)
    assert sr.reports == (ReportBlock(0x01020304, 0x40, 5, 0x11388, 37, 0xA2B38000, 0x8000),)
    assert sdes.chunks[0].ssrc == 0xDEADBEEF and sdes.chunks[0].cname == "cc@example"
    assert build_compound([sr, sdes]) == data


def test_rr_sdes_bye_compound_round_trips() -> None:
    """The report a leaving party sends: RR, CNAME, BYE with a reason."""
    packets: list[RtcpPacket] = [
        ReceiverReport(7, (ReportBlock(9, 12, -3, 70000, 44, 1, 2),)),
        SourceDescription.cname(7, "agent-1001@callcenter"),
        Goodbye((7,), "call ended"),
    ]
    data = build_compound(packets)
    assert len(data) % 4 == 0
    assert parse_compound(data) == packets


def test_negative_cumulative_loss_survives_the_24_bit_field() -> None:
    """Duplicates make loss negative; the signed 24-bit field carries it."""
    block = ReportBlock(1, 0, -(1 << 23), 0, 0)
    (rr,) = parse_compound(bytes(ReceiverReport(2, (block,))))
    assert isinstance(rr, ReceiverReport) and rr.reports == (block,)
    with pytest.raises(ValueError):
        ReportBlock(1, 0, 1 << 23, 0, 0)
    with pytest.raises(ValueError):
        ReportBlock(1, 256, 0, 0, 0)


def test_sdes_with_several_items_and_chunks() -> None:
    """Two chunks, one with CNAME and NAME, one with nothing: padding is right."""
    sdes = SourceDescription(
        (
            SdesChunk(1, ((SDES_CNAME, b"a@b"), (2, "坐席".encode()))),
            SdesChunk(2, ()),
        )
    )
    data = bytes(sdes)
    assert len(data) % 4 == 0
    assert parse_compound(data) == [sdes]
    assert SdesChunk(2, ()).cname is None


def test_bye_without_reason_and_empty_rr() -> None:
    """The smallest legal packets parse back to themselves."""
    packets: list[RtcpPacket] = [ReceiverReport(5), Goodbye((5, 6))]
    assert parse_compound(build_compound(packets)) == packets


def test_unknown_packet_types_are_carried_through() -> None:
    """An APP packet is kept byte-exact, padding flag included, for the relay."""
    app = RtcpUnknown(RTCP_APP, 3, b"name" + b"\x00\x00\x00\x02")
    padded = RtcpUnknown(207, 0, b"\x00\x00\x00\x04", padding=True)
    data = build_compound([ReceiverReport(1), app, padded])
    assert parse_compound(data) == [ReceiverReport(1), app, padded]
    assert build_compound(parse_compound(data)) == data


def test_padding_on_the_last_packet_is_stripped() -> None:
    """RFC 3550 6.4.1: a padded final packet parses like the unpadded one."""
    bye = bytes(Goodbye((0x11223344,)))
    padded = bytes([bye[0] | 0x20, bye[1], 0, 2]) + bye[4:] + b"\x00\x00\x00\x04"
    assert parse_compound(padded) == [Goodbye((0x11223344,))]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\xc9\x00", "too short"),
        (bytes.fromhex("40c90001 00000001"), "version 1"),
        (bytes.fromhex("80600001 00000001"), "not an RTCP packet type"),
        (bytes.fromhex("80c90002 00000001"), "runs past"),
        (bytes.fromhex("81c90001 00000001"), "report blocks"),
        (bytes.fromhex("80c80001 00000001"), "sender info"),
        (bytes.fromhex("80c90000"), "RR shorter"),
        (bytes.fromhex("81ca0000"), "SDES chunk truncated"),
        (bytes.fromhex("81ca0001 00000001"), "not terminated"),
        (bytes.fromhex("81ca0002 00000001 01090000"), "item truncated"),
        (bytes.fromhex("82cb0001 00000001"), "BYE source list"),
        (bytes.fromhex("81cb0002 00000001 09000000"), "BYE reason"),
        (bytes.fromhex("a0c90001 00000000"), "padding"),
        (bytes.fromhex("a0c90001 00000001 80c90001 00000001"), "padding"),
        (bytes.fromhex("80c90001 00000001 80"), "trailing"),
    ],
)
def test_malformed_compounds_raise_rtcp_parse_error(data: bytes, reason: str) -> None:
    """Every malformed shape is an RtcpParseError with a useful message."""
    with pytest.raises(RtcpParseError, match=reason):
        parse_compound(data)


def test_builders_refuse_impossible_packets() -> None:
    """More than 31 blocks, or an SDES item over 255 octets, cannot be encoded."""
    block = ReportBlock(1, 0, 0, 0, 0)
    with pytest.raises(ValueError):
        bytes(ReceiverReport(1, (block,) * 32))
    with pytest.raises(ValueError):
        bytes(SourceDescription((SdesChunk(1, ((SDES_CNAME, b"x" * 256),)),)))
    with pytest.raises(ValueError):
        bytes(RtcpUnknown(RTCP_APP, 0, b"abc"))


def test_report_block_from_receiver_statistics() -> None:
    """A stream with 4 of 40 packets lost and an SR 0.5 s ago gives the expected block."""
    receiver = RtpReceiver()
    for seq in range(40):
        if seq % 10 == 3:
            continue
        receiver.receive(RtpPacket(0, seq, seq * 160, 0xAB, b""), seq * 0.02)
    receiver.note_sender_report(ntp_timestamp(1000.0), now=0.3)
    block = report_block(receiver, now=0.8)
    assert block.ssrc == 0xAB
    assert block.fraction_lost == (4 << 8) // 40
    assert block.cumulative_lost == 4
    assert block.highest_seq == 39
    assert block.jitter == 0
    assert block.lsr == (ntp_timestamp(1000.0) >> 16) & 0xFFFFFFFF
    assert block.dlsr == 32768  # 0.5 s in 1/65536 s
    # the interval was closed: the next block reports no new loss
    assert report_block(receiver, now=1.0).fraction_lost == 0


def test_report_block_before_any_sr_has_zero_lsr_and_dlsr() -> None:
    """RFC 3550 6.4.1: LSR and DLSR are zero until an SR has been received."""
    receiver = RtpReceiver()
    receiver.receive(RtpPacket(0, 1, 0, 5, b""), 0.0)
    block = report_block(receiver, now=1.0)
    assert (block.lsr, block.dlsr) == (0, 0)
    with pytest.raises(ValueError):
        report_block(RtpReceiver(), now=0.0)


def test_round_trip_time_from_lsr_and_dlsr() -> None:
    """We sent an SR at t=100 s; the peer held it 0.25 s; its RR arrives at t=100.4 s."""
    sent = ntp_timestamp(100.0)
    block = ReportBlock(1, 0, 0, 0, 0, lsr=(sent >> 16) & 0xFFFFFFFF, dlsr=int(0.25 * 65536))
    rtt = round_trip_time(block, ntp_timestamp(100.4))
    assert rtt == pytest.approx(0.15, abs=1e-4)
    assert round_trip_time(ReportBlock(1, 0, 0, 0, 0), ntp_timestamp(1.0)) is None
    late = ReportBlock(1, 0, 0, 0, 0, lsr=(sent >> 16) & 0xFFFFFFFF, dlsr=5 * 65536)
    assert round_trip_time(late, ntp_timestamp(100.4)) is None


def test_ntp_timestamp_of_the_unix_epoch() -> None:
    """1970-01-01 is 2208988800 s after the NTP epoch, with a half-second fraction."""
    assert ntp_timestamp(0.5) == (2_208_988_800 << 32) | (1 << 31)


def test_sender_report_from_an_rtp_sender() -> None:
    """An SR carries the sender's counters and next timestamp with the wallclock given."""
    sender = RtpSender(ssrc=0x55, payload_type=0, timestamp=1000)
    for _ in range(3):
        sender.send(b"\xff" * 160, 160)
    block = ReportBlock(9, 0, 0, 10, 2)
    sr = sender_report(sender, wallclock=0.5, reports=[block])
    assert sr == SenderReport(0x55, ntp_timestamp(0.5), 1480, 3, 480, (block,))
    (parsed,) = parse_compound(bytes(sr))
    assert parsed == sr


def test_strict_parsing_requires_a_report_first() -> None:
    """RFC 3550 A.2: a compound starting with SDES is invalid unless reduced-size is allowed."""
    sdes_first = build_compound([SourceDescription.cname(1, "x"), ReceiverReport(1)])
    assert len(parse_compound(sdes_first)) == 2
    with pytest.raises(RtcpParseError, match="SR or RR"):
        parse_compound(sdes_first, require_report_first=True)
    rr_first = build_compound([ReceiverReport(1), SourceDescription.cname(1, "x")])
    assert len(parse_compound(rr_first, require_report_first=True)) == 2
