"""Fuzz targets for the SIP parsers: untrusted bytes only ever raise SipParseError."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.sip.auth import DigestChallenge, DigestCredentials
from callcenter.sip.endpoint import Endpoint
from callcenter.sip.errors import NegotiationError, SdpParseError, SipParseError
from callcenter.sip.message import Request, Response, parse_message, split_stream
from callcenter.sip.sdp import SessionDescription, answer_offer
from callcenter.sip.uri import NameAddr, parse_uri

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sip"
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.glob("*.sip"))]
FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_ACCESSORS = (
    "call_id",
    "cseq",
    "vias",
    "top_via",
    "from_addr",
    "to_addr",
    "contacts",
    "record_route",
    "route",
    "max_forwards",
    "content_type",
)


def _exercise(data: bytes) -> None:
    """Parse, read every structured header, and check serialising is stable."""
    try:
        msg = parse_message(data)
    except SipParseError:
        return
    for name in _ACCESSORS:
        with contextlib.suppress(SipParseError):
            getattr(msg, name)
    once = bytes(msg)
    reparsed = parse_message(once)
    assert bytes(reparsed) == once


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_only_raise_parse_errors(data: bytes) -> None:
    """Random datagrams never crash the parser or the header accessors."""
    _exercise(data)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        pos = draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            chunk = draw(st.sampled_from([b":", b";", b",", b"\r\n", b" ", b'"', b"<", b">", b"@"]))
            data[pos:pos] = chunk
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(min_value=1, max_value=16))]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(min_value=1, max_value=64))]
    return bytes(data)


@FUZZ
@given(mutated_fixture())
def test_mutated_fixtures_only_raise_parse_errors(data: bytes) -> None:
    """Near-valid messages (bit flips, insertions, deletions) never crash."""
    _exercise(data)


@FUZZ
@given(st.text(max_size=200))
def test_uri_and_name_addr_parsers_only_raise_parse_errors(text: str) -> None:
    """Any text given to the URI and name-addr parsers parses or raises SipParseError."""
    for parser in (parse_uri, NameAddr.parse):
        try:
            value = parser(text)
        except SipParseError:
            continue
        assert parser(str(value)) == value


_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
_VALUE = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
    max_size=40,
).map(lambda s: s.strip(" \t"))


@st.composite
def valid_request(draw: st.DrawFn) -> Request:
    method = draw(_TOKEN)
    user = draw(_TOKEN.filter(lambda s: "@" not in s))
    extra = draw(st.lists(st.tuples(_TOKEN, _VALUE), max_size=8))
    headers = [
        ("Via", f"SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{draw(_TOKEN)}"),
        ("From", f"<sip:{user}@example.com>;tag={draw(_TOKEN)}"),
        ("To", f"<sip:{user}@example.com>"),
        ("Call-ID", draw(_TOKEN)),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        *extra,
        ("Content-Length", "0"),
    ]
    body = draw(st.binary(max_size=200))
    req = Request.build(method, f"sip:{user}@example.com", headers, body)
    return req.with_headers(req.headers.set("Content-Length", str(len(body))))


@FUZZ
@given(valid_request())
def test_parse_after_serialise_gives_back_the_request(req: Request) -> None:
    """parse(bytes(m)) == m for generated valid requests, body bytes included."""
    parsed = parse_message(bytes(req))
    assert parsed == req
    assert parsed.cseq.method == req.method


@FUZZ
@given(
    st.integers(min_value=100, max_value=699),
    _VALUE.filter(bool),
    st.binary(max_size=100),
)
def test_responses_round_trip(status: int, reason: str, body: bytes) -> None:
    """Any status, reason phrase and body survive serialise then parse."""
    resp = Response(status=status, reason=reason, body=body)
    parsed = parse_message(bytes(resp))
    assert isinstance(parsed, Response)
    assert (parsed.status, parsed.reason, parsed.body) == (status, reason, body)


_SDP_SEED = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\na=ptime:20\r\na=sendonly\r\n"
)


@st.composite
def mutated_sdp(draw: st.DrawFn) -> str:
    lines = _SDP_SEED.split("\r\n")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        pos = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        junk = draw(st.text(max_size=30))
        if kind == "replace":
            lines[pos] = lines[pos][:2] + junk
        elif kind == "insert":
            lines.insert(pos, junk)
        else:
            del lines[pos]
    return "\r\n".join(lines)


@FUZZ
@given(st.one_of(mutated_sdp(), st.text(max_size=300)))
def test_sdp_parser_and_answerer_only_raise_their_errors(text: str) -> None:
    """Any SDP text parses or raises SdpParseError; answering raises only 488 errors."""
    try:
        sdp = SessionDescription.parse(text)
    except SdpParseError:
        return
    assert SessionDescription.parse(bytes(sdp)) == sdp
    with contextlib.suppress(SdpParseError, NegotiationError):
        answer_offer(sdp, address="10.0.0.1", port=4000, session_id=1, version=1)


@FUZZ
@given(st.text(max_size=300))
def test_auth_header_parsers_only_raise_parse_errors(text: str) -> None:
    """Challenges and credentials from the wire parse or raise SipParseError."""
    for parser in (DigestChallenge.parse, DigestCredentials.parse):
        with contextlib.suppress(SipParseError):
            parser("Digest " + text)
        with contextlib.suppress(SipParseError):
            parser(text)


@settings(FUZZ, max_examples=200)
@given(st.lists(st.one_of(mutated_fixture(), st.binary(max_size=300)), max_size=6))
def test_endpoint_never_raises_on_incoming_datagrams(datagrams: list[bytes]) -> None:
    """The endpoint turns any datagram into an answer, a drop or an event, never a crash."""
    ep = Endpoint(max_transactions=3)
    for i, data in enumerate(datagrams):
        ep.receive_datagram(data, ("192.0.2.7", 5060), now=float(i))
        ep.handle_timer(float(i))
    assert ep.transaction_count <= 3
    for data, _ in ep.datagrams_to_send(10.0):
        parse_message(data)


@FUZZ
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=3), st.binary(max_size=40))
def test_stream_framing_recovers_each_message(messages: list[bytes], tail: bytes) -> None:
    """Messages concatenated on a stream come back out one by one (RFC 3261 18.3)."""
    framed = [bytes(parse_message(m)) for m in messages]
    buffer = b"".join(framed) + b"\r\n" + tail.replace(b"\n", b"")
    for expected in framed:
        got, buffer = split_stream(buffer)
        assert got == expected
