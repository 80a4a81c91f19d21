"""The engine's fast paths keep what the slow ones did: every packet, in order, counted.

The relay sends through ``forward`` and keeps one outgoing stream with the tick's
sends; the fast path computes jitter without a modulo unless the timestamp wrapped;
the profiling driver pushes exactly the packets and ticks it says.
"""

from __future__ import annotations

import struct

import pytest

from callcenter.bench.media_driver import Driver, run
from callcenter.media.core import TICK
from callcenter.media.endpoint import Address, Endpoint

HOST = "127.0.0.1"
PAYLOAD = bytes(range(160))


def rtp(seq: int, ts: int | None = None, ssrc: int = 0x4242) -> bytes:
    stamp = seq * 160 if ts is None else ts
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc) + PAYLOAD


def test_the_relay_forwards_through_its_own_send_and_the_tick_through_send() -> None:
    """``forward`` carries relayed packets; prompts and digits still go out by ``send``."""
    relayed: list[bytes | bytearray] = []
    played: list[bytes | bytearray] = []
    a = Endpoint("a", (HOST, 20000), send=lambda data, addr: None)
    b = Endpoint("b", (HOST, 20002), send=lambda data, addr: played.append(data))
    b.forward = lambda data, addr: relayed.append(data)
    b.set_remote((HOST, 40002))
    a.partner, b.partner = b, a
    for seq in range(3):
        a.receive(rtp(seq), (HOST, 40000), 100.0 + seq * TICK)
    b.send_payload(PAYLOAD)

    assert [bytes(data[12:]) for data in relayed] == [PAYLOAD] * 3
    assert len(played) == 1 and b.stats.sent == 4
    sequence = [struct.unpack_from("!H", data, 2)[0] for data in [*relayed, *played]]
    assert sequence == [(sequence[0] + i) & 0xFFFF for i in range(4)]  # one stream


def test_a_relay_whose_send_fails_keeps_the_recording_tap() -> None:
    a = Endpoint("a", (HOST, 20000), send=lambda data, addr: None)
    b = Endpoint("b", (HOST, 20002), send=lambda data, addr: None)
    b.set_remote((HOST, 40002))
    a.partner, b.partner = b, a
    a.tapped = True

    def unreachable(data: bytes | bytearray, addr: Address) -> None:
        raise OSError(101, "Network is unreachable")

    b.forward = unreachable
    with pytest.raises(OSError):
        a.receive(rtp(0), (HOST, 40000), 100.0)
    assert a.stats.received == 1 and a.stats.forwarded == 0
    assert bytes(a.take_frame()) == PAYLOAD


def test_jitter_of_a_steady_stream_stays_zero_across_a_timestamp_wrap() -> None:
    sent: list[tuple[bytes | bytearray, Address]] = []
    endpoint = Endpoint("a", (HOST, 20000), send=lambda data, addr: sent.append((data, addr)))
    start = 0xFFFFFFFF - 5 * 160
    for i in range(20):
        endpoint.receive(rtp(i, start + i * 160), (HOST, 40000), 100.0 + i * TICK)
    assert endpoint.stats.received == 20
    assert endpoint.stats.timestamp_jumps == 0
    assert endpoint.stats.jitter == pytest.approx(0.0, abs=1e-6)


def test_jitter_follows_rfc3550_and_a_jump_of_seconds_is_counted_not_averaged() -> None:
    endpoint = Endpoint("a", (HOST, 20000), send=lambda data, addr: None)
    arrivals = [0.0, 0.020, 0.045, 0.060, 0.080]  # the third packet 5 ms late
    for i, at in enumerate(arrivals):
        endpoint.receive(rtp(i), (HOST, 40000), 100.0 + at)
    expected = 0.0
    for d in (0, 40, 40, 0):  # |D| in timestamp units between consecutive packets
        expected += (d - expected) / 16
    assert endpoint.stats.jitter == pytest.approx(expected, rel=1e-6)
    endpoint.receive(rtp(5, 5 * 160 + 3 * 8000), (HOST, 40000), 100.100)
    assert endpoint.stats.timestamp_jumps == 1
    assert endpoint.stats.jitter == pytest.approx(expected, rel=1e-6)


def test_the_driver_relays_exactly_the_packets_it_is_asked_to() -> None:
    driver = run("relay", 1000, 1)
    assert driver.counter.packets == 1000 + 2 * 2  # two warm-up ticks, one packet per leg
    assert all(leg.endpoint.stats.dropped == 0 for leg in driver.legs)


def test_the_driver_records_every_tick_of_every_call_once() -> None:
    driver = run("recorded", 60, 3)
    assert [sink.samples for sink in driver.sinks] == [62 * 160] * 3
    # Slots 0, 1, 2 of 50: flushed at tick 50; at ticks 1 and 51; at ticks 2 and 52.
    assert [sink.flushes for sink in driver.sinks] == [1, 2, 2]


def test_a_dry_run_builds_the_packets_and_drives_nothing() -> None:
    driver = Driver(2, record=True)
    driver.ticks(10, dry=True)
    assert driver.counter.packets == 0 and driver.core.ticks == 0
