"""The signalling side's end of the media engine: start it, command it, hear its events.

Theory of operation
-------------------
:class:`EngineClient` starts one engine process (``python -m callcenter.media.engine``)
with pipes to its stdin and stdout, writes one request per line and resolves each
request's future when the reply with its id comes back; events go into a queue that
:meth:`events` drains. When the engine exits (crash, ``kill -9``) its stdout reaches
end of file: every waiting command and every later one fails at once with
``EngineError("engine-gone")``, and :meth:`events` ends, so no caller hangs on a
dead engine. Each command also has a timeout.

:class:`EnginePool` runs several engines (one per core, when asked) behind the same
:class:`~callcenter.media.port.MediaPort`: a new endpoint goes to the engine already
holding its ``affinity`` (the call), else to the engine with the fewest endpoints;
bridges, conferences and recordings go where their endpoints are.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any, Final

from callcenter.config import MediaSettings
from callcenter.media import control
from callcenter.media.control import EngineError, MediaEvent
from callcenter.media.port import Codec, Detection, MediaAddress, RecordingFormat, Role

log = logging.getLogger(__name__)

COMMAND_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 5.0
_GONE: Final = object()
_EVENT_CLASSES: Final = tuple(control.EVENT_TYPES.values())


class _Commands:
    """The MediaPort's methods, written once over :meth:`_call`."""

    async def _call(self, op: str, args: dict[str, Any], route: str | None) -> dict[str, Any]:
        raise NotImplementedError

    async def create_endpoint(
        self,
        endpoint: str,
        *,
        codec: Codec = "PCMU",
        event_payload_type: int | None = 101,
        remote: tuple[str, int] | None = None,
        inactivity_timeout: float = 0.0,
        affinity: str | None = None,
    ) -> MediaAddress:
        args: dict[str, Any] = {
            "endpoint": endpoint,
            "codec": codec,
            "event_payload_type": event_payload_type,
            "inactivity_timeout": inactivity_timeout,
        }
        if remote is not None:
            args["host"], args["port"] = remote
        result = await self._call("create_endpoint", args, affinity)
        return MediaAddress(str(result["address"]), int(result["port"]))

    async def set_remote(
        self,
        endpoint: str,
        remote: tuple[str, int] | None = None,
        *,
        codec: Codec | None = None,
        event_payload_type: int | None = 101,
        inactivity_timeout: float | None = None,
    ) -> None:
        args: dict[str, Any] = {"endpoint": endpoint}
        if remote is not None:
            args["host"], args["port"] = remote
        if codec is not None:
            args["codec"] = codec
            args["event_payload_type"] = event_payload_type
        if inactivity_timeout is not None:  # re-armed from now (0: never)
            args["inactivity_timeout"] = inactivity_timeout
        await self._call("set_remote", args, endpoint)

    async def delete_endpoint(self, endpoint: str) -> dict[str, Any]:
        result = await self._call("delete_endpoint", {"endpoint": endpoint}, endpoint)
        stats: dict[str, Any] = result["stats"]
        return stats

    async def bridge(self, bridge: str, a: str, b: str) -> None:
        await self._call("bridge", {"bridge": bridge, "a": a, "b": b}, a)

    async def unbridge(self, bridge: str) -> None:
        await self._call("unbridge", {"bridge": bridge}, bridge)

    async def join(
        self,
        conference: str,
        endpoint: str,
        role: Role = "talk_listen",
        whisper_to: str | None = None,
    ) -> None:
        args = {"conference": conference, "endpoint": endpoint, "role": role}
        if whisper_to is not None:
            args["whisper_to"] = whisper_to
        await self._call("join", args, endpoint)

    async def leave(self, conference: str, endpoint: str) -> None:
        await self._call("leave", {"conference": conference, "endpoint": endpoint}, endpoint)

    async def play(self, endpoint: str, play: str, **source: Any) -> None:
        await self._call("play", {**source, "endpoint": endpoint, "play": play}, endpoint)

    async def stop_play(self, endpoint: str) -> bool:
        result = await self._call("stop_play", {"endpoint": endpoint}, endpoint)
        return bool(result["stopped"])

    async def record(
        self, recording: str, target: str, path: str, *, fmt: RecordingFormat = "pcm16",
        stereo: bool = True,
    ) -> None:  # fmt: skip
        args = {"recording": recording, "target": target, "path": path, "format": fmt,
                "stereo": stereo}  # fmt: skip
        await self._call("record", args, target)

    async def stop_record(self, recording: str) -> None:
        await self._call("stop_record", {"recording": recording}, recording)

    async def send_dtmf(self, endpoint: str, digits: str) -> None:
        await self._call("send_dtmf", {"endpoint": endpoint, "digits": digits}, endpoint)

    async def start_detection(
        self, endpoint: str, kind: Detection, params: dict[str, Any] | None = None
    ) -> None:
        args = {"endpoint": endpoint, "kind": kind, "params": params or {}}
        await self._call("start_detection", args, endpoint)

    async def stop_detection(self, endpoint: str, kind: Detection) -> None:
        await self._call("stop_detection", {"endpoint": endpoint, "kind": kind}, endpoint)

    async def stats(self, endpoint: str | None = None) -> dict[str, Any]:
        return await self._call("stats", {"endpoint": endpoint}, endpoint)


