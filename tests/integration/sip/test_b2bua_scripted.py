"""SipSwitch against our own endpoint on loopback, for what SIPp cannot do on cue:
retransmitted 2xx, a 2xx racing our CANCEL, a missing ACK, unusable offers, and the
commands' errors. The far end is a :class:`UdpTransport` scripted by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from itertools import count

import pytest

from callcenter.sip.auth import AuthResult, DigestCredentials, DigestServer
from callcenter.sip.endpoint import (
    AckReceived,
    Address,
    CancelReceived,
    EndpointEvent,
    RequestReceived,
)
from callcenter.sip.headers import Headers
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.sdp import Codec, SessionDescription, build_offer
from callcenter.sip.transaction import ResponseReceived
from callcenter.sip.transport import UdpTransport
from callcenter.sip.uri import SipUri
from callcenter.switch.ports import (
    BridgeId,
    ConflictingCommand,
    HangupCause,
    InvalidArgument,
    InvalidLegState,
    LegAlreadyEnded,
    LegAnswered,
    LegHungUp,
    LegId,
    LegInUse,
    LegNotAnswered,
    LegOffered,
    LegProgressed,
    RecordingId,
    SwitchEvent,
    TalkListen,
    UnknownBridge,
    UnknownLeg,
    UnknownRecording,
)
from callcenter.switch.sip.b2bua import NotSupported, SipSwitch
from callcenter.switch.sip.legs import LegState
from callcenter.switch.sip.relay import RtpPort, connect
from callcenter.switch.sip.trunks import Trunk
from sipkit import collect, final_response, next_event, ok

TIMEOUT = 20.0
_branches = count(1)


async def invite_at(peer: UdpTransport) -> Request:
    event = await next_event(peer, RequestReceived, "INVITE")
    assert isinstance(event, RequestReceived)
    return event.request


def answer_sdp(port: int = 40000) -> bytes:
    return bytes(build_offer(address="127.0.0.1", port=port, session_id=7, version=1))


def invite_from(peer: UdpTransport, switch: Address, *, body: bytes, call_id: str) -> Request:
    host, port = peer.local_address
    headers = [
        ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKs{next(_branches)};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:13900139000@{host}:{port}>;tag=caller"),
        ("To", f"<sip:2000@{switch[0]}:{switch[1]}>"),
        ("Call-ID", call_id),
        ("CSeq", "1 INVITE"),
        ("Contact", f"<sip:13900139000@{host}:{port}>"),
    ]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return Request(
        method="INVITE",
        uri=SipUri(switch[0], user="2000", port=switch[1]),
        headers=Headers.of(*headers),
        body=body,
    )


async def until(condition: object, seen: list[SwitchEvent], within: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition(seen):
            await asyncio.sleep(0.01)


async def answered_outbound(switch: SipSwitch, peer: UdpTransport, leg: LegId) -> None:
    """Originate ``leg`` to the peer and have the peer answer (our ACK comes back)."""
    host, port = peer.local_address
    await switch.originate(leg, f"sip:peer@{host}:{port}", caller_id="4000")
    invite = await invite_at(peer)
    peer.send_response(ok(peer, invite, answer_sdp()))
    await next_event(peer, AckReceived)


async def test_a_retransmitted_2xx_is_acked_again() -> None:
    """The far end repeats its 200 (our ACK was lost): we ACK every copy, and the call
    is answered once."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        host, port = peer.local_address
        leg = LegId("out")
        await switch.originate(leg, f"sip:peer@{host}:{port}", caller_id="4000")
        invite = await invite_at(peer)
        assert invite.content_type == "application/sdp"
        offer = SessionDescription.parse(invite.body)
        assert offer.connection is not None and offer.connection.address == "127.0.0.1"
        assert offer.media[0].port == switch.rtp_port(leg).local_address[1]
        assert [c.name for c in offer.media[0].codecs()] == ["PCMU", "PCMA", "telephone-event"]
        answer = ok(peer, invite, answer_sdp(40002))
        peer.send_response(answer)
        first = await next_event(peer, AckReceived)
        peer.send_response(answer)
        second = await next_event(peer, AckReceived)
        assert isinstance(first, AckReceived) and isinstance(second, AckReceived)
        assert first.request.cseq.seq == second.request.cseq.seq == 1
        assert [type(e) for e in seen] == [LegAnswered]
        assert switch.rtp_port(leg).latch.signalled == ("127.0.0.1", 40002)


