"""RTP packets, receiver statistics, sender stamping and symmetric-RTP latching."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from callcenter.media.errors import RtpParseError
from callcenter.media.rtp import (
    MAX_DROPOUT,
    SSRC_CHANGE_PACKETS,
    RtpHeaderExtension,
    RtpPacket,
    RtpReceiver,
    RtpSender,
    SymmetricRtpLatch,
    seq_delta,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "media"


def load_hex(name: str) -> bytes:
    lines = (FIXTURES / name).read_text().splitlines()
    return bytes.fromhex(" ".join(line for line in lines if not line.startswith("#")))


def pkt(seq: int, ts: int, ssrc: int = 0x1234, payload: bytes = b"\xff" * 160) -> RtpPacket:
    return RtpPacket(payload_type=0, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=payload)


def feed(receiver: RtpReceiver, seqs: list[int], *, ssrc: int = 0x1234, start: float = 0.0) -> int:
    """Feed packets with the given sequence numbers at a perfect 20 ms pace."""
    played = 0
    for i, seq in enumerate(seqs):
        played += receiver.receive(pkt(seq, seq * 160 % 2**32, ssrc), start + 0.02 * i)
    return played


# --- wire format ------------------------------------------------------------------


def test_captured_pcmu_packet_parses_and_round_trips() -> None:
    """A phone's first PCMU frame: marker set, PT 0, 160 octets, byte-exact on output."""
    data = load_hex("rtp_pcmu_first_packet.hex")
    packet = RtpPacket.parse(data)
    assert packet.marker and packet.payload_type == 0
    assert packet.sequence_number == 0x1F40 and packet.timestamp == 0xA00
    assert packet.ssrc == 0xDEADBEEF and packet.payload == b"\xff" * 160
    assert packet.csrcs == () and packet.extension is None and packet.padding == 0
    assert bytes(packet) == data


def test_csrc_extension_and_padding_parse_and_round_trip() -> None:
    """A mixer's packet with two CSRCs, an RFC 8285 extension and 4 octets of padding."""
    data = load_hex("rtp_csrc_ext_padding.hex")
    packet = RtpPacket.parse(data)
    assert packet.payload_type == 8 and not packet.marker
    assert packet.sequence_number == 0xFFFF and packet.timestamp == 0xFFFFFFF0
    assert packet.csrcs == (0x11111111, 0x22222222)
    assert packet.extension == RtpHeaderExtension(0xBEDE, bytes.fromhex("10aa0000"))
    assert packet.payload == bytes.fromhex("d5d55555")
    assert packet.padding == 4
    assert bytes(packet) == data


def test_built_packet_parses_back_to_an_equal_value() -> None:
    """bytes() then parse() is the identity for a packet with every field in use."""
    packet = RtpPacket(
        payload_type=101,
        sequence_number=65535,
        timestamp=2**32 - 1,
        ssrc=0xCAFEBABE,
        payload=b"\x01\x02\x03",
        marker=True,
        csrcs=tuple(range(15)),
        extension=RtpHeaderExtension(0x1000, b""),
        padding=1,
    )
    assert RtpPacket.parse(bytes(packet)) == packet


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (bytes.fromhex("8000000100000001000000"), "too short"),
        (bytes.fromhex("400000010000000100000001"), "version 1"),
        (bytes.fromhex("c00000010000000100000001"), "version 3"),
        (bytes.fromhex("820000010000000100000001" + "00000001"), "truncated in the CSRC"),
        (bytes.fromhex("900000010000000100000001" + "bede"), "extension header"),
        (bytes.fromhex("900000010000000100000001" + "bede0002" + "00000000"), "longer than"),
        (bytes.fromhex("a00000010000000100000001" + "aabbcc00"), "padding count 0"),
        (bytes.fromhex("a00000010000000100000001" + "aabbcc05"), "padding count 5"),
        (bytes.fromhex("a00000010000000100000001"), "padding count 0"),
    ],
)
def test_malformed_datagrams_raise_rtp_parse_error(data: bytes, reason: str) -> None:
    """Every kind of malformed header is reported as RtpParseError, never a crash."""
    with pytest.raises(RtpParseError, match=reason):
        RtpPacket.parse(data)


def test_rtp_parse_error_is_a_value_error() -> None:
    """Callers that only know ValueError still catch a bad packet."""
    assert issubclass(RtpParseError, ValueError)


