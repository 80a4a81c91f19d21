"""The compiled relay does what :meth:`Endpoint.receive` does, and hands back the rest.

Two worlds get the same datagrams: the reference, a bridge of plain endpoints fed by
hand, and the engine's fast path, the same bridge behind real loopback sockets watched
by :class:`~callcenter.media._fastpath.Relay` and kept in step by
:class:`~callcenter.media.fastpath.FastPath`. Good packets, malformed ones, strangers, a
digit, a new SSRC, gaps and a recording tap: the far end hears the same bytes and the
endpoints count the same, while C relayed the common case itself.
"""

from __future__ import annotations

import array
import select
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.bench import media
from callcenter.bench.media_driver import Driver, run
from callcenter.media import _fastpath, engine, fastpath
from callcenter.media.core import TICK, MediaCore
from callcenter.media.endpoint import Address, Endpoint
from callcenter.media.engine import socket_sender
from callcenter.media.fastpath import FastPath
from callcenter.media.room import AudioSource

HOST = "127.0.0.1"
PAYLOAD = bytes(range(0x10, 0x10 + 160))
START = 500.0


def rtp(
    seq: int, ts: int | None = None, ssrc: int = 0x4242, *, pt: int = 0, first: int = 0x80,
    payload: bytes = PAYLOAD,
) -> bytes:  # fmt: skip
    stamp = seq * 160 if ts is None else ts
    return struct.pack("!BBHII", first, pt, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc) + payload


def _no_source(args: dict[str, object]) -> AudioSource:
    raise ValueError("nothing is played here")


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    return sock


def _same_start(endpoint: Endpoint, ssrc: int) -> None:
    """Both worlds' outgoing streams start alike (they are random otherwise)."""
    endpoint.out.ssrc, endpoint.out.sequence_number, endpoint.out.timestamp = ssrc, 65530, 7


@dataclass
class Reference:
    """The bridge driven by hand: what the Python path does."""

    phones: tuple[Address, Address]
    core: MediaCore = field(default_factory=lambda: MediaCore(_no_source))
    heard: list[list[bytes]] = field(default_factory=lambda: [[], []])

    def __post_init__(self) -> None:
        for side, eid in enumerate("ab"):
            endpoint = Endpoint(eid, (HOST, 20000 + 2 * side), send=self._sender(side))
            endpoint.set_remote(self.phones[side])
            _same_start(endpoint, 0xA0 + side)
            self.core.add_endpoint(endpoint, START)
        self.core.command("bridge", {"bridge": "c", "a": "a", "b": "b"}, START)

    def _sender(self, side: int) -> Callable[[bytes | bytearray, Address], None]:
        return lambda data, addr: self.heard[side].append(bytes(data))

    def receive(self, side: int, data: bytes, source: Address, now: float) -> None:
        self.core.endpoints["ab"[side]].receive(data, source, now)


@dataclass
class Fast:
    """The same bridge behind loopback sockets, with the compiled relay."""

    phones: tuple[socket.socket, socket.socket]
    core: MediaCore = field(default_factory=lambda: MediaCore(_no_source))
    handed: int = 0

    def __post_init__(self) -> None:
        self.fast = FastPath(self.core, _fastpath.Relay())
        self.sockets = [_udp(), _udp()]
        for side, eid in enumerate("ab"):
            sock = self.sockets[side]
            endpoint = Endpoint(eid, sock.getsockname(), send=socket_sender(sock))
            endpoint.forward = endpoint.send
            endpoint.set_remote(self.phones[side].getsockname())
            _same_start(endpoint, 0xA0 + side)
            self.core.add_endpoint(endpoint, START)
            self.fast.register(endpoint, sock)
        self.command("bridge", {"bridge": "c", "a": "a", "b": "b"})

    def endpoint(self, side: int) -> Endpoint:
        return self.core.endpoints["ab"[side]]

    def command(self, op: str, args: dict[str, object]) -> None:
        """As the engine runs a command: state back from C, the command, attach again."""
        self.fast.release([self.core.endpoints[e] for e in "ab"])
        self.core.command(op, dict(args), START)
        self.fast.settle()

    def receive(self, side: int, data: bytes, now: float) -> None:
        self.phones[side].sendto(data, self.sockets[side].getsockname())
        ready, _, _ = select.select([self.fast.relay.fileno()], [], [], 1.0)
        assert ready, "the datagram never reached the relay's socket"
        handed = self.fast.relay.drain(now)
        self.handed += len(handed)
        if handed:
            self.fast.hand_off(handed, now)

    def heard(self, side: int) -> list[bytes]:
        out = []
        with_data = True
        while with_data:
            try:
                out.append(self.phones[side].recv(2048))
            except BlockingIOError:
                with_data = False
        return out

    def close(self) -> None:
        self.fast.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def worlds() -> Iterator[tuple[Reference, Fast, socket.socket]]:
    phones = (_udp(), _udp())
    stranger = _udp()
    fast = Fast(phones)
    reference = Reference((phones[0].getsockname(), phones[1].getsockname()))
    yield reference, fast, stranger
    fast.close()
    for sock in (*phones, stranger):
        sock.close()