async def test_a_2xx_racing_our_cancel_is_acked_and_hung_up() -> None:
    """We CANCEL a ringing call but the far end answers anyway: ACK, then BYE; the core
    saw one LegHungUp(cancelled) and no answer."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        host, port = peer.local_address
        leg = LegId("out")
        await switch.originate(leg, f"sip:peer@{host}:{port}", caller_id="4000")
        invite = await invite_at(peer)
        progress = make_response(
            invite, 183, to_tag="peer", headers=[("Content-Type", "application/sdp")]
        )
        peer.send_response(Response(status=183, headers=progress.headers, body=answer_sdp()))
        await until(lambda s: len(s) == 1, seen)
        await switch.hangup(leg)
        await next_event(peer, CancelReceived)  # answered 200 by the peer's endpoint
        peer.send_response(ok(peer, invite, answer_sdp()))
        await next_event(peer, AckReceived)
        bye = await next_event(peer, RequestReceived, "BYE")
        assert isinstance(bye, RequestReceived)
        peer.send_response(make_response(bye.request, 200))
        assert [type(e) for e in seen] == [LegProgressed, LegHungUp]
        progressed, ended = seen
        assert isinstance(progressed, LegProgressed) and progressed.early_media
        assert isinstance(ended, LegHungUp) and ended.cause is HangupCause.CANCELLED


async def test_a_cancel_waits_for_the_first_provisional() -> None:
    """Hanging up before any provisional answer sends no CANCEL yet (RFC 3261 9.1); the
    CANCEL goes when the 180 comes. The far end is a bare socket that sends no 100."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.bind(("127.0.0.1", 0))
        raw.setblocking(False)
        host, port = raw.getsockname()
        async with asyncio.timeout(TIMEOUT), SipSwitch() as switch:
            seen = collect(switch)
            leg = LegId("out")
            await switch.originate(leg, f"sip:peer@{host}:{port}", caller_id="4000")
            data, source = await loop.sock_recvfrom(raw, 65535)
            invite = Request.parse(data)
            await switch.hangup(leg)
            assert [type(e) for e in seen] == [LegHungUp]
            methods = []
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.3):
                    while True:  # only retransmitted INVITEs, no CANCEL
                        methods.append(Request.parse(await loop.sock_recv(raw, 65535)).method)
            assert set(methods) <= {"INVITE"}, methods
            ringing = make_response(invite, 180, to_tag="peer")
            await loop.sock_sendto(raw, bytes(ringing), source)
            while (cancel := Request.parse(await loop.sock_recv(raw, 65535))).method != "CANCEL":
                pass
            assert cancel.top_via.branch == invite.top_via.branch
            assert len(seen) == 1 and switch.leg_state(leg) is LegState.ENDED