def test_packet_fields_are_range_checked_on_construction() -> None:
    """Our own code cannot build a packet whose fields do not fit the header."""
    with pytest.raises(ValueError):
        RtpPacket(payload_type=128, sequence_number=0, timestamp=0, ssrc=0)
    with pytest.raises(ValueError):
        RtpPacket(payload_type=0, sequence_number=65536, timestamp=0, ssrc=0)
    with pytest.raises(ValueError):
        RtpPacket(payload_type=0, sequence_number=0, timestamp=0, ssrc=0, csrcs=(0,) * 16)
    with pytest.raises(ValueError):
        RtpHeaderExtension(1, b"abc")


def test_seq_delta_is_signed_and_wraps() -> None:
    """65535 -> 0 is one step forward; 0 -> 65535 one step back."""
    assert seq_delta(0, 65535) == 1
    assert seq_delta(65535, 0) == -1
    assert seq_delta(100, 90) == 10


# --- receiver -----------------------------------------------------------------------


def test_clean_stream_has_no_loss_and_no_jitter() -> None:
    """Fifty packets at exactly 20 ms: all played, nothing lost, jitter zero."""
    receiver = RtpReceiver()
    assert feed(receiver, list(range(1000, 1050))) == 50
    assert receiver.ssrc == 0x1234
    assert receiver.received == 50 and receiver.expected == 50 and receiver.lost == 0
    assert receiver.jitter == 0 and receiver.reordered == 0


def test_extended_sequence_number_counts_wrap_arounds() -> None:
    """A stream crossing 65535 -> 0 twice keeps counting in the extended number."""
    receiver = RtpReceiver()
    seqs = [(65500 + i) % 65536 for i in range(65536 + 100)]
    assert feed(receiver, seqs[:200]) == 200
    assert receiver.cycles == 65536
    assert receiver.extended_max_seq == 65536 + (65500 + 199) % 65536
    for i, seq in enumerate(seqs[200:], start=200):
        receiver.receive(pkt(seq, i * 160 % 2**32), 0.02 * i)
    assert receiver.cycles == 2 * 65536
    assert receiver.lost == 0 and receiver.expected == len(seqs)


def test_losses_are_counted_and_reported_as_a_fraction() -> None:
    """Ten of a hundred packets go missing: cumulative lost 10, fraction 25/256."""
    receiver = RtpReceiver()
    seqs = [s for s in range(100) if s % 10 != 5]
    feed(receiver, seqs)
    # the last packet (99) was received, so 100 were expected
    assert receiver.expected == 100 and receiver.lost == 10
    report = receiver.interval_report()
    assert report.fraction_lost == (10 << 8) // 100
    assert report.cumulative_lost == 10
    assert report.extended_highest_seq == 99
    # next interval without loss reports fraction 0 but keeps the cumulative figure
    feed(receiver, list(range(100, 120)), start=2.0)
    report = receiver.interval_report()
    assert report.fraction_lost == 0 and report.cumulative_lost == 10


def test_late_packets_are_counted_as_reordered_and_still_played() -> None:
    """A packet that arrives after its successor is played and counted as reordered."""
    receiver = RtpReceiver()
    assert feed(receiver, [1, 2, 4, 3, 5]) == 5
    assert receiver.reordered == 1 and receiver.lost == 0


def test_duplicates_are_dropped_and_counted() -> None:
    """A duplicated packet is not played twice; RFC accounting may then show lost < 0."""
    receiver = RtpReceiver()
    assert feed(receiver, [1, 2, 3, 3, 4]) == 4
    assert receiver.duplicates == 1
    assert receiver.lost == -1  # RFC 3550 6.4.1: duplicates make cumulative loss negative


def test_large_jump_is_dropped_unless_the_next_packet_confirms_it() -> None:
    """A single stray sequence number is dropped; two in a row resynchronise the stream."""
    receiver = RtpReceiver()
    feed(receiver, [10, 11, 12])
    far = 12 + MAX_DROPOUT + 500
    assert not receiver.receive(pkt(far, 0), 0.1)
    assert receiver.receive(pkt(13, 13 * 160), 0.12)
    assert not receiver.receive(pkt(far, far * 160), 0.14)
    assert receiver.receive(pkt(far + 1, (far + 1) * 160), 0.16)
    assert receiver.resyncs == 1
    assert receiver.base_seq == far + 1 and receiver.lost == 0


