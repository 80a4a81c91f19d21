"""SIP, SIPS and TEL URIs and the name-addr form (RFC 3261 19.1, 20.10, 25.1; RFC 3966).

Values are kept as written (escapes are not decoded) so that serialising a parsed
URI gives back the same text; lookups of parameter names are case-insensitive.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Final

from callcenter.sip.errors import SipParseError

Params = tuple[tuple[str, str | None], ...]

# RFC 3261 25.1: token, and the characters that may never appear unescaped in a URI.
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_HOSTNAME_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9\-_.]*[A-Za-z0-9])?\.?$")
_IPV4_RE: Final = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_IPV6_RE: Final = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
_URI_FORBIDDEN_RE: Final = re.compile(r'[ \t\r\n<>"\x00]')
_BAD_PARAM_VALUE_RE: Final = re.compile(r'[ \t\r\n<>"\x00,;]')
_BAD_PARAM_NAME_RE: Final = re.compile(r'[ \t\r\n<>"\x00,;=?&]')
_TEL_NUMBER_RE: Final = re.compile(r"^\+?[0-9A-Fa-f*#\-.()]+$")
_SCHEME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*$")
MAX_PORT: Final = 65535


def is_token(text: str) -> bool:
    """True when ``text`` is an RFC 3261 25.1 ``token``."""
    return bool(_TOKEN_RE.match(text))


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted-string (RFC 3261 25.1) opening at ``text[start]``.

    Returns the unescaped content and the index just after the closing quote.
    """
    if start >= len(text) or text[start] != '"':
        raise SipParseError("expected a quoted string")
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise SipParseError("unterminated quoted string")


def quote(text: str) -> str:
    """Render ``text`` as an RFC 3261 quoted-string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(value: str) -> str:
    """Strip the quotes of a quoted-string, or return a token unchanged."""
    if value.startswith('"'):
        content, end = read_quoted(value, 0)
        if end != len(value):
            raise SipParseError("text after quoted string")
        return content
    return value


_SPECIALS_RE: dict[str, re.Pattern[str]] = {}


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is outside quoted strings and ``<...>``.

    Only the characters that matter (quote, backslash, angle brackets, ``sep``) are
    visited; text with no quote and no ``<`` is a plain split.
    """
    if '"' not in text and "<" not in text:
        return text.split(sep)
    pattern = _SPECIALS_RE.get(sep)
    if pattern is None:
        pattern = _SPECIALS_RE[sep] = re.compile("[" + re.escape('\\"<>' + sep) + "]")
    parts: list[str] = []
    depth = 0
    in_quote = False
    start = 0
    skip = -1  # index of a character escaped by a backslash inside quotes
    for match in pattern.finditer(text):
        i = match.start()
        if i == skip:
            continue
        ch = text[i]
        if in_quote:
            if ch == "\\":
                skip = i + 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            if depth:
                depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if in_quote:
        raise SipParseError("unterminated quoted string")
    parts.append(text[start:])
    return parts


def parse_params(text: str, *, allow_quoted: bool = True) -> Params:
    """Parse ``;name=value;flag`` (RFC 3261 25.1 generic-param) into ordered pairs.

    Values keep their quotes, so that serialising reproduces the input.
    """
    text = text.strip()
    if not text:
        return ()
    if not text.startswith(";"):
        raise SipParseError(f"expected ';' before parameters: {text[:40]!r}")
    pieces = split_outside_quotes(text[1:], ";") if allow_quoted else text[1:].split(";")
    out: list[tuple[str, str | None]] = []
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not name or not _param_name_ok(name):
            raise SipParseError(f"bad parameter name {name!r}")
        if not eq:
            out.append((name, None))
            continue
        value = value.strip()
        if value.startswith('"'):
            if not allow_quoted:
                raise SipParseError("quoted value not allowed here")
            unquote(value)  # validates
        elif not value or _BAD_PARAM_VALUE_RE.search(value):
            raise SipParseError(f"bad value for parameter {name!r}")
        out.append((name, value))
    return tuple(out)


def _param_name_ok(name: str) -> bool:
    return _BAD_PARAM_NAME_RE.search(name) is None


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def get_param(params: Params, name: str) -> str | None:
    """The value of parameter ``name`` (case-insensitive), unquoted; '' for a flag."""
    lname = name.lower()
    for k, v in params:
        if k.lower() == lname:
            return "" if v is None else unquote(v)
    return None


