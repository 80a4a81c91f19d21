"""Tests for SIP/SIPS/TEL URIs and name-addr parsing (RFC 3261 19.1, 20.10; RFC 3966)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.errors import SipParseError
from callcenter.sip.uri import (
    NameAddr,
    OtherUri,
    SipUri,
    TelUri,
    get_param,
    parse_host_port,
    parse_params,
    parse_uri,
    quote,
    read_quoted,
    split_outside_quotes,
    unquote,
)


def test_full_sip_uri_is_split_into_its_parts() -> None:
    """A URI with user, password, port, params and headers keeps every part."""
    uri = SipUri.parse("sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=hi&x=1")
    assert uri.scheme == "sips"
    assert uri.user == "alice"
    assert uri.password == "secret"
    assert uri.host == "atlanta.com"
    assert uri.port == 5061
    assert uri.transport == "tcp"
    assert uri.lr
    assert uri.secure
    assert uri.headers == (("subject", "hi"), ("x", "1"))
    assert str(uri) == "sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=hi&x=1"


def test_minimal_sip_uri_has_only_a_host() -> None:
    """sip:host is valid; user, port and params are absent."""
    uri = SipUri.parse("sip:example.com")
    assert (uri.user, uri.port, uri.params) == (None, None, ())
    assert not uri.lr
    assert bytes(uri) == b"sip:example.com"


def test_ipv6_host_with_port() -> None:
    """An IPv6 reference in brackets may be followed by a port."""
    uri = SipUri.parse("sip:bob@[2001:db8::1]:5070")
    assert uri.host == "[2001:db8::1]"
    assert uri.port == 5070


def test_user_part_may_hold_semicolons_of_a_telephone_subscriber() -> None:
    """RFC 3261 19.1.6: user may carry ;phone-context; params after the host still parse."""
    uri = SipUri.parse("sip:+1-212-555-1212;phone-context=x@gw.example.com;user=phone")
    assert uri.user == "+1-212-555-1212;phone-context=x"
    assert uri.param("user") == "phone"


@pytest.mark.parametrize(
    "text",
    [
        "sip:",
        "sip:@example.com",
        "sip:bob@",
        "sip:bob@exa mple.com",
        "sip:bob@example.com:99999",
        "sip:bob@example.com:5x",
        "sip:bob@[2001:db8::1",
        "sip:bob@300.1.1.1",
        "sip:bob@example.com;=x",
        "sip:bob@example.com?noequals",
        "http://example.com",
    ],
)
def test_malformed_sip_uris_raise_parse_error(text: str) -> None:
    """Each of these breaks the RFC 3261 25.1 grammar and is refused."""
    with pytest.raises(SipParseError):
        SipUri.parse(text)


def test_non_sip_scheme_asks_for_416() -> None:
    """A SIP URI parser given another scheme reports 416 Unsupported URI Scheme."""
    with pytest.raises(SipParseError) as exc:
        SipUri.parse("mailto:bob@example.com")
    assert exc.value.status == 416


def test_tel_uri_number_and_params() -> None:
    """RFC 3966: a global number with visual separators and parameters."""
    uri = TelUri.parse("tel:+1-201-555-0123;ext=42")
    assert uri.is_global
    assert uri.digits == "+12015550123"
    assert get_param(uri.params, "EXT") == "42"
    assert str(uri) == "tel:+1-201-555-0123;ext=42"


def test_tel_uri_rejects_letters() -> None:
    """A tel number holds digits, hex and separators, not arbitrary letters."""
    with pytest.raises(SipParseError):
        TelUri.parse("tel:call-me-maybe")


def test_parse_uri_dispatches_on_scheme() -> None:
    """sip, sips, tel get their types; other schemes are kept opaque."""
    assert isinstance(parse_uri("SIP:a@b"), SipUri)
    assert isinstance(parse_uri("tel:123"), TelUri)
    other = parse_uri("urn:service:sos")
    assert isinstance(other, OtherUri)
    assert str(other) == "urn:service:sos"
    with pytest.raises(SipParseError):
        parse_uri("no scheme here")


def test_quoted_display_name_with_escapes() -> None:
    """RFC 3261 25.1 quoted-pair: an escaped quote and backslash survive."""
    na = NameAddr.parse('"Alice \\"A\\" \\\\ Smith" <sip:alice@atlanta.com>;tag=9fxced76sl')
    assert na.display_name == 'Alice "A" \\ Smith'
    assert na.tag == "9fxced76sl"
    again = NameAddr.parse(str(na))
    assert again == na


def test_unquoted_display_name_is_normalised_to_single_spaces() -> None:
    """Token display names may be separated by any LWS."""
    na = NameAddr.parse("Bob   Smith <sip:bob@biloxi.com>")
    assert na.display_name == "Bob Smith"
    assert isinstance(na.uri, SipUri)
    assert na.uri.user == "bob"


def test_addr_spec_params_belong_to_the_header_not_the_uri() -> None:
    """RFC 3261 20.10: without <>, ;tag after the URI is a header parameter."""
    na = NameAddr.parse("sip:carol@chicago.com;tag=887s")
    assert na.tag == "887s"
    assert isinstance(na.uri, SipUri)
    assert na.uri.params == ()
    assert str(na) == "<sip:carol@chicago.com>;tag=887s"


def test_uri_params_inside_brackets_stay_with_the_uri() -> None:
    """<sip:x;lr>;expires=60: lr belongs to the URI, expires to the header."""
    na = NameAddr.parse("<sip:proxy.example.com;lr>;expires=60")
    assert isinstance(na.uri, SipUri)
    assert na.uri.lr
    assert na.param("expires") == "60"


def test_quoted_header_param_values_are_unquoted_on_read() -> None:
    """+sip.instance="<urn:uuid:...>" keeps quotes on the wire, not on read."""
    na = NameAddr.parse('<sip:a@b>;+sip.instance="<urn:uuid:1234>";reg-id=1')
    assert na.param("+sip.instance") == "<urn:uuid:1234>"
    assert '"<urn:uuid:1234>"' in str(na)


def test_with_tag_adds_or_replaces_the_tag() -> None:
    """Adding a tag to a To header, and replacing an existing one."""
    na = NameAddr.parse("<sip:bob@b.com>")
    assert na.with_tag("x").tag == "x"
    assert na.with_tag("x").with_tag("y").tag == "y"


@pytest.mark.parametrize(
    "text",
    ["", '"unterminated <sip:a@b>', '"Alice" sip:a@b', "Alice <sip:a@b", "<sip:a@b>;tag"],
)
def test_malformed_name_addrs(text: str) -> None:
    """Broken quoting or brackets raise SipParseError (a bare flag ;tag is allowed)."""
    if text == "<sip:a@b>;tag":
        assert NameAddr.parse(text).tag == ""
        return
    with pytest.raises(SipParseError):
        NameAddr.parse(text)


def test_quote_helpers_round_trip() -> None:
    """quote/unquote/read_quoted are inverses on awkward text."""
    raw = 'say "hi" \\ bye'
    assert unquote(quote(raw)) == raw
    assert read_quoted(quote(raw) + "rest", 0) == (raw, len(quote(raw)))
    with pytest.raises(SipParseError):
        unquote('"a"b')


def test_split_respects_quotes_and_brackets() -> None:
    """Commas inside quotes and <...> do not split."""
    parts = split_outside_quotes('"a,b" <sip:x?h=1,2>, <sip:y>', ",")
    assert parts == ['"a,b" <sip:x?h=1,2>', " <sip:y>"]


def test_params_parser_rejects_garbage() -> None:
    """Parameters must start with ';' and have names."""
    assert parse_params(";a=1;b") == (("a", "1"), ("b", None))
    for bad in ("a=1", ";=1", ";a="):
        with pytest.raises(SipParseError):
            parse_params(bad)


def test_host_port_variants() -> None:
    """hostport accepts names, IPv4 and IPv6 and validates the port."""
    assert parse_host_port("example.com") == ("example.com", None)
    assert parse_host_port("10.0.0.1:5060") == ("10.0.0.1", 5060)
    assert parse_host_port("[::1]:5060") == ("[::1]", 5060)
    for bad in ("", ":5060", "[::1]x", "host:"):
        with pytest.raises(SipParseError):
            parse_host_port(bad)


def test_uri_params_cannot_be_quoted_and_tel_checks_its_scheme() -> None:
    """Quoted strings belong to header params, not URI params; tel: needs its scheme."""
    with pytest.raises(SipParseError):
        SipUri.parse('sip:a@b;x="y"')
    with pytest.raises(SipParseError) as exc:
        TelUri.parse("sip:+123")
    assert exc.value.status == 416
    with pytest.raises(SipParseError):
        TelUri.parse("tel:+123;a b")
    with pytest.raises(SipParseError):
        NameAddr.parse("Bad;Name <sip:a@b>")
    with pytest.raises(SipParseError):
        parse_uri("urn:has space")
    assert bytes(TelUri.parse("tel:1")) == b"tel:1"
    assert SipUri.parse("sip:a@b").with_param("lr").lr
    assert NameAddr.parse("<sip:a@b>").with_param("expires", "5").param("expires") == "5"


_USER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()&=+$,;?/", min_size=1)
_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
_HOST = st.one_of(
    st.lists(_LABEL, min_size=1, max_size=4).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.just("[2001:db8::7]"),
)
_PNAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8)
_PVALUE = st.one_of(st.none(), st.text(alphabet="abcdefghijklmnop0123456789-.", min_size=1))


@settings(max_examples=200, deadline=None, database=None)
@given(
    scheme=st.sampled_from(["sip", "sips"]),
    user=st.one_of(st.none(), _USER.filter(lambda u: "@" not in u)),
    host=_HOST,
    port=st.one_of(st.none(), st.integers(0, 65535)),
    params=st.lists(st.tuples(_PNAME, _PVALUE), max_size=4),
)
def test_generated_sip_uris_round_trip(
    scheme: str,
    user: str | None,
    host: str,
    port: int | None,
    params: list[tuple[str, str | None]],
) -> None:
    """str() then parse() gives back the same URI for any grammatical parts."""
    uri = SipUri(host=host, user=user, port=port, params=tuple(params), scheme=scheme)
    assert SipUri.parse(str(uri)) == uri


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs", "Cc"]),
        max_size=30,
    )
)
def test_any_display_name_survives_quoting(display: str) -> None:
    """Quotes and backslashes in display names are escaped and restored."""
    na = NameAddr(uri=SipUri.parse("sip:a@b"), display_name=display, params=(("tag", "x"),))
    assert NameAddr.parse(str(na)) == na
