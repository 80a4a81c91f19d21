"""`callcenter bench media`: bridged calls through one media engine, against rtpengine.

Theory of operation
-------------------
Traffic generators run in ``GENERATORS`` separate processes (``python -m
callcenter.bench.media N``, JSON lines on their stdin and stdout). Each plays both
legs of its share of N calls: every 20 ms, per call, one PCMU packet from the
caller's side to the relay and one from the agent's side, the calls' phases spread
evenly over the 20 ms (real calls do not tick together). The first 12 payload octets
carry the send time and the call number, so the receiving side measures each
packet's delay through the relay and counts what never came back. A generator's legs
share a few sockets (``CALLS_PER_SOCKET``): the relay latches each of its ports onto
one source address, whichever socket that is. A generator wakes every ``SLICE``
(1 ms), builds and sends every packet due by then with one ``sendmmsg`` per socket and reads its
sockets dry with ``recvmmsg`` (both in :mod:`callcenter.media._fastpath`; plain
``sendto`` and ``recv`` without it), so that one generator process keeps up with
hundreds of calls. Each packet carries the time it was built, before its batch left.

Three relays take the generators' traffic in turn, each on the same loopback:

* ``relay``: one engine process (:class:`EngineClient`), 2N endpoints bridged in pairs;
  same codec and nothing listening, so packets are forwarded as they arrive;
* ``recorded``: the same with every call recorded (stereo 16-bit WAV, flushed in
  staggered slots), so every packet is also decoded and written;
* ``rtpengine``: userspace rtpengine (``--table=-1``, its default worker threads), each
  call set up with an ng ``offer`` and ``answer`` over UDP (bencode).

Per step of N: set up, start all generators at one instant, ``WARMUP`` seconds not
counted, then ``seconds`` measured; packets sent in the window that are not back
``DRAIN`` seconds after it are lost. A step is clean with zero loss and a p99 delay of
at most ``MAX_P99_MS``, and void when the generators themselves could not keep the
schedule (``MAX_GENERATOR_LAG_MS``, ``MIN_RATE_KEPT``): then the machine was measured.
N climbs through ``STEPS`` until the first unclean step, then one bisection refines it;
a void step is run again (``VOID_RETRIES``, unless ``refine`` is off: one run per step)
before it ends the climb, and every run is in the table.
CPU per call is the relay process's user + system time (``/proc/<pid>/stat``, all
threads) over the window, as percent of one core per call.
The delay includes the generators' own scheduling on this machine, so it is an upper
bound of what the relay adds.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import json
import logging
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from callcenter.media.udp import udp_socket

try:  # batched sends and receives (sendmmsg, recvmmsg) in the generators
    from callcenter.media import _fastpath
except ImportError:
    _fastpath = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
STEPS: Final = (100, 200, 400, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000)
GENERATORS: Final = 2
CALLS_PER_SOCKET: Final = 50
PTIME: Final = 0.020
WARMUP: Final = 1.0
DRAIN: Final = 0.5
MAX_P99_MS: Final = 20.0
# Delays are measured from the real send time, so a generator that slips a little still
# measures the relay; one this far behind, or short of the rate, measures the machine.
MAX_GENERATOR_LAG_MS: Final = 100.0
MIN_RATE_KEPT: Final = 0.98
SLICE: Final = 0.001  # the generator wakes every millisecond and sends what is due
BATCH_CALLS: Final = 256  # calls sent for between two looks at the receive sockets
BUDGET_SECONDS: Final = 900.0
VOID_RETRIES: Final = 2  # a void step is run again, up to twice, before the ladder stops
VOID_PAUSE: Final = 2.0
RTPENGINE: Final = "/usr/bin/rtpengine"
ENGINE_PORTS: Final = (20000, 39998)  # 5 000 calls
RTPENGINE_PORTS: Final = (40000, 59999)
SOCKET_BUFFER: Final = 4 << 20
_STAMP = struct.Struct("!dI")  # send time (monotonic), call number
_HEADER = struct.Struct("!BBHII")
_FILLER: Final = b"\xff" * (160 - _STAMP.size)

Mode = Literal["relay", "recorded", "rtpengine"]


# --- the generator process -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds measured per step, after ``warmup`` seconds that are not counted."""

    measure: float = 5.0
    warmup: float = WARMUP
    drain: float = DRAIN  # how long a packet sent at the window's end may take


@dataclass(frozen=True, slots=True)
class GeneratorReport:
    sent: int
    received: int
    delays: bytes  # array('d') of seconds
    lag: float  # the most the generator sent behind its schedule or read late, seconds


