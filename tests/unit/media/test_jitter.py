"""Adaptive jitter buffer: ordering, loss concealment, late packets, growth and shrink."""

from __future__ import annotations

import random

import pytest

from callcenter.media.jitter import JitterBuffer
from callcenter.media.rtp import RtpPacket


def pkt(seq: int) -> RtpPacket:
    return RtpPacket(0, seq % 65536, (seq * 160) % 2**32, 1, bytes([seq % 256]))


def run(
    buffer: JitterBuffer, arrivals: list[tuple[float, int]], ticks: int, first_tick: float = 0.0
) -> list[int | None]:
    """Deliver (arrival time, seq) pairs and pop every 20 ms; return what was played."""
    pending = sorted(arrivals)
    played: list[int | None] = []
    for t in range(ticks):
        now = first_tick + 0.02 * t
        while pending and pending[0][0] <= now + 1e-9:
            arrival, seq = pending.pop(0)
            buffer.push(pkt(seq), arrival)
        packet = buffer.pop(now)
        played.append(None if packet is None else packet.sequence_number)
    return played


def test_steady_stream_plays_every_packet_in_order_after_the_initial_delay() -> None:
    """Perfect 20 ms arrivals: two ticks of buffering, then 1, 2, 3... without gaps."""
    buffer = JitterBuffer()
    played = run(buffer, [(0.02 * i, i) for i in range(50)], 52)
    assert played[:2] == [None, None]
    assert played[2:] == list(range(50))
    assert buffer.concealed == 0 and buffer.discarded == 0 and buffer.late == 0


def test_reordered_packets_are_played_in_sequence() -> None:
    """Packets 5 and 6 arrive swapped within the buffer's delay: no audible effect."""
    arrivals = [(0.02 * i, i) for i in range(20) if i not in (5, 6)]
    arrivals += [(0.1 + 0.005, 6), (0.1 + 0.01, 5)]
    played = run(JitterBuffer(), arrivals, 22)
    assert [p for p in played if p is not None] == list(range(20))


def test_a_lost_packet_is_concealed_and_playback_continues() -> None:
    """Packet 7 never arrives: its slot is None, counted as concealed, then 8 follows."""
    buffer = JitterBuffer()
    played = run(buffer, [(0.02 * i, i) for i in range(20) if i != 7], 22)
    assert played[2:] == [*range(7), None, *range(8, 20)]
    assert buffer.concealed == 1 and buffer.played == 19


def test_packets_arriving_after_their_slot_are_late_and_dropped() -> None:
    """Packet 4 arrives 200 ms late, after it was concealed: it is dropped, not played."""
    buffer = JitterBuffer(max_delay=0.06)
    arrivals = [(0.02 * i, i) for i in range(20) if i != 4] + [(0.28, 4)]
    played = run(buffer, arrivals, 22)
    assert played.count(4) == 0
    assert buffer.late == 1 and buffer.concealed == 1


def test_duplicates_are_dropped() -> None:
    """The network duplicates packet 3: it is played once."""
    buffer = JitterBuffer()
    played = run(buffer, [(0.02 * i, i) for i in range(10)] + [(0.065, 3)], 12)
    assert played.count(3) == 1 and buffer.duplicates == 1


def test_sequence_wrap_around_is_seamless() -> None:
    """Sequence numbers 65530 -> 5 play without a gap or a reset."""
    buffer = JitterBuffer()
    seqs = [65530 + i for i in range(12)]
    played = run(buffer, [(0.02 * i, s) for i, s in enumerate(seqs)], 14)
    assert played[2:] == [s % 65536 for s in seqs]
    assert buffer.resets == 0


def test_underrun_waits_instead_of_skipping() -> None:
    """The network stalls 100 ms then delivers a burst: nothing is lost, delay grows."""
    buffer = JitterBuffer()
    arrivals = [(0.02 * i, i) for i in range(10)]
    arrivals += [(0.30, i) for i in range(10, 16)]  # burst after the stall
    arrivals += [(0.02 * i + 0.1, i) for i in range(16, 40)]
    played = run(buffer, arrivals, 60)
    assert buffer.underruns > 0
    real = [p for p in played if p is not None]
    assert real == sorted(real) and len(set(real)) == len(real)
    assert buffer.concealed + buffer.discarded + len(real) == 40


def test_target_delay_adapts_to_jitter_within_bounds() -> None:
    """Heavy random jitter raises the target delay; a calm stream keeps the minimum."""
    rng = random.Random(4)
    calm = JitterBuffer()
    run(calm, [(0.02 * i, i) for i in range(100)], 102)
    assert calm.target_delay == pytest.approx(calm.min_delay)
    shaky = JitterBuffer(max_delay=0.2)
    run(shaky, [(0.02 * i + rng.uniform(0, 0.08), i) for i in range(300)], 310)
    assert 0.06 < shaky.target_delay <= 0.2
    assert shaky.jitter > 0.01


def test_excess_audio_is_discarded_to_bring_latency_back_down() -> None:
    """After a burst fills the buffer far beyond the target, frames are dropped to catch up."""
    buffer = JitterBuffer()
    arrivals = [(0.02 * i, i) for i in range(5)]
    arrivals += [(0.1, i) for i in range(5, 25)]  # 400 ms of audio at once
    arrivals += [(0.02 * i, i) for i in range(25, 60)]
    run(buffer, arrivals, 62)
    assert buffer.discarded > 0
    assert buffer.buffered_seconds <= buffer.target_delay + buffer.ptime + 1e-9


def test_far_jump_in_sequence_resets_the_buffer() -> None:
    """The peer restarts its stream at a new sequence number: the buffer starts over."""
    buffer = JitterBuffer()
    run(buffer, [(0.02 * i, i) for i in range(10)], 12)
    assert buffer.push(pkt(30000), 0.3)
    assert buffer.resets == 1 and buffer.depth == 1
    assert buffer.pop(0.3) is None  # buffering again
    packet = buffer.pop(0.3 + buffer.target_delay)
    assert packet is not None and packet.sequence_number == 30000


def test_nothing_to_play_before_the_first_packet() -> None:
    """An empty buffer returns None and counts nothing."""
    buffer = JitterBuffer()
    assert buffer.pop(1.0) is None
    assert buffer.buffered_seconds == 0.0
    assert (buffer.underruns, buffer.concealed) == (0, 0)
    with pytest.raises(ValueError):
        JitterBuffer(min_delay=0.5, max_delay=0.1)