def has_param(params: Params, name: str) -> bool:
    lname = name.lower()
    return any(k.lower() == lname for k, _ in params)


def set_param(params: Params, name: str, value: str | None) -> Params:
    """Return ``params`` with ``name`` set (replacing in place, else appended)."""
    lname = name.lower()
    out = [(k, value) if k.lower() == lname else (k, v) for k, v in params]
    if not has_param(params, name):
        out.append((name, value))
    return tuple(out)


def remove_param(params: Params, name: str) -> Params:
    lname = name.lower()
    return tuple((k, v) for k, v in params if k.lower() != lname)


@functools.lru_cache(maxsize=1024)  # immutable result; bounded against floods
def parse_host_port(text: str) -> tuple[str, int | None]:
    """Parse ``hostport`` (RFC 3261 25.1): hostname, IPv4 or [IPv6], optional port."""
    if not text:
        raise SipParseError("empty host")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError("unterminated IPv6 reference")
        host, rest = text[: end + 1], text[end + 1 :]
    else:
        host, colon, port_text = text.partition(":")
        rest = colon + port_text
    _check_host(host)
    if not rest:
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit() or not rest[1:].isascii():
        raise SipParseError(f"bad port in {text!r}")
    port = int(rest[1:])
    if port > MAX_PORT:
        raise SipParseError(f"port out of range in {text!r}")
    return host, port


def _check_host(host: str) -> None:
    if not host.isascii():
        raise SipParseError(f"bad host {host!r}")
    if _IPV6_RE.match(host):
        return
    if _IPV4_RE.match(host):
        if any(int(octet) > 255 for octet in host.split(".")):
            raise SipParseError(f"bad IPv4 address {host!r}")
        return
    if not _HOSTNAME_RE.match(host):
        raise SipParseError(f"bad host {host!r}")