async def test_our_2xx_is_repeated_until_the_ack() -> None:
    """An answered inbound call: the 200 goes again at T1, 2 T1... until the ACK."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        invite = invite_from(peer, switch.address, body=answer_sdp(40004), call_id="in-1")
        peer.send_request(invite, switch.address)
        await until(lambda s: len(s) == 1, seen)
        offered = seen[0]
        assert isinstance(offered, LegOffered)
        await switch.answer(offered.leg)
        oks = 0
        async with asyncio.timeout(2.0):
            while oks < 3:  # at 0, 0.5 and 1.5 s
                event = await next_event(peer, ResponseReceived)
                assert isinstance(event, ResponseReceived)
                oks += event.response.status == 200
        answer = event.response
        assert answer.to_addr.tag is not None
        assert switch.rtp_port(offered.leg).latch.signalled == ("127.0.0.1", 40004)
        ack = Request(
            method="ACK",
            uri=SipUri("127.0.0.1", port=switch.address[1]),
            headers=Headers.of(
                ("Via", f"SIP/2.0/UDP 127.0.0.1:{peer.local_address[1]};branch=z9hG4bKack"),
                ("From", invite.headers.get("From") or ""),
                ("To", answer.headers.get("To") or ""),
                ("Call-ID", "in-1"),
                ("CSeq", "1 ACK"),
            ),
        )
        peer.send_request(ack, switch.address)
        await asyncio.sleep(2.5)
        assert not any(
            isinstance(e, ResponseReceived) and e.response.status == 200 for e in drain(peer)
        )
        await switch.hangup(offered.leg)
        bye = await next_event(peer, RequestReceived, "BYE")
        assert isinstance(bye, RequestReceived)
        assert bye.request.headers.get("From") == answer.headers.get("To")


def drain(peer: UdpTransport) -> list[EndpointEvent]:
    out: list[EndpointEvent] = []
    while not peer.events.empty():
        out.append(peer.events.get_nowait())
    return out


@pytest.mark.parametrize(
    "body",
    [
        b"",
        bytes(
            build_offer(
                address="127.0.0.1",
                port=40000,
                session_id=1,
                version=1,
                codecs=(Codec(18, "G729"),),
            )
        ),
        b"v=0\r\nnot sdp\r\n",
    ],
    ids=["no-offer", "no-common-codec", "garbage"],
)
async def test_an_unusable_offer_is_refused_488(body: bytes) -> None:
    """No SDP, no codec in common, or unparseable SDP: 488 and nothing offered."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        peer.send_request(
            invite_from(peer, switch.address, body=body, call_id="bad"), switch.address
        )
        assert (await final_response(peer)).status == 488
        assert seen == []


async def test_options_and_unknown_in_dialog_methods() -> None:
    """OPTIONS gets 200 with Allow; INFO in a dialog gets 501; INFO outside one 481."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        invite = invite_from(peer, switch.address, body=b"", call_id="x")
        for method, call_id in (("OPTIONS", "x"), ("INFO", "nobody")):
            request = Request(
                method=method,
                uri=invite.uri,
                headers=invite.headers.set("CSeq", f"2 {method}")
                .set("Call-ID", call_id)
                .set(
                    "Via", f"SIP/2.0/UDP 127.0.0.1:{peer.local_address[1]};branch=z9hG4bK{method}"
                ),
            )
            peer.send_request(request, switch.address)
            response = await final_response(peer)
            expected = 200 if method == "OPTIONS" else 481
            assert response.status == expected
            if method == "OPTIONS":
                assert "BYE" in (response.headers.get("Allow") or "")


async def test_hanging_up_an_offered_call_rejects_it() -> None:
    """The core hangs up an offered call: 480 for "normal", and the event says so."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        peer.send_request(
            invite_from(peer, switch.address, body=answer_sdp(), call_id="in"), switch.address
        )
        await until(lambda s: len(s) == 1, seen)
        offered = seen[0]
        assert isinstance(offered, LegOffered)
        await switch.hangup(offered.leg)
        assert (await final_response(peer)).status == 480
        ended = seen[-1]
        assert isinstance(ended, LegHungUp)
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.NORMAL, 480, "switch")
        with pytest.raises(LegAlreadyEnded):
            await switch.answer(offered.leg)


