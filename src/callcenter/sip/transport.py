"""The asyncio adapters that run a sans-io :class:`Endpoint` on real sockets (UDP, TCP).

Theory of operation
-------------------
This is the only SIP code that owns sockets and reads the clock (``loop.time()``).
After every input it runs the same cycle:

1. bytes arrive -> ``endpoint.receive_datagram(data, addr, now=loop.time())`` (over TCP
   one framed message at a time, cut by ``split_stream``, RFC 3261 18.3);
2. the endpoint's events are taken (``next_event``), then everything in
   ``datagrams_to_send`` goes out;
3. each event goes to the consumer: a synchronous ``handler(event)`` if one was given,
   else the ``events`` queue;
4. one loop timer is armed at ``endpoint.get_timer()`` (unless one is armed for
   earlier already); when it fires, ``endpoint.handle_timer(now)`` runs and the
   cycle repeats.

A handler may call ``send_request``/``send_response`` from inside step 3: the nested
call only feeds the endpoint, and the outer cycle repeats until the endpoint has
nothing left, so nothing is lost and nothing recurses.

TCP (RFC 3261 18.2.2): a response goes back on the connection its request came in
on. The endpoint addresses responses by Via (source IP, rport or Via port), so for
each request received the adapter remembers that address as an alias of the
connection. Sending to an address with no connection opens one; bytes written before
it is up wait in order. A CRLF CRLF keep-alive is answered with CRLF (RFC 5626 4.4.1).
Only portable loop calls are used, so uvloop works as well as the stock loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, cast

from callcenter.sip.endpoint import (
    Address,
    Endpoint,
    EndpointEvent,
    RequestReceived,
    response_address,
)
from callcenter.sip.errors import SipParseError
from callcenter.sip.message import Request, Response, split_stream
from callcenter.sip.transaction import TransactionKey

log = logging.getLogger(__name__)

EventHandler = Callable[[EndpointEvent], None]
DEFAULT_MAX_CONNECTIONS: Final = 1024  # our limit on TCP connections per listener


def _address(raw: object) -> Address:
    parts = cast(tuple[object, ...], raw)
    return (str(parts[0]), int(cast(int, parts[1])))


class _Driver:
    """What the transports share: the endpoint, its clock, its one timer, the cycle."""

    def __init__(self, endpoint: Endpoint, handler: EventHandler | None) -> None:
        self.endpoint = endpoint
        self.events: asyncio.Queue[EndpointEvent] = asyncio.Queue()
        self.local_address: Address = ("", 0)
        self._handler = handler
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._pumping = False
        self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def now(self) -> float:
        """The transport's clock: the loop's monotonic time."""
        if self._loop is None:
            raise RuntimeError("transport not started")
        return self._loop.time()

    def send_request(self, request: Request, addr: Address) -> TransactionKey:
        """Start a client transaction for ``request`` towards ``addr``."""
        key = self.endpoint.send_request(request, addr, now=self.now())
        self._pump()
        return key

    def send_response(self, response: Response) -> None:
        """Answer through the matching server transaction."""
        self.endpoint.send_response(response, now=self.now())
        self._pump()

    def _feed(self, data: bytes, addr: Address) -> None:
        self.endpoint.receive_datagram(data, addr, now=self.now())
        self._pump()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        # asyncio may run a call_at callback up to one clock tick early: never let
        # that look like "not yet due", or the timer would spin.
        now = max(self.now(), self._timer_at or 0.0)
        self._timer = None
        self._timer_at = None
        self.endpoint.handle_timer(now)
        self._pump()

    def _pump(self) -> None:
        if self._pumping:
            return  # the outer cycle picks up what the handler queued
        self._pumping = True
        try:
            while True:
                events: list[EndpointEvent] = []
                while (event := self.endpoint.next_event()) is not None:
                    self._observe(event)
                    events.append(event)
                for data, addr in self.endpoint.datagrams_to_send(self.now()):
                    if self._open:
                        self._deliver(data, addr)
                if not events:
                    break
                for event in events:
                    self._dispatch(event)
        finally:
            self._pumping = False
        self._arm_timer()

    def _observe(self, event: EndpointEvent) -> None:
        """Look at an event before the bytes queued with it are sent."""

    def _deliver(self, data: bytes, addr: Address) -> None:
        raise NotImplementedError

    def _dispatch(self, event: EndpointEvent) -> None:
        if self._handler is None:
            self.events.put_nowait(event)
            return
        try:
            self._handler(event)
        except Exception:
            log.exception("SIP event handler failed on %s", type(event).__name__)

    def _arm_timer(self) -> None:
        """Arm the loop timer for the endpoint's next deadline. One armed earlier stays:
        it wakes the endpoint for nothing and is armed again then, which is cheaper
        than cancelling a loop timer whenever the earliest transaction goes away."""
        if self._loop is None or not self._open:
            return
        deadline = self.endpoint.get_timer()
        if deadline is None or (self._timer_at is not None and self._timer_at <= deadline):
            return
        self._stop_timer()
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpTransport) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._owner._feed(data, _address(addr))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the transaction timers deal with the loss.
        log.debug("UDP error on %s: %s", self._owner.local_address, exc)


class UdpTransport(_Driver):
    """One UDP socket driving one :class:`Endpoint` (RFC 3261 18 over UDP)."""

    def __init__(
        self, endpoint: Endpoint | None = None, *, handler: EventHandler | None = None
    ) -> None:
        super().__init__(endpoint if endpoint is not None else Endpoint(), handler)
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Address:
        """Bind the socket (port 0 picks a free port) and return the bound address."""
        if self._transport is not None:
            raise RuntimeError("transport already started")
        self._loop = asyncio.get_running_loop()
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _DatagramProtocol(self), local_addr=(host, port)
        )
        self._transport = transport
        self._open = True
        self.local_address = _address(transport.get_extra_info("sockname"))
        log.info("SIP UDP listening on %s:%d", *self.local_address)
        return self.local_address

    def close(self) -> None:
        """Stop the timer and close the socket; pending transactions are abandoned."""
        self._open = False
        self._stop_timer()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def aclose(self) -> None:
        self.close()
        await asyncio.sleep(0)  # let the loop run the socket's close callback

    async def __aenter__(self) -> UdpTransport:
        if self._transport is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _deliver(self, data: bytes, addr: Address) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)


class _StreamProtocol(asyncio.Protocol):
    """One TCP connection: frames messages in, queues writes until connected."""

    def __init__(self, owner: TcpTransport, peer: Address | None = None) -> None:
        self.owner = owner
        self.peer = peer
        self.aliases: set[Address] = set()
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._waiting: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.peer is None:
            self.peer = _address(transport.get_extra_info("peername"))
        self.owner._connected(self)
        for data in self._waiting:
            self.transport.write(data)
        self._waiting.clear()

    def send(self, data: bytes) -> None:
        if self.transport is None:
            self._waiting.append(data)
        elif not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._buffer.strip(b"\r\n"):
            if b"\r\n\r\n" in self._buffer:
                self.send(b"\r\n")  # RFC 5626 4.4.1: pong
                self._buffer = b""
            return
        while self.transport is not None and not self.transport.is_closing():
            try:
                message, self._buffer = split_stream(self._buffer)
            except SipParseError as exc:
                log.info("closing SIP TCP connection from %s: %s", self.peer, exc)
                self.transport.close()
                return
            if message is None:
                return
            assert self.peer is not None
            self.owner._feed(message, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._disconnected(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class TcpTransport(_Driver):
    """A TCP listener and its connections driving one reliable :class:`Endpoint`."""

    def __init__(
        self,
        endpoint: Endpoint | None = None,
        *,
        handler: EventHandler | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        super().__init__(endpoint if endpoint is not None else Endpoint(reliable=True), handler)
        if not self.endpoint.reliable:
            raise ValueError("a TCP transport needs an Endpoint(reliable=True)")
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._connections: dict[Address, _StreamProtocol] = {}
        self._aliases: dict[Address, Address] = {}  # response address -> connection peer
        self._connecting: set[asyncio.Task[None]] = set()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Address:
        """Listen (port 0 picks a free port) and return the bound address."""
        if self._server is not None:
            raise RuntimeError("transport already started")
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: _StreamProtocol(self), host, port)
        self._open = True
        self.local_address = _address(self._server.sockets[0].getsockname())
        log.info("SIP TCP listening on %s:%d", *self.local_address)
        return self.local_address

    async def aclose(self) -> None:
        """Stop listening, drop every connection and abandon pending transactions."""
        self._open = False
        self._stop_timer()
        for task in self._connecting:
            task.cancel()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        for connection in list(self._connections.values()):
            connection.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await asyncio.sleep(0)  # let the loop run the connections' close callbacks

    async def __aenter__(self) -> TcpTransport:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _observe(self, event: EndpointEvent) -> None:
        if isinstance(event, RequestReceived):
            alias = response_address(event.request.top_via, event.addr)
            connection = self._connections.get(event.addr)
            if alias != event.addr and connection is not None:
                self._aliases[alias] = event.addr
                connection.aliases.add(alias)

    def _deliver(self, data: bytes, addr: Address) -> None:
        connection = self._connections.get(self._aliases.get(addr, addr))
        if connection is None:
            connection = self._connect(addr)
        connection.send(data)

    def _connect(self, addr: Address) -> _StreamProtocol:
        connection = _StreamProtocol(self, peer=addr)
        self._connections[addr] = connection
        task = asyncio.get_running_loop().create_task(self._open_connection(connection, addr))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)
        return connection

    async def _open_connection(self, connection: _StreamProtocol, addr: Address) -> None:
        assert self._loop is not None
        try:
            await self._loop.create_connection(lambda: connection, addr[0], addr[1])
        except OSError as exc:
            # The transaction's timer reports the failure to its user (Timer B / F).
            log.info("SIP TCP connection to %s:%d failed: %s", addr[0], addr[1], exc)
            self._disconnected(connection)

    def _connected(self, connection: _StreamProtocol) -> None:
        assert connection.peer is not None
        if not self._open or (
            connection.peer not in self._connections
            and len(self._connections) >= self.max_connections
        ):
            connection.close()
            return
        self._connections[connection.peer] = connection

    def _disconnected(self, connection: _StreamProtocol) -> None:
        if connection.peer is not None and self._connections.get(connection.peer) is connection:
            del self._connections[connection.peer]
        for alias in connection.aliases:
            if self._aliases.get(alias) == connection.peer:
                del self._aliases[alias]


__all__ = ["DEFAULT_MAX_CONNECTIONS", "EventHandler", "TcpTransport", "UdpTransport"]
