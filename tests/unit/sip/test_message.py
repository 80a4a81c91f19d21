"""Tests for parsing and serialising SIP messages (RFC 3261 7, 8.2.6, 18.3; RFC 4475)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.sip.errors import SipParseError
from callcenter.sip.headers import Headers
from callcenter.sip.message import (
    MAX_HEADER_LINE,
    MAX_HEADERS,
    MAX_MESSAGE_SIZE,
    Request,
    Response,
    make_response,
    parse_message,
    reason_phrase,
    split_stream,
)
from callcenter.sip.uri import SipUri

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"

BASIC = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa1\r\n"
    b"From: <sip:alice@example.com>;tag=1\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.sip")), ids=lambda p: p.name)
def test_fixtures_round_trip(path: Path) -> None:
    """Every captured-style fixture parses, serialises and parses back to the same value."""
    msg = parse_message(path.read_bytes())
    again = parse_message(bytes(msg))
    assert again == msg
    assert bytes(again) == bytes(msg)
    msg.cseq  # noqa: B018 - every fixture has readable core headers
    msg.top_via  # noqa: B018
    msg.from_addr  # noqa: B018
    msg.to_addr  # noqa: B018


def test_sipp_invite_is_read_field_by_field() -> None:
    """The INVITE SIPp's uac scenario sends: method, URI, headers and SDP body."""
    msg = Request.parse(fixture("sipp_uac_invite.sip"))
    assert msg.method == "INVITE"
    assert isinstance(msg.uri, SipUri)
    assert msg.uri.user == "service"
    assert msg.call_id == "1-4242@127.0.0.1"
    assert msg.cseq.seq == 1
    assert msg.from_addr.tag == "4242SIPpTag001"
    assert msg.to_addr.tag is None
    assert msg.content_type == "application/sdp"
    assert msg.body.startswith(b"v=0\r\n")
    assert len(msg.body) == 129
    assert msg.max_forwards == 70


def test_baresip_invite_with_rport_and_telephone_event() -> None:
    """baresip asks for rport and offers PCMU, PCMA and telephone-event."""
    msg = Request.parse(fixture("baresip_invite.sip"))
    via = msg.top_via
    assert via.wants_rport
    assert via.branch == "z9hG4bK6c7a2f1e0b9d8c7a"
    assert b"telephone-event/8000" in msg.body
    assert msg.headers.get_all("Allow")[:3] == ["INVITE", "ACK", "BYE"]


def test_torture_wsinv_folding_and_compact_forms() -> None:
    """RFC 4475 3.1.1.1 style: odd case, folding, LWS and compact forms all parse."""
    msg = Request.parse(fixture("torture_wsinv.sip"))
    assert msg.cseq.seq == 9
    assert msg.cseq.method == "INVITE"
    assert msg.max_forwards == 68
    assert msg.to_addr.tag == "1918181833n"
    assert msg.from_addr.display_name == 'J Rosenberg \\"'
    assert msg.from_addr.tag == "98asjd8"
    assert [v.branch for v in msg.vias] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get("Subject") == ""
    contact = msg.contacts.contacts[0]
    assert contact.param("q") == "0.33"
    assert len(msg.body) == 150
    assert msg.route[0].uri == SipUri.parse(
        "sip:services.example.com;lr;unknownwith=value;unknown-no-value"
    )


def test_torture_intmeth_unusual_tokens() -> None:
    """RFC 4475 3.1.1.2 style: exotic method and URI characters, UTF-8 values."""
    msg = Request.parse(fixture("torture_intmeth.sip"))
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.cseq.method == msg.method
    assert isinstance(msg.uri, SipUri)
    assert msg.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert msg.from_addr.param("fromParam''~+*_!.-%") == "работающий"
    assert msg.to_addr.display_name is not None
    assert "\x07" in msg.to_addr.display_name


def test_register_contacts_and_star() -> None:
    """REGISTER with two bindings, and a REGISTER removing all of them."""
    reg = Request.parse(fixture("register.sip"))
    assert [c.param("expires") for c in reg.contacts.contacts] == ["7200", None]
    assert Request.parse(fixture("register_star.sip")).contacts.star


def test_401_response() -> None:
    """A 401 challenge parses as a Response with its WWW-Authenticate intact."""
    resp = Response.parse(fixture("register_401.sip"))
    assert resp.status == 401
    assert resp.reason == "Unauthorized"
    assert not resp.is_success
    assert resp.is_final
    assert not resp.is_provisional
    assert resp.top_via.rport == 5060
    assert 'nonce="ea9c8e88df84f1cec4341ae6cbe5a359"' in (
        resp.headers.get("www-authenticate") or ""
    )


def test_request_parse_rejects_responses_and_vice_versa() -> None:
    """The typed entry points insist on the kind of message."""
    with pytest.raises(SipParseError):
        Request.parse(fixture("register_401.sip"))
    with pytest.raises(SipParseError):
        Response.parse(BASIC)