async def test_commands_refuse_what_makes_no_sense() -> None:
    """Each refusal carries the port's error type; nothing changes."""
    trunk = Trunk("carrier", "127.0.0.1", 9)
    async with asyncio.timeout(TIMEOUT), SipSwitch([trunk]) as switch, UdpTransport() as peer:
        a, b = LegId("a"), LegId("b")
        await answered_outbound(switch, peer, a)
        host, port = peer.local_address
        await switch.originate(b, f"sip:peer@{host}:{port}", caller_id="4000")
        await invite_at(peer)
        with pytest.raises(ConflictingCommand):
            await switch.originate(a, "other", caller_id="4000")
        with pytest.raises(InvalidArgument):
            await switch.originate(LegId("c"), "123", caller_id="4000", ring_timeout=0)
        with pytest.raises(InvalidArgument):
            await switch.originate(LegId("d"), "123", caller_id="4000", trunk="nope")
        with pytest.raises(InvalidArgument):
            await switch.originate(LegId("e"), "1 2<3>", caller_id="4000")
        with pytest.raises(InvalidArgument):
            await switch.originate(LegId("e"), "123", caller_id="Anon <sip:x>")
        with pytest.raises(NotSupported):
            await switch.originate(LegId("f"), "123", caller_id="4000", amd=True)
        with pytest.raises(InvalidLegState):
            await switch.answer(b)
        with pytest.raises(UnknownLeg):
            await switch.hangup(LegId("ghost"))
        with pytest.raises(LegNotAnswered):
            await switch.bridge(BridgeId("x"), [a, b])
        with pytest.raises(InvalidArgument):
            await switch.bridge(BridgeId("x"), [a, a])
        with pytest.raises(UnknownBridge):
            await switch.unbridge(BridgeId("x"))
        with pytest.raises(LegNotAnswered):
            await switch.hold(b)
        with pytest.raises(InvalidLegState):
            await switch.redirect(b, "2000")
        with pytest.raises(NotSupported) as raised:
            await switch.play(a, "welcome")
        assert raised.value.code == "not-supported"
        for command in (
            switch.collect(a, max_digits=1, timeout=1.0),
            switch.send_dtmf(a, "1"),
            switch.record(RecordingId("r"), a),
            switch.join(BridgeId("conf"), a, TalkListen()),  # type: ignore[arg-type]
        ):
            with pytest.raises(NotSupported):
                await command
        with pytest.raises(UnknownRecording):
            await switch.stop_record(RecordingId("r"))
        await switch.stop_play(a)
        await switch.leave(BridgeId("conf"), a)  # type: ignore[arg-type]
        assert switch.leg_state(a) is LegState.ANSWERED
        assert switch.leg_state(b) is LegState.DIALLING


async def test_a_leg_is_in_one_bridge_at_a_time() -> None:
    """Bridging a bridged leg elsewhere is LegInUse; unbridge frees it again."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        legs = [LegId(f"l{n}") for n in range(3)]
        for leg in legs:
            await answered_outbound(switch, peer, leg)
        await switch.bridge(BridgeId("one"), legs[:2])
        with pytest.raises(LegInUse):
            await switch.bridge(BridgeId("two"), legs[1:])
        with pytest.raises(ConflictingCommand):
            await switch.bridge(BridgeId("one"), legs[1:])
        await switch.unbridge(BridgeId("one"))
        await switch.unbridge(BridgeId("one"))
        await switch.bridge(BridgeId("two"), legs[1:])
        assert switch.rtp_port(legs[1]).partner is switch.rtp_port(legs[2])
        assert switch.rtp_port(legs[0]).partner is None


async def test_no_ack_for_our_2xx_ends_the_call_with_bye() -> None:
    """The caller never ACKs our 200: after the ACK wait (64 T1; one second here) we
    send BYE and report the leg failed, by the switch."""
    async with (
        asyncio.timeout(TIMEOUT),
        SipSwitch(ack_wait=1.0) as switch,
        UdpTransport() as peer,
    ):
        seen = collect(switch)
        invite = invite_from(peer, switch.address, body=answer_sdp(), call_id="no-ack")
        peer.send_request(invite, switch.address)
        await until(lambda s: len(s) == 1, seen)
        offered = seen[0]
        assert isinstance(offered, LegOffered)
        await switch.answer(offered.leg)
        bye = await next_event(peer, RequestReceived, "BYE")
        peer.send_response(make_response(bye.request, 200))
        assert [type(e) for e in seen] == [LegOffered, LegAnswered, LegHungUp]
        ended = seen[-1]
        assert isinstance(ended, LegHungUp)
        assert (ended.cause, ended.sip_status, ended.by) == (HangupCause.FAILED, None, "switch")
        assert 0.9 <= ended.at - seen[1].at <= 1.5


def rtp(seq: int, payload: bytes = b"\xff" * 160) -> bytes:
    return bytes([0x80, 0]) + seq.to_bytes(2, "big") + bytes(8) + payload


async def test_the_relay_latches_and_forwards_byte_for_byte() -> None:
    """Two connected ports relay datagrams unchanged; each latches to its far end's
    real source (not the SDP address) and drops a stranger's packets."""
    loop = asyncio.get_running_loop()
    a, b = RtpPort(), RtpPort()
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
        caller, agent, stranger = sockets
        async with asyncio.timeout(TIMEOUT):
            port_a = await a.open("127.0.0.1")
            port_b = await b.open("127.0.0.1")
            b.set_remote(agent.getsockname())
            a.set_remote(("127.0.0.1", 9))  # a wrong SDP address: the latch fixes it
            connect(a, b)
            await loop.sock_sendto(caller, rtp(1), port_a)
            assert await loop.sock_recv(agent, 2048) == rtp(1)
            await loop.sock_sendto(agent, rtp(7, b"\x01" * 160), port_b)
            assert await loop.sock_recv(caller, 2048) == rtp(7, b"\x01" * 160)
            await loop.sock_sendto(stranger, rtp(2), port_a)
            await loop.sock_sendto(caller, b"not rtp", port_a)
            await loop.sock_sendto(caller, rtp(3), port_a)
            assert await loop.sock_recv(agent, 2048) == rtp(3)
        assert a.latch.latched == caller.getsockname()
        assert (a.stats.received, a.stats.forwarded, a.stats.dropped) == (2, 2, 2)
        assert (b.stats.forwarded, a.stats.sent, b.stats.sent) == (1, 1, 2)
        assert a.latch.strangers == 1
    finally:
        a.close()
        b.close()
        for sock in sockets:
            sock.close()


