"""Header names, multi-valued headers and the structured headers the core reads.

RFC 3261 7.3: header names are case-insensitive and have compact forms; several
values of a header may be combined with commas (except where the grammar already
uses commas, e.g. WWW-Authenticate). :class:`Headers` keeps fields in wire order under
their canonical names; Via, CSeq and Contact have their own frozen types.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from callcenter.sip.errors import SipParseError
from callcenter.sip.uri import (
    NameAddr,
    Params,
    format_host_port,
    format_params,
    get_param,
    parse_host_port,
    parse_params,
    set_param,
    split_outside_quotes,
)

# RFC 3261 7.3.3 and 20, RFC 3265 7.2, RFC 3515 7.3, RFC 3892, RFC 4028: compact forms.
COMPACT_FORMS: Final[dict[str, str]] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_SPECIAL_SPELLINGS: Final[dict[str, str]] = {
    name.lower(): name
    for name in (
        "Call-ID",
        "CSeq",
        "WWW-Authenticate",
        "MIME-Version",
        "RAck",
        "RSeq",
        "SIP-ETag",
        "SIP-If-Match",
        "P-Asserted-Identity",
        "P-Preferred-Identity",
        "Min-SE",
        "P-Charging-Vector",
        "Alert-Info",
    )
}

# RFC 3261 7.3.1: headers whose grammar is a comma-separated list.
MULTI_VALUED: Final = frozenset(
    {
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Path",
        "Service-Route",
        "Allow",
        "Allow-Events",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Content-Encoding",
        "Content-Language",
        "In-Reply-To",
        "Alert-Info",
        "Call-Info",
        "Error-Info",
        "Reason",
        "P-Asserted-Identity",
    }
)

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


@functools.lru_cache(maxsize=1024)  # bounded: a flood of odd names only recycles it
def canonical_name(name: str) -> str:
    """Canonical spelling of a header name: expands compact forms, fixes case."""
    if not _NAME_RE.match(name):
        raise SipParseError(f"bad header name {name[:40]!r}")
    lower = name.lower()
    if len(lower) == 1 and lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    special = _SPECIAL_SPELLINGS.get(lower)
    if special is not None:
        return special
    return "-".join(part[:1].upper() + part[1:] for part in lower.split("-"))


def split_values(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and ``<...>``."""
    return [v.strip() for v in split_outside_quotes(value, ",") if v.strip()]


@dataclass(frozen=True, slots=True)
class Headers:
    """Ordered header fields ``(canonical name, value)``; one entry per wire line."""

    fields: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, *pairs: tuple[str, str]) -> Headers:
        return cls(tuple((canonical_name(n), v) for n, v in pairs))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get(self, name: str) -> str | None:
        """The value of the first field called ``name``, or None."""
        cname = canonical_name(name)
        for n, v in self.fields:
            if n == cname:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``; list headers are split on commas (RFC 3261 7.3.1)."""
        cname = canonical_name(name)
        out: list[str] = []
        for n, v in self.fields:
            if n == cname:
                if cname in MULTI_VALUED:
                    out.extend(split_values(v))
                else:
                    out.append(v)
        return out

    def add(self, name: str, value: str) -> Headers:
        return Headers((*self.fields, (canonical_name(name), value)))

    def prepend(self, name: str, value: str) -> Headers:
        return Headers(((canonical_name(name), value), *self.fields))

    def remove(self, name: str) -> Headers:
        cname = canonical_name(name)
        return Headers(tuple((n, v) for n, v in self.fields if n != cname))

    def set(self, name: str, value: str) -> Headers:
        """Replace every ``name`` field by one with ``value``, where the first one was."""
        cname = canonical_name(name)
        out: list[tuple[str, str]] = []
        done = False
        for n, v in self.fields:
            if n == cname:
                if not done:
                    out.append((n, value))
                    done = True
            else:
                out.append((n, v))
        if not done:
            out.append((cname, value))
        return Headers(tuple(out))

    def extend(self, pairs: Iterable[tuple[str, str]]) -> Headers:
        return Headers((*self.fields, *((canonical_name(n), v) for n, v in pairs)))


MAGIC_COOKIE: Final = "z9hG4bK"  # RFC 3261 8.1.1.7: branch prefix of RFC 3261 elements


_VIA_PROTOCOL_RE: Final = re.compile(r"([^/\s]+)\s*/\s*([^/\s]+)\s*/\s*([^\s;/]+)\s+")


def _squeeze_colon(sent_by: str) -> str:
    """Remove the LWS RFC 3261 allows around the COLON of ``host : port``."""
    if " " not in sent_by and "\t" not in sent_by:
        return sent_by
    if sent_by.startswith("["):
        end = sent_by.find("]")
        if end < 0:
            return sent_by
        host, tail = sent_by[: end + 1], sent_by[end + 1 :].strip()
    else:
        host, colon, port = sent_by.partition(":")
        host, tail = host.strip(), (colon + port) if colon else ""
    if tail.startswith(":"):
        tail = ":" + tail[1:].strip()
    return host + tail


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value (RFC 3261 20.42): ``SIP/2.0/UDP host:port;branch=...``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via value. Equal texts give the same (immutable) Via from a bounded
        cache: a Via we build is read again for its transaction key and comes back in
        the responses."""
        return _parse_via(text)

    @staticmethod
    def _parse(text: str) -> Via:
        text = text.strip()
        # Linear-time on purpose: no backtracking pattern over the whole value.
        m = _VIA_PROTOCOL_RE.match(text)
        if not m:
            raise SipParseError(f"bad Via {text[:60]!r}")
        name, version, transport = m.groups()
        if name.upper() != "SIP" or version != "2.0":
            raise SipParseError(f"bad Via protocol in {text[:60]!r}")
        rest = text[m.end() :]
        semi = rest.find(";")
        sent_by, params_text = (rest, "") if semi < 0 else (rest[:semi], rest[semi:])
        host, port = parse_host_port(_squeeze_colon(sent_by.strip()))
        params = parse_params(params_text)
        via = Via(transport=transport.upper(), host=host, port=port, params=params)
        rport = via.param("rport")
        if rport and not (rport.isdigit() and rport.isascii() and int(rport) <= 65535):
            raise SipParseError(f"bad rport in Via {text[:60]!r}")
        return via

    def __str__(self) -> str:
        hp = format_host_port(self.host, self.port)
        return f"SIP/2.0/{self.transport} {hp}{format_params(self.params)}"

    def __bytes__(self) -> bytes:
        return str(self).encode()

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_param(self, name: str, value: str | None) -> Via:
        return Via(self.transport, self.host, self.port, set_param(self.params, name, value))

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> int | None:
        """The filled-in ``rport`` (RFC 3581 4); None if absent or only requested."""
        value = self.param("rport")
        return int(value) if value else None

    @property
    def wants_rport(self) -> bool:
        return self.param("rport") is not None

    @property
    def sent_by(self) -> str:
        return format_host_port(self.host, self.port).lower()

    @property
    def is_rfc3261_branch(self) -> bool:
        branch = self.branch
        return branch is not None and branch.startswith(MAGIC_COOKIE)

    @property
    def reliable(self) -> bool:
        return self.transport not in ("UDP", "DTLS")


