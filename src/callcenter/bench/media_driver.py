"""A deterministic driver of the media engine's hot paths, without sockets or a clock.

Theory of operation
-------------------
The engine's cost is in two places: per datagram (:meth:`Endpoint.receive` checks
the header and the partner relays it) and per 20 ms tick (:meth:`MediaCore.tick`
decodes every tapped endpoint and adds the frames to the recordings). This module
pushes a fixed number of prebuilt packets and ticks through a real
:class:`~callcenter.media.core.MediaCore` whose endpoints send into a counter, on a
virtual clock, so a profile (``cProfile``) or an instruction count (``valgrind
--tool=callgrind``) measures exactly that code and is the same from run to run.

``python -m callcenter.bench.media_driver relay K`` relays ``K`` packets over one
bridge (both directions alternating); ``recorded K --calls C`` runs ``K`` ticks of
``C`` bridged and recorded calls, one packet per leg per tick, recorded to a null
sink (or ``--wav`` for real files in a temporary directory). Instructions per packet
or per tick are the difference between a count of the run and one of the same run
with ``--dry`` (packets built, nothing driven) divided by ``K``: start-up and packet
building cancel out. ``--profile`` prints the top of a cProfile instead.

``--fast`` drives the compiled relay (:mod:`callcenter.media._fastpath`) as the engine
does: the endpoints' sockets are real (loopback), two "phone" sockets send the
prebuilt packets to them, and :meth:`FastPath.on_readable`'s drain takes them (every
``FAST_BATCH`` packets in ``relay``, every tick in ``recorded``). ``--dry`` sends the
same packets to a socket nobody reads, so the difference is the engine's share:
callgrind counts user-space instructions, not the kernel's.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import socket
import struct
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from callcenter.media.core import TICK, MediaCore
from callcenter.media.endpoint import Address, Endpoint
from callcenter.media.engine import socket_sender, udp_socket
from callcenter.media.fastpath import FastPath
from callcenter.media.room import AudioSource, RecordingSink

_HEADER: Final = struct.Struct("!BBHII")
PAYLOAD: Final = bytes(range(0x10, 0x10 + 160))  # one 20 ms PCMU frame, not silence
START: Final = 1000.0
FAST_BATCH: Final = 32  # relay mode: packets sent between two drains
HOST: Final = "127.0.0.1"
Pcm = npt.NDArray[np.int16]


@dataclass
class Counter:
    """The endpoints' ``send``: counts datagrams and octets, keeps nothing."""

    packets: int = 0
    octets: int = 0

    def send(self, data: bytes | bytearray, addr: Address) -> None:
        self.packets += 1
        self.octets += len(data)


@dataclass
class NullSink:
    """A recording sink that counts the samples it is handed."""

    samples: int = 0
    flushes: int = 0

    def write(self, left: Pcm, right: Pcm | None = None) -> None:
        self.samples += len(left)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        return None


def _no_source(args: dict[str, Any]) -> AudioSource:
    raise ValueError("the driver plays nothing")


@dataclass
class Leg:
    """One phone's stream into an endpoint: prebuilt packets in sequence."""

    endpoint: Endpoint
    source: Address
    ssrc: int
    seq: int = 0

    def packet(self) -> bytes:
        header = _HEADER.pack(0x80, 0, self.seq & 0xFFFF, (self.seq * 160) & 0xFFFFFFFF, self.ssrc)
        self.seq += 1
        return header + PAYLOAD