def in_dialog(invite: Request, answer: Response, method: str, cseq: int, port: int) -> Request:
    """A request from the caller in the dialog ``answer`` made (RFC 3261 12.2.1.1)."""
    return Request(
        method=method,
        uri=invite.uri,
        headers=Headers.of(
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{method}{cseq};rport"),
            ("Max-Forwards", "70"),
            ("From", invite.headers.get("From") or ""),
            ("To", answer.headers.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{cseq} {method}"),
            ("Contact", invite.headers.get("Contact") or ""),
        ),
        body=invite.body if method == "INVITE" else b"",
    )


async def test_a_reinvite_is_refused_and_an_ended_call_is_forgotten() -> None:
    """A re-INVITE offering no codec of ours gets 488 and the call stays up (RFC 3261
    14.2); the caller's BYE ends it; after the ACK wait the Call-ID is forgotten and a
    repeated BYE gets 481."""
    async with (
        asyncio.timeout(TIMEOUT),
        SipSwitch(ack_wait=0.5) as switch,
        UdpTransport() as peer,
    ):
        seen = collect(switch)
        port = peer.local_address[1]
        invite = invite_from(peer, switch.address, body=answer_sdp(), call_id="re")
        peer.send_request(invite, switch.address)
        await until(lambda s: len(s) == 1, seen)
        offered = seen[0]
        assert isinstance(offered, LegOffered)
        await switch.answer(offered.leg)
        answer = await final_response(peer)
        assert answer.status == 200
        ack = in_dialog(invite, answer, "ACK", 1, port)
        peer.send_request(ack, switch.address)
        reinvite = in_dialog(invite, answer, "INVITE", 2, port)
        g729 = (
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
        )
        reinvite = Request(
            method="INVITE",
            uri=reinvite.uri,
            headers=reinvite.headers.add("Content-Type", "application/sdp"),
            body=g729.encode(),
        )
        peer.send_request(reinvite, switch.address)
        assert (await final_response(peer)).status == 488
        assert switch.leg_state(offered.leg) is LegState.ANSWERED
        peer.send_request(in_dialog(invite, answer, "BYE", 3, port), switch.address)
        assert (await final_response(peer)).status == 200
        assert switch.leg_state(offered.leg) is LegState.ENDED
        assert switch.sip.known_calls == 1
        await asyncio.sleep(0.7)
        assert switch.sip.known_calls == 0
        peer.send_request(in_dialog(invite, answer, "BYE", 4, port), switch.address)
        assert (await final_response(peer)).status == 481
        assert [type(e) for e in seen] == [LegOffered, LegAnswered, LegHungUp]


async def test_a_proxy_challenge_is_answered_with_sha256_credentials() -> None:
    """A carrier proxy answers 407 with SHA-256 and MD5 challenges (our own DigestServer):
    the INVITE comes again with Proxy-Authorization for SHA-256, CSeq 2 and a new
    branch, the server accepts it, and the call is answered."""
    server = DigestServer(b"carrier-secret-0123456789abcdef", "carrier.test")
    async with UdpTransport() as peer:
        host, port = peer.local_address
        trunk = Trunk("carrier", host, port, username="trunk-user", password="pw")
        async with asyncio.timeout(TIMEOUT), SipSwitch([trunk]) as switch:
            seen = collect(switch)
            leg = LegId("out")
            await switch.originate(leg, "13800138000", caller_id="4000")
            first = await invite_at(peer)
            assert str(first.uri) == f"sip:13800138000@{host}:{port}"
            challenge = server.challenge_headers(peer.now(), proxy=True)
            peer.send_response(make_response(first, 407, to_tag="proxy", headers=challenge))
            second = await invite_at(peer)
            creds = DigestCredentials.parse(second.headers.get("Proxy-Authorization") or "")
            verdict = server.verify(creds, method="INVITE", now=peer.now(), password="pw")
            assert verdict is AuthResult.OK
            assert creds.algorithm == "SHA-256"
            assert second.cseq.seq == 2 and second.call_id == first.call_id
            assert second.top_via.branch != first.top_via.branch
            assert second.from_addr.tag == first.from_addr.tag
            peer.send_response(ok(peer, second, answer_sdp()))
            await next_event(peer, AckReceived)
            await switch.hangup(leg)
            bye = await next_event(peer, RequestReceived, "BYE")
            assert bye.request.cseq.seq == 3
            peer.send_response(make_response(bye.request, 200))
            assert [type(e) for e in seen] == [LegAnswered, LegHungUp]


async def test_closing_the_switch_hangs_up_every_live_leg() -> None:
    """On close, an answered leg gets BYE, a ringing one CANCEL and an offered one 480;
    the core hears LegHungUp for each, by the switch."""
    async with asyncio.timeout(TIMEOUT), UdpTransport() as peer:
        host, port = peer.local_address
        switch = SipSwitch()
        await switch.start()
        seen = collect(switch)
        try:
            await answered_outbound(switch, peer, LegId("up"))
            await switch.originate(LegId("ringing"), f"sip:peer@{host}:{port}", caller_id="4000")
            ringing = await invite_at(peer)
            peer.send_response(make_response(ringing, 180, to_tag="peer"))
            invite = invite_from(peer, switch.address, body=answer_sdp(), call_id="offered")
            peer.send_request(invite, switch.address)
            await until(lambda s: any(isinstance(e, LegOffered) for e in s), seen)
        finally:
            await switch.aclose()
        bye = await next_event(peer, RequestReceived, "BYE")
        assert bye.request.call_id != "offered"
        await next_event(peer, CancelReceived)
        assert (await final_response(peer)).status == 480
        ended = {e.leg: e.cause for e in seen if isinstance(e, LegHungUp)}
        assert ended == {
            LegId("up"): HangupCause.NORMAL,
            LegId("ringing"): HangupCause.CANCELLED,
            LegId("sip-in-1"): HangupCause.NORMAL,
        }
        assert all(e.by == "switch" for e in seen if isinstance(e, LegHungUp))


async def test_an_overloaded_endpoint_fails_the_call_as_congestion() -> None:
    """With no room for another transaction the INVITE is not sent: LegHungUp
    (congestion, 503) by the switch, and the command itself does not fail."""
    async with (
        asyncio.timeout(TIMEOUT),
        SipSwitch(max_transactions=1) as switch,
        UdpTransport() as peer,
    ):
        seen = collect(switch)
        host, port = peer.local_address
        await switch.originate(LegId("first"), f"sip:peer@{host}:{port}", caller_id="4000")
        await switch.originate(LegId("second"), f"sip:peer@{host}:{port}", caller_id="4000")
        (ended,) = seen
        assert isinstance(ended, LegHungUp) and ended.leg == LegId("second")
        assert (ended.cause, ended.sip_status, ended.by) == (
            HangupCause.CONGESTION,
            503,
            "switch",
        )
        assert switch.leg_state(LegId("first")) is LegState.DIALLING
