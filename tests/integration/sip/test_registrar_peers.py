"""Phones register with our registrar service over loopback UDP: SIPp, baresip, and
our own endpoint (for what the real peers cannot be made to do on cue).

Each test starts :class:`RegistrarService` on 127.0.0.1 (free port), runs the peer on
another free port with a hard timeout, and kills and reaps the peer in ``finally``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.sip.auth import DigestClient, DigestServer
from callcenter.sip.endpoint import Address
from callcenter.sip.headers import Headers
from callcenter.sip.message import Request, Response
from callcenter.sip.transaction import ResponseReceived
from callcenter.sip.transport import UdpTransport
from callcenter.sip.uri import SipUri
from callcenter.switch.sip.registrar import (
    BindingAdded,
    BindingReachabilityChanged,
    BindingRemoved,
    Credential,
    Ha1,
    Registrar,
    RegistrarEvent,
)
from callcenter.switch.sip.registrar_service import RegistrarService
from peers import free_media_ports, free_udp_port, peer_log, start_peer, stop

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
SIPP = "/usr/bin/sipp"
BARESIP = "/usr/bin/baresip"
BARESIP_MODULES = "/usr/lib/baresip/modules"
HARD_TIMEOUT = 20.0
REALM = "callcenter.test"
SECRET = b"peer-test-nonce-secret-0123456789"


def make_registrar(
    credentials: dict[str, Credential], *, algorithms: tuple[str, ...] = ("SHA-256", "MD5")
) -> Registrar:
    return Registrar(
        credentials,
        DigestServer(SECRET, REALM, algorithms=algorithms),
        min_expires=30,
        default_expires=120,
        max_expires=600,
        qualify_interval=1.0,
        qualify_timeout=2.0,
    )


@pytest.mark.sipp
async def test_sipp_registers_with_digest(tmp_path: Path) -> None:
    """SIPp sends REGISTER, gets 401, re-sends with credentials and gets 200."""
    seen: list[RegistrarEvent] = []
    # SIPp 3.6.1 reads only the first challenge and knows only MD5 (it says
    # "authentication must use MD5 or AKAv1-MD5" to a SHA-256 one): offer MD5 alone.
    registrar = make_registrar({"1001": "secret"}, algorithms=("MD5",))
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        RegistrarService(registrar, on_event=seen.append) as service,
    ):
        host, port = service.address
        sipp_port = free_udp_port()
        process = await start_peer(
            SIPP,
            f"{host}:{port}",
            "-sf",
            str(FIXTURES / "sipp" / "register_digest.xml"),
            "-s",
            "1001",
            "-i",
            "127.0.0.1",
            "-p",
            str(sipp_port),
            "-mp",
            str(free_media_ports()),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "15s",
            "-timeout_error",
            cwd=tmp_path,
        )
        try:
            await process.wait()
        finally:
            await stop(process)
        assert process.returncode == 0, peer_log(tmp_path)
        (binding,) = service.where("1001")
        assert str(binding.contact.uri) == f"sip:1001@127.0.0.1:{sipp_port};transport=UDP"
        assert binding.source == ("127.0.0.1", sipp_port)
        assert 100 <= binding.expires_in(service.transport.now()) <= 120
        assert [type(e) for e in seen][:1] == [BindingAdded]


def baresip_config(
    directory: Path, *, sip_port: int, registrar: tuple[str, int], transport: str
) -> None:
    """A headless baresip: loopback only, no sound device, one account with a password."""
    directory.mkdir()
    (directory / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{sip_port}",
                "net_interface 127.0.0.1",
                f"module_path {BARESIP_MODULES}",
                "module g711.so",
                "module_app account.so",
                "audio_player null",
                "audio_source null",
                "audio_alert null",
                "",
            ]
        )
    )
    host, port = registrar
    (directory / "accounts").write_text(
        f"<sip:1001@{host}:{port};transport={transport}>;"
        "auth_pass=secret;regint=60;answermode=manual\n"
    )
    (directory / "contacts").write_text("")


@pytest.mark.baresip
@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_baresip_registers_and_answers_qualify(tmp_path: Path, transport: str) -> None:
    """baresip registers as agent 1001 with digest; where("1001") finds its contact.

    The registrar's qualify OPTIONS reach baresip and its answers keep it reachable;
    when baresip is told to quit it un-registers and the binding goes away.
    """
    # baresip 1.0.0 (libre) gives up ("Register: Function not implemented") when any
    # challenge in the 401 is SHA-256, even after an MD5 one: offer MD5 alone.
    registrar = make_registrar({"1001": Ha1.of("1001", REALM, "secret")}, algorithms=("MD5",))
    seen: list[RegistrarEvent] = []
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        RegistrarService(registrar, tcp=True, on_event=seen.append) as service,
    ):
        sip_port = free_udp_port(also_next=True)
        config = tmp_path / "baresip"
        baresip_config(config, sip_port=sip_port, registrar=service.address, transport=transport)
        process = await start_peer(
            BARESIP, "-f", str(config), "-t", str(int(HARD_TIMEOUT)), cwd=tmp_path
        )
        try:
            try:
                (binding,) = await service.wait_for("1001", timeout=10.0)
                await asyncio.sleep((registrar.qualify_interval or 0) + 0.5)
                (qualified,) = service.where("1001")
                process.terminate()  # baresip un-registers on its way out
                await service.wait_until(lambda: not service.where("1001"), timeout=5.0)
            finally:
                await stop(process)
        except (TimeoutError, ValueError) as exc:
            log = peer_log(tmp_path)
            pytest.fail(f"baresip did not register, answer and unregister ({exc!r}):\n{log}")
        uri = binding.contact.uri
        assert isinstance(uri, SipUri)
        assert (uri.host, uri.port) == ("127.0.0.1", sip_port)
        assert binding.transport == transport.upper()
        assert binding.source[0] == "127.0.0.1"
        if transport == "udp":
            assert binding.source[1] == sip_port
        assert qualified.reachable
        assert qualified.last_qualified is not None
        assert [type(e) for e in seen] == [BindingAdded, BindingRemoved]
        assert isinstance(seen[-1], BindingRemoved)
        assert seen[-1].reason == "unregistered"


def phone_register(
    phone: UdpTransport, registrar: Address, *, cseq: int, expires: int, branch: str
) -> Request:
    host, port = phone.local_address
    return Request(
        method="REGISTER",
        uri=SipUri(registrar[0], port=registrar[1]),
        headers=Headers.of(
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:1001@{REALM}>;tag=ours"),
            ("To", f"<sip:1001@{REALM}>"),
            ("Call-ID", "our-phone"),
            ("CSeq", f"{cseq} REGISTER"),
            ("Contact", f"<sip:1001@{host}:{port}>"),
            ("Expires", str(expires)),
        ),
    )


async def final_response(phone: UdpTransport) -> Response:
    while True:
        event = await phone.events.get()
        if isinstance(event, ResponseReceived) and event.response.is_final:
            return event.response


async def test_our_endpoint_registers_then_expires_on_loop_timers() -> None:
    """Our own UA registers for 1 s; the binding is gone shortly after, by loop timer.

    The phone never answers the registrar's OPTIONS, so it is marked unreachable first.
    """
    seen: list[RegistrarEvent] = []
    registrar = Registrar(
        {"1001": "secret"},
        DigestServer(SECRET, REALM),
        min_expires=1,
        default_expires=1,
        max_expires=60,
        qualify_interval=0.2,
        qualify_timeout=0.2,
    )
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        RegistrarService(registrar, on_event=seen.append) as service,
        UdpTransport() as phone,
    ):
        first = phone_register(phone, service.address, cseq=1, expires=1, branch="r1")
        phone.send_request(first, service.address)
        challenge = await final_response(phone)
        assert challenge.status == 401
        authorized = DigestClient("1001", "secret").authorize(
            first, challenge, cnonce="abc", branch="z9hG4bKr2"
        )
        phone.send_request(authorized, service.address)
        ok = await final_response(phone)
        assert ok.status == 200
        (binding,) = service.where("1001")
        assert binding.source == phone.local_address
        await service.wait_until(
            lambda: [b.reachable for b in service.where("1001")] == [False], timeout=5.0
        )
        await service.wait_until(lambda: service.where("1001") == [], timeout=5.0)
        assert service.transport.now() - binding.registered_at > 0.99  # expires=1
        kinds = [type(e) for e in seen]
        assert kinds[0] is BindingAdded
        assert BindingReachabilityChanged in kinds
        removed = [e for e in seen if isinstance(e, BindingRemoved)]
        assert [e.reason for e in removed] == ["expired"]


async def test_the_registrar_socket_answers_options_and_refuses_other_methods() -> None:
    """OPTIONS to the registrar gets 200 with Allow; MESSAGE gets 405 with Allow."""
    registrar = make_registrar({"1001": "secret"})
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        RegistrarService(registrar) as service,
        UdpTransport() as phone,
    ):
        for method, status in (("OPTIONS", 200), ("MESSAGE", 405)):
            request = phone_register(phone, service.address, cseq=1, expires=60, branch=method)
            request = Request(
                method=method,
                uri=request.uri,
                headers=request.headers.remove("Contact").set("CSeq", f"1 {method}"),
            )
            phone.send_request(request, service.address)
            response = await final_response(phone)
            assert response.status == status
            assert response.headers.get("Allow") == "REGISTER, OPTIONS"
        assert service.where("1001") == []
