"""Calls through SipSwitch in one process, on a virtual clock: the repeatable half of
`bench sip`, for instruction counts (callgrind), profiles and memory over many calls.

Theory of operation
-------------------
The wall-clock benchmark (:mod:`callcenter.bench.sip`) needs SIPp, two spare cores
and a quiet machine. This driver needs none of them: the same :class:`Router` runs on
a :class:`SipSwitch` whose SIP transport is a :class:`MemoryTransport` (no socket; what
the switch sends is collected), and two scripted peers stand where the SIPp caller and
carrier stand, playing the same scenario: INVITE, 180, 200 with SDP, ACK, a hold, BYE
and 200 from the caller. The network has no delay and loses nothing.

Time is the loop's: :class:`VirtualClockLoop` is an asyncio loop whose ``time()`` only
moves when the driver advances it, in ``TICK`` steps, so every timer of the switch
(transactions, the 2xx retransmission, forgetting ended calls) fires as it would, and
a run of 100 000 calls at 200 per second takes minutes of CPU, not 500 seconds. The
RTP relay ports are real UDP sockets (opening and closing them is part of a call's
cost); no RTP flows. Everything is deterministic except the random tokens.

``python -m callcenter.bench.sip_driver --calls 2000`` prints a JSON line: calls,
failures, CPU per call and what the switch still holds (transactions, known calls,
legs) after the last call's timers ran out. Instructions per call: run it twice
under ``valgrind --tool=callgrind`` with different ``--calls`` and divide the
difference of the totals by the difference of the calls (start-up cancels out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from callcenter.bench.sip import MAX_TRANSACTIONS, Router
from callcenter.sip.endpoint import Address, Endpoint
from callcenter.sip.transaction import T1
from callcenter.sip.transport import EventHandler, UdpTransport
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.trunks import Trunk

__all__ = ["DriverResult", "MemoryTransport", "VirtualClockLoop", "drive", "run"]

log = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
SWITCH: Final[Address] = (HOST, 5060)
CALLER: Final[Address] = (HOST, 5061)
CARRIER: Final[Address] = (HOST, 5062)
TICK: Final = 0.005  # virtual seconds per step of the clock
DRAIN: Final = 64 * T1 + 1.0  # after the last call: every timer of the switch runs out
VALGRIND: Final = "/usr/bin/valgrind"
CALLER_NUMBER: Final = "13900139000"
SERVICE: Final = "2000"


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose clock moves only by :meth:`advance`."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual = 0.0

    def time(self) -> float:
        return self._virtual

    def advance(self, seconds: float) -> None:
        self._virtual += seconds


class MemoryTransport(UdpTransport):
    """A UDP transport without a socket: sent datagrams collect in ``sent``,
    :meth:`receive` hands the endpoint a datagram as if it came from ``addr``."""

    def __init__(self, endpoint: Endpoint, *, handler: EventHandler | None) -> None:
        super().__init__(endpoint, handler=handler)
        self.sent: list[tuple[bytes, Address]] = []

    async def start(self, host: str = HOST, port: int = 0) -> Address:
        self._loop = asyncio.get_running_loop()
        self._open = True
        self.local_address = (host, port or SWITCH[1])
        return self.local_address

    def _deliver(self, data: bytes, addr: Address) -> None:
        self.sent.append((data, addr))

    def receive(self, data: bytes, addr: Address) -> None:
        self._feed(data, addr)


def _head(data: bytes) -> tuple[str, dict[str, str]]:
    """Start line and the first value of each header (lower-case names): all a peer
    playing a fixed scenario needs, read without the switch's own parser."""
    lines = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), value.strip())
    return lines[0], fields