def test_jitter_follows_rfc3550_a8_on_a_known_delay_pattern() -> None:
    """Arrivals alternately 0 and 10 ms late: J converges towards 80 timestamp units."""
    receiver = RtpReceiver()
    for i in range(400):
        late = 0.010 if i % 2 else 0.0
        receiver.receive(pkt(i, i * 160), i * 0.02 + late)
    # |D| is 80 units (10 ms at 8 kHz) for every packet after the first
    assert 79 <= receiver.jitter <= 80
    assert receiver.jitter_seconds == pytest.approx(0.01, abs=2e-4)


def test_jitter_matches_a_straight_transcription_of_the_rfc_formula() -> None:
    """Random arrival noise: our J equals J += (|D| - J)/16 computed independently."""
    rng = random.Random(3)
    receiver = RtpReceiver()
    expected = 0.0
    prev_transit: float | None = None
    for i in range(200):
        arrival = i * 0.02 + rng.uniform(0, 0.03)
        receiver.receive(pkt(i, i * 160), arrival)
        transit = arrival * 8000 - i * 160
        if prev_transit is not None:
            expected += (abs(transit - prev_transit) - expected) / 16
        prev_transit = transit
    assert receiver.jitter_ts == pytest.approx(expected)


def test_timestamp_jump_is_counted_and_does_not_inflate_jitter() -> None:
    """The peer's timestamp leaps by an hour mid-stream: one jump, jitter stays 0."""
    receiver = RtpReceiver()
    for i in range(10):
        receiver.receive(pkt(i, i * 160), i * 0.02)
    for i in range(10, 20):
        receiver.receive(pkt(i, (i * 160 + 8000 * 3600) % 2**32), i * 0.02)
    assert receiver.timestamp_jumps == 1
    assert receiver.jitter == 0


def test_timestamp_wrap_is_not_a_jump() -> None:
    """A timestamp crossing 2**32 continues smoothly."""
    receiver = RtpReceiver()
    base = 2**32 - 800
    for i in range(20):
        receiver.receive(pkt(i, (base + i * 160) % 2**32), i * 0.02)
    assert receiver.timestamp_jumps == 0 and receiver.jitter == 0


def test_packets_from_a_foreign_ssrc_are_dropped_and_counted() -> None:
    """After lock, an interleaved foreign SSRC (a stray stream) is never played."""
    receiver = RtpReceiver()
    for i in range(20):
        assert receiver.receive(pkt(i, i * 160), i * 0.02)
        assert not receiver.receive(pkt(5000 + i, 0, ssrc=0x9999), i * 0.02 + 0.001)
    assert receiver.ssrc == 0x1234 and receiver.wrong_ssrc == 20 and receiver.ssrc_changes == 0


def test_clean_ssrc_change_relocks_and_restarts_statistics() -> None:
    """The peer switches streams (after a transfer): sequential packets from the new SSRC
    take over once the old one stops, and its sequence numbers start a fresh count."""
    receiver = RtpReceiver()
    feed(receiver, list(range(100, 110)))
    played = [receiver.receive(pkt(7000 + i, i * 160, ssrc=0xBEEF), 1 + 0.02 * i) for i in range(6)]
    assert played == [False] * (SSRC_CHANGE_PACKETS - 1) + [True] * (7 - SSRC_CHANGE_PACKETS)
    assert receiver.ssrc == 0xBEEF and receiver.ssrc_changes == 1
    assert receiver.wrong_ssrc == SSRC_CHANGE_PACKETS - 1
    assert receiver.lost == 0 and receiver.base_seq == 7000 + SSRC_CHANGE_PACKETS - 1
    # the old SSRC is now the stranger
    assert not receiver.receive(pkt(110, 1600), 2.0)


def test_probation_per_rfc3550_when_asked_for() -> None:
    """With MIN_SEQUENTIAL = 2 the first packet of a new source is held back."""
    receiver = RtpReceiver(min_sequential=2)
    assert not receiver.receive(pkt(500, 0), 0.0)
    assert receiver.receive(pkt(501, 160), 0.02)
    assert receiver.receive(pkt(502, 320), 0.04)
    assert receiver.received == 2 and receiver.lost == 0


def test_sender_report_is_remembered_for_lsr_and_dlsr() -> None:
    """The middle 32 bits of the SR's NTP timestamp are kept with its arrival time."""
    receiver = RtpReceiver()
    receiver.note_sender_report(0xE8F1A2B3_80000000, now=12.5)
    assert receiver.last_sr_ntp_middle == 0xA2B38000
    assert receiver.last_sr_arrival == 12.5


# --- sender -------------------------------------------------------------------------