@dataclass
class Driver:
    """``calls`` bridged calls in one core; :meth:`relay` and :meth:`ticks` drive them."""

    calls: int = 1
    record: bool = False
    wav_dir: Path | None = None
    counter: Counter = field(default_factory=Counter)
    sinks: list[NullSink] = field(default_factory=list)
    now: float = START
    compiled: bool = False  # drive the compiled relay (``--fast``)

    def __post_init__(self) -> None:
        self.core = MediaCore(_no_source, self._sink)
        self.legs: list[Leg] = []
        self.sockets: list[socket.socket] = []
        self.phones: list[socket.socket] = []
        self.fast: FastPath | None = None
        if self.compiled:
            from callcenter.media import _fastpath

            self.fast = FastPath(self.core, _fastpath.Relay())
            self.phones = [_phone(), _phone()]
            self.nobody = _phone()  # --dry: where the same packets go unread
        for i in range(self.calls):
            pair = []
            for side in "ab":
                eid = f"{side}{i}"
                phone: Address = ("127.0.0.1", 40000 + 2 * len(self.legs))
                if self.fast is not None:
                    sock = udp_socket()
                    sock.bind((HOST, 0))
                    self.sockets.append(sock)
                    endpoint = Endpoint(eid, sock.getsockname(), socket_sender(sock))
                    self.fast.register(endpoint, sock)
                    phone = self.phones["ab".index(side)].getsockname()
                else:
                    port = 20000 + 2 * len(self.legs)
                    endpoint = Endpoint(eid, ("127.0.0.1", port), self.counter.send)
                endpoint.set_remote(phone)
                self.core.add_endpoint(endpoint, self.now)
                self.legs.append(Leg(endpoint, phone, 0x1000 + len(self.legs)))
                pair.append(eid)
            self.command("bridge", {"bridge": f"c{i}", "a": pair[0], "b": pair[1]})
            if self.record:
                path = str((self.wav_dir or Path(".")) / f"c{i}.wav")
                self.command("record", {"recording": f"r{i}", "target": f"c{i}", "path": path})
        self.clock_ticks = 0

    def command(self, op: str, args: dict[str, Any]) -> None:
        """A command as the engine runs it (state back from C first, attach after)."""
        fast = self.fast
        if fast is not None:
            endpoints = self.core.endpoints
            fast.release([endpoints[e] for e in (args.get("a"), args.get("b")) if e])
        self.core.command(op, args, self.now)
        if fast is not None:
            fast.settle()

    def _sink(self, path: str, fmt: str, stereo: bool) -> RecordingSink:
        if self.wav_dir is not None:
            from callcenter.media.recorder import Recorder

            return Recorder(path, fmt, stereo)
        sink = NullSink()
        self.sinks.append(sink)
        return sink

    def prebuilt(self, count: int) -> list[tuple[Endpoint, bytes, Address]]:
        """``count`` packets, the legs taking turns, built before the clock starts."""
        legs = self.legs
        return [
            (leg.endpoint, leg.packet(), leg.source)
            for leg in (legs[i % len(legs)] for i in range(count))
        ]

    def relay(self, packets: Sequence[tuple[Endpoint, bytes, Address]], dry: bool = False) -> None:
        """Hand each packet to its endpoint, as the socket adapter does."""
        if self.fast is not None:
            self._relay_fast(packets, dry)
            return
        now = self.now
        for endpoint, data, source in packets:
            endpoint.receive(data, source, now)
            now += 0.0001
        self.now = now

    def _relay_fast(self, packets: Sequence[tuple[Endpoint, bytes, Address]], dry: bool) -> None:
        """The phones send, the relay drains (every ``FAST_BATCH`` packets, and at the end)."""
        assert self.fast is not None
        phones = self.phones
        nobody = self.nobody.getsockname()
        sides = {leg.endpoint: i % 2 for i, leg in enumerate(self.legs)}
        for first in range(0, len(packets), FAST_BATCH):
            for endpoint, data, _ in packets[first : first + FAST_BATCH]:
                phones[sides[endpoint]].sendto(data, nobody if dry else endpoint.local)
            if not dry:
                self.now += 0.0001 * FAST_BATCH
                self._drain()

    def _drain(self) -> None:
        assert self.fast is not None
        handed = self.fast.relay.drain(self.now)
        if handed:
            self.fast.hand_off(handed, self.now)

    def ticks(self, count: int, *, dry: bool = False) -> None:
        """``count`` ticks, each after one packet on every leg (``dry``: packets built only)."""
        for _ in range(count):
            packets = self.prebuilt(len(self.legs))
            self.now += TICK
            if self.fast is not None:
                self._relay_fast(packets, dry)
                if not dry:
                    self.core.tick(self.now)
            elif not dry:
                self.relay(packets)
                self.core.tick(self.now)

    def close(self) -> None:
        self.core.close(self.now)
        for sock in [*self.sockets, *self.phones]:
            sock.close()
        if self.fast is not None:
            self.nobody.close()
            self.fast.close()


def _phone() -> socket.socket:
    sock = udp_socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((HOST, 0))
    return sock


def run(
    mode: str,
    count: int,
    calls: int,
    wav_dir: Path | None = None,
    *,
    dry: bool = False,
    fast: bool = False,
) -> Driver:
    """Set up, warm up (latch and lock every leg), then drive ``count`` packets or ticks.

    ``dry`` builds the same packets and drives nothing: the baseline an instruction
    count subtracts. ``fast``: through the compiled relay and real loopback sockets.
    """
    driver = Driver(calls if mode == "recorded" else 1, mode == "recorded", wav_dir, compiled=fast)
    driver.ticks(2)
    if mode == "relay":
        packets = driver.prebuilt(count)
        if not dry or fast:
            driver.relay(packets, dry)
    else:
        driver.ticks(count, dry=dry)
    driver.close()
    return driver


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m callcenter.bench.media_driver")
    parser.add_argument("mode", choices=("relay", "recorded"))
    parser.add_argument("count", type=int, help="packets (relay) or ticks (recorded)")
    parser.add_argument("--calls", type=int, default=100, help="recorded calls")
    parser.add_argument("--wav", action="store_true", help="record real WAV files")
    parser.add_argument("--dry", action="store_true", help="build the packets, drive nothing")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    parser.add_argument("--fast", action="store_true", help="through the compiled relay")
    args = parser.parse_args(argv)
    logging.getLogger("callcenter.media.core").setLevel(logging.ERROR)  # null sinks: no file
    with tempfile.TemporaryDirectory(prefix="media-driver-") as tmp:
        wav_dir = Path(tmp) if args.wav else None
        if not args.profile:
            run(args.mode, args.count, args.calls, wav_dir, dry=args.dry, fast=args.fast)
            return 0
        profile = cProfile.Profile()
        profile.enable()
        run(args.mode, args.count, args.calls, wav_dir, fast=args.fast)
        profile.disable()
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(20)
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