_parse_via: Final = functools.lru_cache(maxsize=4096)(Via._parse)


def parse_vias(values: Iterable[str]) -> list[Via]:
    return [Via.parse(v) for v in values]


_METHOD_RE: Final = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
MAX_CSEQ: Final = 2**31 - 1  # RFC 3261 8.1.1.5: sequence number less than 2**31


@dataclass(frozen=True, slots=True)
class CSeq:
    """CSeq (RFC 3261 20.16): sequence number and method."""

    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii():
            raise SipParseError(f"bad CSeq {text[:40]!r}")
        seq = int(parts[0])
        if seq > MAX_CSEQ or len(parts[0]) > 10:
            raise SipParseError("CSeq number out of range")
        if not _METHOD_RE.match(parts[1]):
            raise SipParseError(f"bad CSeq method {parts[1][:20]!r}")
        return cls(seq=seq, method=parts[1])

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"

    def __bytes__(self) -> bytes:
        return str(self).encode()


@dataclass(frozen=True, slots=True)
class ContactList:
    """A Contact header: either ``*`` (REGISTER removal, RFC 3261 10.2.2) or name-addrs."""

    contacts: tuple[NameAddr, ...] = ()
    star: bool = False

    @classmethod
    def parse(cls, values: Iterable[str]) -> ContactList:
        items = [v for value in values for v in split_values(value)]
        if items == ["*"]:
            return cls(star=True)
        if "*" in items:
            raise SipParseError("'*' Contact mixed with other contacts")
        return cls(contacts=tuple(NameAddr.parse(v) for v in items))

    def __str__(self) -> str:
        return "*" if self.star else ", ".join(str(c) for c in self.contacts)


def expires_of(contact: NameAddr, default: int | None) -> int | None:
    """The ``expires`` parameter of a Contact (RFC 3261 10.2.1.1), or ``default``."""
    value = contact.param("expires")
    if value is None:
        return default
    if not value.isdigit() or not value.isascii():
        raise SipParseError(f"bad expires {value!r}")
    return min(int(value), MAX_CSEQ)


def parse_name_addrs(values: Iterable[str]) -> list[NameAddr]:
    """Route/Record-Route/Path: list of name-addrs (RFC 3261 20.30, 20.34)."""
    return [NameAddr.parse(v) for value in values for v in split_values(value)]


def parse_token_list(values: Iterable[str]) -> list[str]:
    """Supported/Require/Allow: comma-separated tokens."""
    return [v for value in values for v in split_values(value)]