def test_sender_stamps_consecutive_sequence_and_timestamps_with_wrap() -> None:
    """Three 20 ms frames: seq +1 each (wrapping at 2**16), timestamp +160 (at 2**32)."""
    sender = RtpSender(ssrc=0xABCD, payload_type=0, sequence_number=65535, timestamp=2**32 - 160)
    packets = [sender.send(b"\xff" * 160, 160, marker=i == 0) for i in range(3)]
    assert [p.sequence_number for p in packets] == [65535, 0, 1]
    assert [p.timestamp for p in packets] == [2**32 - 160, 0, 160]
    assert [p.marker for p in packets] == [True, False, False]
    assert {p.ssrc for p in packets} == {0xABCD}
    assert sender.packet_count == 3 and sender.octet_count == 480


def test_sender_skip_and_explicit_timestamp() -> None:
    """Silence advances the timestamp without a packet; events can fix their own timestamp."""
    sender = RtpSender(ssrc=1, payload_type=0)
    sender.skip(800)
    packet = sender.send(b"x", 160)
    assert packet.timestamp == 800 and packet.sequence_number == 0
    event = sender.packet(b"\x05\x0a\x00\xa0", timestamp=960, payload_type=101, marker=True)
    assert event.payload_type == 101 and event.timestamp == 960 and event.sequence_number == 1


def test_sender_with_random_start_uses_random_values_in_range() -> None:
    """RFC 3550 5.1: initial seq and timestamp are random; two senders differ."""
    a = RtpSender.with_random_start(0)
    b = RtpSender.with_random_start(0, ssrc=5)
    assert b.ssrc == 5
    assert 0 <= a.sequence_number < 2**16 and 0 <= a.timestamp < 2**32
    assert (a.ssrc, a.sequence_number, a.timestamp) != (b.ssrc, b.sequence_number, b.timestamp)


def test_sender_and_receiver_agree_end_to_end() -> None:
    """Packets built by our sender, serialised and parsed, play cleanly at the receiver."""
    sender = RtpSender(ssrc=77, payload_type=8, sequence_number=65530, timestamp=123)
    receiver = RtpReceiver()
    for i in range(20):
        wire = bytes(sender.send(b"\xd5" * 160, 160))
        assert receiver.receive(RtpPacket.parse(wire), 0.02 * i)
    assert receiver.lost == 0 and receiver.cycles == 65536 and receiver.jitter == 0


# --- symmetric RTP ------------------------------------------------------------------


def test_latch_locks_onto_the_first_source_and_drops_strangers() -> None:
    """Behind NAT the phone's real address is the one its first packet came from."""
    latch = SymmetricRtpLatch(signalled=("192.168.1.20", 4000))
    assert latch.send_to == ("192.168.1.20", 4000)
    assert latch.admit(("203.0.113.7", 31000))
    assert latch.send_to == ("203.0.113.7", 31000)
    assert latch.admit(("203.0.113.7", 31000))
    assert not latch.admit(("198.51.100.9", 5000))
    assert not latch.admit(("203.0.113.7", 31002))
    assert latch.strangers == 2


def test_unlatch_rearms_after_a_media_change() -> None:
    """After a re-INVITE moves the media, the next valid source is latched afresh."""
    latch = SymmetricRtpLatch()
    latch.admit(("10.0.0.1", 1000))
    latch.unlatch(signalled=("10.0.0.2", 2000))
    assert latch.send_to == ("10.0.0.2", 2000)
    assert latch.admit(("10.0.0.2", 2002))
    assert latch.send_to == ("10.0.0.2", 2002)


def test_a_late_duplicate_is_a_duplicate_not_a_reordering() -> None:
    """Packet 2 arrives again after 5: dropped as a duplicate, counted as received."""
    receiver = RtpReceiver()
    assert feed(receiver, [1, 2, 3, 4, 5, 2]) == 5
    assert receiver.duplicates == 1 and receiver.reordered == 0
    assert receiver.received == 6 and receiver.lost == -1


def test_wrong_ssrc_candidate_is_reset_by_the_locked_source() -> None:
    """A stray SSRC interleaved with the real one never completes a change."""
    receiver = RtpReceiver()
    for i in range(3 * SSRC_CHANGE_PACKETS):
        receiver.receive(pkt(100 + i, i * 160), 0.02 * i)
        receiver.receive(pkt(900 + i, i * 160, ssrc=0x77), 0.02 * i + 0.001)
        receiver.receive(pkt(901 + i, i * 160, ssrc=0x77), 0.02 * i + 0.002)
    assert receiver.ssrc == 0x1234 and receiver.ssrc_changes == 0
