"""Our endpoint talking to our endpoint over loopback UDP through :class:`UdpTransport`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from itertools import count
from typing import cast

import uvloop

from callcenter.sip.endpoint import Address, EndpointEvent, RequestReceived
from callcenter.sip.headers import Headers
from callcenter.sip.message import Request, make_response
from callcenter.sip.transaction import (
    TIMER_E,
    ResponseReceived,
    TransactionTimedOut,
)
from callcenter.sip.transport import TcpTransport, UdpTransport
from callcenter.sip.uri import SipUri

TIMEOUT = 20.0
_branches = count(1)


def options_to(local: Address, remote: Address, *, call_id: str = "opt-1") -> Request:
    host, port = local
    return Request(
        method="OPTIONS",
        uri=SipUri(remote[0], user="pbx", port=remote[1]),
        headers=Headers.of(
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKt{next(_branches)};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:agent@{host}:{port}>;tag=a1"),
            ("To", f"<sip:pbx@{remote[0]}:{remote[1]}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 OPTIONS"),
        ),
    )


def answering(
    server: list[UdpTransport | TcpTransport], seen: list[Request]
) -> Callable[[EndpointEvent], None]:
    """A handler that answers every request 200 at once, as a UAS core would."""

    def handle(event: EndpointEvent) -> None:
        if isinstance(event, RequestReceived):
            seen.append(event.request)
            server[0].send_response(make_response(event.request, 200, to_tag="srv"))

    return handle


async def next_response(
    client: UdpTransport | TcpTransport,
) -> ResponseReceived | TransactionTimedOut:
    while True:
        event = await client.events.get()
        if isinstance(event, ResponseReceived | TransactionTimedOut):
            return event


async def options_round_trip() -> None:
    seen: list[Request] = []
    holder: list[UdpTransport | TcpTransport] = []
    async with asyncio.timeout(TIMEOUT):
        server = UdpTransport(handler=answering(holder, seen))
        holder.append(server)
        async with server, UdpTransport() as client:
            assert server.local_address[0] == "127.0.0.1"
            assert server.local_address[1] > 0
            request = options_to(client.local_address, server.local_address)
            key = client.send_request(request, server.local_address)
            event = await next_response(client)
            assert isinstance(event, ResponseReceived)
            assert event.key == key
            assert event.response.status == 200
            assert event.response.to_addr.tag == "srv"
            (received,) = seen
            assert received.top_via.rport == client.local_address[1]
            assert received.top_via.received == "127.0.0.1"  # RFC 3581 4: always with rport


async def test_options_round_trip_on_the_default_loop() -> None:
    """OPTIONS from one transport to another over 127.0.0.1 gets its 200 back."""
    await options_round_trip()


def test_options_round_trip_on_uvloop() -> None:
    """The same round trip on uvloop: the adapter only uses portable loop calls."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(options_round_trip())


class LossyRelay(asyncio.DatagramProtocol):
    """Forwards datagrams between one client and one server, dropping the first N."""

    def __init__(self, server: Address, drop_first: int) -> None:
        self.server = server
        self.client: Address | None = None
        self.to_drop = drop_first
        self.forwarded: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        assert self.transport is not None
        if addr == self.server:
            if self.client is not None:
                self.transport.sendto(data, self.client)
            return
        self.client = addr
        if self.to_drop > 0:
            self.to_drop -= 1
            return
        self.forwarded.append(data)
        self.transport.sendto(data, self.server)