def test_the_compiled_relay_is_built_in_this_checkout() -> None:
    """``make`` builds the extension, so the engine never measures the fallback unawares."""
    assert fastpath.COMPILED_RELAY
    assert engine.EngineServer().use_fastpath


def test_good_and_bad_packets_give_the_same_bytes_and_counters(
    worlds: tuple[Reference, Fast, socket.socket],
) -> None:
    """Good audio, malformed datagrams, a stranger, a digit, a gap, a new SSRC, a wrap."""
    reference, fast, stranger = worlds
    for world in (reference, fast):
        world.core.endpoints["a"].tapped = world.core.endpoints["b"].tapped = True
    event = struct.pack("!BBH", 5, 0x80 | 10, 160)  # RFC 4733: digit 5, end
    script: list[tuple[int, bytes]] = [
        (0, rtp(0)), (1, rtp(0, ssrc=0x77)), (0, rtp(1)), (1, rtp(1, ssrc=0x77)),
        (0, rtp(2)), (0, b"\x80\x00"), (0, rtp(3) + bytes(1400)), (0, rtp(3, first=0x40)),
        (0, rtp(3, pt=18)), (0, rtp(3, pt=0x80 | 0)), (0, rtp(4)), (0, rtp(4)),
        (0, rtp(5, ts=5 * 160 + 80_000)), (0, rtp(6, ts=6 * 160 + 80_000)),
        (0, rtp(7, pt=101, payload=event)), (0, rtp(9)), (0, rtp(10)), (0, rtp(6000)),
        (0, rtp(11, ssrc=0x99)), (0, rtp(12, ssrc=0x99)), (0, rtp(13, ssrc=0x99)),
        (0, rtp(14, ssrc=0x99)),
        (0, rtp(15, ssrc=0x99, first=0x81, payload=b"\0\0\0\1" + PAYLOAD)),  # a CSRC
        (1, rtp(2, ssrc=0x77)), (0, rtp(16)), (0, rtp(16, ssrc=0x99)), (0, rtp(15, ssrc=0x99)),
    ]  # fmt: skip
    script += [(0, rtp(seq, ssrc=0x55)) for seq in range(0xFFFB, 0x10003)]  # a new SSRC, a wrap
    now = START
    for side, data in script:
        now += TICK
        reference.receive(side, data, fast.phones[side].getsockname(), now)
        fast.receive(side, data, now)
    stranger.sendto(rtp(20), fast.sockets[0].getsockname())
    assert select.select([fast.fast.relay.fileno()], [], [], 1.0)[0]
    assert fast.fast.relay.drain(now) == []  # counted in C, not handed back
    reference.receive(0, rtp(20), stranger.getsockname(), now)

    for side in (0, 1):
        assert fast.heard(1 - side) == reference.heard[1 - side]
    fast.fast.refresh()
    for side in (0, 1):
        assert fast.endpoint(side).stats == reference.core.endpoints["ab"[side]].stats
    assert fast.fast.take_frames([fast.endpoint(0), fast.endpoint(1)]) == b"".join(
        bytes(reference.core.endpoints[e].take_frame()) for e in "ab"
    )
    stats = fast.endpoint(0).stats
    assert stats.forwarded > 0 and stats.short == stats.oversized == stats.bad_version == 1
    assert stats.strangers == 1 and stats.bad_payload_type == 1 and stats.sequence_wraps >= 1
    assert fast.endpoint(0).fast_attached and fast.fast.relay.attached(fast.endpoint(0).fast_slot)
    assert fast.handed < len(script) // 2  # the common case never left C


def test_a_command_takes_the_state_back_and_the_stream_goes_on(
    worlds: tuple[Reference, Fast, socket.socket],
) -> None:
    """Relayed in C, then a prompt on the agent's leg (Python), then relayed in C again."""
    _, fast, _ = worlds
    now = START
    for seq in range(4):
        now += TICK
        for side in (0, 1):
            fast.receive(side, rtp(seq, ssrc=0x10 + side), now)
    agent = fast.endpoint(1)
    assert agent.fast_attached
    fast.fast.release([agent])  # as a command does: Python owns the state now
    assert not agent.fast_attached and agent.stats.received == 4
    agent.send_payload(PAYLOAD)  # a prompt frame on the agent's own stream
    fast.fast.settle()
    assert agent.fast_attached
    for seq in range(4, 6):
        now += TICK
        fast.receive(0, rtp(seq, ssrc=0x10), now)
    heard = fast.heard(1)
    sequence = [struct.unpack_from("!H", data, 2)[0] for data in heard]
    assert sequence == [(65530 + i) & 0xFFFF for i in range(7)]  # one stream throughout
    timestamps = [struct.unpack_from("!I", data, 4)[0] for data in heard]
    assert timestamps == [7 + 160 * i for i in range(7)]
    assert agent.stats.sent == 5  # C holds the counters of an attached endpoint...
    fast.fast.refresh()
    assert agent.stats.sent == 7  # ...and hands a copy over for the stats


