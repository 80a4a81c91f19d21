"""The registrar on real sockets: glue between the SIP transports and :class:`Registrar`.

Theory of operation
-------------------
The service owns a :class:`UdpTransport` (and, when asked, a :class:`TcpTransport` on
the same port number) and one :class:`Registrar`, and routes the endpoints' events:
REGISTER goes to the registrar and its response goes back on the transport it came
from; OPTIONS to us is answered 200; any other request gets 405 with Allow (this
socket is only a registrar). The registrar's qualify OPTIONS leave on the transport
named in their Via (the one the phone registered over); their responses and
transaction timeouts go back to the registrar. The registrar's own deadlines (binding
expiry, qualify) get one loop timer, re-armed after every input like the
transports'. Time is ``loop.time()``.

Shared socket: given ``shared`` (the B2BUA's UDP transport), the service binds
nothing and closes nothing; the transport's owner hands it the events that are the
registrar's (REGISTER requests, answers to qualify OPTIONS, their timeouts) through
:meth:`handle`, so phones register and take calls at one host:port.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Final

from callcenter.sip.endpoint import Address, EndpointEvent, RequestReceived
from callcenter.sip.errors import TransactionError
from callcenter.sip.message import make_response
from callcenter.sip.transaction import ResponseReceived, TransactionTimedOut
from callcenter.sip.transport import TcpTransport, UdpTransport
from callcenter.switch.sip.registrar import Binding, Registrar, RegistrarEvent

log = logging.getLogger(__name__)

ALLOW: Final = "REGISTER, OPTIONS"
_PORT_ATTEMPTS: Final = 5  # port 0: tries to find a number free for both UDP and TCP

Transport = UdpTransport | TcpTransport


class RegistrarService:
    """Runs a :class:`Registrar` over UDP (and optionally TCP) on the running loop."""

    def __init__(
        self,
        registrar: Registrar,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tcp: bool = False,
        on_event: Callable[[RegistrarEvent], None] | None = None,
        shared: UdpTransport | None = None,
    ) -> None:
        self.registrar = registrar
        self.transport = shared or UdpTransport()
        self._shared = shared is not None
        self.transport_tcp: TcpTransport | None = None
        self._want_tcp = tcp
        self._host = host
        self._port = port
        self._on_event = on_event
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._changed = asyncio.Event()

    async def start(self) -> Address:
        """Bind the sockets; returns the bound address (port 0 picks a free port).

        With ``tcp`` the TCP listener gets the same port number as the UDP socket. A
        shared transport must be started already; its address is the registrar's.
        """
        if self._shared:
            self.registrar.local_address = self.transport.local_address
            return self.transport.local_address
        for attempt in range(_PORT_ATTEMPTS):
            self.transport = UdpTransport(handler=self._handler_for_udp)
            address = await self.transport.start(self._host, self._port)
            if not self._want_tcp:
                break
            self.transport_tcp = TcpTransport(handler=self._handler_for_tcp)
            try:
                await self.transport_tcp.start(self._host, address[1])
                break
            except OSError:
                await self.transport.aclose()
                self.transport_tcp = None
                if self._port != 0 or attempt == _PORT_ATTEMPTS - 1:
                    raise
        self.registrar.local_address = address
        return address

    @property
    def address(self) -> Address:
        return self.transport.local_address

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._shared:
            await self.transport.aclose()
        if self.transport_tcp is not None:
            await self.transport_tcp.aclose()

    async def __aenter__(self) -> RegistrarService:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- queries ---
    def where(self, extension: str) -> list[Binding]:
        """Where is ``extension``'s phone now (live bindings, best first)."""
        return self.registrar.where(extension, self.transport.now())

    async def wait_for(self, extension: str, *, timeout: float) -> list[Binding]:
        """Wait until ``extension`` has at least one binding; TimeoutError otherwise."""
        await self.wait_until(lambda: bool(self.where(extension)), timeout=timeout)
        return self.where(extension)

    async def wait_until(self, condition: Callable[[], bool], *, timeout: float) -> None:
        """Wait until ``condition()`` holds, re-checked after every registrar event."""
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    # --- SIP events ---
    def handle(self, event: EndpointEvent) -> None:
        """An event of the shared transport that belongs to the registrar."""
        self._on_sip_event(self.transport, event)

    def _handler_for_udp(self, event: EndpointEvent) -> None:
        self._on_sip_event(self.transport, event)

    def _handler_for_tcp(self, event: EndpointEvent) -> None:
        assert self.transport_tcp is not None
        self._on_sip_event(self.transport_tcp, event)

    def _on_sip_event(self, transport: Transport, event: EndpointEvent) -> None:
        now = transport.now()
        if isinstance(event, RequestReceived):
            request = event.request
            if request.method == "REGISTER":
                response = self.registrar.handle_register(request, event.addr, now)
            elif request.method == "OPTIONS":
                response = make_response(request, 200, headers=[("Allow", ALLOW)])
            else:
                response = make_response(request, 405, headers=[("Allow", ALLOW)])
            transport.send_response(response)
        elif isinstance(event, ResponseReceived):
            self.registrar.receive_response(event.response, now)
        elif isinstance(event, TransactionTimedOut):
            self.registrar.qualify_failed(event.key[0], now)
        self._pump()

    def _on_timer(self) -> None:
        now = max(self.transport.now(), self._timer_at or 0.0)
        self._timer = None
        self._timer_at = None
        self.registrar.handle_timer(now)
        self._pump()

    def _pump(self) -> None:
        if not self.transport.is_open:
            return
        for request, addr in self.registrar.requests_to_send():
            transport: Transport = self.transport
            if request.top_via.transport == "TCP" and self.transport_tcp is not None:
                transport = self.transport_tcp
            try:
                transport.send_request(request, addr)
            except TransactionError as exc:  # overloaded: the probe times out instead
                log.warning("qualify OPTIONS to %s not sent: %s", addr, exc)
        changed = False
        while (event := self.registrar.next_event()) is not None:
            changed = True
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("registrar event handler failed")
        if changed:
            self._changed.set()
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.registrar.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)


__all__ = ["ALLOW", "RegistrarService"]
