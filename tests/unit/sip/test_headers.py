"""Tests for header names, list headers, Via, CSeq and Contact (RFC 3261 7.3, 20)."""

from __future__ import annotations

import time

import pytest

from callcenter.sip.errors import SipParseError
from callcenter.sip.headers import (
    COMPACT_FORMS,
    ContactList,
    CSeq,
    Headers,
    Via,
    canonical_name,
    expires_of,
    parse_name_addrs,
    parse_token_list,
    split_values,
)
from callcenter.sip.uri import NameAddr


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("i", "Call-ID"),
        ("m", "Contact"),
        ("e", "Content-Encoding"),
        ("l", "Content-Length"),
        ("f", "From"),
        ("s", "Subject"),
        ("k", "Supported"),
        ("t", "To"),
        ("v", "Via"),
        ("c", "Content-Type"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("call-id", "Call-ID"),
        ("CSEQ", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("max-FORWARDS", "Max-Forwards"),
        ("x-custom-thing", "X-Custom-Thing"),
    ],
)
def test_header_names_are_canonicalised(raw: str, canonical: str) -> None:
    """Compact forms expand and any case maps to one spelling (RFC 3261 7.3.3)."""
    assert canonical_name(raw) == canonical


def test_every_compact_form_is_a_single_letter() -> None:
    """The compact form table only holds one-letter keys."""
    assert all(len(k) == 1 for k in COMPACT_FORMS)


def test_bad_header_names_are_refused() -> None:
    """Spaces, colons and empty names are not tokens."""
    for bad in ("", "a b", "a:b", "Via\t"):
        with pytest.raises(SipParseError):
            canonical_name(bad)


def test_list_headers_split_on_commas_but_not_inside_quotes() -> None:
    """Contact values may contain commas in quoted display names."""
    h = Headers.of(("Contact", '"Smith, Bob" <sip:bob@a>, <sip:bob@b>'), ("m", "<sip:bob@c>"))
    assert h.get_all("contact") == ['"Smith, Bob" <sip:bob@a>', "<sip:bob@b>", "<sip:bob@c>"]


def test_non_list_headers_are_not_split() -> None:
    """WWW-Authenticate uses commas between its params; it is one value."""
    h = Headers.of(("WWW-Authenticate", 'Digest realm="a", nonce="b"'))
    assert h.get_all("WWW-Authenticate") == ['Digest realm="a", nonce="b"']


def test_headers_editing_keeps_order() -> None:
    """set replaces in place, add appends, prepend goes first, remove drops all."""
    h = Headers.of(("Via", "v1"), ("To", "t"), ("Via", "v2"))
    assert h.set("Via", "v3").fields == (("Via", "v3"), ("To", "t"))
    assert h.add("X-A", "1").fields[-1] == ("X-A", "1")
    assert h.prepend("v", "v0").fields[0] == ("Via", "v0")
    assert h.remove("via").fields == (("To", "t"),)
    assert h.set("New", "n").get("new") == "n"
    assert "to" in h
    assert "From" not in h
    assert len(h) == 3
    assert [n for n, _ in h] == ["Via", "To", "Via"]
    assert h.extend([("f", "x")]).get("From") == "x"


def test_via_with_branch_received_and_rport() -> None:
    """A Via filled in by a server (RFC 3581 4) exposes received and rport."""
    via = Via.parse("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776;received=198.51.100.2;rport=9")
    assert via.transport == "UDP"
    assert via.host == "192.0.2.1"
    assert via.port == 5060
    assert via.branch == "z9hG4bK776"
    assert via.received == "198.51.100.2"
    assert via.rport == 9
    assert via.is_rfc3261_branch
    assert not via.reliable
    assert via.sent_by == "192.0.2.1:5060"


def test_via_rport_requested_but_empty() -> None:
    """;rport without a value asks the server to fill it in."""
    via = Via.parse("SIP/2.0/TCP host.example.com;rport;branch=abc")
    assert via.wants_rport
    assert via.rport is None
    assert via.reliable
    assert not via.is_rfc3261_branch
    filled = via.with_param("rport", "5062").with_param("received", "10.0.0.1")
    assert str(filled) == "SIP/2.0/TCP host.example.com;rport=5062;branch=abc;received=10.0.0.1"


