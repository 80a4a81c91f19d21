"""SIP requests and responses: parsing from bytes and serialising (RFC 3261 7, 18.3, 25).

A message is a frozen dataclass holding its start line, :class:`Headers` in wire order
and the body as bytes. ``parse_message`` is the single entry point for untrusted
input; anything that does not follow the grammar, is too large or is not UTF-8 raises
:class:`SipParseError`. Structured header accessors (``cseq``, ``vias``, ...) parse on
demand and raise the same error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from callcenter.sip.errors import SipParseError
from callcenter.sip.headers import (
    ContactList,
    CSeq,
    Headers,
    Via,
    canonical_name,
    parse_name_addrs,
    parse_vias,
    split_values,
)
from callcenter.sip.uri import NameAddr, Uri, parse_uri

SIP_VERSION: Final = "SIP/2.0"  # RFC 3261 7.1
MAX_MESSAGE_SIZE: Final = 64 * 1024  # our limit; RFC 3261 18.1.1 answers larger with 513
MAX_HEADERS: Final = 256  # our limit on header lines, against memory floods
MAX_HEADER_LINE: Final = 8 * 1024  # our limit on one unfolded header line
MAX_STARTLINE: Final = 8 * 1024
MAX_FORWARDS_DEFAULT: Final = 70  # RFC 3261 8.1.1.6

_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_VERSION_RE: Final = re.compile(r"^SIP/(\d+)\.(\d+)$", re.IGNORECASE)
_LINE_SPLIT_RE: Final = re.compile(r"\r?\n")
_SPACE_RE: Final = re.compile(r"\s")  # Unicode whitespace, as str.isspace
# NUL is refused even inside quoted-pairs (RFC 4475 3.1.1.3 allows it): it breaks
# C strings, logs and PostgreSQL text columns downstream. A CR is bare when no LF
# follows it (the line breaks are CRLF or LF).
_FORBIDDEN_IN_HEAD_RE: Final = re.compile(r"\x00|\r(?!\n)")

# RFC 3261 21 and friends.
REASON_PHRASES: Final[dict[int, str]] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status, REASON_PHRASES.get(status // 100 * 100, "Unknown"))


# Parsed header values are immutable, so one parse per distinct text serves every
# access: a B2BUA reads Via, CSeq, From and To of each message several times. The
# caches are bounded, so a flood of distinct values only recycles them.
_PARSE_CACHE: Final = 4096
_parse_cseq = functools.lru_cache(maxsize=_PARSE_CACHE)(CSeq.parse)
_parse_name_addr = NameAddr.parse  # cached where it is defined


@functools.lru_cache(maxsize=_PARSE_CACHE)
def _first_via(field_value: str) -> Via | None:
    """The first Via of one Via field (which may list several), None if it lists none."""
    values = split_values(field_value)
    return Via.parse(values[0]) if values else None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # --- structured accessors (RFC 3261 8.1.1) ---
    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    @property
    def call_id(self) -> str:
        value = self._required("Call-ID").strip()
        if not value or _SPACE_RE.search(value):
            raise SipParseError("bad Call-ID")
        return value

    @property
    def cseq(self) -> CSeq:
        return _parse_cseq(self._required("CSeq"))

    @property
    def vias(self) -> list[Via]:
        return parse_vias(self.headers.get_all("Via"))

    @property
    def top_via(self) -> Via:
        first = self.headers.get("Via")
        via = _first_via(first) if first is not None else None
        if via is not None:
            return via
        values = self.headers.get_all("Via")  # the first field listed none: look further
        if not values:
            raise SipParseError("missing Via header")
        return Via.parse(values[0])

    @property
    def from_addr(self) -> NameAddr:
        return _parse_name_addr(self._required("From"))

    @property
    def to_addr(self) -> NameAddr:
        return _parse_name_addr(self._required("To"))

    @property
    def contacts(self) -> ContactList:
        return ContactList.parse(self.headers.get_all("Contact"))

    @property
    def record_route(self) -> list[NameAddr]:
        return parse_name_addrs(self.headers.get_all("Record-Route"))

    @property
    def route(self) -> list[NameAddr]:
        return parse_name_addrs(self.headers.get_all("Route"))

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return None if value is None else value.split(";")[0].strip().lower()

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        value = value.strip()
        if not value.isdigit() or not value.isascii() or len(value) > 10:
            raise SipParseError("bad Max-Forwards")
        return min(int(value), 255)

    def _head_lines(self) -> list[str]:
        lines: list[str] = []
        length_written = False
        for name, value in self.headers.fields:
            if name == "Content-Length":
                if length_written:
                    continue
                value = str(len(self.body))
                length_written = True
            lines.append(f"{name}: {value}")
        if not length_written:
            lines.append(f"Content-Length: {len(self.body)}")
        return lines

    def _serialise(self, start_line: str) -> bytes:
        head = "\r\n".join([start_line, *self._head_lines()]) + "\r\n\r\n"
        return head.encode("utf-8") + self.body


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(_Message):
    """A SIP request (RFC 3261 7.1)."""

    method: str
    uri: Uri

    @classmethod
    def build(
        cls, method: str, uri: Uri | str, headers: Iterable[tuple[str, str]], body: bytes = b""
    ) -> Request:
        if not _TOKEN_RE.match(method):
            raise SipParseError(f"bad method {method!r}")
        target = parse_uri(uri) if isinstance(uri, str) else uri
        return cls(method=method, uri=target, headers=Headers.of(*headers), body=body)

    @classmethod
    def parse(cls, data: bytes, *, datagram: bool = True) -> Request:
        msg = parse_message(data, datagram=datagram)
        if not isinstance(msg, Request):
            raise SipParseError("expected a request, got a response")
        return msg

    def __bytes__(self) -> bytes:
        return self._serialise(f"{self.method} {self.uri} {SIP_VERSION}")

    def with_headers(self, headers: Headers) -> Request:
        return Request(method=self.method, uri=self.uri, headers=headers, body=self.body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response(_Message):
    """A SIP response (RFC 3261 7.2). An empty ``reason`` gets the standard phrase."""

    status: int
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.reason:
            object.__setattr__(self, "reason", reason_phrase(self.status))

    @classmethod
    def parse(cls, data: bytes, *, datagram: bool = True) -> Response:
        msg = parse_message(data, datagram=datagram)
        if not isinstance(msg, Response):
            raise SipParseError("expected a response, got a request")
        return msg

    def __bytes__(self) -> bytes:
        return self._serialise(f"{SIP_VERSION} {self.status} {self.reason}")

    @property
    def is_provisional(self) -> bool:
        return 100 <= self.status < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def is_final(self) -> bool:
        return self.status >= 200

    def with_headers(self, headers: Headers) -> Response:
        return Response(status=self.status, reason=self.reason, headers=headers, body=self.body)


Message = Request | Response


def _decode_head(head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"header section is not UTF-8 (byte {exc.start})") from None


def _find_head_end(data: bytes) -> tuple[int, int]:
    """Index where the header section ends and where the body starts."""
    candidates = [(i, i + 4) for i in (data.find(b"\r\n\r\n"),) if i >= 0]
    candidates += [(i, i + 2) for i in (data.find(b"\n\n"),) if i >= 0]
    if not candidates:
        raise SipParseError("no empty line after the header section")
    return min(candidates)


def _parse_start_line(line: str) -> tuple[str, str, str]:
    if len(line) > MAX_STARTLINE:
        raise SipParseError("start line too long", status=414)
    parts = line.split(" ", 2)
    if len(parts) == 2 and parts[0].upper().startswith("SIP/"):
        parts.append("")  # Status-Line with an empty Reason-Phrase and no SP (lenient)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise SipParseError(f"bad start line {line[:60]!r}")
    if not parts[2] and not parts[0].upper().startswith("SIP/"):
        raise SipParseError(f"bad request line {line[:60]!r}")
    return parts[0], parts[1], parts[2]


def _check_version(version: str) -> None:
    m = _VERSION_RE.match(version)
    if not m:
        raise SipParseError(f"bad SIP version {version[:20]!r}")
    if (int(m.group(1)), int(m.group(2))) != (2, 0):
        raise SipParseError(f"unsupported SIP version {version[:20]!r}", status=505)


def _parse_header_lines(lines: list[str], folded: bool = True) -> Headers:
    """Header fields from the lines after the start line; ``folded`` is False when no
    line starts with whitespace (nothing to unfold: the common case, done faster)."""
    if not folded:
        if lines and max(map(len, lines)) > MAX_HEADER_LINE:
            raise SipParseError("header line too long")
        if len(lines) > MAX_HEADERS:
            raise SipParseError("too many header lines")
        simple: list[tuple[str, str]] = []
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise SipParseError(f"header line without ':' {line[:40]!r}")
            simple.append((canonical_name(name.rstrip(" \t")), value.strip(" \t")))
        return Headers(tuple(simple))
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            # RFC 3261 7.3.1: a line starting with whitespace continues the previous one.
            if not unfolded:
                raise SipParseError("continuation line before the first header")
            unfolded[-1] = unfolded[-1].rstrip(" \t") + " " + line.strip(" \t")
        else:
            unfolded.append(line)
        if len(unfolded[-1]) > MAX_HEADER_LINE:
            raise SipParseError("header line too long")
    if len(unfolded) > MAX_HEADERS:
        raise SipParseError("too many header lines")
    fields: list[tuple[str, str]] = []
    for line in unfolded:
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"header line without ':' {line[:40]!r}")
        value = value.strip(" \t")
        fields.append((canonical_name(name.rstrip(" \t")), value))
    return Headers(tuple(fields))


def _content_length(headers: Headers) -> int | None:
    values = {v.strip() for n, v in headers.fields if n == "Content-Length"}
    if not values:
        return None
    if len(values) > 1:
        raise SipParseError("conflicting Content-Length headers")
    (value,) = values
    if not value.isdigit() or not value.isascii() or len(value) > 9:
        raise SipParseError("bad Content-Length")
    return int(value)


def parse_message(data: bytes, *, datagram: bool = True) -> Request | Response:
    """Parse one SIP message.

    ``datagram`` is True for UDP: without Content-Length the body is the rest of the
    datagram (RFC 3261 18.3). Over a stream Content-Length is mandatory. A body
    shorter than Content-Length is an error; bytes after it are discarded (18.3).
    """
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large", status=513)
    data = data.lstrip(b"\r\n")  # RFC 3261 7.5: ignore CRLFs before the start line
    if not data:
        raise SipParseError("empty message")
    head_end, body_start = _find_head_end(data)
    head = _decode_head(data[:head_end])
    if _FORBIDDEN_IN_HEAD_RE.search(head):
        raise SipParseError("bare CR or NUL in header section")
    lines = _LINE_SPLIT_RE.split(head)
    first, second, third = _parse_start_line(lines[0])
    headers = _parse_header_lines(lines[1:], folded="\n " in head or "\n\t" in head)
    body = data[body_start:]
    length = _content_length(headers)
    if length is None:
        if not datagram:
            raise SipParseError("Content-Length is required on stream transports")
    elif length > len(body):
        raise SipParseError("body shorter than Content-Length")
    else:
        body = body[:length]
    if first.upper().startswith("SIP/"):
        _check_version(first)
        if len(second) != 3 or not second.isdigit() or not second.isascii():
            raise SipParseError(f"bad status code {second[:10]!r}")
        status = int(second)
        if not 100 <= status <= 699:
            raise SipParseError(f"status code out of range: {status}")
        return Response(headers=headers, body=body, status=status, reason=third)
    if not _TOKEN_RE.match(first):
        raise SipParseError(f"bad method {first[:20]!r}")
    _check_version(third)
    uri = parse_uri(second)
    return Request(headers=headers, body=body, method=first, uri=uri)


def split_stream(buffer: bytes) -> tuple[bytes | None, bytes]:
    """Frame one message from a stream buffer (RFC 3261 18.3).

    Returns ``(message, rest)``, or ``(None, buffer)`` when more bytes are needed.
    A missing or bad Content-Length raises :class:`SipParseError` (close the stream).
    """
    stripped = buffer.lstrip(b"\r\n")
    try:
        head_end, body_start = _find_head_end(stripped)
    except SipParseError:
        if len(stripped) > MAX_MESSAGE_SIZE:
            raise SipParseError("header section too large", status=513) from None
        return None, buffer
    head = _decode_head(stripped[:head_end])
    length: int | None = None
    for line in _LINE_SPLIT_RE.split(head)[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in ("content-length", "l"):
            value = value.strip()
            if not value.isdigit() or not value.isascii() or len(value) > 9:
                raise SipParseError("bad Content-Length")
            length = int(value)
    if length is None:
        raise SipParseError("Content-Length is required on stream transports")
    end = body_start + length
    if end > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large", status=513)
    if len(stripped) < end:
        return None, buffer
    return stripped[:end], stripped[end:]


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """Build a response to ``request`` as RFC 3261 8.2.6.2 says.

    Copies Via (all, in order), From, Call-ID, CSeq and To, adding ``to_tag`` to To
    when it has none and the status is above 100. 100 Trying copies Timestamp (8.2.6.1).
    Record-Route is copied for dialog-creating responses (12.1.1).
    """
    if not 100 <= status <= 699:
        raise ValueError(f"status {status} out of range")
    fields: list[tuple[str, str]] = [("Via", v) for v in request.headers.get_all("Via")]
    from_value = request.headers.get("From") or ""
    to_value = request.headers.get("To") or ""
    if to_tag is not None and status > 100:
        try:
            to_addr = _parse_name_addr(to_value)
            if to_addr.tag is None:
                to_value = str(to_addr.with_tag(to_tag))
        except SipParseError:
            pass
    fields += [
        ("From", from_value),
        ("To", to_value),
        ("Call-ID", request.headers.get("Call-ID") or ""),
        ("CSeq", request.headers.get("CSeq") or ""),
    ]
    if status == 100 and (timestamp := request.headers.get("Timestamp")) is not None:
        fields.append(("Timestamp", timestamp))
    if 100 < status < 300:
        fields += [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
    resp_headers = Headers(tuple(fields)).extend(headers)
    return Response(
        status=status,
        reason=reason if reason is not None else reason_phrase(status),
        headers=resp_headers,
        body=body,
    )
