"""The engine's fast paths keep what the slow ones did: every datagram, in order, counted.

The socket adapter reads each RTP socket dry per wake-up and sends with ``sendto``;
the relay fast path computes jitter without a modulo; the profiling driver pushes
exactly the packets and ticks it says. Sockets are real, on 127.0.0.1.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from callcenter.bench.media_driver import Driver, run
from callcenter.media.core import TICK
from callcenter.media.endpoint import MAX_DATAGRAM, Address, Endpoint
from callcenter.media.engine import DRAIN_LIMIT, rtp_reader, rtp_sender

HOST = "127.0.0.1"
PAYLOAD = bytes(range(160))


def rtp(seq: int, ts: int | None = None, ssrc: int = 0x4242) -> bytes:
    stamp = seq * 160 if ts is None else ts
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc) + PAYLOAD


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.settimeout(2.0)
    return sock


Sockets = tuple[socket.socket, socket.socket, socket.socket, socket.socket]


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    """The engine's two ports, a phone sending to the first, and the partner's phone."""
    engine, sender, phone, far = udp(), udp(), udp(), udp()
    engine.setblocking(False)
    yield engine, sender, phone, far
    for sock in (engine, sender, phone, far):
        sock.close()


def bridged(sockets: Sockets) -> tuple[Endpoint, Endpoint]:
    """The endpoint on the first port, bridged to one sending to ``far`` with ``sendto``."""
    engine, sender, _, far = sockets
    a = Endpoint("a", engine.getsockname(), send=rtp_sender(sender))
    b = Endpoint("b", sender.getsockname(), send=rtp_sender(sender))
    b.set_remote(far.getsockname())
    a.forward, b.forward = engine.sendto, sender.sendto  # as the engine sets them
    a.partner, b.partner = b, a
    return a, b


def test_one_wake_up_relays_every_queued_datagram_in_order(sockets: Sockets) -> None:
    engine, _, phone, far = sockets
    a, b = bridged(sockets)
    for seq in range(5):
        phone.sendto(rtp(seq), engine.getsockname())
    phone.sendto(b"\x80\x00", engine.getsockname())  # short: dropped and counted
    phone.sendto(rtp(5) + bytes(MAX_DATAGRAM), engine.getsockname())  # oversized

    rtp_reader(engine, a)()

    assert (a.stats.received, a.stats.forwarded, a.stats.short, a.stats.oversized) == (5, 5, 1, 1)
    relayed = [far.recv(2048) for _ in range(5)]
    sequence = [struct.unpack_from("!H", data, 2)[0] for data in relayed]
    assert sequence == [(sequence[0] + i) & 0xFFFF for i in range(5)]
    assert all(data[12:] == PAYLOAD for data in relayed)
    assert b.stats.sent == 5


def test_a_flooded_port_is_read_in_bounded_batches(sockets: Sockets) -> None:
    engine, _, phone, _ = sockets
    a, _ = bridged(sockets)
    for seq in range(DRAIN_LIMIT + 3):
        phone.sendto(rtp(seq), engine.getsockname())
    read = rtp_reader(engine, a)

    read()
    assert a.stats.received == DRAIN_LIMIT
    read()
    assert a.stats.received == DRAIN_LIMIT + 3


def test_a_relay_whose_send_fails_loses_that_datagram_and_reads_on(sockets: Sockets) -> None:
    engine, _, phone, far = sockets
    a, b = bridged(sockets)
    a.tapped = True
    failures = iter([OSError(101, "Network is unreachable")])

    def forward(data: bytes | bytearray, address: Address) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        far.sendto(data, address)

    b.forward = forward
    for seq in range(3):
        phone.sendto(rtp(seq), engine.getsockname())

    rtp_reader(engine, a)()

    assert (a.stats.received, a.stats.forwarded, b.stats.sent) == (3, 2, 2)
    assert len(a.take_frame()) == 160 and bytes(a.take_frame()) == PAYLOAD  # all 3 tapped
    assert len(far.recv(2048)) == 172 and len(far.recv(2048)) == 172


def test_a_send_that_fails_loses_the_datagram_and_nothing_else() -> None:
    sock = udp()
    send = rtp_sender(sock)
    sock.close()
    send(rtp(0), (HOST, 9))  # EBADF: logged, not raised into the relay or the tick


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