def test_leading_crlf_is_ignored() -> None:
    """RFC 3261 7.5: CRLFs before the start line (keep-alives) are skipped."""
    assert parse_message(b"\r\n\r\n" + BASIC) == parse_message(BASIC)


def test_bare_lf_line_endings_are_accepted() -> None:
    """Be liberal: LF-only messages parse like CRLF ones."""
    assert parse_message(BASIC.replace(b"\r\n", b"\n")) == parse_message(BASIC)


def test_missing_content_length_on_udp_takes_the_rest_of_the_datagram() -> None:
    """RFC 3261 18.3: over UDP the body ends with the datagram."""
    data = BASIC.replace(b"Content-Length: 0\r\n", b"") + b"hello"
    assert parse_message(data).body == b"hello"


def test_missing_content_length_on_a_stream_is_an_error() -> None:
    """Over TCP there is no other way to find the end of the body."""
    with pytest.raises(SipParseError):
        parse_message(BASIC.replace(b"Content-Length: 0\r\n", b""), datagram=False)


def test_body_shorter_than_content_length_is_an_error() -> None:
    """RFC 4475 3.1.2.11 style: Content-Length larger than the body."""
    with pytest.raises(SipParseError):
        parse_message(BASIC.replace(b"Content-Length: 0", b"Content-Length: 10") + b"short")


def test_bytes_after_content_length_are_discarded() -> None:
    """RFC 3261 18.3: extra octets in a datagram beyond Content-Length are dropped."""
    msg = parse_message(BASIC.replace(b"Content-Length: 0", b"Content-Length: 3") + b"abcdef")
    assert msg.body == b"abc"


def test_conflicting_content_lengths_are_an_error() -> None:
    """Two different Content-Length values make the body ambiguous (smuggling risk)."""
    data = BASIC.replace(b"Content-Length: 0\r\n", b"Content-Length: 0\r\nl: 5\r\n")
    with pytest.raises(SipParseError):
        parse_message(data + b"12345")


def test_unsupported_version_asks_for_505() -> None:
    """RFC 4475 3.1.2.16 style: SIP/7.0 gets 505 Version Not Supported."""
    with pytest.raises(SipParseError) as exc:
        parse_message(BASIC.replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1))
    assert exc.value.status == 505


def test_non_utf8_header_is_reported_clearly() -> None:
    """Latin-1 bytes in a header raise a parse error naming UTF-8."""
    with pytest.raises(SipParseError, match="UTF-8"):
        parse_message(BASIC.replace(b"Call-ID: c1", b"Call-ID: caf\xe9"))


def test_body_may_hold_any_bytes() -> None:
    """Only the header section must be UTF-8; the body is opaque bytes."""
    data = BASIC.replace(b"Content-Length: 0", b"Content-Length: 2") + b"\xff\x00"
    assert parse_message(data).body == b"\xff\x00"


def test_size_limits() -> None:
    """Too large, too many headers or too long a line: refused before any work."""
    with pytest.raises(SipParseError) as exc:
        parse_message(BASIC + b"x" * MAX_MESSAGE_SIZE)
    assert exc.value.status == 513
    many = BASIC.replace(b"\r\n\r\n", b"\r\n" + b"X-A: 1\r\n" * MAX_HEADERS + b"\r\n")
    with pytest.raises(SipParseError, match="too many"):
        parse_message(many)
    long_line = BASIC.replace(b"Call-ID: c1", b"Call-ID: " + b"c" * MAX_HEADER_LINE)
    with pytest.raises(SipParseError, match="too long"):
        parse_message(long_line)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: x",
        b"OPTIONS  sip:a@b SIP/2.0\r\n\r\n",
        b"OPTIONS sip:a@b\r\n\r\n",
        b"OPT<IONS sip:a@b SIP/2.0\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\n continuation first\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nNoColonHere\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nX: a\x00b\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1e3\r\n\r\n",
        b"OPTIONS <sip:a@b> SIP/2.0\r\n\r\n",
        b"SIP/2.0 99 Too Low\r\n\r\n",
        b"SIP/2.0 700 Too High\r\n\r\n",
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/2.0 abc OK\r\n\r\n",
        b"SIP/2 200 OK\r\n\r\n",
    ],
)
def test_malformed_messages_raise_parse_error(data: bytes) -> None:
    """Each of these violates RFC 3261 7 or 25 and raises SipParseError, nothing else."""
    with pytest.raises(SipParseError):
        parse_message(data)


def test_missing_core_headers_raise_on_access() -> None:
    """A message without Call-ID/CSeq parses, but reading those fields raises."""
    msg = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n")
    for attr in ("call_id", "cseq", "top_via", "from_addr", "to_addr"):
        with pytest.raises(SipParseError):
            getattr(msg, attr)
    assert msg.vias == []
    assert msg.max_forwards is None
    assert msg.content_type is None
    assert msg.contacts.contacts == ()