async def test_a_lost_request_is_retransmitted_after_timer_e() -> None:
    """The relay drops the first OPTIONS; Timer E resends it 0.5 s later and it succeeds."""
    seen: list[Request] = []
    holder: list[UdpTransport | TcpTransport] = []
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(TIMEOUT):
        server = UdpTransport(handler=answering(holder, seen))
        holder.append(server)
        async with server, UdpTransport() as client:
            relay_transport, relay = await loop.create_datagram_endpoint(
                lambda: LossyRelay(server.local_address, drop_first=1),
                local_addr=("127.0.0.1", 0),
            )
            try:
                relay_addr = relay_transport.get_extra_info("sockname")[:2]
                request = options_to(client.local_address, relay_addr)
                started = loop.time()
                client.send_request(request, relay_addr)
                event = await next_response(client)
                elapsed = loop.time() - started
            finally:
                relay_transport.close()
            assert isinstance(event, ResponseReceived)
            assert event.response.status == 200
            assert TIMER_E * 0.9 <= elapsed < TIMER_E * 4
            assert len(relay.forwarded) == 1  # the retransmission, identical to the original
            assert relay.forwarded[0] == bytes(request)
            assert len(seen) == 1


async def test_no_answer_times_out_with_timer_f_on_the_loop_clock() -> None:
    """Nobody listens: retransmissions run on loop timers until Timer F (checked fast).

    The endpoint's clock is loop.time(), so instead of waiting 32 s we check that the
    adapter keeps re-arming its timer at the endpoint's deadlines.
    """
    async with asyncio.timeout(TIMEOUT), UdpTransport() as client:
        silent = UdpTransport()
        address = await silent.start()
        silent.close()  # a port that answers nothing
        await asyncio.sleep(0)
        client.send_request(options_to(client.local_address, address), address)
        first = client.endpoint.get_timer()
        assert first is not None
        await asyncio.sleep(TIMER_E * 1.5)
        second = client.endpoint.get_timer()
        assert second is not None
        assert second > first  # Timer E fired on the loop and was re-armed
        assert client.endpoint.transaction_count == 1


async def test_handler_errors_do_not_break_the_transport() -> None:
    """A consumer that raises is logged; the next request is still answered."""
    calls: list[EndpointEvent] = []
    holder: list[UdpTransport | TcpTransport] = []

    def flaky(event: EndpointEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("consumer bug")
        if isinstance(event, RequestReceived):
            holder[0].send_response(make_response(event.request, 200))

    async with asyncio.timeout(TIMEOUT):
        server = UdpTransport(handler=flaky)
        holder.append(server)
        async with server, UdpTransport() as client:
            first = options_to(client.local_address, server.local_address, call_id="a")
            client.send_request(first, server.local_address)
            await asyncio.sleep(0.05)
            second = options_to(client.local_address, server.local_address, call_id="b")
            client.send_request(second, server.local_address)
            event = await next_response(client)
            assert isinstance(event, ResponseReceived)
            assert event.response.call_id == "b"


# --- TCP (RFC 3261 18.3 framing, 18.2.2 responses on the same connection) ---


def options_over(
    transport: str, local: Address, remote: Address, *, rport: bool = True, call_id: str = "t"
) -> Request:
    request = options_to(local, remote, call_id=call_id)
    via = request.top_via
    via = replace(via, transport=transport)
    if not rport:
        via = replace(via, params=tuple(p for p in via.params if p[0] != "rport"))
    return request.with_headers(request.headers.set("Via", str(via)))


async def tcp_round_trip(*, rport: bool) -> None:
    seen: list[Request] = []
    holder: list[UdpTransport | TcpTransport] = []
    async with asyncio.timeout(TIMEOUT):
        server = TcpTransport(handler=answering(holder, seen))
        holder.append(server)
        async with server, TcpTransport() as client:
            request = options_over("TCP", client.local_address, server.local_address, rport=rport)
            client.send_request(request, server.local_address)
            event = await next_response(client)
            assert isinstance(event, ResponseReceived)
            assert event.response.status == 200
            assert event.response.call_id == "t"
            assert server.connection_count == 1  # answered on the client's connection
            assert client.connection_count == 1
            (received,) = seen
            assert received.top_via.transport == "TCP"


async def test_options_round_trip_over_tcp_with_rport() -> None:
    """Over TCP the client opens a connection and the 200 comes back on it."""
    await tcp_round_trip(rport=True)


async def test_options_round_trip_over_tcp_without_rport() -> None:
    """Without rport the response is addressed to the Via port: still the same connection."""
    await tcp_round_trip(rport=False)


def test_tcp_round_trip_on_uvloop() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(tcp_round_trip(rport=True))


async def test_tcp_framing_of_split_and_coalesced_messages() -> None:
    """Two requests in three segments, cut mid-header and mid-body, are both answered."""
    seen: list[Request] = []
    holder: list[UdpTransport | TcpTransport] = []
    async with asyncio.timeout(TIMEOUT):
        server = TcpTransport(handler=answering(holder, seen))
        holder.append(server)
        async with server:
            reader, writer = await asyncio.open_connection(*server.local_address)
            try:
                local = writer.get_extra_info("sockname")[:2]
                first = bytes(options_over("TCP", local, server.local_address, call_id="one"))
                second = options_over("TCP", local, server.local_address, call_id="two")
                second = Request(
                    method="OPTIONS", uri=second.uri, headers=second.headers, body=b"hi"
                )
                second_bytes = bytes(
                    second.with_headers(second.headers.set("Content-Type", "text/plain"))
                )
                writer.write(b"\r\n\r\n")  # RFC 5626 keep-alive ping
                pong = await reader.readexactly(2)
                stream = b"\r\n" + first + second_bytes  # CRLF before a message: ignored
                cuts = (40, len(first) + 50)
                for piece in (stream[: cuts[0]], stream[cuts[0] : cuts[1]], stream[cuts[1] :]):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)
                answers = [await read_message(reader) for _ in range(2)]
            finally:
                writer.close()
                await writer.wait_closed()
        assert pong == b"\r\n"
        assert [m.split(b"\r\n", 1)[0] for m in answers] == [b"SIP/2.0 200 OK"] * 2
        assert [r.call_id for r in seen] == ["one", "two"]
        assert seen[1].body == b"hi"


