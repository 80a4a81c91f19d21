"""Mid-call SIP against our own scripted endpoint: hold and resume as re-INVITEs, a
phone's own re-INVITEs, glare, REFER from a phone, and redirect.

The far ends are :class:`UdpTransport` endpoints the test drives by hand, so every
header and SDP line the switch sends can be checked.
"""

from __future__ import annotations

import asyncio

from callcenter.sip.endpoint import AckReceived, Address
from callcenter.sip.headers import Headers
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.sdp import Direction, SessionDescription, build_offer
from callcenter.sip.transport import UdpTransport
from callcenter.sip.uri import NameAddr, SipUri
from callcenter.switch.ports import (
    BridgeId,
    HangupCause,
    LegAnswered,
    LegBridged,
    LegHeld,
    LegHungUp,
    LegId,
    LegOffered,
    LegRedirected,
    LegResumed,
    LegUnbridged,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.legs import LegState
from sipkit import collect, final_response, next_event, ok, request_at

TIMEOUT = 15.0


def sdp(port: int, direction: Direction = Direction.SENDRECV, version: int = 1) -> bytes:
    offer = build_offer(
        address="127.0.0.1", port=port, session_id=7, version=version, direction=direction
    )
    return bytes(offer)


def direction_of(body: bytes) -> Direction | None:
    description = SessionDescription.parse(body)
    return description.media_direction(description.media[0])


async def until(condition: object, within: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


def uri_of(peer: UdpTransport, user: str = "peer") -> str:
    host, port = peer.local_address
    return f"sip:{user}@{host}:{port}"


async def answered_outbound(switch: SipSwitch, peer: UdpTransport, leg: LegId) -> Request:
    """Originate ``leg`` to the peer, which answers; returns the INVITE it got."""
    await switch.originate(leg, uri_of(peer), caller_id="4000")
    invite = await request_at(peer, "INVITE")
    peer.send_response(ok(peer, invite, sdp(40000)))
    await next_event(peer, AckReceived)
    return invite


def from_callee(
    peer: UdpTransport,
    invite: Request,
    method: str,
    cseq: int,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> Request:
    """An in-dialog request from the side that answered ``invite`` (to tag ``peer``)."""
    host, port = peer.local_address
    target = invite.contacts.contacts[0].uri
    assert isinstance(target, SipUri)
    fields = [
        ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKc{method}{cseq};rport"),
        ("Max-Forwards", "70"),
        ("From", f"{invite.headers.get('To')};tag=peer"),
        ("To", invite.headers.get("From") or ""),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", f"<sip:peer@{host}:{port}>"),
        *headers,
    ]
    if body:
        fields.append(("Content-Type", "application/sdp"))
    return Request(method=method, uri=target, headers=Headers.of(*fields), body=body)


async def test_hold_and_resume_are_reinvites_inactive_then_sendrecv() -> None:
    """hold: the port stops sending at once and a re-INVITE (CSeq 2, a=inactive, a new
    SDP version) goes out; its 200 is ACKed and LegHeld follows. A second hold sends
    nothing. resume: a=sendrecv, LegResumed, and the port sends again."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        leg = LegId("agent")
        invite = await answered_outbound(switch, peer, leg)
        port = switch.rtp_port(leg)
        await switch.hold(leg, "moh-1")
        await switch.hold(leg, "moh-1")
        assert not port.sending
        hold = await request_at(peer, "INVITE")
        assert hold.call_id == invite.call_id and hold.cseq.seq == 2
        assert direction_of(hold.body) is Direction.INACTIVE
        assert SessionDescription.parse(hold.body).origin.sess_version == 2
        assert not any(isinstance(e, LegHeld) for e in seen)  # not before the far end says
        peer.send_response(ok(peer, hold, sdp(40000, Direction.INACTIVE, 2)))
        ack = await next_event(peer, AckReceived)
        assert ack.request.cseq.seq == 2
        await until(lambda: any(isinstance(e, LegHeld) for e in seen))
        await switch.resume(leg)
        resume = await request_at(peer, "INVITE")
        assert resume.cseq.seq == 3 and direction_of(resume.body) is Direction.SENDRECV
        peer.send_response(ok(peer, resume, sdp(40000, version=3)))
        await next_event(peer, AckReceived)
        await until(lambda: any(isinstance(e, LegResumed) for e in seen))
        assert port.sending
        kinds = [type(e) for e in seen]
        assert kinds == [LegAnswered, LegHeld, LegResumed], kinds
        held = seen[1]
        assert isinstance(held, LegHeld) and held.music == "moh-1"


async def test_a_refused_hold_leaves_the_session_as_it_was() -> None:
    """The far end answers the hold re-INVITE 488: no LegHeld, the call stays up and
    the port sends again (RFC 3261 14.1: the session is unchanged)."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        leg = LegId("agent")
        await answered_outbound(switch, peer, leg)
        await switch.hold(leg)
        hold = await request_at(peer, "INVITE")
        peer.send_response(make_response(hold, 488, to_tag="peer"))
        await until(lambda: switch.rtp_port(leg).sending)
        assert switch.leg_state(leg) is LegState.ANSWERED
        assert [type(e) for e in seen] == [LegAnswered]


async def test_a_phone_holding_the_call_is_answered_recvonly_and_the_call_stays_up() -> None:
    """The phone re-INVITEs sendonly from a new port (its music on hold): 200 with
    recvonly, the latch moves to the new port, we stop sending; its resume (sendrecv)
    gets sendrecv. The core sees nothing: the call simply stays up."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        leg = LegId("agent")
        invite = await answered_outbound(switch, peer, leg)
        port = switch.rtp_port(leg)
        held = from_callee(peer, invite, "INVITE", 1, body=sdp(41000, Direction.SENDONLY, 2))
        peer.send_request(held, switch.address)
        answer = await final_response(peer)
        assert answer.status == 200 and direction_of(answer.body) is Direction.RECVONLY
        assert port.latch.signalled == ("127.0.0.1", 41000) and port.latch.latched is None
        assert not port.sending
        peer.send_request(
            Request(
                method="ACK",
                uri=held.uri,
                headers=held.headers.set("CSeq", "1 ACK").set("To", answer.headers.get("To") or ""),
            ),
            switch.address,
        )
        resumed = from_callee(peer, invite, "INVITE", 2, body=sdp(41000, version=3))
        peer.send_request(resumed, switch.address)
        answer = await final_response(peer)
        assert answer.status == 200 and direction_of(answer.body) is Direction.SENDRECV
        assert port.sending
        assert switch.leg_state(leg) is LegState.ANSWERED
        assert [type(e) for e in seen] == [LegAnswered]


async def test_a_reinvite_crossing_ours_gets_491() -> None:
    """Glare (RFC 3261 14.2): while our hold re-INVITE is pending, the phone's own
    re-INVITE is answered 491; ours completes."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as peer:
        seen = collect(switch)
        leg = LegId("agent")
        invite = await answered_outbound(switch, peer, leg)
        await switch.hold(leg)
        hold = await request_at(peer, "INVITE")
        crossing = from_callee(peer, invite, "INVITE", 1, body=sdp(40000, version=2))
        peer.send_request(crossing, switch.address)
        assert (await final_response(peer)).status == 491
        peer.send_response(ok(peer, hold, sdp(40000, Direction.INACTIVE, 2)))
        await until(lambda: any(isinstance(e, LegHeld) for e in seen))


async def test_refer_from_a_phone_hands_its_partner_to_the_target() -> None:
    """The agent's phone (bridged to a customer) REFERs to a third party: 202, NOTIFY
    100 Trying, the switch calls the target with the customer's number, relays the
    customer to it once it answers and NOTIFYs 200 OK. The core sees the customer
    unbridged, redirected and gone; the target's leg is the switch's own (no events).
    When the customer hangs up, the switch hangs up the target."""
    async with (
        asyncio.timeout(TIMEOUT),
        SipSwitch() as switch,
        UdpTransport() as customer,
        UdpTransport() as phone,
        UdpTransport() as target,
    ):
        seen = collect(switch)
        agent = LegId("agent")
        agent_invite = await answered_outbound(switch, phone, agent)
        call = customer_invite(customer, switch.address)
        customer.send_request(call, switch.address)
        await until(lambda: any(isinstance(e, LegOffered) for e in seen))
        offered = next(e for e in seen if isinstance(e, LegOffered))
        await switch.answer(offered.leg)
        answer = await final_response(customer)
        await switch.bridge(BridgeId("b"), [offered.leg, agent])

        refer = from_callee(
            phone, agent_invite, "REFER", 1, headers=(("Refer-To", f"<{uri_of(target, 't')}>"),)
        )
        phone.send_request(refer, switch.address)
        assert (await final_response(phone)).status == 202
        trying = await request_at(phone, "NOTIFY")
        assert trying.body.startswith(b"SIP/2.0 100")
        assert trying.headers.get("Event") == "refer"
        phone.send_response(make_response(trying, 200))
        transfer = await request_at(target, "INVITE")
        assert NameAddr.parse(transfer.headers.get("From") or "").uri.user == "13900139000"  # type: ignore[union-attr]
        target.send_response(ok(target, transfer, sdp(42000)))
        await next_event(target, AckReceived)
        done = await request_at(phone, "NOTIFY")
        assert done.body.startswith(b"SIP/2.0 200")
        assert (done.headers.get("Subscription-State") or "").startswith("terminated")
        phone.send_response(make_response(done, 200))
        assert switch.rtp_port(offered.leg).partner is not None
        assert switch.rtp_port(offered.leg).partner is switch.rtp_port(
            LegId(f"{offered.leg}>transfer")
        )

        bye = from_caller(customer, call, answer, "BYE", 2)
        customer.send_request(bye, switch.address)
        assert (await final_response(customer)).status == 200
        target_bye = await request_at(target, "BYE")
        target.send_response(make_response(target_bye, 200))

        kinds = [(type(e), getattr(e, "leg", None)) for e in seen]
        assert kinds == [
            (LegAnswered, agent),
            (LegOffered, offered.leg),
            (LegAnswered, offered.leg),
            (LegBridged, offered.leg),
            (LegBridged, agent),
            (LegUnbridged, offered.leg),
            (LegUnbridged, agent),
            (LegRedirected, offered.leg),
            (LegHungUp, offered.leg),
        ], kinds
        redirected = seen[7]
        assert isinstance(redirected, LegRedirected) and redirected.dest == uri_of(target, "t")
        assert switch.leg_state(agent) is LegState.ANSWERED  # the phone BYEs when it likes
        await switch.hangup(offered.leg)  # ended for the core: a no-op


async def test_redirect_of_an_offered_call_answers_302() -> None:
    """redirect before answering: 302 with the destination as Contact (the caller's
    side dials it), LegRedirected then LegHungUp."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as customer:
        seen = collect(switch)
        customer.send_request(customer_invite(customer, switch.address), switch.address)
        await until(lambda: bool(seen))
        offered = seen[0]
        assert isinstance(offered, LegOffered)
        await switch.redirect(offered.leg, "sip:sales@192.0.2.7")
        await switch.redirect(offered.leg, "sip:sales@192.0.2.7")
        moved = await final_response(customer)
        assert moved.status == 302
        assert moved.headers.get("Contact") == "<sip:sales@192.0.2.7>"
        kinds = [type(e) for e in seen]
        assert kinds == [LegOffered, LegRedirected, LegHungUp]
        ended = seen[2]
        assert isinstance(ended, LegHungUp)
        assert (ended.cause, ended.sip_status) == (HangupCause.NORMAL, 302)


async def test_a_callers_session_timer_is_kept_and_a_silent_caller_is_dropped() -> None:
    """The caller offers Session-Expires 1 s and refreshes (RFC 4028 9): our 200 says
    refresher=uac with Require: timer; its UPDATE refreshes the session and is answered
    with the interval; when it then goes silent we BYE it at the deadline (1 s less a
    third) and report failed."""
    async with asyncio.timeout(TIMEOUT), SipSwitch() as switch, UdpTransport() as customer:
        seen = collect(switch)
        invite = customer_invite(
            customer,
            switch.address,
            ("Supported", "timer"),
            ("Session-Expires", "1;refresher=uac"),
            call_id="timed-call",
        )
        customer.send_request(invite, switch.address)
        await until(lambda: bool(seen))
        offered = seen[0]
        assert isinstance(offered, LegOffered)
        await switch.answer(offered.leg)
        answer = await final_response(customer)
        assert answer.headers.get("Session-Expires") == "1;refresher=uac"
        assert answer.headers.get("Require") == "timer"
        ack = from_caller(customer, invite, answer, "ACK", 1)
        customer.send_request(ack, switch.address)
        await asyncio.sleep(0.4)
        update = from_caller(customer, invite, answer, "UPDATE", 2)
        refreshed_at = switch.now()
        customer.send_request(update, switch.address)
        refreshed = await final_response(customer)
        assert refreshed.status == 200
        assert refreshed.headers.get("Session-Expires") == "1;refresher=uac"
        bye = await request_at(customer, "BYE")
        customer.send_response(make_response(bye, 200))
        ended = seen[-1]
        assert isinstance(ended, LegHungUp)
        assert (ended.cause, ended.by) == (HangupCause.FAILED, "switch")
        assert 0.6 <= ended.at - refreshed_at <= 0.9, ended.at - refreshed_at


def customer_invite(
    peer: UdpTransport, switch: Address, *extra: tuple[str, str], call_id: str = "customer-call"
) -> Request:
    host, port = peer.local_address
    return Request(
        method="INVITE",
        uri=SipUri(switch[0], user="2000", port=switch[1]),
        headers=Headers.of(
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKcust1;rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:13900139000@{host}:{port}>;tag=caller"),
            ("To", f"<sip:2000@{switch[0]}:{switch[1]}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:13900139000@{host}:{port}>"),
            ("Content-Type", "application/sdp"),
            *extra,
        ),
        body=sdp(43000),
    )


def from_caller(
    peer: UdpTransport, invite: Request, answer: Response, method: str, cseq: int
) -> Request:
    host, port = peer.local_address
    contact = answer.contacts.contacts[0].uri
    return Request(
        method=method,
        uri=contact,
        headers=Headers.of(
            ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bKcust{cseq};rport"),
            ("Max-Forwards", "70"),
            ("From", invite.headers.get("From") or ""),
            ("To", answer.headers.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", f"{cseq} {method}"),
        ),
    )


async def test_redirect_of_a_held_leg_resumes_it_for_the_target() -> None:
    """The core held the customer, then redirects it (blind transfer out): the customer
    is re-INVITEd sendrecv again, the target is called with the customer's number, and
    the core sees LegRedirected and LegHungUp."""
    async with (
        asyncio.timeout(TIMEOUT),
        SipSwitch() as switch,
        UdpTransport() as customer,
        UdpTransport() as target,
    ):
        seen = collect(switch)
        leg = LegId("customer")
        await answered_outbound(switch, customer, leg)
        await switch.hold(leg)
        hold = await request_at(customer, "INVITE")
        customer.send_response(ok(customer, hold, sdp(40000, Direction.INACTIVE, 2)))
        await until(lambda: any(isinstance(e, LegHeld) for e in seen))
        await switch.redirect(leg, uri_of(target, "t"))
        resume = await request_at(customer, "INVITE")
        assert direction_of(resume.body) is Direction.SENDRECV
        customer.send_response(ok(customer, resume, sdp(40000, version=3)))
        transfer = await request_at(target, "INVITE")
        target.send_response(ok(target, transfer, sdp(42000)))
        await next_event(target, AckReceived)
        await until(lambda: switch.rtp_port(leg).partner is not None)
        assert switch.rtp_port(leg).sending
        kinds = [type(e) for e in seen]
        assert kinds == [LegAnswered, LegHeld, LegRedirected, LegHungUp], kinds