def test_a_playing_endpoint_stays_on_the_python_path(
    worlds: tuple[Reference, Fast, socket.socket],
) -> None:
    """While the agent hears a prompt, the caller's audio is not relayed to it, as in Python."""
    _, fast, _ = worlds
    fast.endpoint(1).playing = True
    fast.fast.release([fast.endpoint(1)])
    fast.fast.settle()
    assert not fast.endpoint(0).fast_attached
    now = START
    for seq in range(3):
        now += TICK
        fast.receive(0, rtp(seq), now)
    assert fast.heard(1) == [] and fast.handed == 3
    assert fast.endpoint(0).stats.forwarded == 3  # forwarded, and dropped by the muted leg


def test_the_driver_through_the_compiled_relay_relays_and_records_every_packet() -> None:
    """``media_driver --fast``: what callgrind measures is the real relay, not a stub."""
    relayed = run("relay", 400, 1, fast=True)
    assert relayed.fast is not None
    relayed.fast.refresh()
    legs = [leg.endpoint for leg in relayed.legs]
    assert sum(e.stats.forwarded for e in legs) == 400 + 2 * 2  # and the two warm-up ticks
    assert all(e.stats.dropped == 0 and e.fast_attached for e in legs)
    recorded = run("recorded", 60, 3, fast=True)
    assert [sink.samples for sink in recorded.sinks] == [62 * 160] * 3
    assert [sink.flushes for sink in recorded.sinks] == [1, 2, 2]


def test_a_dry_run_through_the_compiled_relay_drives_nothing() -> None:
    driver = Driver(2, record=True, compiled=True)
    driver.ticks(10, dry=True)
    assert driver.fast is not None and driver.fast.relay.drain(START) == []
    assert driver.core.ticks == 0
    driver.close()


def test_the_generators_packets_are_the_same_built_in_c_or_in_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The benchmark's traffic: sequence, timestamp, SSRC, call number and filler alike."""
    sender, receiver = _udp(), _udp()
    heard: list[list[bytes]] = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(media, "_fastpath", None)
        seqs = array.array("I", [7, 0xFFFF, 3])
        addresses = [receiver.getsockname()] * 3
        counted = media._send_calls(sender, 1, 3, seqs, 1 << 31, addresses, 0.0, 1e12)
        assert counted == 2 and list(seqs) == [7, 0x10000, 4]
        assert select.select([receiver], [], [], 1.0)[0]
        packets = [receiver.recv(2048) for _ in range(2)]
        heard.append([p[:12] + p[20:] for p in packets])  # all but the send time
    assert heard[0] == heard[1]
    assert struct.unpack_from("!BBHII", heard[0][0]) == (0x80, 0, 0xFFFF, 0xFFFF * 160, 1 << 31 | 1)
    assert len(heard[0][1]) == 172 - 8
    sender.close()
    receiver.close()


def _datagram() -> st.SearchStrategy[tuple[int, bytes]]:
    """A side and what arrives there: mostly RTP of a few streams, near-RTP, or noise."""
    plausible = st.builds(
        lambda seq, ts_jump, ssrc, pt, first, size: rtp(
            seq, seq * 160 + ts_jump, ssrc, pt=pt, first=first, payload=PAYLOAD[:size]
        ),
        st.sampled_from([0, 1, 2, 3, 5, 9, 40, 3001, 0xFFFE, 0xFFFF]),
        st.sampled_from([0, 0, 0, 80, 80_000]),
        st.sampled_from([0x4242, 0x4242, 0x77, 0x99]),
        st.sampled_from([0, 0, 0, 8, 18, 101, 0x80]),
        st.sampled_from([0x80, 0x80, 0x80, 0x81, 0x90, 0xA0, 0x40]),
        st.sampled_from([160, 160, 4, 0, 20]),
    )
    noise = st.binary(max_size=40)
    return st.tuples(st.integers(0, 1), st.one_of(plausible, plausible, plausible, noise))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_datagram(), min_size=1, max_size=30), st.booleans())
def test_any_datagrams_give_the_same_bytes_counters_and_taps_on_both_paths(
    script: list[tuple[int, bytes]], tapped: bool
) -> None:
    """Whatever arrives - streams restarting, jumping, wrapping, malformed or noise - the
    compiled relay forwards, counts and taps exactly what the Python path does."""
    phones = (_udp(), _udp())
    fast = Fast(phones)
    reference = Reference((phones[0].getsockname(), phones[1].getsockname()))
    try:
        for world in (reference, fast):
            world.core.endpoints["a"].tapped = world.core.endpoints["b"].tapped = tapped
        now = START
        for side, data in script:
            now += TICK
            reference.receive(side, data, fast.phones[side].getsockname(), now)
            fast.receive(side, data, now)
        for side in (0, 1):
            assert fast.heard(side) == reference.heard[side]
        fast.fast.refresh()
        for side in (0, 1):
            assert fast.endpoint(side).stats == reference.core.endpoints["ab"[side]].stats
        if tapped:
            assert fast.fast.take_frames([fast.endpoint(0), fast.endpoint(1)]) == b"".join(
                bytes(reference.core.endpoints[e].take_frame()) for e in "ab"
            )
    finally:
        fast.close()
        for sock in phones:
            sock.close()
