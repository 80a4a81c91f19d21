"""`callcenter bench sip`: calls per second through our B2BUA, against the sippy B2BUA.

Theory of operation
-------------------
Three processes on 127.0.0.1 per rate step: a SIPp caller (UAC), the B2BUA under test,
and a SIPp carrier (UAS). Every call is INVITE, 180, 200 with SDP, ACK, a hold of
``HOLD_SECONDS``, BYE and 200 from the caller; the B2BUA relays each to the other leg.
Both B2BUAs get the same two scenarios, written below rather than SIPp's built-in
ones, which put ``transport=UDP`` in Contact (sippy 2.5 then cannot send the BYE on).
The caller takes its remote target from the Contact URI (SIPp's ``[next_url]`` keeps
sippy's unquoted display name) and ignores what comes during the hold (sippy's
sender threads may deliver the 180 after the 200).

Ours is :class:`SipSwitch` on uvloop in a child process of this one
(``python -m callcenter.bench.sip``), with a small routing app on the Switch port:
LegOffered -> originate the carrier leg through a trunk; its LegAnswered -> answer
the caller's leg and bridge the two (RTP relay ports included); either LegHungUp ->
hang up the other. sippy's ``b2bua_simple`` (PyPI ``sippy``, in its own venv under
``~/.cache/callcenter-bench``, never ours) takes the same place, pointed at the same
carrier; it relays no media (no rtpproxy), so it opens no RTP ports.

Rates step up (``RATES``, fixed steps, finer around the target), each held for
``step_seconds`` with a fresh B2BUA, until the first step that is not clean;
``REFINE_STEPS`` halvings of the gap below it then narrow the answer. A step is not
clean when a call failed (either SIPp counts it: an error status, a message lost after
its retransmissions, a message not received within ``RECV_TIMEOUT_MS``) or when the
step overran its schedule (the rate was not kept). The machine may be shared, so an
unclean step is run ``RETRIES`` more times and the rate counts as sustained when one
full run of it is clean; every run is in the table, with the 1-minute load average
when it ended. ``cps`` is the highest clean rate; ``cpu_ms_per_call`` the B2BUA
process's user + system CPU (``/proc/<pid>/stat``, every thread) during that step,
per call. The whole run is capped at ``BUDGET_SECONDS``; every process is killed and
reaped.

SIPp shares the two cores with the B2BUA: each SIPp uses well under half a core at
the rates measured here, and both run at ``SIPP_NICE`` so that, when the cores are
contended, the B2BUA under test gets them first (the same for ours and sippy's). A
step where SIPp itself cannot keep the rate shows as "rate not kept".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from callcenter.switch.ports import (
    BridgeId,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegId,
    LegOffered,
    SwitchError,
    SwitchEvent,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.trunks import Trunk

log = logging.getLogger(__name__)

SIPP: Final = "/usr/bin/sipp"
HOST: Final = "127.0.0.1"
RATES: Final = (50, 100, 150, 175, 200, 225, 250, 275, 300, 350, 400, 500, 600, 800)
RETRIES: Final = 1  # an unclean step runs once more before the climb stops there
SIPP_NICE: Final = 5  # SIPp yields the cores to the B2BUA under test
HOLD_SECONDS: Final = 2.0
RECV_TIMEOUT_MS: Final = 15_000  # a message not here by then fails the call
SCHEDULE_SLACK: Final = 1.1  # a step may take 10 % longer than its rate says ...
SCHEDULE_GRACE: Final = 1.5  # ... plus this many seconds (set-up and tear-down)
REFINE_STEPS: Final = 2  # halvings between the last clean rate and the first unclean one
REFINE_GRAIN: Final = 5  # ... each a multiple of this
BUDGET_SECONDS: Final = 600.0
MAX_CALLS_PER_STEP: Final = 10_000
# Timers L and M (RFC 6026) and J keep about three transactions per call for 32 s:
# the switch's default limit of 10 000 would turn calls away above ~100 per second.
MAX_TRANSACTIONS: Final = 200_000
SIPPY_VERSION: Final = "2.5.0"
SIPPY_VENV: Final = Path.home() / ".cache" / "callcenter-bench" / "sippy-venv"
CALLER: Final = "13900139000"
SERVICE: Final = "2000"

UAC_SCENARIO: Final = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench caller: INVITE, hold, BYE">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]bench[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{CALLER}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true">
    <action>
      <ereg regexp="sip:[^>]*" search_in="hdr" header="Contact:" check_it="true"
            assign_to="target"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK [$target] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]bench[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{CALLER}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="{int(HOLD_SECONDS * 1000)}"/>
  <send retrans="500">
    <![CDATA[
      BYE [$target] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]bench[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:{CALLER}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""

UAS_SCENARIO: Final = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench carrier: ring, answer, wait for BYE">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]carrier[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]carrier[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""


class BenchError(RuntimeError):
    """A process of the benchmark could not be started or misbehaved."""


# -- our side: the routing app and the child process ----------------------------------


class Router:
    """Calls in are put through to the carrier: a B2BUA made of Switch commands."""

    def __init__(self, switch: SipSwitch, trunk: str) -> None:
        self.switch = switch
        self.trunk = trunk
        self._peer: dict[LegId, LegId] = {}  # each live leg -> the other leg of its call
        self._caller_of: dict[LegId, LegId] = {}  # carrier leg not yet answered -> caller
        self._tasks: set[asyncio.Task[None]] = set()
        self.offered = 0  # calls in so far
        self.connected = 0  # ... of which put through

    @property
    def pending(self) -> bool:
        """True while a command it started has not finished."""
        return bool(self._tasks)

    def on_event(self, event: SwitchEvent) -> None:
        if isinstance(event, LegOffered):
            self._spawn(self._offered(event))
        elif isinstance(event, LegAnswered) and event.leg in self._caller_of:
            self._spawn(self._carrier_answered(event.leg, self._caller_of.pop(event.leg)))
        elif isinstance(event, LegHungUp):
            self._caller_of.pop(event.leg, None)
            other = self._peer.pop(event.leg, None)
            if other is not None:
                self._peer.pop(other, None)
                self._spawn(self._hangup(other, event.cause))

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _offered(self, event: LegOffered) -> None:
        self.offered += 1
        carrier = LegId(f"carrier-{self.offered}")
        self._peer[event.leg] = carrier
        self._peer[carrier] = event.leg
        self._caller_of[carrier] = event.leg
        try:
            await self.switch.originate(
                carrier, event.dialled, caller_id=event.caller, trunk=self.trunk
            )
        except SwitchError as exc:
            log.warning("call %s: cannot originate: %s", event.leg, exc)
            self._peer.pop(carrier, None)
            self._peer.pop(event.leg, None)
            self._caller_of.pop(carrier, None)
            await self._hangup(event.leg, HangupCause.FAILED)

    async def _carrier_answered(self, carrier: LegId, caller: LegId) -> None:
        try:
            await self.switch.answer(caller)
            await self.switch.bridge(BridgeId(f"bridge-{carrier}"), [caller, carrier])
            self.connected += 1
        except SwitchError as exc:
            log.warning("call %s: cannot put through: %s", caller, exc)
            for leg in (caller, carrier):
                self._peer.pop(leg, None)
                await self._hangup(leg, HangupCause.FAILED)

    async def _hangup(self, leg: LegId, cause: HangupCause) -> None:
        try:
            await self.switch.hangup(leg, cause)
        except SwitchError as exc:
            log.warning("leg %s: cannot hang up: %s", leg, exc)


async def serve_b2bua(port: int, carrier_port: int) -> None:
    """Run our B2BUA on ``port`` until SIGTERM; say "ready" on stdout once listening."""
    trunk = Trunk("carrier", HOST, carrier_port)
    switch = SipSwitch([trunk], host=HOST, port=port, max_transactions=MAX_TRANSACTIONS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with switch:
        router = Router(switch, trunk.name)
        subscription = switch.subscribe(router.on_event)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()
        subscription.close()
        log.warning("%d calls offered, %d put through", router.offered, router.connected)


def _child_main(argv: Sequence[str]) -> int:
    import uvloop

    parser = argparse.ArgumentParser(prog="python -m callcenter.bench.sip")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--carrier-port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    uvloop.run(serve_b2bua(args.port, args.carrier_port))
    return 0


# -- processes ------------------------------------------------------------------------


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (proc(5): fields 14 and 15)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask it to stop, kill it if it will not, and reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    process.wait()


def wait_sip_ready(port: int, process: subprocess.Popen[bytes], within: float = 20.0) -> None:
    """Wait until something answers an OPTIONS on ``port`` (any status will do)."""
    deadline = time.monotonic() + within
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        probe.settimeout(0.2)
        own = probe.getsockname()[1]
        for attempt in range(10**6):
            if process.poll() is not None:
                raise BenchError(f"B2BUA exited with {process.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise BenchError(f"B2BUA not answering on {HOST}:{port} within {within} s")
            options = (
                f"OPTIONS sip:probe@{HOST}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{own};branch=z9hG4bK-probe-{attempt};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:probe@{HOST}:{own}>;tag=probe{attempt}\r\n"
                f"To: <sip:probe@{HOST}:{port}>\r\n"
                f"Call-ID: probe-{attempt}-{own}@{HOST}\r\n"
                f"CSeq: {attempt + 1} OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            probe.sendto(options.encode(), (HOST, port))
            with contextlib.suppress(TimeoutError):
                if probe.recv(65535).startswith(b"SIP/2.0 "):
                    return
    raise BenchError("unreachable")


class B2bua:
    """One B2BUA under test: how to start it listening on a port, towards a carrier."""

    name = ""

    def start(self, port: int, carrier_port: int, workdir: Path) -> subprocess.Popen[bytes]:
        raise NotImplementedError


class OurB2bua(B2bua):
    name = "callcenter SipSwitch"

    def start(self, port: int, carrier_port: int, workdir: Path) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "callcenter.bench.sip"]
        argv += ["--port", str(port), "--carrier-port", str(carrier_port)]
        with (workdir / "b2bua.log").open("ab") as log_file:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log_file
            )
        assert process.stdout is not None
        line = process.stdout.readline()  # "ready", or b"" if it died
        if line.strip() != b"ready":
            stop_process(process)
            raise BenchError(f"our B2BUA did not start: {_tail(workdir / 'b2bua.log')}")
        return process


@dataclass
class SippyB2bua(B2bua):
    script: Path
    name: str = f"sippy {SIPPY_VERSION} b2bua_simple"

    def start(self, port: int, carrier_port: int, workdir: Path) -> subprocess.Popen[bytes]:
        argv = [str(self.script), "-f", "-l", HOST, "-p", str(port)]
        argv += ["-n", f"{HOST}:{carrier_port}"]
        env = {**os.environ, "SIPLOG_BEND": "none"}  # as we run ours: no per-message log
        with (workdir / "sippy.log").open("ab") as log_file:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, env=env
            )


def sippy_b2bua(workdir: Path) -> SippyB2bua:
    """sippy's b2bua_simple from its own venv, made (once) with ``pip install``."""
    script = SIPPY_VENV / "bin" / "b2bua_simple"
    if not script.exists():
        SIPPY_VENV.parent.mkdir(parents=True, exist_ok=True)
        with (workdir / "sippy-install.log").open("ab") as out:
            for argv in (
                [sys.executable, "-m", "venv", "--clear", str(SIPPY_VENV)],
                [str(SIPPY_VENV / "bin" / "pip"), "install", f"sippy=={SIPPY_VERSION}"],
            ):
                done = subprocess.run(argv, stdout=out, stderr=out, timeout=300, check=False)
                if done.returncode != 0:
                    raise BenchError(
                        f"{' '.join(argv)} failed: {_tail(workdir / 'sippy-install.log')}"
                    )
    if not script.exists():
        raise BenchError(f"sippy installed no {script}")
    return SippyB2bua(script)