def test_via_tolerates_lws_around_slashes() -> None:
    """RFC 4475 3.1.1.1: SIP / 2.0 / UDP with spaces is valid."""
    via = Via.parse("SIP  /   2.0 / UDP   192.0.2.2 ; branch = z9hG4bKx")
    assert via.transport == "UDP"
    assert via.branch == "z9hG4bKx"


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP",
        "SIP/3.0/UDP host",
        "HTTP/2.0/UDP host",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host;rport=abc",
        "SIP/2.0/UDP host;branch",
    ],
)
def test_malformed_via(text: str) -> None:
    """These Via values are refused (a bare ;branch flag is allowed but empty)."""
    if text.endswith(";branch"):
        assert Via.parse(text).branch == ""
        return
    with pytest.raises(SipParseError):
        Via.parse(text)


def test_cseq_parse_and_limits() -> None:
    """CSeq is a number below 2**31 and a method token (RFC 3261 8.1.1.5)."""
    assert CSeq.parse("0009  INVITE") == CSeq(9, "INVITE")
    assert str(CSeq(1, "ACK")) == "1 ACK"
    assert bytes(CSeq(2, "BYE")) == b"2 BYE"
    for bad in ("", "1", "x INVITE", "2147483648 INVITE", "1 INVITE extra", "1 IN<VITE"):
        with pytest.raises(SipParseError):
            CSeq.parse(bad)


def test_contact_star_and_list() -> None:
    """Contact: * is a removal of all bindings; it cannot mix with addresses."""
    assert ContactList.parse(["*"]).star
    assert str(ContactList.parse(["*"])) == "*"
    contacts = ContactList.parse(['<sip:a@b>;expires=60, "X" <sip:c@d>;q=0.5'])
    assert not contacts.star
    assert len(contacts.contacts) == 2
    assert expires_of(contacts.contacts[0], 3600) == 60
    assert expires_of(contacts.contacts[1], 3600) == 3600
    assert str(contacts) == '<sip:a@b>;expires=60, "X" <sip:c@d>;q=0.5'
    with pytest.raises(SipParseError):
        ContactList.parse(["*, <sip:a@b>"])


def test_bad_expires_param_is_refused() -> None:
    """expires must be a number."""
    with pytest.raises(SipParseError):
        expires_of(NameAddr.parse("<sip:a@b>;expires=soon"), None)


def test_route_sets_and_token_lists() -> None:
    """Record-Route lists split into name-addrs; Supported into tokens."""
    routes = parse_name_addrs(["<sip:p1;lr>, <sip:p2;lr>", "<sip:p3;lr>"])
    assert [str(r.uri) for r in routes] == ["sip:p1;lr", "sip:p2;lr", "sip:p3;lr"]
    assert parse_token_list(["replaces, 100rel", "timer"]) == ["replaces", "100rel", "timer"]
    assert split_values(" , a ,, b ") == ["a", "b"]


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP a" + " " * 8000 + "b",
        "SIP/2.0/UDP " + "a " * 4000,
        "SIP/2.0/UDP a" + ":" * 8000,
        "SIP" + " /" * 4000,
    ],
)
def test_via_parsing_is_linear_on_hostile_input(text: str) -> None:
    """An 8 KiB Via built to make a backtracking regex crawl fails fast (was 2 s)."""
    started = time.perf_counter()
    with pytest.raises(SipParseError):
        Via.parse(text)
    assert time.perf_counter() - started < 0.2


def test_via_allows_lws_around_the_port_colon() -> None:
    """RFC 3261 25.1: COLON is SWS ":" SWS, also inside sent-by."""
    via = Via.parse("SIP/2.0/UDP host.example : 5070 ;branch=z9hG4bKc")
    assert (via.host, via.port) == ("host.example", 5070)
    assert Via.parse("SIP/2.0/UDP [::1] : 5070").port == 5070
