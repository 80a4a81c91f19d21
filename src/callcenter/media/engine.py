"""The media engine process: sockets, the 20 ms tick and the command pipe, on uvloop.

Theory of operation
-------------------
``python -m callcenter.media.engine [--address A --port-min P --port-max Q --rtcp]``
(or ``callcenter media-engine``) is started by the signalling side's
:class:`~callcenter.media.client.EngineClient`. It reads one JSON command per line
on stdin and writes replies and events on stdout (:mod:`callcenter.media.control`);
it logs to stderr. When stdin closes (the parent is gone) or on SIGTERM, it finishes
its recordings and exits.

This module is the thin adapter around :class:`~callcenter.media.core.MediaCore`:
it binds each endpoint's UDP socket (an even port from the range, the next odd one
for RTCP when asked), hands received datagrams to the endpoint with the time of
arrival, calls :meth:`MediaCore.tick` every 20 ms on a drift-free schedule, and
writes the core's events up the pipe after every tick and command.

*With the compiled relay* (:mod:`callcenter.media.fastpath`), every RTP socket is
watched by one epoll set in C that the loop watches (``add_reader``); each wake-up
drains every ready socket, relays and taps the bridges that only relay, and hands
everything else to :meth:`Endpoint.receive`, the reference.

*Without it* (no compiler when the package was installed, or ``--no-fastpath``), RTP
sockets are uvloop datagram transports, and each one's protocol hands every datagram
straight to :meth:`Endpoint.receive`; the endpoint sends (and relays, with
``forward``) through ``transport.sendto``. uvloop reads a socket dry and converts
addresses in C, which beat an ``add_reader`` callback draining the socket with
``recvfrom`` in Python (measured here with 200 bridged calls: 17.7 against 21.1 us
of CPU per relayed packet while the engine keeps up, each socket having one datagram
per wake-up; draining only won once the engine was already falling behind).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import stat
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TextIO, cast

import uvloop

from callcenter.media import control
from callcenter.media.amd import AmdDetector, AmdParams
from callcenter.media.control import EngineError
from callcenter.media.core import TICK, TIMEOUT_CHECK_TICKS, AnsweringMachineDetector, MediaCore
from callcenter.media.endpoint import Address, Endpoint
from callcenter.media.errors import RtcpParseError
from callcenter.media.fastpath import COMPILED_RELAY, FastPath
from callcenter.media.player import (
    Looping,
    Playlist,
    Prompt,
    PromptCache,
    PromptFileError,
    Silence,
    ToneSource,
)
from callcenter.media.room import AudioSource, RecordingSink
from callcenter.media.rtcp import parse_compound
from callcenter.media.udp import udp_socket as udp_socket  # the bench's driver uses it too

log = logging.getLogger(__name__)

LINE_LIMIT: Final = 1 << 24
_monotonic: Final = time.monotonic  # read per datagram: one lookup saved
MAX_CATCH_UP: Final = 5  # ticks run back to back after the process was not scheduled


@dataclass(slots=True)
class PortRange:
    """Even RTP ports from ``low`` to ``high``, handed out round-robin."""

    low: int
    high: int
    _next: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.low % 2:
            self.low += 1
        if not 1024 <= self.low < self.high <= 65535:
            raise ValueError(f"bad RTP port range {self.low}-{self.high}")
        self._next = self.low

    def bind(self, address: str, rtcp: bool) -> tuple[socket.socket, socket.socket | None]:
        """Bind the next free port (and port + 1 for RTCP)."""
        count = (self.high - self.low) // 2 + 1
        for _ in range(count):
            port = self._next
            self._next = self.low if port + 2 > self.high else port + 2
            rtp = udp_socket()
            try:
                rtp.bind((address, port))
            except OSError:
                rtp.close()
                continue
            if not rtcp:
                return rtp, None
            rtcp_socket = udp_socket()
            try:
                rtcp_socket.bind((address, port + 1))
            except OSError:
                rtp.close()
                rtcp_socket.close()
                continue
            return rtp, rtcp_socket
        raise EngineError("no-free-port", low=self.low, high=self.high)


class _RtpProtocol(asyncio.DatagramProtocol):
    """Hands each datagram straight to the endpoint (no frame of our own in between)."""

    def __init__(self, endpoint: Endpoint) -> None:
        endpoint.clock = _monotonic
        self.datagram_received = endpoint.receive  # type: ignore[method-assign,assignment]

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket: %s", exc)


def socket_sender(sock: socket.socket) -> Callable[[bytes | bytearray, Address], None]:
    """Send on a non-blocking socket; a full buffer or an ICMP error loses the packet."""
    sendto = sock.sendto

    def send(data: bytes | bytearray, address: Address) -> None:
        try:
            sendto(data, address)
        except OSError as exc:
            log.debug("RTP to %s:%d not sent: %s", *address, exc)

    return send


@dataclass(slots=True)
class RtcpCounters:
    received: int = 0
    malformed: int = 0


class _RtcpProtocol(asyncio.DatagramProtocol):
    def __init__(self, counters: RtcpCounters) -> None:
        self._counters = counters

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            parse_compound(data)
        except RtcpParseError:
            self._counters.malformed += 1
            return
        self._counters.received += 1

    def error_received(self, exc: Exception) -> None:
        log.debug("RTCP socket: %s", exc)


@dataclass(eq=False)
class Sources:
    """Turns a ``play`` command into a player source; prompts share one cache.

    ``prompt``: a file, or ``prompts``: files played one after another; with
    ``loop`` they repeat forever (music on hold). ``tone`` with ``plan`` (cn, us) and
    optional ``seconds``; ``silence``: seconds.
    """

    cache: PromptCache = field(default_factory=PromptCache)

    def __call__(self, args: dict[str, Any]) -> AudioSource:
        try:
            if "tone" in args:
                seconds = args.get("seconds")
                return ToneSource.from_plan(
                    str(args.get("plan", "cn")),
                    str(args["tone"]),
                    None if seconds is None else float(seconds),
                )
            if "silence" in args:
                return Silence(float(args["silence"]))
            paths = [args["prompt"]] if "prompt" in args else list(args["prompts"])
            clips = [Prompt(str(path), self.cache) for path in paths]
        except PromptFileError as exc:
            raise EngineError("bad-arguments", reason=exc.message("en")) from None
        if args.get("loop"):
            return Looping(clips)
        return clips[0] if len(clips) == 1 else Playlist(clips)


def make_amd(params: dict[str, Any]) -> AnsweringMachineDetector:
    return AmdDetector(AmdParams.from_mapping(params))


def make_sink(path: str, fmt: str, stereo: bool) -> RecordingSink:
    from callcenter.media.recorder import Recorder, RecordingError

    try:
        return Recorder(path, fmt, stereo)
    except (RecordingError, OSError) as exc:
        raise EngineError("bad-arguments", reason=str(exc)) from None


@dataclass(eq=False)
class EngineServer:
    """The engine process: one :class:`MediaCore` and the I/O around it."""

    address: str = "127.0.0.1"
    ports: PortRange = field(default_factory=lambda: PortRange(20000, 39998))
    rtcp: bool = False
    core: MediaCore = field(default_factory=lambda: MediaCore(Sources(), make_sink, make_amd))
    overruns: int = 0
    use_fastpath: bool = True  # when the compiled relay is built
    fast: FastPath | None = None
    _sockets: dict[str, socket.socket] = field(default_factory=dict)  # the fast path's
    _transports: dict[str, list[asyncio.DatagramTransport]] = field(default_factory=dict)
    _rtcp_counters: dict[str, RtcpCounters] = field(default_factory=dict)
    _out: asyncio.WriteTransport | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader: asyncio.StreamReader | None = None
        if _is_stream(sys.stdin):
            reader = asyncio.StreamReader(limit=LINE_LIMIT)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        if _is_stream(sys.stdout):
            self._out, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        if self.use_fastpath and COMPILED_RELAY:
            self.fast = FastPath.start(self.core)
            loop.add_reader(self.fast.relay.fileno(), self.fast.on_readable)
        log.info("media engine: %s", "compiled relay" if self.fast else "Python relay")
        ticker = asyncio.create_task(self._tick_forever())
        commands = asyncio.create_task(self._read_commands(reader))
        stop = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({ticker, commands, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (ticker, commands, stop):
                task.cancel()
            self.core.close(time.monotonic())
            self._write_events()
            for transports in self._transports.values():
                for transport in transports:
                    transport.close()
            if self.fast is not None:
                loop.remove_reader(self.fast.relay.fileno())
                self.fast.close()
            for sock in self._sockets.values():
                sock.close()
            log.info("media engine stopped")

    async def _read_commands(self, reader: asyncio.StreamReader | None) -> None:
        """Lines from the pipe; from a file (stdin redirected), read in a thread."""
        loop = asyncio.get_running_loop()
        while True:
            if reader is not None:
                line = await reader.readline()
            else:
                line = await loop.run_in_executor(None, sys.stdin.buffer.readline)
            if not line:
                return
            if line.strip():
                await self._handle_line(line)

    async def _handle_line(self, line: bytes) -> None:
        request_id = 0
        try:
            message = control.decode(line)
            request_id = int(message.get("id", 0))
            op = str(message.get("op"))
            args = message.get("args") or {}
            if not isinstance(args, dict):
                raise EngineError("bad-arguments", reason="args must be an object")
            result = await self.execute(op, args)
            self._write(control.reply_ok(request_id, result))
        except EngineError as exc:
            self._write(control.reply_error(request_id, exc))
        except Exception as exc:  # a bug must not take every call down with it
            log.exception("command failed")
            self._write(control.reply_error(request_id, EngineError("internal-error", reason=exc)))
        self._write_events()

    async def execute(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        if op not in control.OPS:
            raise EngineError("unknown-op", op=op)
        if op == "create_endpoint":
            return await self._create_endpoint(args, now)
        fast = self.fast
        if fast is None:
            return self._execute(op, args, now)
        fast.release(self._touched(args))  # the state back from C before Python touches it
        try:
            return self._execute(op, args, now)
        finally:
            fast.settle()

    def _execute(self, op: str, args: dict[str, Any], now: float) -> dict[str, Any]:
        if op == "delete_endpoint":
            return self._delete_endpoint(str(args.get("endpoint")), now)
        if op == "stats" and args.get("endpoint") is None:
            if self.fast is not None:
                self.fast.refresh()
            stats = self.core.command(op, args, now)
            rtcp = sum(c.received for c in self._rtcp_counters.values())
            fast = self.fast
            relay: dict[str, object] = {"relay": "python"}
            if fast is not None:
                relay = {"relay": "compiled", "handed_off": fast.handed_off,
                         "send_errors": fast.relay.send_errors}  # fmt: skip
            return {**stats, "overruns": self.overruns, "rtcp_received": rtcp, **relay}
        return self.core.command(op, args, now)

    def _touched(self, args: dict[str, Any]) -> list[Endpoint]:
        """The endpoints a command names, directly or through a bridge or conference."""
        core = self.core
        touched: list[Endpoint] = []
        for key in ("endpoint", "a", "b", "target", "bridge", "conference"):
            name = args.get(key)
            if name is None:
                continue
            name = str(name)
            if name in core.endpoints:
                touched.append(core.endpoints[name])
            if name in core.bridges:
                touched.extend(core.bridges[name].parties)
            if name in core.conferences:
                touched.extend(core.conferences[name].members.values())
        return touched

    async def _create_endpoint(self, args: dict[str, Any], now: float) -> dict[str, Any]:
        endpoint_id = str(args["endpoint"])
        if endpoint_id in self.core.endpoints:
            raise EngineError("already-exists", kind="endpoint", id=endpoint_id)
        address = str(args.get("address") or self.address)
        rtp_socket, rtcp_socket = self.ports.bind(address, bool(args.get("rtcp", self.rtcp)))
        local: Address = cast(Address, rtp_socket.getsockname())
        loop = asyncio.get_running_loop()
        endpoint = Endpoint(
            endpoint_id,
            local,
            send=_unbound_send,
            codec=str(args.get("codec", "PCMU")),
            event_payload_type=args.get("event_payload_type", 101),
            inactivity_timeout=float(args.get("inactivity_timeout", 0.0)),
        )
        if args.get("host") is not None:
            endpoint.set_remote((str(args["host"]), int(args["port"])))
        transports: list[asyncio.DatagramTransport] = []
        if self.fast is not None:
            endpoint.send = endpoint.forward = socket_sender(rtp_socket)
            self.fast.register(endpoint, rtp_socket)
            self._sockets[endpoint_id] = rtp_socket
        else:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _RtpProtocol(endpoint), sock=rtp_socket
            )
            endpoint.send = endpoint.forward = transport.sendto
            transports.append(transport)
        if rtcp_socket is not None:
            counters = self._rtcp_counters[endpoint_id] = RtcpCounters()
            rtcp_transport, _ = await loop.create_datagram_endpoint(
                lambda: _RtcpProtocol(counters), sock=rtcp_socket
            )
            transports.append(rtcp_transport)
        self._transports[endpoint_id] = transports
        self.core.add_endpoint(endpoint, now)
        log.debug("endpoint %s on %s:%d", endpoint_id, *local)
        return {"address": local[0], "port": local[1]}

    def _delete_endpoint(self, endpoint_id: str, now: float) -> dict[str, Any]:
        endpoint = self.core.remove_endpoint(endpoint_id, now)
        for transport in self._transports.pop(endpoint_id, []):
            transport.close()
        if self.fast is not None and endpoint.fast_slot >= 0:
            self.fast.forget(endpoint)
            self._sockets.pop(endpoint_id).close()
        self._rtcp_counters.pop(endpoint_id, None)
        return {"stats": endpoint.stats.as_dict()}

    async def _tick_forever(self) -> None:
        """Tick every 20 ms; after a stall, run the missed ticks (up to ``MAX_CATCH_UP``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TICK
        while True:
            await asyncio.sleep(max(deadline - loop.time(), 0.0))
            fast = self.fast
            for _ in range(MAX_CATCH_UP):
                if fast is not None and (self.core.ticks + 1) % TIMEOUT_CHECK_TICKS == 0:
                    fast.refresh(timed_only=True)  # this tick checks inactivity
                try:
                    self.core.tick(time.monotonic())
                except Exception:
                    log.exception("tick failed")
                if fast is not None:
                    fast.settle()  # prompts and digits that ended, detection decided
                deadline += TICK
                if deadline > loop.time():
                    break
            else:
                self.overruns += 1  # too far behind: skip ahead rather than burst
                deadline = loop.time() + TICK
            self._write_events()

    def _write_events(self) -> None:
        for event in self.core.take_events():
            self._write(control.event_message(event))

    def _write(self, data: bytes) -> None:
        if self._out is None:
            sys.stdout.buffer.write(data)  # a file, not a pipe: a plain write
            sys.stdout.buffer.flush()
        elif not self._out.is_closing():
            self._out.write(data)


def _is_stream(file: TextIO) -> bool:
    """A pipe, socket or terminal (the loop can watch it); a regular file cannot be."""
    mode = os.fstat(file.fileno()).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


def _unbound_send(data: bytes | bytearray, addr: Address) -> None:
    raise RuntimeError("endpoint used before its socket was bound")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter media-engine", description="媒体引擎 / media engine (RTP, G.711, mixing)"
    )
    parser.add_argument("--address", default="127.0.0.1", help="address to bind RTP on")
    parser.add_argument("--port-min", type=int, default=20000)
    parser.add_argument("--port-max", type=int, default=39998)
    parser.add_argument("--rtcp", action="store_true", help="bind port + 1 for RTCP")
    parser.add_argument(
        "--no-fastpath", action="store_true", help="relay in Python even if the C relay is built"
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s media-engine %(name)s %(message)s",
    )
    server = EngineServer(args.address, PortRange(args.port_min, args.port_max), args.rtcp)
    server.use_fastpath = not args.no_fastpath
    uvloop.run(server.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