# -- one step -------------------------------------------------------------------------


@dataclass
class SippStats:
    created: int = 0
    successful: int = 0
    failed: int = 0
    retransmissions: int = 0
    setup_ms: float | None = None  # caller: mean INVITE -> 200 time


def read_stats(path: Path) -> SippStats:
    """The last row of a SIPp ``-trace_stat`` file (cumulative counters)."""
    if not path.exists():
        return SippStats()
    with path.open(newline="") as stat_file:
        rows = list(csv.DictReader(stat_file, delimiter=";"))
    if not rows:
        return SippStats()
    last = rows[-1]
    return SippStats(
        created=int(last["TotalCallCreated"]),
        successful=int(last["SuccessfulCall(C)"]),
        failed=int(last["FailedCall(C)"]),
        retransmissions=int(last["Retransmissions(C)"]),
        setup_ms=_duration_ms(last.get("ResponseTime1(C)", "")),
    )


def _duration_ms(text: str) -> float | None:
    """SIPp's ``HH:MM:SS:uuuuuu`` (microseconds last) in milliseconds."""
    parts = text.strip().split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds, micros = (int(p) for p in parts)
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + micros / 1000


@dataclass
class Step:
    rate: int
    calls: int
    failed: int
    seconds: float
    cpu_seconds: float
    setup_ms: float | None
    retransmissions: int
    on_schedule: bool
    note: str = ""
    load: float = 0.0  # 1-minute load average when the step ended

    @property
    def clean(self) -> bool:
        return self.failed == 0 and self.on_schedule

    @property
    def cpu_ms_per_call(self) -> float:
        return self.cpu_seconds / self.calls * 1000 if self.calls else 0.0