def test_serialising_sets_content_length_from_the_body() -> None:
    """__bytes__ writes the real body length whatever the header said."""
    req = Request.build(
        "MESSAGE", "sip:bob@b", [("Content-Length", "999"), ("l", "3")], body=b"hello"
    )
    data = bytes(req)
    assert data.count(b"Content-Length") == 1
    assert b"Content-Length: 5\r\n" in data
    assert parse_message(data).body == b"hello"


def test_build_rejects_bad_method() -> None:
    """Request.build validates the method token."""
    with pytest.raises(SipParseError):
        Request.build("BAD METHOD", "sip:a@b", [])


def test_response_to_a_request_copies_the_rfc_fields() -> None:
    """RFC 3261 8.2.6.2: Via, From, To (+tag), Call-ID, CSeq are copied."""
    req = Request.parse(fixture("torture_wsinv.sip"))
    resp = make_response(req, 486, to_tag="ignored-because-present")
    assert resp.reason == "Busy Here"
    assert resp.headers.get_all("Via") == req.headers.get_all("Via")
    assert resp.from_addr == req.from_addr
    assert resp.to_addr.tag == "1918181833n"
    assert resp.call_id == req.call_id
    assert resp.cseq == req.cseq


def test_response_adds_a_to_tag_except_on_100() -> None:
    """A UAS adds its tag to To; 100 Trying never carries one and copies Timestamp."""
    req = parse_message(BASIC.replace(b"Max-Forwards", b"Timestamp: 54\r\nMax-Forwards"))
    assert isinstance(req, Request)
    ringing = make_response(req, 180, to_tag="uas1", headers=[("Contact", "<sip:b@c>")])
    assert ringing.to_addr.tag == "uas1"
    assert ringing.headers.get("Contact") == "<sip:b@c>"
    trying = make_response(req, 100, to_tag="uas1")
    assert trying.to_addr.tag is None
    assert trying.headers.get("Timestamp") == "54"
    assert make_response(req, 200, "Fine").reason == "Fine"
    with pytest.raises(ValueError):
        make_response(req, 99)


def test_empty_reason_phrase_is_accepted_and_filled_in() -> None:
    """RFC 3261 25.1 allows an empty Reason-Phrase; we serialise the standard one."""
    for start in (b"SIP/2.0 180 ", b"SIP/2.0 180"):
        resp = Response.parse(start + b"\r\nContent-Length: 0\r\n\r\n")
        assert resp.reason == "Ringing"
        assert bytes(resp).startswith(b"SIP/2.0 180 Ringing\r\n")
    assert Response(status=603).reason == "Decline"


def test_reason_phrase_falls_back_to_the_class() -> None:
    """Unknown codes get their class's phrase."""
    assert reason_phrase(404) == "Not Found"
    assert reason_phrase(499) == "Bad Request"
    assert reason_phrase(299) == "OK"


def test_stream_framing_splits_back_to_back_messages() -> None:
    """RFC 3261 18.3: Content-Length delimits messages on a TCP stream."""
    body_msg = BASIC.replace(b"Content-Length: 0", b"l: 4") + b"body"
    buffer = b"\r\n" + body_msg + BASIC[:30]
    first, rest = split_stream(buffer)
    assert first == body_msg
    assert rest == BASIC[:30]
    assert split_stream(rest) == (None, rest)
    assert split_stream(body_msg[:-2]) == (None, body_msg[:-2])
    with pytest.raises(SipParseError):
        split_stream(BASIC.replace(b"Content-Length: 0\r\n", b""))
    with pytest.raises(SipParseError):
        split_stream(b"X" * (MAX_MESSAGE_SIZE + 1))


def test_headers_container_survives_round_trip() -> None:
    """Headers in a built request come back in the same order."""
    req = Request(method="INFO", uri=SipUri.parse("sip:a@b"), headers=Headers.of(("X-Z", "1")))
    again = parse_message(bytes(req))
    assert again.headers.fields == (("X-Z", "1"), ("Content-Length", "0"))


def test_core_header_values_are_validated_on_read() -> None:
    """A Call-ID with spaces or a non-numeric Max-Forwards raise on access."""
    msg = parse_message(BASIC.replace(b"Call-ID: c1", b"Call-ID: c 1"))
    with pytest.raises(SipParseError):
        _ = msg.call_id
    msg = parse_message(BASIC.replace(b"Max-Forwards: 70", b"Max-Forwards: lots"))
    with pytest.raises(SipParseError):
        _ = msg.max_forwards
    assert (
        parse_message(BASIC.replace(b"Max-Forwards: 70", b"Max-Forwards: 9999")).max_forwards == 255
    )


def test_overlong_request_line_asks_for_414() -> None:
    """A gigantic Request-URI is refused with 414 Request-URI Too Long."""
    data = BASIC.replace(b"sip:bob@example.com", b"sip:" + b"b" * 9000 + b"@example.com", 1)
    with pytest.raises(SipParseError) as exc:
        parse_message(data)
    assert exc.value.status == 414