async def read_message(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


async def test_tcp_garbage_closes_the_connection_not_the_listener() -> None:
    """A stream without Content-Length cannot be framed: that connection is closed."""
    seen: list[Request] = []
    holder: list[UdpTransport | TcpTransport] = []
    async with asyncio.timeout(TIMEOUT):
        server = TcpTransport(handler=answering(holder, seen))
        holder.append(server)
        async with server:
            reader, writer = await asyncio.open_connection(*server.local_address)
            try:
                writer.write(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: nonsense\r\n\r\n")
                assert await reader.read() == b""  # closed by the server
            finally:
                writer.close()
                await writer.wait_closed()
            await tcp_client_still_served(server)
        assert [r.call_id for r in seen] == ["after"]  # the garbage never reached the TU


async def tcp_client_still_served(server: TcpTransport) -> None:
    async with TcpTransport() as client:
        request = options_over("TCP", client.local_address, server.local_address, call_id="after")
        client.send_request(request, server.local_address)
        event = await next_response(client)
        assert isinstance(event, ResponseReceived)


async def test_tcp_connection_limit_refuses_extra_connections() -> None:
    """Over max_connections, new connections are closed at once."""
    async with asyncio.timeout(TIMEOUT), TcpTransport(max_connections=1) as server:
        _, first = await asyncio.open_connection(*server.local_address)
        second_reader, second = await asyncio.open_connection(*server.local_address)
        try:
            assert await second_reader.read() == b""
            assert server.connection_count == 1
        finally:
            for writer in (first, second):
                writer.close()
                await writer.wait_closed()


async def test_tcp_connect_failure_ends_in_a_transaction_timeout() -> None:
    """Nobody listens: the connection fails and nothing is left behind but the transaction."""
    async with asyncio.timeout(TIMEOUT), TcpTransport() as client:
        closed = TcpTransport()
        address = await closed.start()
        await closed.aclose()
        client.send_request(options_over("TCP", client.local_address, address), address)
        for _ in range(50):
            if client.connection_count == 0:
                break
            await asyncio.sleep(0.01)
        assert client.connection_count == 0
        assert client.endpoint.transaction_count == 1  # Timer F will report it