def format_host_port(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI (RFC 3261 19.1.1)."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str = "sip"

    @classmethod
    def parse(cls, text: str) -> SipUri:
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise SipParseError(f"not a SIP URI: {text[:60]!r}", status=416)
        if _URI_FORBIDDEN_RE.search(rest):
            raise SipParseError(f"forbidden character in URI {text[:60]!r}")
        user: str | None = None
        password: str | None = None
        at = rest.find("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, pcolon, pw = userinfo.partition(":")
            if not user:
                raise SipParseError("empty user part in URI")
            password = pw if pcolon else None
        hostport_end = len(rest)
        for sep in ";?":
            idx = rest.find(sep)
            if 0 <= idx < hostport_end:
                hostport_end = idx
        host, port = parse_host_port(rest[:hostport_end])
        tail = rest[hostport_end:]
        params_text, qmark, headers_text = tail.partition("?")
        params = parse_params(params_text, allow_quoted=False)
        headers: list[tuple[str, str]] = []
        if qmark:
            for item in headers_text.split("&"):
                hname, eq, hvalue = item.partition("=")
                if not hname or not eq:
                    raise SipParseError(f"bad URI header {item!r}")
                headers.append((hname, hvalue))
        return cls(
            host=host,
            user=user,
            password=password,
            port=port,
            params=params,
            headers=tuple(headers),
            scheme=scheme.lower(),
        )

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user
            if self.password is not None:
                userinfo += ":" + self.password
            userinfo += "@"
        text = f"{self.scheme}:{userinfo}{format_host_port(self.host, self.port)}"
        text += format_params(self.params)
        if self.headers:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.headers)
        return text

    def __bytes__(self) -> bytes:
        return str(self).encode()

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_param(self, name: str, value: str | None = None) -> SipUri:
        params = set_param(self.params, name, value)
        return SipUri(
            self.host, self.user, self.password, self.port, params, self.headers, self.scheme
        )

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return value.lower() if value else None

    @property
    def lr(self) -> bool:
        """RFC 3261 19.1.1: the ``lr`` parameter marks a loose router."""
        return has_param(self.params, "lr")

    @property
    def secure(self) -> bool:
        return self.scheme == "sips"

    def without_headers(self) -> SipUri:
        if not self.headers:
            return self
        return SipUri(self.host, self.user, self.password, self.port, self.params, (), self.scheme)


@dataclass(frozen=True, slots=True)
class TelUri:
    """A ``tel:`` URI (RFC 3966): a number and its parameters."""

    number: str
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> TelUri:
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() != "tel":
            raise SipParseError(f"not a tel URI: {text[:60]!r}", status=416)
        number, semi, params_text = rest.partition(";")
        if not _TEL_NUMBER_RE.match(number) or not number.isascii():
            raise SipParseError(f"bad telephone number {number!r}")
        if _URI_FORBIDDEN_RE.search(params_text):
            raise SipParseError("forbidden character in tel URI")
        params = parse_params(semi + params_text, allow_quoted=False)
        return cls(number=number, params=params)

    def __str__(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"

    def __bytes__(self) -> bytes:
        return str(self).encode()

    @property
    def is_global(self) -> bool:
        return self.number.startswith("+")

    @property
    def digits(self) -> str:
        """The number without visual separators (RFC 3966 5.1.1)."""
        return "".join(c for c in self.number if c not in "-.()")


@dataclass(frozen=True, slots=True)
class OtherUri:
    """An absoluteURI of another scheme (answered with 416 where a SIP URI is needed)."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"

    def __bytes__(self) -> bytes:
        return str(self).encode()


Uri = SipUri | TelUri | OtherUri


@functools.lru_cache(maxsize=4096)  # URIs are immutable and repeat; bounded
def parse_uri(text: str) -> Uri:
    """Parse any URI a SIP message can carry (RFC 3261 25.1 Request-URI)."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.match(scheme) or not rest:
        raise SipParseError(f"bad URI {text[:60]!r}")
    lower = scheme.lower()
    if lower in ("sip", "sips"):
        return SipUri.parse(text)
    if lower == "tel":
        return TelUri.parse(text)
    if _URI_FORBIDDEN_RE.search(rest):
        raise SipParseError(f"forbidden character in URI {text[:60]!r}")
    return OtherUri(scheme=scheme, rest=rest)


_DISPLAY_TOKENS_RE: Final = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~\s\x80-\U0010ffff]*$")


@dataclass(frozen=True, slots=True)
class NameAddr:
    """``[display-name] <URI> *(;param)`` as in From, To, Contact, Route (RFC 3261 20.10)."""

    uri: Uri
    display_name: str | None = None
    params: Params = field(default=())

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse a name-addr or addr-spec; equal texts give the same (immutable) result
        from a bounded cache (From, To and Contact repeat in every message of a call)."""
        return _parse_name_addr(text)

    @staticmethod
    def _parse(text: str) -> NameAddr:
        s = text.strip()
        if not s:
            raise SipParseError("empty name-addr")
        display: str | None = None
        if s.startswith('"'):
            display, end = read_quoted(s, 0)
            rest = s[end:].lstrip()
            if not rest.startswith("<"):
                raise SipParseError("quoted display name must be followed by <URI>")
        elif "<" in s:
            lt = s.index("<")
            tokens = " ".join(s[:lt].split())
            if not _DISPLAY_TOKENS_RE.match(tokens):
                raise SipParseError(f"bad display name {tokens!r}")
            display = tokens or None
            rest = s[lt:]
        else:
            # addr-spec: parameters after the URI belong to the header (RFC 3261 20.10).
            semi = s.find(";")
            uri_text, params_text = (s, "") if semi < 0 else (s[:semi], s[semi:])
            return NameAddr(uri=parse_uri(uri_text), params=parse_params(params_text))
        gt = rest.find(">")
        if gt < 0:
            raise SipParseError("missing '>' in name-addr")
        uri = parse_uri(rest[1:gt])
        return NameAddr(uri=uri, display_name=display, params=parse_params(rest[gt + 1 :]))

    def __str__(self) -> str:
        prefix = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{prefix}<{self.uri}>{format_params(self.params)}"

    def __bytes__(self) -> bytes:
        return str(self).encode()

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter of From/To (RFC 3261 19.3)."""
        return self.param("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display_name, set_param(self.params, "tag", tag))

    def with_param(self, name: str, value: str | None) -> NameAddr:
        return NameAddr(self.uri, self.display_name, set_param(self.params, name, value))


_parse_name_addr: Final = functools.lru_cache(maxsize=4096)(NameAddr._parse)
