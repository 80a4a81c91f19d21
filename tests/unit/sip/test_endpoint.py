"""Tests for the sans-io SIP endpoint: datagrams in, datagrams and events out."""

from __future__ import annotations

import time
from itertools import count
from pathlib import Path

import pytest

from callcenter.sip.auth import AuthResult, DigestClient, DigestCredentials, DigestServer
from callcenter.sip.dialog import Dialog, DialogState
from callcenter.sip.endpoint import (
    AckReceived,
    CancelReceived,
    Endpoint,
    EndpointEvent,
    RequestReceived,
    StrayResponse,
    response_address,
)
from callcenter.sip.errors import TransactionError
from callcenter.sip.headers import Via
from callcenter.sip.message import Request, Response, make_response, parse_message
from callcenter.sip.transaction import (
    TIMER_B,
    TIMER_H,
    TIMER_J,
    ResponseReceived,
    TransactionTerminated,
    TransactionTimedOut,
    build_ack_for_non_2xx,
    build_cancel,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
PHONE = ("127.0.0.1", 5160)
CARRIER = ("192.0.2.50", 5060)


def endpoint(*, max_transactions: int = 10_000) -> Endpoint:
    counter = count(1)
    return Endpoint(token=lambda: f"t{next(counter)}", max_transactions=max_transactions)


def drain(ep: Endpoint) -> list[EndpointEvent]:
    out: list[EndpointEvent] = []
    while (ev := ep.next_event()) is not None:
        out.append(ev)
    return out


def sent(ep: Endpoint, now: float = 0.0) -> list[tuple[Response | Request, tuple[str, int]]]:
    return [(parse_message(data), addr) for data, addr in ep.datagrams_to_send(now)]


def options(branch: str, *, call_id: str = "o1") -> bytes:
    return (
        f"OPTIONS sip:pbx@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5160;branch={branch};rport\r\n"
        f"From: <sip:agent@127.0.0.1>;tag=f1\r\nTo: <sip:pbx@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_incoming_invite_is_trying_ringing_ok_then_ack() -> None:
    """baresip calls us: 100 at once, the TU rings and answers, the ACK surfaces."""
    ep = endpoint()
    data = (FIXTURES / "baresip_invite.sip").read_bytes()
    ep.receive_datagram(data, PHONE, now=0.0)
    ((trying, addr),) = sent(ep)
    assert isinstance(trying, Response)
    assert trying.status == 100
    assert addr == PHONE
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    assert event.request.top_via.rport == 5160
    assert event.request.top_via.received == "127.0.0.1"
    ep.receive_datagram(data, PHONE, now=0.3)
    assert [m.status for m, _ in sent(ep) if isinstance(m, Response)] == [100]
    assert drain(ep) == []
    invite = event.request
    ep.send_response(make_response(invite, 180, to_tag="pbx1"), now=1.0)
    ok = make_response(invite, 200, to_tag="pbx1", headers=[("Contact", "<sip:pbx@127.0.0.1>")])
    ep.send_response(ok, now=2.0)
    assert [m.status for m, _ in sent(ep) if isinstance(m, Response)] == [180, 200]
    ack = (
        b"ACK sip:pbx@127.0.0.1 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5160;branch=z9hG4bKack1;rport\r\n"
        b"From: <sip:agent@127.0.0.1:5160>;tag=7f3c1d2e4b5a6978\r\n"
        b"To: <sip:1001@127.0.0.1:5060;transport=udp>;tag=pbx1\r\n"
        b"Call-ID: 9a8b7c6d5e4f3a2b\r\nCSeq: 31337 ACK\r\nContent-Length: 0\r\n\r\n"
    )
    ep.receive_datagram(ack, PHONE, now=2.1)
    (ack_event,) = drain(ep)
    assert isinstance(ack_event, AckReceived)


def test_outgoing_invite_retransmits_and_acks_busy() -> None:
    """We call a carrier: INVITE resent at 0.5 s; 180 then 486; the ACK is automatic."""
    ep = endpoint()
    invite = Request.parse((FIXTURES / "sipp_uac_invite.sip").read_bytes())
    key = ep.send_request(invite, CARRIER, now=0.0)
    assert [addr for _, addr in sent(ep)] == [CARRIER]
    assert ep.get_timer() == 0.5
    ep.handle_timer(0.5)
    assert len(sent(ep)) == 1
    ep.receive_datagram(bytes(make_response(invite, 180, to_tag="c1")), CARRIER, now=0.7)
    ep.receive_datagram(bytes(make_response(invite, 486, to_tag="c1")), CARRIER, now=3.0)
    ((ack, addr),) = sent(ep)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert addr == CARRIER
    statuses = [e.response.status for e in drain(ep) if isinstance(e, ResponseReceived)]
    assert statuses == [180, 486]
    assert ep.transaction_count == 1
    ep.handle_timer(100.0)
    assert ep.transaction_count == 0
    assert drain(ep) == [TransactionTerminated(key)]


def test_lost_invite_times_out_through_the_endpoint() -> None:
    """Nothing comes back: Timer B reports a timeout at 32 s."""
    ep = endpoint()
    invite = Request.parse((FIXTURES / "sipp_uac_invite.sip").read_bytes())
    key = ep.send_request(invite, CARRIER, now=0.0)
    times = []
    while (deadline := ep.get_timer()) is not None:
        ep.handle_timer(deadline)
        if ep.datagrams_to_send(deadline):
            times.append(deadline)
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert drain(ep) == [TransactionTimedOut(key, "B"), TransactionTerminated(key)]
    assert TIMER_B == 32.0


def test_garbage_is_dropped_and_counted() -> None:
    """Bytes that are not SIP produce nothing but a counter."""
    ep = endpoint()
    ep.receive_datagram(b"\x16\x03\x01 not sip at all", PHONE, now=0.0)
    ep.receive_datagram(b"\r\n\r\n", PHONE, now=0.0)
    assert ep.datagrams_to_send(0.0) == []
    assert ep.stats.malformed_dropped == 1
    assert ep.stats.keepalives == 1
    assert ep.stats.datagrams == 2


@pytest.mark.parametrize(
    ("mutation", "status"),
    [
        ((b"Content-Length: 0", b"Content-Length: 99"), 400),
        ((b"SIP/2.0\r\n", b"SIP/3.0\r\n"), 505),
        ((b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), 400),
        ((b"To: <sip:pbx@127.0.0.1>", b"To: <sip:pbx@127.0.0.1"), 400),
    ],
)
def test_malformed_requests_with_readable_core_headers_get_an_error(
    mutation: tuple[bytes, bytes], status: int
) -> None:
    """When Via, From, To, Call-ID and CSeq can be read, the peer gets a status."""
    ep = endpoint()
    ep.receive_datagram(options("z9hG4bKbad").replace(*mutation, 1), PHONE, now=0.0)
    ((resp, addr),) = sent(ep)
    assert isinstance(resp, Response)
    assert resp.status == status
    assert resp.call_id == "o1"
    assert (resp.headers.get("Warning") or "").startswith('399 callcenter "')
    assert addr == PHONE
    assert ep.stats.malformed_answered == 1
    assert ep.transaction_count == 0


def test_malformed_request_without_via_is_dropped() -> None:
    """No Via, no way to answer: dropped."""
    ep = endpoint()
    data = options("z9hG4bKx").replace(
        b"Via: SIP/2.0/UDP 127.0.0.1:5160;branch=z9hG4bKx;rport\r\n", b""
    )
    ep.receive_datagram(data.replace(b"Content-Length: 0", b"Content-Length: 9"), PHONE, now=0.0)
    assert ep.datagrams_to_send(0.0) == []
    assert ep.stats.malformed_dropped == 1


def test_malformed_request_whose_via_list_cannot_be_split_is_dropped() -> None:
    """A Via whose first value reads but whose list has a stray quote (found by the
    fuzz test): no answer can be addressed, so the datagram is dropped, nothing raised."""
    ep = endpoint()
    data = options("z9hG4bKq").replace(b";rport\r\n", b';rport, "\r\n', 1)
    ep.receive_datagram(data.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), PHONE, now=0.0)
    assert ep.datagrams_to_send(0.0) == []
    assert ep.stats.malformed_dropped == 1
    assert ep.transaction_count == 0


def test_flood_is_bounded_by_503() -> None:
    """Over max_transactions new requests get 503 + Retry-After and create no state."""
    ep = endpoint(max_transactions=5)
    for i in range(8):
        ep.receive_datagram(options(f"z9hG4bKflood{i}", call_id=f"c{i}"), PHONE, now=0.0)
    received = [e for e in drain(ep) if isinstance(e, RequestReceived)]
    assert len(received) == 5
    rejected = [m for m, _ in sent(ep) if isinstance(m, Response) and m.status == 503]
    assert len(rejected) == 3
    assert rejected[0].headers.get("Retry-After") == "5"
    assert ep.transaction_count == 5
    assert ep.stats.overload_rejected == 3
    for event in received:
        ep.send_response(make_response(event.request, 200, to_tag="x"), now=1.0)
    ep.handle_timer(1.0 + TIMER_J)
    assert ep.transaction_count == 0
    with pytest.raises(TransactionError):
        for i in range(6):
            req = Request.parse(options(f"z9hG4bKout{i}"))
            ep.send_request(req, PHONE, now=2.0)


def test_incoming_cancel_is_answered_and_the_invite_gets_487() -> None:
    """CANCEL -> 200 and CancelReceived; the TU's 487 is ACKed and H stops."""
    ep = endpoint()
    data = (FIXTURES / "baresip_invite.sip").read_bytes()
    ep.receive_datagram(data, PHONE, now=0.0)
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    cancel = build_cancel(Request.parse(data))
    ep.receive_datagram(bytes(cancel), PHONE, now=1.0)
    (cancelled,) = drain(ep)
    assert isinstance(cancelled, CancelReceived)
    assert cancelled.invite_key == event.key
    terminated = make_response(event.request, 487, to_tag="pbx2")
    ep.send_response(terminated, now=1.1)
    statuses = [m.status for m, _ in sent(ep) if isinstance(m, Response)]
    assert statuses == [100, 200, 487]
    ack = build_ack_for_non_2xx(Request.parse(data), terminated)
    ep.receive_datagram(bytes(ack), PHONE, now=1.2)
    assert drain(ep) == []
    ep.handle_timer(1.2 + TIMER_H)
    assert sent(ep) == []


def test_cancel_for_unknown_invite_gets_481() -> None:
    """Nothing to cancel: 481 Call/Transaction Does Not Exist."""
    ep = endpoint()
    cancel = build_cancel(Request.parse((FIXTURES / "baresip_invite.sip").read_bytes()))
    ep.receive_datagram(bytes(cancel), PHONE, now=0.0)
    ((resp, _),) = sent(ep)
    assert isinstance(resp, Response)
    assert resp.status == 481
    assert drain(ep) == []


def test_outgoing_cancel_waits_for_a_provisional() -> None:
    """RFC 3261 9.1: no CANCEL before a 1xx; it goes out when the 180 arrives."""
    ep = endpoint()
    invite = Request.parse((FIXTURES / "sipp_uac_invite.sip").read_bytes())
    key = ep.send_request(invite, CARRIER, now=0.0)
    sent(ep)
    ep.cancel(key, now=0.1)
    assert sent(ep) == []
    ep.receive_datagram(bytes(make_response(invite, 180, to_tag="c")), CARRIER, now=0.2)
    ((cancel, addr),) = sent(ep)
    assert isinstance(cancel, Request)
    assert cancel.method == "CANCEL"
    assert cancel.top_via.branch == invite.top_via.branch
    assert addr == CARRIER
    ep.cancel(key, now=0.3)
    with pytest.raises(TransactionError):
        ep.send_request(cancel, CARRIER, now=0.3)
    with pytest.raises(TransactionError):
        ep.cancel(("nope", "INVITE"), now=0.3)


def test_stray_responses_surface_and_are_counted() -> None:
    """A response for no transaction is reported once and counted."""
    ep = endpoint()
    invite = Request.parse((FIXTURES / "sipp_uac_invite.sip").read_bytes())
    ep.receive_datagram(bytes(make_response(invite, 200, to_tag="x")), CARRIER, now=0.0)
    (event,) = drain(ep)
    assert isinstance(event, StrayResponse)
    assert ep.stats.stray_responses == 1


def test_send_response_needs_a_transaction_except_for_2xx_to_invite() -> None:
    """A late 200 OK retransmission goes statelessly to the Via; others raise."""
    ep = endpoint()
    invite = Request.parse((FIXTURES / "baresip_invite.sip").read_bytes())
    with pytest.raises(TransactionError):
        ep.send_response(make_response(invite, 486, to_tag="x"), now=0.0)
    ep.send_response(make_response(invite, 200, to_tag="x"), now=0.0)
    ((resp, addr),) = sent(ep)
    assert isinstance(resp, Response)
    assert addr == ("127.0.0.1", 5160)


def test_response_address_follows_rport() -> None:
    """RFC 3581: rport -> source port; otherwise the Via port or 5060."""
    src = ("203.0.113.9", 40000)
    assert response_address(Via.parse("SIP/2.0/UDP 10.0.0.1:5070;rport"), src) == src
    assert response_address(Via.parse("SIP/2.0/UDP 10.0.0.1:5070"), src) == (src[0], 5070)
    assert response_address(Via.parse("SIP/2.0/UDP 10.0.0.1"), src) == (src[0], 5060)


def test_new_branch_has_the_magic_cookie() -> None:
    """RFC 3261 8.1.1.7: branches start with z9hG4bK."""
    ep = endpoint()
    assert ep.new_branch() == "z9hG4bKt1"
    assert ep.new_branch() != ep.new_branch()


def test_timers_of_many_transactions_come_out_in_order() -> None:
    """The heap gives the earliest deadline across transactions."""
    ep = endpoint()
    for i in range(3):
        req = Request.parse(options(f"z9hG4bKm{i}"))
        ep.send_request(req, PHONE, now=float(i))
    assert ep.get_timer() == 0.5
    ep.handle_timer(0.5)
    assert ep.get_timer() == 1.5
    ep.receive_datagram(
        bytes(make_response(Request.parse(options("z9hG4bKm0")), 200)), PHONE, now=1.0
    )
    assert ep.get_timer() == 1.5


def test_reliable_endpoint_requires_content_length() -> None:
    """Over TCP a message without Content-Length cannot be framed: 400."""
    ep = Endpoint(reliable=True)
    ep.receive_datagram(
        options("z9hG4bKtcp").replace(b"Content-Length: 0\r\n", b""), PHONE, now=0.0
    )
    ((resp, _),) = sent(ep)
    assert isinstance(resp, Response)
    assert resp.status == 400


INVALID = {
    "clerr_content_length_too_large.sip": 400,
    "badvers_sip7.sip": 505,
    "quotbal_unterminated_display.sip": 400,
    "ltgtruri_brackets_in_request_uri.sip": 400,
    "lwsruri_space_in_request_uri.sip": 400,
    "mismatch_cseq_method.sip": 400,
    "bigcode_status_out_of_range.sip": 0,
    "scalar_cseq_overflow.sip": 400,
    "no_via_at_all.sip": 0,
    "neg_content_length.sip": 400,
    "dup_conflicting_content_length.sip": 400,
    "nul_in_header.sip": 400,
}


def test_every_invalid_fixture_has_an_expectation() -> None:
    """The table below covers every file in fixtures/sip/invalid."""
    assert {p.name for p in (FIXTURES / "invalid").glob("*.sip")} == set(INVALID)


@pytest.mark.parametrize(("name", "status"), sorted(INVALID.items()))
def test_rfc4475_style_invalid_messages(name: str, status: int) -> None:
    """RFC 4475 3.1.2-style broken messages are answered with an error or dropped."""
    ep = endpoint()
    ep.receive_datagram((FIXTURES / "invalid" / name).read_bytes(), PHONE, now=0.0)
    out = sent(ep)
    assert drain(ep) == []
    assert ep.transaction_count == 0
    if status == 0:
        assert out == []
        assert ep.stats.malformed_dropped == 1
    else:
        ((resp, _),) = out
        assert isinstance(resp, Response)
        assert resp.status == status
        assert resp.call_id.startswith("bad-")


ALICE = ("10.0.0.1", 5060)
PBX = ("10.0.0.2", 5060)


def pump(src: Endpoint, src_addr: tuple[str, int], dst: Endpoint, now: float, drop: int = 0) -> int:
    """Carry src's datagrams to dst over a virtual wire, losing the first ``drop``."""
    out = src.datagrams_to_send(now)
    for data, _ in out[drop:]:
        dst.receive_datagram(data, src_addr, now=now)
    return len(out)


def only(ep: Endpoint, kind: type[EndpointEvent]) -> list[EndpointEvent]:
    return [e for e in drain(ep) if isinstance(e, kind)]


def test_call_with_a_lost_invite_then_bye_through_dialogs() -> None:
    """Alice calls the PBX over a lossy wire: the INVITE retransmission gets through at
    0.5 s, the PBX rings and answers, Alice ACKs through her dialog, then hangs up."""
    alice, pbx = endpoint(), endpoint()
    invite = Request.build(
        "INVITE",
        "sip:queue@10.0.0.2",
        [
            ("Via", f"SIP/2.0/UDP 10.0.0.1:5060;branch={alice.new_branch()};rport"),
            ("From", "<sip:alice@10.0.0.1>;tag=a1"),
            ("To", "<sip:queue@10.0.0.2>"),
            ("Call-ID", "flow-1"),
            ("CSeq", "1 INVITE"),
            ("Contact", "<sip:alice@10.0.0.1:5060>"),
            ("Max-Forwards", "70"),
        ],
    )
    alice.send_request(invite, PBX, now=0.0)
    assert pump(alice, ALICE, pbx, 0.0, drop=1) == 1  # lost
    assert pbx.next_event() is None
    alice.handle_timer(0.5)
    pump(alice, ALICE, pbx, 0.5)
    (offered,) = only(pbx, RequestReceived)
    assert isinstance(offered, RequestReceived)
    uas = Dialog.as_uas(offered.request, "p1")
    pbx.send_response(make_response(offered.request, 180, to_tag="p1"), now=0.6)
    ok = make_response(
        offered.request, 200, to_tag="p1", headers=[("Contact", "<sip:queue@10.0.0.2>")]
    )
    pbx.send_response(ok, now=2.0)
    uas.confirm()
    pump(pbx, PBX, alice, 2.0)
    responses = [e for e in drain(alice) if isinstance(e, ResponseReceived)]
    assert [e.response.status for e in responses] == [100, 180, 200]
    uac = Dialog.as_uac(invite, responses[-1].response)
    via = Via.parse(f"SIP/2.0/UDP 10.0.0.1:5060;branch={alice.new_branch()};rport")
    alice.send_request(uac.create_ack(1, via=via), PBX, now=2.1)
    pump(alice, ALICE, pbx, 2.1)
    assert len(only(pbx, AckReceived)) == 1
    via = Via.parse(f"SIP/2.0/UDP 10.0.0.1:5060;branch={alice.new_branch()};rport")
    bye = uac.create_request("BYE", via=via)
    alice.send_request(bye, PBX, now=60.0)
    pump(alice, ALICE, pbx, 60.0)
    (bye_in,) = only(pbx, RequestReceived)
    assert isinstance(bye_in, RequestReceived)
    assert uas.matches(bye_in.request)
    assert uas.on_request(bye_in.request) is None
    assert uas.state is DialogState.TERMINATED
    pbx.send_response(make_response(bye_in.request, 200), now=60.1)
    pump(pbx, PBX, alice, 60.1)
    (bye_ok,) = only(alice, ResponseReceived)
    assert isinstance(bye_ok, ResponseReceived)
    uac.on_response(bye, bye_ok.response)
    assert uac.state is DialogState.TERMINATED
    alice.handle_timer(200.0)
    pbx.handle_timer(200.0)
    assert alice.transaction_count == pbx.transaction_count == 0


def test_register_challenge_and_retry_between_endpoints() -> None:
    """A phone REGISTERs, the PBX challenges with a signed nonce, the retry is accepted."""
    phone, pbx = endpoint(), endpoint()
    server = DigestServer(b"k" * 32, "pbx.local")
    register = Request.parse((FIXTURES / "register.sip").read_bytes())
    phone.send_request(register, PBX, now=0.0)
    pump(phone, ALICE, pbx, 0.0)
    (reg_in,) = only(pbx, RequestReceived)
    assert isinstance(reg_in, RequestReceived)
    challenge = make_response(
        reg_in.request, 401, to_tag="r1", headers=server.challenge_headers(now=0.0)
    )
    pbx.send_response(challenge, now=0.1)
    pump(pbx, PBX, phone, 0.1)
    (got,) = only(phone, ResponseReceived)
    assert isinstance(got, ResponseReceived)
    retry = DigestClient("bob", "secret").authorize(
        register, got.response, cnonce="c0ffee", branch=phone.new_branch()
    )
    phone.send_request(retry, PBX, now=0.2)
    pump(phone, ALICE, pbx, 0.2)
    (retry_in,) = only(pbx, RequestReceived)
    assert isinstance(retry_in, RequestReceived)
    creds = DigestCredentials.parse(retry_in.request.headers.get("Authorization") or "")
    verdict = server.verify(creds, method="REGISTER", now=0.3, password="secret")
    assert verdict is AuthResult.OK


def test_ack_reusing_the_invite_branch_after_2xx_reaches_the_tu() -> None:
    """Some UAs send the 2xx ACK with the INVITE's branch; it must not be swallowed."""
    ep = endpoint()
    data = (FIXTURES / "baresip_invite.sip").read_bytes()
    ep.receive_datagram(data, PHONE, now=0.0)
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    ep.send_response(make_response(event.request, 200, to_tag="p"), now=0.5)
    invite = Request.parse(data)
    ack = invite.with_headers(invite.headers.set("CSeq", "31337 ACK"))
    ack = Request(method="ACK", uri=ack.uri, headers=ack.headers)
    ep.receive_datagram(bytes(ack), PHONE, now=0.6)
    (ack_event,) = drain(ep)
    assert isinstance(ack_event, AckReceived)


def test_via_is_left_alone_when_the_source_matches_and_no_rport() -> None:
    """RFC 3261 18.2.1: received is only added when sent-by differs from the source."""
    ep = endpoint()
    data = options("z9hG4bKsame").replace(b";rport", b"")
    ep.receive_datagram(data, ("127.0.0.1", 5160), now=0.0)
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    assert event.request.top_via.received is None
    ep.receive_datagram(options("z9hG4bKother").replace(b";rport", b""), ("198.51.100.1", 1), now=0)
    (event,) = drain(ep)
    assert isinstance(event, RequestReceived)
    assert event.request.top_via.received == "198.51.100.1"
    assert event.request.top_via.rport is None


def test_timer_heap_stays_small_when_transactions_end_early() -> None:
    """Stale timer entries of finished transactions are compacted away."""
    ep = endpoint()
    for i in range(500):
        req = Request.parse(options(f"z9hG4bKshort{i}", call_id=f"s{i}"))
        ep.send_request(req, PHONE, now=0.0)
        ep.receive_datagram(bytes(make_response(req, 200)), PHONE, now=0.0)
    ep.handle_timer(10.0)
    assert ep.transaction_count == 0
    assert len(ep._heap) <= 64
    assert ep.get_timer() is None


def test_error_response_copies_every_via() -> None:
    """A 400 to a proxied request must travel back through every Via (8.2.6.2)."""
    ep = endpoint()
    data = options("z9hG4bKtwo").replace(
        b"Max-Forwards: 70", b"Via: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKupstream\r\nMax-Forwards: x"
    )
    ep.receive_datagram(data.replace(b"Content-Length: 0", b"Content-Length: 5"), PHONE, now=0.0)
    ((resp, _),) = sent(ep)
    assert isinstance(resp, Response)
    assert [v.branch for v in resp.vias] == ["z9hG4bKtwo", "z9hG4bKupstream"]


_HEAD = (
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:b@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
)


@pytest.mark.parametrize(
    "data",
    [
        _HEAD + b"Via: " + b"SIP/2.0/UDP a;branch=z9hG4bKx," * 250 + b"\r\n\r\n",
        _HEAD + b"Contact: " + b"<sip:a@b>," * 800 + b"\r\n\r\n",
        _HEAD + b"Subject: a\r\n" + b" \r\n" * 20000 + b"\r\n",
        _HEAD + b'Contact: "' + b'\\"' * 3000 + b'" <sip:a@b>\r\n\r\n',
        _HEAD + b"Contact: " + b"<" * 7000 + b"\r\n\r\n",
        _HEAD + b"Contact: <sip:a@b>" + b";a=b" * 2000 + b"\r\n\r\n",
        _HEAD + b"Route: " + b"<sip:p;lr>," * 700 + b"\r\n\r\n",
    ],
    ids=["vias", "contacts", "folding", "quotes", "brackets", "params", "routes"],
)
def test_hostile_datagrams_are_handled_quickly(data: bytes) -> None:
    """Large lists, endless folding and quote/bracket storms cost milliseconds."""
    ep = endpoint()
    started = time.perf_counter()
    ep.receive_datagram(data, PHONE, now=0.0)
    ep.datagrams_to_send(0.0)
    assert time.perf_counter() - started < 1.0
