"""Agents' phones at the switch's own socket, and where the switch refuses to dial by
itself: an agent's phone with no (reachable) binding, and a trunk whose channels or
calls per second are used up. The trunk points at a UDP socket of the test that never
answers (its INVITEs just wait there); the phone is our own scripted endpoint."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from callcenter.sip.auth import DigestClient, DigestServer
from callcenter.sip.endpoint import Address
from callcenter.sip.headers import Headers
from callcenter.sip.message import Request, make_response
from callcenter.sip.transport import UdpTransport
from callcenter.sip.uri import SipUri
from callcenter.switch.ports import HangupCause, InvalidArgument, LegHungUp, LegId, SwitchEvent
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.legs import LegState
from callcenter.switch.sip.registrar import Registrar
from callcenter.switch.sip.trunks import Trunk
from sipkit import final_response, request_at

TIMEOUT = 10.0


@pytest.fixture
def silent_carrier() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield int(sink.getsockname()[1])


def registrar() -> Registrar:
    return Registrar({"1001": "secret"}, DigestServer(b"phones-and-limits-0123456789", "cc"))


def hung_up(seen: list[SwitchEvent], leg: str) -> LegHungUp:
    (event,) = [e for e in seen if isinstance(e, LegHungUp) and e.leg == leg]
    return event


async def test_an_agent_phone_with_no_binding_ends_at_once_480() -> None:
    """agent:1001 (and the bare extension 1001) with nothing registered: LegHungUp at
    once, no_answer with 480, by the switch; nothing goes on the wire."""
    async with asyncio.timeout(TIMEOUT), SipSwitch(registrar=registrar()) as switch:
        seen: list[SwitchEvent] = []
        switch.subscribe(seen.append)
        await switch.originate(LegId("a"), "agent:1001", caller_id="4000")
        await switch.originate(LegId("b"), "1001", caller_id="4000")
        for leg in ("a", "b"):
            ended = hung_up(seen, leg)
            assert (ended.cause, ended.sip_status, ended.by) == (
                HangupCause.NO_ANSWER,
                480,
                "switch",
            )
        await switch.originate(LegId("a"), "agent:1001", caller_id="4000")  # idempotent
        assert len(seen) == 2
        assert switch.sip.known_calls == 0


async def test_agent_destinations_need_a_registrar_and_a_sane_extension() -> None:
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch:
        with pytest.raises(InvalidArgument, match="no registrar"):
            await switch.originate(LegId("a"), "agent:1001", caller_id="4000")
    async with asyncio.timeout(TIMEOUT), SipSwitch(registrar=registrar()) as switch:
        with pytest.raises(InvalidArgument, match="extension"):
            await switch.originate(LegId("a"), "agent:10 01", caller_id="4000")


async def test_a_trunk_at_its_channel_limit_refuses_the_next_call(silent_carrier: int) -> None:
    """max_channels 2: the third call ends at once with congestion (503); once one call
    ends there is room again."""
    trunk = Trunk("carrier", "127.0.0.1", silent_carrier, max_channels=2)
    async with asyncio.timeout(TIMEOUT), SipSwitch([trunk]) as switch:
        seen: list[SwitchEvent] = []
        switch.subscribe(seen.append)
        for n in range(3):
            await switch.originate(LegId(f"c{n}"), f"1380013800{n}", caller_id="4000")
        ended = hung_up(seen, "c2")
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.CONGESTION, 503, "switch")
        assert switch.leg_state(LegId("c0")) is LegState.DIALLING
        await switch.hangup(LegId("c0"))
        await switch.originate(LegId("c3"), "13800138003", caller_id="4000")
        assert switch.leg_state(LegId("c3")) is LegState.DIALLING


async def test_a_trunk_at_its_calls_per_second_refuses_until_the_second_is_over(
    silent_carrier: int,
) -> None:
    trunk = Trunk("carrier", "127.0.0.1", silent_carrier, max_cps=2)
    async with asyncio.timeout(TIMEOUT), SipSwitch([trunk]) as switch:
        seen: list[SwitchEvent] = []
        switch.subscribe(seen.append)
        for n in range(3):
            await switch.originate(LegId(f"c{n}"), f"1380013800{n}", caller_id="4000")
        assert [e.leg for e in seen if isinstance(e, LegHungUp)] == ["c2"]
        assert hung_up(seen, "c2").cause is HangupCause.CONGESTION
        await asyncio.sleep(1.05)
        await switch.originate(LegId("c3"), "13800138003", caller_id="4000")
        assert switch.leg_state(LegId("c3")) is LegState.DIALLING


async def test_phones_register_and_are_qualified_over_the_switchs_own_socket() -> None:
    """A phone (our endpoint) registers 1001 with digest at the switch's address; the
    registrar's qualify OPTIONS leave from that socket and the phone's 200 comes back
    to it, so the binding stays reachable and agent:1001 rings the phone at its
    contact. Once the phone stops answering OPTIONS it is unreachable, and agent:1001
    ends at once with 480."""
    qualifying = Registrar(
        {"1001": "secret"},
        DigestServer(b"phones-and-limits-0123456789", "cc", algorithms=("MD5",)),
        min_expires=30,
        default_expires=60,
        qualify_interval=0.3,
        qualify_timeout=0.5,
    )
    async with (
        asyncio.timeout(TIMEOUT),
        SipSwitch(registrar=qualifying) as switch,
        UdpTransport() as phone,
    ):
        assert switch.phones is not None
        seen: list[SwitchEvent] = []
        switch.subscribe(seen.append)
        register = phone_register(phone, switch.address)
        phone.send_request(register, switch.address)
        challenge = await final_response(phone)
        assert challenge.status == 401
        authorized = DigestClient("1001", "secret").authorize(
            register, challenge, cnonce="abc", branch="z9hG4bKreg2"
        )
        phone.send_request(authorized, switch.address)
        assert (await final_response(phone)).status == 200
        for _ in range(2):
            options = await request_at(phone, "OPTIONS")
            phone.send_response(make_response(options, 200))
        (binding,) = switch.phones.where("1001")
        assert binding.reachable and binding.last_qualified is not None
        await switch.originate(LegId("ring"), "agent:1001", caller_id="4000")
        invite = await request_at(phone, "INVITE")
        assert str(invite.uri) == "sip:1001@{}:{}".format(*phone.local_address)
        await switch.hangup(LegId("ring"))
        await switch.phones.wait_until(
            lambda: not any(b.reachable for b in switch.phones.where("1001")),  # type: ignore[union-attr]
            timeout=3.0,
        )
        await switch.originate(LegId("gone"), "agent:1001", caller_id="4000")
        assert hung_up(seen, "gone").sip_status == 480


def phone_register(phone: UdpTransport, switch: Address) -> Request:
    host, port = phone.local_address
    return Request(
        method="REGISTER",
        uri=SipUri(switch[0], port=switch[1]),
        headers=Headers.of(
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKreg1;rport"),
            ("Max-Forwards", "70"),
            ("From", "<sip:1001@cc>;tag=phone"),
            ("To", "<sip:1001@cc>"),
            ("Call-ID", "phone-registration"),
            ("CSeq", "1 REGISTER"),
            ("Contact", f"<sip:1001@{host}:{port}>"),
            ("Expires", "60"),
        ),
    )