def _sipp(*argv: str, workdir: Path, name: str) -> subprocess.Popen[bytes]:
    with (workdir / f"{name}.log").open("wb") as log_file:
        return subprocess.Popen(
            ["nice", "-n", str(SIPP_NICE), SIPP, *argv],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )


def _worst_case_seconds(calls: int, rate: int) -> float:
    """How long :func:`run_step` may take: start, schedule, both SIPp waits, stop."""
    schedule = calls / rate * SCHEDULE_SLACK + HOLD_SECONDS + SCHEDULE_GRACE
    return schedule + 3 * RECV_TIMEOUT_MS / 1000 + 10


def run_step(b2bua: B2bua, rate: int, calls: int, workdir: Path) -> Step:
    """``calls`` calls at ``rate`` per second through a fresh ``b2bua``."""
    workdir.mkdir(parents=True)
    (workdir / "uac.xml").write_text(UAC_SCENARIO)
    (workdir / "uas.xml").write_text(UAS_SCENARIO)
    b2bua_port, uas_port, uac_port = free_udp_port(), free_udp_port(), free_udp_port()
    schedule = calls / rate * SCHEDULE_SLACK + HOLD_SECONDS + SCHEDULE_GRACE
    common = ["-i", HOST, "-nostdin", "-trace_stat", "-fd", "1", "-trace_err"]
    common += ["-recv_timeout", str(RECV_TIMEOUT_MS)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        server = b2bua.start(b2bua_port, uas_port, workdir)
        processes.append(server)
        wait_sip_ready(b2bua_port, server)
        uas = _sipp(
            "-sf", "uas.xml", "-p", str(uas_port), "-mp", str(free_udp_port()),
            "-m", str(calls), "-stf", "uas.csv", *common,
            workdir=workdir, name="uas",
        )  # fmt: skip
        processes.append(uas)
        time.sleep(0.3)  # let the carrier bind before the first call reaches it
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        uac = _sipp(
            f"{HOST}:{b2bua_port}", "-sf", "uac.xml", "-s", SERVICE,
            "-p", str(uac_port), "-mp", str(free_udp_port()),
            "-r", str(rate), "-m", str(calls),
            "-l", str(int(rate * (HOLD_SECONDS + RECV_TIMEOUT_MS / 1000))),
            "-stf", "uac.csv", "-pause_msg_ign", *common,
            workdir=workdir, name="uac",
        )  # fmt: skip
        processes.append(uac)
        note = ""
        try:
            uac.wait(timeout=schedule + 2 * RECV_TIMEOUT_MS / 1000)
        except subprocess.TimeoutExpired:
            note = "caller SIPp did not finish"
        seconds = time.monotonic() - started
        try:
            uas.wait(timeout=RECV_TIMEOUT_MS / 1000 + 2)
        except subprocess.TimeoutExpired:
            note = note or "carrier SIPp did not see every call end"
        cpu = cpu_seconds(server.pid) - cpu_before if server.poll() is None else 0.0
        if server.poll() is not None:
            note = f"B2BUA exited with {server.returncode}"
    finally:
        for process in reversed(processes):
            stop_process(process)
    caller, carrier = read_stats(workdir / "uac.csv"), read_stats(workdir / "uas.csv")
    failed = calls - min(caller.successful, carrier.successful)
    return Step(
        rate=rate,
        calls=calls,
        failed=failed,
        seconds=seconds,
        cpu_seconds=cpu,
        setup_ms=caller.setup_ms,
        retransmissions=caller.retransmissions + carrier.retransmissions,
        on_schedule=seconds <= schedule,
        note=note,
        load=os.getloadavg()[0],
    )


@dataclass
class Ladder:
    """The steps one B2BUA went through, and where it stopped."""

    name: str
    steps: list[Step] = field(default_factory=list)
    stopped: str = ""

    @property
    def best(self) -> Step | None:
        return max((s for s in self.steps if s.clean), key=lambda s: s.rate, default=None)

    @property
    def cps(self) -> int:
        return self.best.rate if self.best else 0


def climb(b2bua: B2bua, step_seconds: float, deadline: float, workdir: Path) -> Ladder:
    """Step the rate up until a step is not clean (or the rates or the time run out),
    then narrow the gap between the last clean rate and that one by halving it."""
    ladder = Ladder(b2bua.name)

    def step(rate: int) -> Step | None:
        calls = min(MAX_CALLS_PER_STEP, int(rate * step_seconds))
        done: Step | None = None
        for attempt in range(1 + RETRIES):
            if time.monotonic() + _worst_case_seconds(calls, rate) > deadline:
                ladder.stopped = f"time budget spent before {rate}/s"
                return done
            done = run_step(b2bua, rate, calls, workdir / f"{rate}-{attempt}")
            ladder.steps.append(done)
            log.info("%s: %d/s -> %d failed in %.1f s", b2bua.name, rate, done.failed, done.seconds)
            if done.clean:
                break
        return done

    failing: Step | None = None
    for rate in RATES:
        done = step(rate)
        if done is None or not done.clean:
            failing = done
            break
    else:
        ladder.stopped = "every rate was clean"
    if failing is None:
        return ladder
    reason = f"{failing.failed} failed" if failing.failed else "rate not kept"
    ladder.stopped = f"{failing.rate}/s not clean ({failing.note or reason})"
    low, high = (ladder.best.rate if ladder.best else 0), failing.rate
    for _ in range(REFINE_STEPS):
        middle = round((low + high) / 2 / REFINE_GRAIN) * REFINE_GRAIN
        if not low < middle < high or (done := step(middle)) is None:
            break
        low, high = (middle, high) if done.clean else (low, middle)
    return ladder


# -- the benchmark --------------------------------------------------------------------


@dataclass
class Results:
    ours: Ladder
    sippy: Ladder | None
    sippy_problem: str
    seconds: float

    def figures(self) -> dict[str, object]:
        best = self.ours.best
        sippy_best = self.sippy.best if self.sippy else None
        sippy_cps = self.sippy.cps if self.sippy else None
        first = self.ours.steps[0] if self.ours.steps else None
        failed = first.failed if best is None and first is not None else 0
        return {
            "cps": self.ours.cps,
            "failed": failed,
            "cpu_ms_per_call": round(best.cpu_ms_per_call, 3) if best else None,
            "sippy_cps": sippy_cps,
            "ratio": round(self.ours.cps / sippy_cps, 3) if sippy_cps else None,
            "sippy_cpu_ms_per_call": round(sippy_best.cpu_ms_per_call, 3) if sippy_best else None,
        }


def run(step_seconds: float = 10.0, budget: float = BUDGET_SECONDS) -> Results:
    started = time.monotonic()
    deadline = started + budget
    with tempfile.TemporaryDirectory(prefix="callcenter-bench-sip-") as tmp:
        workdir = Path(tmp)
        # Half the budget each, whatever is left of ours going to sippy.
        ours = climb(OurB2bua(), step_seconds, started + budget / 2, workdir / "ours")
        sippy: Ladder | None = None
        problem = ""
        try:
            sippy = climb(sippy_b2bua(workdir), step_seconds, deadline, workdir / "sippy")
        except (BenchError, OSError, subprocess.SubprocessError) as exc:
            problem = str(exc)
        if sippy is not None and not sippy.steps:
            problem, sippy = f"sippy ran no step: {sippy.stopped}", None
    return Results(ours, sippy, problem, time.monotonic() - started)


def _tail(path: Path, size: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def _table(ladder: Ladder) -> Iterator[str]:
    yield f"{ladder.name}:"
    yield "   rate   calls  failed  seconds  set-up ms  retrans  CPU ms/call  load  clean"
    for s in ladder.steps:
        setup = f"{s.setup_ms:9.1f}" if s.setup_ms is not None else "        -"
        yield (
            f"  {s.rate:5d}  {s.calls:6d}  {s.failed:6d}  {s.seconds:7.1f}  {setup}  "
            f"{s.retransmissions:7d}  {s.cpu_ms_per_call:11.3f}  {s.load:4.1f}  "
            f"{'yes' if s.clean else 'no'}"
        )
    yield f"  first unclean step: {ladder.stopped}; highest clean rate {ladder.cps}/s"


def main(args: argparse.Namespace) -> int:
    logging.getLogger("callcenter").setLevel(logging.WARNING)
    results = run(step_seconds=args.seconds * 2)
    figures = results.figures()
    lines = [
        f"SIPp caller -> B2BUA -> SIPp carrier on {HOST}; each call INVITE, 180, 200, ACK, "
        f"{HOLD_SECONDS:g} s, BYE; each rate held {args.seconds * 2:g} s ({os.cpu_count()} CPUs)",
        *_table(results.ours),
    ]
    if results.sippy is not None:
        lines += list(_table(results.sippy))
    else:
        lines.append(f"sippy: not measured ({results.sippy_problem})")
    if figures["ratio"] is not None:
        lines.append(f"ratio ours / sippy: {figures['ratio']}")
    lines.append(f"benchmark time: {results.seconds:.0f} s")
    if args.json:  # the figures alone on stdout, the table for the record on stderr
        sys.stderr.write("\n".join(lines) + "\n")
        print(json.dumps(figures))  # noqa: T201
        return 0
    lines.append(json.dumps(figures))
    print("\n".join(lines))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