def _response(status: str, fields: dict[str, str], to: str, extra: str, body: str) -> bytes:
    return (
        f"SIP/2.0 {status}\r\nVia: {fields['via']}\r\nFrom: {fields['from']}\r\n"
        f"To: {to}\r\nCall-ID: {fields['call-id']}\r\nCSeq: {fields['cseq']}\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def _sdp(user: str, port: int) -> str:
    return (
        f"v=0\r\no={user} 53655765 2353687637 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\n"
        f"t=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )


@dataclass
class _CallerCall:
    number: int
    to: str = ""
    target: str = ""
    bye_sent: bool = False


@dataclass
class ScriptedCaller:
    """SIPp's caller scenario of `bench sip`, one call per number."""

    hold: float
    calls: dict[str, _CallerCall] = field(default_factory=dict)
    byes_due: deque[tuple[float, str]] = field(default_factory=deque)
    succeeded: int = 0
    failed: int = 0

    def _request(self, method: str, call_id: str, call: _CallerCall, seq: int) -> bytes:
        host, port = CALLER
        uri = call.target or f"sip:{SERVICE}@{SWITCH[0]}:{SWITCH[1]}"
        to = call.to or f"<sip:{SERVICE}@{SWITCH[0]}:{SWITCH[1]}>"
        body = _sdp("caller", 7000) if method == "INVITE" else ""
        content_type = "Content-Type: application/sdp\r\n" if body else ""
        return (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{call.number}-{seq}{method}\r\n"
            f"From: <sip:{CALLER_NUMBER}@{host}:{port}>;tag={call.number}bench\r\n"
            f"To: {to}\r\nCall-ID: {call_id}\r\nCSeq: {seq} {method}\r\n"
            f"Contact: <sip:{CALLER_NUMBER}@{host}:{port}>\r\nMax-Forwards: 70\r\n"
            f"{content_type}Content-Length: {len(body)}\r\n\r\n{body}"
        ).encode()

    def invite(self, number: int) -> bytes:
        call_id = f"{number}-bench@{CALLER[0]}"
        call = self.calls[call_id] = _CallerCall(number)
        return self._request("INVITE", call_id, call, 1)

    def receive(self, data: bytes, now: float) -> list[bytes]:
        start, fields = _head(data)
        call = self.calls.get(fields.get("call-id", ""))
        if call is None or not start.startswith("SIP/2.0 "):
            return []  # the switch sends the caller no requests in this scenario
        status = int(start[8:11])
        call_id, method = fields["call-id"], fields["cseq"].split()[1]
        if status < 200:
            return []
        if status >= 300:
            self.failed += 1
            del self.calls[call_id]
            return []
        if method == "INVITE":
            first = not call.to
            call.to = fields["to"]
            call.target = fields["contact"].strip("<>")
            if first:
                self.byes_due.append((now + self.hold, call_id))
            return [self._request("ACK", call_id, call, 1)]
        if method == "BYE":
            self.succeeded += 1
            del self.calls[call_id]
        return []

    def due(self, now: float) -> list[bytes]:
        out: list[bytes] = []
        while self.byes_due and self.byes_due[0][0] <= now:
            _, call_id = self.byes_due.popleft()
            call = self.calls.get(call_id)
            if call is not None and not call.bye_sent:
                call.bye_sent = True
                out.append(self._request("BYE", call_id, call, 2))
        return out


@dataclass
class ScriptedCarrier:
    """SIPp's carrier scenario: 180 and 200 with SDP at once, 200 to BYE."""

    answered: int = 0

    def receive(self, data: bytes) -> list[bytes]:
        start, fields = _head(data)
        method = start.split(" ", 1)[0]
        if method == "INVITE":
            self.answered += 1
            to = f"{fields['to']};tag={self.answered}carrier"
            contact = f"Contact: <sip:{CARRIER[0]}:{CARRIER[1]}>\r\n"
            ringing = _response("180 Ringing", fields, to, contact, "")
            body = _sdp("carrier", 8000)
            extra = contact + "Content-Type: application/sdp\r\n"
            return [ringing, _response("200 OK", fields, to, extra, body)]
        if method == "BYE":
            return [_response("200 OK", fields, fields["to"], "", "")]
        return []


def rss_kib() -> int:
    """This process's resident memory now (proc(5), statm: pages)."""
    with open("/proc/self/statm", "rb") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() // 1024


@dataclass(frozen=True)
class Sample:
    """What the switch holds after ``calls`` calls ended."""

    calls: int
    rss_kib: int
    transactions: int
    known_calls: int
    legs: int


@dataclass
class DriverResult:
    calls: int
    succeeded: int
    failed: int
    seconds: float  # CPU seconds of this process for the calls (not the drain)
    transactions: int  # left in the switch's endpoint after the drain
    known_calls: int  # Call-IDs the signalling still recognises after the drain
    legs: int  # leg records the switch still keeps after the drain
    max_rss_kib: int
    samples: list[Sample] = field(default_factory=list)  # ten along the run

    @property
    def cpu_ms_per_call(self) -> float:
        return self.seconds / self.calls * 1000 if self.calls else 0.0

    def figures(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cpu_ms_per_call": round(self.cpu_ms_per_call, 3),
            "transactions": self.transactions,
            "known_calls": self.known_calls,
            "legs": self.legs,
            "max_rss_kib": self.max_rss_kib,
            "samples": [
                [s.calls, s.rss_kib, s.transactions, s.known_calls, s.legs] for s in self.samples
            ],
        }


class _Network:
    """Carries the switch's datagrams to the peers and their answers back, at once."""

    def __init__(
        self, transport: MemoryTransport, caller: ScriptedCaller, carrier: ScriptedCarrier
    ) -> None:
        self.transport = transport
        self.caller = caller
        self.carrier = carrier

    def exchange(self, now: float) -> bool:
        """Deliver everything sent so far; True when anything was."""
        sent = self.transport.sent
        if not sent:
            return False
        while sent:
            batch = sent[:]
            sent.clear()
            for data, addr in batch:
                if addr == CALLER:
                    for reply in self.caller.receive(data, now):
                        self.transport.receive(reply, CALLER)
                elif addr == CARRIER:
                    for reply in self.carrier.receive(data):
                        self.transport.receive(reply, CARRIER)
        return True


async def _settle(network: _Network, router: Router, loop: VirtualClockLoop) -> None:
    """Run the loop until no task is pending and nothing is in flight."""
    while True:
        await asyncio.sleep(0)
        if network.exchange(loop.time()) or router.pending:
            continue
        return


async def drive(calls: int, rate: float, hold: float) -> DriverResult:
    """``calls`` calls at ``rate`` per second, each held ``hold`` seconds; then the
    clock runs on until every timer of the switch has run out."""
    loop = asyncio.get_running_loop()
    if not isinstance(loop, VirtualClockLoop):
        raise RuntimeError("drive() needs a VirtualClockLoop")
    trunk = Trunk("carrier", *CARRIER)
    switch = SipSwitch([trunk], host=HOST, port=SWITCH[1], max_transactions=MAX_TRANSACTIONS)
    signalling = switch.sip
    # The switch's own transport is swapped for one without a socket, same endpoint
    # and handler: what runs above the socket is exactly what runs in production.
    transport = MemoryTransport(signalling.transport.endpoint, handler=signalling._on_sip)
    signalling.transport = transport
    caller, carrier = ScriptedCaller(hold), ScriptedCarrier()
    network = _Network(transport, caller, carrier)
    async with switch:
        router = Router(switch, trunk.name)
        subscription = switch.subscribe(router.on_event)
        samples: list[Sample] = []
        every = max(1, calls // 10)
        cpu_started = time.process_time()
        started = 0
        next_start = loop.time()
        while caller.succeeded + caller.failed < calls:
            now = loop.time()
            while started < calls and next_start <= now:
                started += 1
                next_start += 1 / rate
                transport.receive(caller.invite(started), CALLER)
            for bye in caller.due(now):
                transport.receive(bye, CALLER)
            await _settle(network, router, loop)
            loop.advance(TICK)
            await _settle(network, router, loop)
            ended = caller.succeeded + caller.failed
            if ended >= every * (len(samples) + 1):
                endpoint = transport.endpoint
                sample = Sample(
                    ended,
                    rss_kib(),
                    endpoint.transaction_count,
                    signalling.known_calls,
                    switch.leg_count,
                )
                samples.append(sample)
                log.info("%s", sample)
            if now > calls / rate + hold + DRAIN:
                log.warning("calls still up at %.1f s: %d", now, len(caller.calls))
                break
        seconds = time.process_time() - cpu_started
        drain_until = loop.time() + DRAIN
        while loop.time() < drain_until:
            loop.advance(TICK * 20)
            await _settle(network, router, loop)
        result = DriverResult(
            calls=calls,
            succeeded=caller.succeeded,
            failed=calls - caller.succeeded,
            seconds=seconds,
            transactions=transport.endpoint.transaction_count,
            known_calls=signalling.known_calls,
            legs=switch.leg_count,
            max_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            samples=samples,
        )
        subscription.close()
    return result


def run(calls: int, rate: float = 200.0, hold: float = 2.0) -> DriverResult:
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(drive(calls, rate, hold))
    finally:
        loop.close()


def _callgrind_total(calls: int, rate: float, hold: float) -> int:
    """Instructions (Ir) of one driver run of ``calls`` calls under callgrind."""
    with tempfile.TemporaryDirectory(prefix="callcenter-callgrind-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        argv = [VALGRIND, "--tool=callgrind", f"--callgrind-out-file={out}"]
        argv += [sys.executable, "-m", "callcenter.bench.sip_driver", "--calls", str(calls)]
        argv += ["--rate", str(rate), "--hold", str(hold)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=3600, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind run failed: {done.stderr[-1500:]}")
        return int(found.group(1))


def instructions_per_call(low: int, high: int, rate: float, hold: float) -> float:
    """Instructions per call: the difference of two callgrind runs (start-up, imports and
    the switch's own set-up cancel out) over the difference of their calls."""
    return (_callgrind_total(high, rate, hold) - _callgrind_total(low, rate, hold)) / (high - low)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m callcenter.bench.sip_driver")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="calls per virtual second")
    parser.add_argument("--hold", type=float, default=2.0, help="virtual seconds per call")
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instructions per call: two runs under callgrind, --calls and --calls/5",
    )
    args = parser.parse_args(argv)
    if args.instructions:
        low = max(1, args.calls // 5)
        per_call = instructions_per_call(low, args.calls, args.rate, args.hold)
        print(json.dumps({"instructions_per_call": round(per_call)}))  # noqa: T201
        return 0
    # As the benchmark runs the switch: warnings only (and the driver's samples).
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    log.setLevel(logging.INFO)
    if args.profile:
        import cProfile

        with cProfile.Profile() as profile:
            result = run(args.calls, args.rate, args.hold)
        profile.dump_stats(args.profile)
    else:
        result = run(args.calls, args.rate, args.hold)
    print(json.dumps(result.figures()))  # noqa: T201
    return 0 if result.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
