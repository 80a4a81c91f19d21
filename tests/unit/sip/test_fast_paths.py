"""The parser's fast paths give exactly what the plain ones give.

The core skips work where it can (list splitting that only looks at quotes and
brackets, a header section without folded lines, caches of parsed values): each
test here holds a fast path to the behaviour of the straightforward one, including
the errors for malformed input, which are never cached.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.errors import SipParseError
from callcenter.sip.headers import Via
from callcenter.sip.message import MAX_HEADERS, parse_message
from callcenter.sip.sdp import SessionDescription
from callcenter.sip.uri import NameAddr, parse_host_port, parse_uri, split_outside_quotes


def split_reference(text: str, sep: str) -> list[str]:
    """The character-by-character definition of splitting outside quotes and <...>."""
    parts: list[str] = []
    depth = 0
    in_quote = False
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quote:
            current.append(ch)
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
            current.append(ch)
        elif ch == "<":
            depth += 1
            current.append(ch)
        elif ch == ">":
            depth = max(0, depth - 1)
            current.append(ch)
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if in_quote:
        raise SipParseError("unterminated quoted string")
    parts.append("".join(current))
    return parts


@settings(max_examples=400, deadline=None, database=None)
@given(text=st.text(alphabet='ab ,;<>"\\=', max_size=40), sep=st.sampled_from([",", ";"]))
def test_splitting_agrees_with_the_character_by_character_definition(text: str, sep: str) -> None:
    """Any mix of separators, quotes, escapes and brackets splits the same way, and an
    unterminated quote is an error in both."""
    try:
        expected = split_reference(text, sep)
    except SipParseError:
        with pytest.raises(SipParseError):
            split_outside_quotes(text, sep)
        return
    assert split_outside_quotes(text, sep) == expected


def test_splitting_keeps_escaped_quotes_and_separators_inside_quotes() -> None:
    value = r'"a \", b" <sip:x;lr>, <sip:y>;q=1, "c\\", d'
    assert split_outside_quotes(value, ",") == split_reference(value, ",")
    assert split_outside_quotes(value, ",") == [
        r'"a \", b" <sip:x;lr>',
        " <sip:y>;q=1",
        r' "c\\"',
        " d",
    ]


def test_cached_parses_equal_fresh_ones_and_errors_are_never_cached() -> None:
    """The caches hand back values equal to an uncached parse; bad input raises on
    every attempt, however often it comes."""
    via = "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-fast-1;rport"
    assert Via.parse(via) == Via._parse(via)
    assert Via.parse(via) is Via.parse(via)
    name_addr = '"Bob" <sip:bob@example.com:5060;transport=udp>;tag=abc'
    assert NameAddr.parse(name_addr) == NameAddr._parse(name_addr)
    assert parse_host_port("example.com:5060") == ("example.com", 5060)
    sdp = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
    assert SessionDescription.parse(sdp) == SessionDescription._parse(sdp)
    for _ in range(3):
        with pytest.raises(SipParseError):
            Via.parse("SIP/2.0/UDP bad host;branch=x")
        with pytest.raises(SipParseError):
            NameAddr.parse("<sip:a@b")
        with pytest.raises(SipParseError):
            parse_host_port("example.com:99999")
        with pytest.raises(SipParseError):
            parse_uri("sip:a b@c")


def request(*headers: str) -> bytes:
    lines = ["OPTIONS sip:a@example.com SIP/2.0", *headers, "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


BASE = (
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-fast",
    "From: <sip:b@example.com>;tag=1",
    "To: <sip:a@example.com>",
    "Call-ID: fast@example.com",
    "CSeq: 1 OPTIONS",
)


def test_a_section_without_folding_reads_as_one_with_it() -> None:
    """Folded lines are unfolded; the same fields unfolded read the same."""
    folded = parse_message(request(*BASE[:3], "Subject: one\r\n  two", *BASE[3:]))
    plain = parse_message(request(*BASE[:3], "Subject: one two", *BASE[3:]))
    assert folded.headers == plain.headers
    assert plain.headers.get("Subject") == "one two"
    compact = parse_message(request("v: " + BASE[0][5:], "f: <sip:b@example.com>;tag=1"))
    assert compact.headers.get("From") == "<sip:b@example.com>;tag=1"
    assert compact.top_via.branch == "z9hG4bK-fast"


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ((*BASE, "NoColonHere"), "without ':'"),
        ((*BASE, "X-Long: " + "a" * 9000), "too long"),
        (BASE + tuple(f"X-{n}: v" for n in range(MAX_HEADERS)), "too many"),
        ((*BASE, "Bad Name: v"), "bad header name"),
        ((*BASE, "X-Cr: a\rb"), "bare CR"),
        ((*BASE, "X-Nul: a\x00b"), "NUL"),
    ],
)
def test_the_fast_path_refuses_what_the_grammar_refuses(
    lines: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(SipParseError, match=problem):
        parse_message(request(*lines))