class EngineClient(_Commands):
    """One engine process; see the module docstring."""

    def __init__(
        self,
        *,
        address: str = "127.0.0.1",
        port_min: int = 20000,
        port_max: int = 39998,
        rtcp: bool = False,
        log_level: str = "WARNING",
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.argv: list[str] = [
            sys.executable, "-m", "callcenter.media.engine", "--address", address,
            "--port-min", str(port_min), "--port-max", str(port_max), "--log-level", log_level,
        ]  # fmt: skip
        if rtcp:
            self.argv.append("--rtcp")
        self.command_timeout = command_timeout
        self.process: asyncio.subprocess.Process | None = None
        self.endpoints: set[str] = set()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[MediaEvent | object] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._gone: str | None = None
        self._closing = False

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self._gone is None

    async def start(self) -> EngineClient:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=control_line_limit(),
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await self._call("ping", {}, None)
        log.info("media engine started, pid %d", self.process.pid)
        return self

    async def _call(self, op: str, args: dict[str, Any], route: str | None) -> dict[str, Any]:
        if self._gone is not None or self.process is None or self.process.stdin is None:
            raise EngineError("engine-gone", reason=self._gone or "not started")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self.process.stdin.write(control.request(request_id, op, args))
            async with asyncio.timeout(self.command_timeout):
                result = await future
        except (BrokenPipeError, ConnectionResetError):
            raise EngineError("engine-gone", reason="pipe closed") from None
        except TimeoutError:
            raise EngineError("internal-error", reason=f"{op} timed out") from None
        finally:
            self._pending.pop(request_id, None)
        if op == "create_endpoint":
            self.endpoints.add(str(args["endpoint"]))
        elif op == "delete_endpoint":
            self.endpoints.discard(str(args["endpoint"]))
        return result

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stdout = self.process.stdout
        reason = "end of output"
        try:
            while line := await stdout.readline():
                self._dispatch(line)
        except (ValueError, OSError) as exc:
            reason = f"reading its output: {exc}"
        finally:
            code = await self.process.wait()
            self._went(f"{reason}, exit status {code}")

    def _dispatch(self, line: bytes) -> None:
        try:
            message = control.decode(line)
            if "event" in message:
                self._events.put_nowait(control.parse_event(message))
                return
            future = self._pending.get(int(message["id"]))
        except (EngineError, KeyError, TypeError, ValueError) as exc:
            log.warning("media engine sent a bad line: %s", exc)
            return
        if future is None or future.done():
            return
        if message.get("ok"):
            future.set_result(dict(message.get("result") or {}))
        else:
            details = message.get("details") or {}
            future.set_exception(EngineError(str(message.get("error")), **details))

    def _went(self, reason: str) -> None:
        if self._gone is not None:
            return
        self._gone = reason
        if self._closing:
            log.info("media engine %s stopped: %s", self.pid, reason)
        else:
            log.warning("media engine %s is gone: %s", self.pid, reason)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(EngineError("engine-gone", reason=reason))
        self._events.put_nowait(_GONE)

    async def events(self) -> AsyncIterator[MediaEvent]:
        """The engine's events until it is gone."""
        while True:
            item = await self._events.get()
            if item is _GONE:
                self._events.put_nowait(_GONE)  # later readers end too
                return
            if isinstance(item, _EVENT_CLASSES):
                yield item

    async def close(self) -> None:
        """Stop the engine (it finishes its recordings) and reap it."""
        process = self.process
        if process is None:
            return
        self._closing = True
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def control_line_limit() -> int:
    return 1 << 24


class EnginePool(_Commands):
    """Several engine processes behind one MediaPort; see the module docstring."""

    def __init__(self, clients: Sequence[EngineClient]) -> None:
        if not clients:
            raise ValueError("a pool needs at least one engine")
        self.clients = list(clients)
        self._by_key: dict[str, EngineClient] = {}
        self._events: asyncio.Queue[MediaEvent | object] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []

    @classmethod
    async def start(cls, engines: int, **settings: Any) -> EnginePool:
        """``engines`` processes, each with its own share of the port range."""
        low, high = int(settings.pop("port_min", 20000)), int(settings.pop("port_max", 39998))
        share = (high - low) // engines // 2 * 2
        clients = [
            EngineClient(port_min=low + i * share, port_max=low + (i + 1) * share - 2, **settings)
            for i in range(engines)
        ]
        await asyncio.gather(*(c.start() for c in clients))
        pool = cls(clients)
        pool._pumps = [asyncio.create_task(pool._pump(c)) for c in clients]
        return pool

    async def _pump(self, client: EngineClient) -> None:
        async for event in client.events():
            self._events.put_nowait(event)

    def _engine_for(self, op: str, args: dict[str, Any], route: str | None) -> EngineClient:
        if op == "create_endpoint":
            if route is not None and route in self._by_key:
                return self._by_key[route]
            return min(self.clients, key=lambda c: (not c.alive, len(c.endpoints)))
        if route is None:
            return self.clients[0]
        client = self._by_key.get(route)
        if client is None:
            raise EngineError("unknown-endpoint", id=route)
        return client

    async def _call(self, op: str, args: dict[str, Any], route: str | None) -> dict[str, Any]:
        if op == "stats" and route is None:
            results = await asyncio.gather(*(c._call(op, args, None) for c in self.clients))
            return {"engines": results}
        client = self._engine_for(op, args, route)
        result = await client._call(op, args, route)
        # Remember where each named thing lives, so later commands find its engine.
        for key in ("endpoint", "bridge", "conference", "recording"):
            if key in args and op not in ("delete_endpoint", "unbridge", "stop_record"):
                self._by_key[str(args[key])] = client
        if op == "create_endpoint" and route is not None:
            self._by_key[route] = client
        return result

    async def events(self) -> AsyncIterator[MediaEvent]:
        while True:
            item = await self._events.get()
            if isinstance(item, _EVENT_CLASSES):
                yield item

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients))
        for pump in self._pumps:
            pump.cancel()


async def start_media(settings: MediaSettings) -> EnginePool:
    """The engines the settings ask for (``media.engines``, one per core when asked)."""
    return await EnginePool.start(
        settings.engines,
        address=settings.address,
        port_min=settings.port_min,
        port_max=settings.port_max,
        rtcp=settings.rtcp,
    )