def _udp_socket() -> socket.socket:
    """Fifty calls' bursts each way: big buffers both ways, any free loopback port."""
    return udp_socket(receive_buffer=SOCKET_BUFFER, send_buffer=SOCKET_BUFFER, bind=(HOST, 0))


def generator_main(calls: int) -> None:
    """One generator process; JSON lines with the coordinator on stdin and stdout."""
    per_side = max(1, math.ceil(calls / CALLS_PER_SOCKET))
    sockets = [[_udp_socket() for _ in range(per_side)] for _side in range(2)]
    leg_socket = [[sockets[side][i // CALLS_PER_SOCKET] for i in range(calls)] for side in (0, 1)]
    _say({"legs": [[s.getsockname() for s in leg_socket[side]] for side in (0, 1)]})
    order = json.loads(sys.stdin.readline())
    targets = [[(str(h), int(p)) for h, p in side] for side in order["targets"]]
    timing = Timing(float(order["measure"]), float(order["warmup"]), float(order["drain"]))
    report = _generate(leg_socket, sockets, targets, float(order["start"]), timing)
    _say({"sent": report.sent, "received": report.received, "lag": report.lag,
          "delays": base64.b64encode(report.delays).decode()})  # fmt: skip
    for side in sockets:
        for sock in side:
            sock.close()


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _generate(
    leg_socket: list[list[socket.socket]],
    sockets: list[list[socket.socket]],
    targets: list[list[tuple[str, int]]],
    start: float,
    timing: Timing,
) -> GeneratorReport:
    """Send what is due every ``SLICE``, in one batch per socket; read every socket dry.

    Each packet is stamped when it is built, before its batch goes out, so the delay
    measured includes the batching. The lag is the time from the first due packet of a
    batch to the batch having been sent, or between two reads of the sockets (a generator
    that reads late delays what the relay sent in time), whichever is longer.
    """
    calls = len(targets[0])
    window_start = start + timing.warmup
    window_end = window_start + timing.measure
    every_socket = [member for group in sockets for member in group]
    seqs = [array.array("I", bytes(4 * calls)) for _side in (0, 1)]
    phase = [PTIME * i / calls for i in range(calls)]
    delays = array.array("d")
    sent = received = 0
    tick, index = 0, 0
    lag = 0.0  # how far behind its schedule the generator ever sent or read
    last_read = start
    monotonic = time.monotonic
    while True:
        now = monotonic()
        due = start + tick * PTIME + phase[index]
        count = 0
        if tick >= 0:
            first_due = due
            while due <= now and count < BATCH_CALLS:
                if due >= window_end:
                    tick = -1
                    break
                base = start + tick * PTIME
                end = index + 1  # the run of this tick's calls due by now
                limit = min(calls, index + BATCH_CALLS - count)
                while end < limit and base + phase[end] <= min(now, window_end):
                    end += 1
                for leg in (0, 1):
                    first = index
                    while first < end:  # one batch per socket
                        last = min(end, (first // CALLS_PER_SOCKET + 1) * CALLS_PER_SOCKET)
                        sent += _send_calls(
                            leg_socket[leg][first], first, last, seqs[leg], leg << 31,
                            targets[leg], window_start, window_end,
                        )  # fmt: skip
                        first = last
                count += end - index
                index = end
                if index == calls:
                    index, tick = 0, tick + 1
                due = start + tick * PTIME + phase[index]
            if count and window_start <= first_due < window_end:
                lag = max(lag, monotonic() - first_due)
        elif now > window_end + timing.drain:
            break
        for member in every_socket:
            n, more = _receive_delays(member, window_start, window_end)
            if n:
                received += n
                delays.frombytes(more)
        read_at = monotonic()
        if window_start <= read_at <= window_end:
            lag = max(lag, read_at - last_read)
        last_read = read_at
        if count < BATCH_CALLS:  # behind: send on at once
            pause = min(due - monotonic(), SLICE) if tick >= 0 else 0.01
            if pause > 0:
                time.sleep(pause)
    return GeneratorReport(sent, received, delays.tobytes(), lag)


def _send_calls(
    sock: socket.socket,
    first: int,
    last: int,
    seqs: array.array[int],
    ssrc_base: int,
    addresses: list[tuple[str, int]],
    window_start: float,
    window_end: float,
) -> int:
    """One packet for each call first..last-1 of a side; how many sent in the window left.

    Built and sent by ``_fastpath.send_calls`` (``sendmmsg``); the same packets built
    here and sent one by one without it.
    """
    if _fastpath is not None:
        _, counted = _fastpath.send_calls(
            sock.fileno(), first, last, seqs, ssrc_base, addresses, window_start, window_end
        )
        return counted
    counted = 0
    for call in range(first, last):
        n = seqs[call]
        seqs[call] = (n + 1) & 0xFFFFFFFF
        header = _HEADER.pack(0x80, 0, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, ssrc_base | call)
        sent_at = time.monotonic()
        try:
            sock.sendto(header + _STAMP.pack(sent_at, call) + _FILLER, addresses[call])
        except BlockingIOError:
            continue
        counted += window_start <= sent_at < window_end
    return counted


def _receive_delays(
    sock: socket.socket, window_start: float, window_end: float
) -> tuple[int, bytes]:
    """Read a socket dry: how many packets sent in the window came back, and their delays."""
    if _fastpath is not None:
        return _fastpath.recv_delays(sock.fileno(), window_start, window_end)
    delays = array.array("d")
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            break
        arrived = time.monotonic()
        if len(data) >= 24:
            sent_at = _STAMP.unpack_from(data, 12)[0]
            if window_start <= sent_at < window_end:
                delays.append(arrived - sent_at)
    return len(delays), delays.tobytes()


# --- relays under test --------------------------------------------------------------------


@dataclass(slots=True)
class Step:
    mode: str
    calls: int
    sent: int = 0
    received: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    cpu_seconds: float = 0.0
    measure_seconds: float = 0.0
    relay_dropped: int = 0
    generator_lag_ms: float = 0.0
    engine_relay: str = ""  # our engine: "compiled" or "python"
    void: bool = False  # the generators could not keep the schedule: the machine was measured
    problem: str | None = None

    @property
    def lost(self) -> int:
        return self.sent - self.received

    @property
    def clean(self) -> bool:
        return (
            self.problem is None and self.sent > 0 and self.lost <= 0
            and self.p99_ms <= MAX_P99_MS
        )  # fmt: skip

    @property
    def cpu_percent_per_call(self) -> float:
        if not self.calls or not self.measure_seconds:
            return 0.0
        return 100.0 * self.cpu_seconds / self.measure_seconds / self.calls


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Generators:
    """The generator processes of one step (``python -m callcenter.bench.media N``)."""

    def __init__(self, calls: int, count: int = GENERATORS) -> None:
        shares = [calls // count + (1 if i < calls % count else 0) for i in range(count)]
        self.shares = [s for s in shares if s]
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "callcenter.bench.media", str(share)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for share in self.shares
        ]

    @staticmethod
    def _read(process: subprocess.Popen[bytes]) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"traffic generator exited ({process.poll()})")
        message: dict[str, Any] = json.loads(line)
        return message

    async def addresses(self) -> list[tuple[tuple[str, int], tuple[str, int]]]:
        """Every call's two leg addresses (caller side, agent side), in call order."""
        loop = asyncio.get_running_loop()
        out: list[tuple[tuple[str, int], tuple[str, int]]] = []
        for process in self.processes:
            a, b = (await loop.run_in_executor(None, self._read, process))["legs"]
            out.extend(((x[0], x[1]), (y[0], y[1])) for x, y in zip(a, b, strict=True))
        return out

    def go(
        self,
        targets: Sequence[tuple[tuple[str, int], tuple[str, int]]],
        start: float,
        timing: Timing,
    ) -> None:
        offset = 0
        for process, share in zip(self.processes, self.shares, strict=True):
            mine = targets[offset : offset + share]
            offset += share
            order = {"targets": [[a for a, _ in mine], [b for _, b in mine]], "start": start,
                     "measure": timing.measure, "warmup": timing.warmup,
                     "drain": timing.drain}  # fmt: skip
            assert process.stdin is not None
            process.stdin.write(json.dumps(order).encode() + b"\n")
            process.stdin.flush()

    async def reports(self, timeout: float) -> list[GeneratorReport]:
        loop = asyncio.get_running_loop()
        out = []
        async with asyncio.timeout(timeout):
            for process in self.processes:
                message = await loop.run_in_executor(None, self._read, process)
                delays = base64.b64decode(message["delays"])
                out.append(
                    GeneratorReport(message["sent"], message["received"], delays, message["lag"])
                )
        return out

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()


def _summarise(step: Step, reports: Sequence[GeneratorReport], timing: Timing) -> None:
    import numpy as np  # here: the generator processes import this module, and need no numpy

    step.sent = sum(r.sent for r in reports)
    step.received = sum(r.received for r in reports)
    delays = np.concatenate([np.frombuffer(r.delays, dtype=np.float64) for r in reports])
    if len(delays):
        p50, p99 = np.percentile(delays, [50, 99]) * 1000
        step.p50_ms, step.p99_ms = round(float(p50), 3), round(float(p99), 3)
        step.max_ms = round(float(delays.max()) * 1000, 3)
    step.measure_seconds = timing.measure
    step.generator_lag_ms = round(max(r.lag for r in reports) * 1000, 1)
    expected = step.calls * 2 * timing.measure / PTIME
    if step.generator_lag_ms > MAX_GENERATOR_LAG_MS or step.sent < MIN_RATE_KEPT * expected:
        step.void = True
        step.problem = (
            f"generators fell {step.generator_lag_ms:.0f} ms behind and sent "
            f"{step.sent / expected:.0%} of the packets: the machine is too busy"
        )


async def _run_traffic(
    step: Step,
    generators: _Generators,
    targets: Sequence[tuple[tuple[str, int], tuple[str, int]]],
    pid: int,
    timing: Timing,
) -> None:
    start = time.monotonic() + 0.5
    generators.go(targets, start, timing)
    await asyncio.sleep(max(0.0, start + timing.warmup - time.monotonic()))
    cpu_before = cpu_seconds(pid)
    await asyncio.sleep(max(0.0, start + timing.warmup + timing.measure - time.monotonic()))
    step.cpu_seconds = round(cpu_seconds(pid) - cpu_before, 3)
    reports = await generators.reports(timeout=timing.measure + timing.warmup + timing.drain + 30)
    _summarise(step, reports, timing)


async def step_engine(calls: int, timing: Timing, *, record: bool) -> Step:
    """N bridged calls through one engine process, optionally all recorded."""
    from callcenter.media.client import EngineClient  # not in the generator processes

    step = Step("recorded" if record else "relay", calls)
    generators = _Generators(calls)
    engine = EngineClient(port_min=ENGINE_PORTS[0], port_max=ENGINE_PORTS[1])
    recordings = Path(tempfile.mkdtemp(prefix="bench-media-"))
    try:
        await engine.start()
        legs = await generators.addresses()
        no_address = (("", 0), ("", 0))
        targets: list[tuple[tuple[str, int], tuple[str, int]]] = [no_address] * calls

        async def setup(i: int) -> None:
            a_leg, b_leg = legs[i]
            a = await engine.create_endpoint(f"a{i}", remote=a_leg)
            b = await engine.create_endpoint(f"b{i}", remote=b_leg)
            await engine.bridge(f"call{i}", f"a{i}", f"b{i}")
            if record:
                await engine.record(f"rec{i}", f"call{i}", str(recordings / f"{i}.wav"))
            targets[i] = ((a.host, a.port), (b.host, b.port))

        for first in range(0, calls, 100):
            await asyncio.gather(*(setup(i) for i in range(first, min(first + 100, calls))))
        assert engine.pid is not None
        await _run_traffic(step, generators, targets, engine.pid, timing)
        stats = await engine.stats()
        step.relay_dropped = int(stats["totals"].get("dropped", 0))
        step.engine_relay = str(stats.get("relay", ""))
    except Exception as exc:  # a step that broke is reported, not raised
        log.exception("media bench step failed")
        step.problem = f"{type(exc).__name__}: {exc}"
    finally:
        generators.close()
        await engine.close()
        shutil.rmtree(recordings, ignore_errors=True)
    return step


# --- rtpengine over its ng protocol ---------------------------------------------------


def bencode(value: object) -> bytes:
    """Bencode (the ng protocol's encoding): byte strings, integers, lists, dictionaries."""
    if isinstance(value, bytes):
        return str(len(value)).encode() + b":" + value
    if isinstance(value, str):
        return bencode(value.encode())
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, list | tuple):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> object:
    value, end = _bdecode(data, 0)
    if end != len(data):
        raise ValueError("trailing data after bencoded value")
    return value


def _bdecode(data: bytes, i: int) -> tuple[object, int]:
    kind = data[i : i + 1]
    if kind == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if kind in (b"l", b"d"):
        items: list[object] = []
        i += 1
        while data[i : i + 1] != b"e":
            item, i = _bdecode(data, i)
            items.append(item)
        if kind == b"l":
            return items, i + 1
        keys = [k.decode() if isinstance(k, bytes) else str(k) for k in items[::2]]
        return dict(zip(keys, items[1::2], strict=True)), i + 1
    colon = data.index(b":", i)
    length = int(data[i:colon])
    return data[colon + 1 : colon + 1 + length], colon + 1 + length


def sdp(address: tuple[str, int]) -> str:
    host, port = address
    return (
        f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


def sdp_media_address(text: str) -> tuple[str, int]:
    host, port = "", 0
    for line in text.splitlines():
        if line.startswith("c=IN IP4 "):
            host = line.split()[2]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    if not host or not port:
        raise ValueError("no audio address in rtpengine's SDP")
    return host, port


class NgClient:
    """A blocking ng client: one request at a time, matched by cookie."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self._cookie = 0

    def request(self, command: dict[str, object], attempts: int = 3) -> dict[str, object]:
        self._cookie += 1
        cookie = b"%d_bench" % self._cookie
        for _ in range(attempts):
            self.sock.sendto(cookie + b" " + bencode(command), self.address)
            try:
                while True:
                    data = self.sock.recv(65536)
                    if data.startswith(cookie + b" "):
                        reply = bdecode(data[len(cookie) + 1 :])
                        if not isinstance(reply, dict):
                            raise ValueError("ng reply is not a dictionary")
                        if reply.get("result") not in (b"ok", b"pong"):
                            raise RuntimeError(f"rtpengine: {reply!r}")
                        return reply
            except TimeoutError:
                continue
        raise TimeoutError(f"rtpengine did not answer {command.get('command')!r}")

    def close(self) -> None:
        self.sock.close()


def _text(value: object) -> str:
    if not isinstance(value, bytes):
        raise ValueError("rtpengine sent no SDP")
    return value.decode()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def start_rtpengine(workdir: Path) -> tuple[subprocess.Popen[bytes], NgClient]:
    ng_port = _free_udp_port()
    argv = [
        RTPENGINE, "--config-file=none", "--table=-1", f"--interface={HOST}",
        f"--listen-ng={HOST}:{ng_port}", "--foreground", "--log-stderr", "--log-level=4",
        f"--port-min={RTPENGINE_PORTS[0]}", f"--port-max={RTPENGINE_PORTS[1]}",
    ]  # fmt: skip
    with (workdir / "rtpengine.log").open("wb") as log_file:
        process = subprocess.Popen(argv, stdout=log_file, stderr=log_file)
    ng = NgClient((HOST, ng_port))
    deadline = time.monotonic() + 10
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"rtpengine exited with {process.returncode}")
        try:
            ng.request({"command": "ping"}, attempts=1)
            return process, ng
        except (TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def step_rtpengine(calls: int, timing: Timing) -> Step:
    """N calls through userspace rtpengine, each set up by offer and answer."""
    step = Step("rtpengine", calls)
    generators = _Generators(calls)
    workdir = Path(tempfile.mkdtemp(prefix="bench-rtpengine-"))
    process: subprocess.Popen[bytes] | None = None
    ng: NgClient | None = None
    try:
        process, ng = start_rtpengine(workdir)
        legs = await generators.addresses()
        targets: list[tuple[tuple[str, int], tuple[str, int]]] = []
        for i, (a_leg, b_leg) in enumerate(legs):
            call = {"call-id": f"bench-{i}", "from-tag": f"a{i}"}
            offer = ng.request({"command": "offer", **call, "sdp": sdp(a_leg)})
            to_b = sdp_media_address(_text(offer["sdp"]))
            answer = ng.request({"command": "answer", **call, "to-tag": f"b{i}", "sdp": sdp(b_leg)})
            to_a = sdp_media_address(_text(answer["sdp"]))
            targets.append((to_a, to_b))
        await _run_traffic(step, generators, targets, process.pid, timing)
    except Exception as exc:
        log.exception("rtpengine bench step failed")
        step.problem = f"{type(exc).__name__}: {exc}"
    finally:
        generators.close()
        if ng is not None:
            ng.close()
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    return step


# --- the ladder --------------------------------------------------------------------------


@dataclass
class Ladder:
    mode: str
    steps: list[Step] = field(default_factory=list)

    @property
    def best(self) -> Step | None:
        clean = [s for s in self.steps if s.clean]
        return max(clean, key=lambda s: s.calls) if clean else None

    @property
    def calls(self) -> int:
        best = self.best
        return 0 if best is None else best.calls


async def climb(
    mode: Mode, steps: Sequence[int], timing: Timing, deadline: float, refine: bool = True
) -> Ladder:
    ladder = Ladder(mode)

    async def run_step(calls: int) -> Step:
        for attempt in range(1 + (VOID_RETRIES if refine else 0)):
            if attempt:
                await asyncio.sleep(VOID_PAUSE)  # a busy moment of the machine may pass
            if mode == "rtpengine":
                step = await step_rtpengine(calls, timing)
            else:
                step = await step_engine(calls, timing, record=mode == "recorded")
            log.info("%s %d calls: %s", mode, calls, step)
            ladder.steps.append(step)
            if not step.void or time.monotonic() > deadline:
                break
        return step

    failed: int | None = None
    for calls in steps:
        if time.monotonic() > deadline:
            break
        if not (await run_step(calls)).clean:
            failed = calls
            break
    if refine and failed is not None and time.monotonic() < deadline:
        low = ladder.calls
        middle = (low + failed) // 2 // 10 * 10
        if low < middle < failed:
            await run_step(middle)
    return ladder


@dataclass
class Results:
    ladders: dict[str, Ladder]
    rtpengine_problem: str | None
    seconds: float

    def figures(self) -> dict[str, object]:
        relay = self.ladders["relay"].calls if "relay" in self.ladders else 0
        recorded = self.ladders["recorded"].calls if "recorded" in self.ladders else 0
        reference = self.ladders.get("rtpengine")
        ref_calls = reference.calls if reference is not None else None
        out: dict[str, object] = {
            "relay_calls": relay,
            "recorded_calls": recorded,
            "rtpengine_relay_calls": ref_calls,
            "ratio": round(relay / ref_calls, 3) if ref_calls else None,
        }
        for mode, ladder in self.ladders.items():
            best = ladder.best
            out[f"{mode}_cpu_percent_per_call"] = (
                round(best.cpu_percent_per_call, 4) if best is not None else None
            )
        return out


async def run(
    timing: Timing | None = None,
    steps: Sequence[int] = STEPS,
    modes: Sequence[Mode] = ("relay", "recorded", "rtpengine"),
    budget: float = BUDGET_SECONDS,
    refine: bool = True,
) -> Results:
    started = time.monotonic()
    deadline = started + budget
    ladders: dict[str, Ladder] = {}
    problem = None
    for mode in modes:
        if mode == "rtpengine" and not Path(RTPENGINE).exists():
            problem = f"{RTPENGINE} is not installed"
            continue
        ladders[mode] = await climb(mode, steps, timing or Timing(), deadline, refine)
    return Results(ladders, problem, time.monotonic() - started)


def _table(ladder: Ladder) -> list[str]:
    lines = [f"{ladder.mode}:"]
    for s in ladder.steps:
        verdict = "clean" if s.clean else (s.problem or "NOT clean")
        lines.append(
            f"  {s.calls:5d} calls  sent {s.sent:8d}  lost {s.lost:6d}  p50 {s.p50_ms:7.2f} ms"
            f"  p99 {s.p99_ms:7.2f} ms  max {s.max_ms:7.1f} ms"
            f"  cpu {s.cpu_percent_per_call:6.3f} %/call  dropped {s.relay_dropped}"
            f"  {s.engine_relay or '-'}  {verdict}"
        )
    return lines


def main(args: argparse.Namespace) -> int:
    logging.getLogger("callcenter").setLevel(logging.WARNING)
    results = asyncio.run(run(Timing(args.seconds)))
    figures = results.figures()
    lines = [
        f"bridged calls, both directions, 20 ms PCMU, {GENERATORS} generator processes, "
        f"{args.seconds:g} s measured per step after {WARMUP:g} s; clean = no loss and "
        f"p99 <= {MAX_P99_MS:g} ms ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})",
    ]
    for ladder in results.ladders.values():
        lines += _table(ladder)
    if results.rtpengine_problem:
        lines.append(f"rtpengine: not measured ({results.rtpengine_problem})")
    lines.append(f"benchmark time: {results.seconds:.0f} s")
    if args.json:  # the figures alone on stdout, the table for the record on stderr
        sys.stderr.write("\n".join(lines) + "\n")
        print(json.dumps(figures))  # noqa: T201
        return 0
    lines.append(json.dumps(figures))
    print("\n".join(lines))  # noqa: T201
    return 0


def step_as_dict(step: Step) -> dict[str, Any]:
    return {**asdict(step), "lost": step.lost, "clean": step.clean}


if __name__ == "__main__":
    generator_main(int(sys.argv[1]))
