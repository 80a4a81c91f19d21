"""Session descriptions (RFC 4566) and the offer/answer model (RFC 3264).

Only the subset phones and carriers use for G.711 voice: v, o, s, c, t, b, m and the
attributes rtpmap, fmtp, ptime and the direction attributes; any other line is kept
as written so serialising a parsed description gives it back. ``answer_offer`` picks
one audio stream and one codec (PCMU/PCMA in the offerer's order) plus
telephone-event (RFC 4733), mirrors the direction for hold (RFC 3264 6.1, 8.4) and
recognises the old ``c=0.0.0.0`` hold (RFC 3264 8.4, RFC 2543).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Final

from callcenter.sip.errors import NegotiationError, SdpParseError

MAX_SDP_SIZE: Final = 16 * 1024
MAX_SDP_LINES: Final = 512
_LINE_RE: Final = re.compile(r"^([a-z])=(.*)$")


class Direction(Enum):
    """RFC 4566 6 / RFC 3264 5.1 media direction attributes."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @classmethod
    def of(cls, sends: bool, receives: bool) -> Direction:
        if sends and receives:
            return cls.SENDRECV
        if sends:
            return cls.SENDONLY
        if receives:
            return cls.RECVONLY
        return cls.INACTIVE


_DIRECTIONS: Final = {d.value: d for d in Direction}


def answer_direction(offered: Direction, local: Direction = Direction.SENDRECV) -> Direction:
    """RFC 3264 6.1: sendonly -> recvonly, recvonly -> sendonly, limited by ``local``."""
    return Direction.of(
        sends=offered.receives and local.sends, receives=offered.sends and local.receives
    )


@dataclass(frozen=True, slots=True)
class Origin:
    """o= (RFC 4566 5.2)."""

    username: str
    sess_id: str
    sess_version: int
    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @classmethod
    def parse(cls, value: str) -> Origin:
        parts = value.split()
        if len(parts) != 6 or not parts[2].isdigit() or not parts[2].isascii():
            raise SdpParseError(f"bad o= line {value[:60]!r}")
        return cls(parts[0], parts[1], int(parts[2]), parts[5], parts[3], parts[4])

    def __str__(self) -> str:
        return (
            f"{self.username} {self.sess_id} {self.sess_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """c= (RFC 4566 5.7)."""

    address: str
    nettype: str = "IN"
    addrtype: str = "IP4"

    @classmethod
    def parse(cls, value: str) -> Connection:
        parts = value.split()
        if len(parts) != 3:
            raise SdpParseError(f"bad c= line {value[:60]!r}")
        return cls(address=parts[2], nettype=parts[0], addrtype=parts[1])

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"

    @property
    def is_hold_address(self) -> bool:
        """RFC 3264 8.4: c=0.0.0.0 is how RFC 2543 endpoints put a call on hold."""
        return self.address in ("0.0.0.0", "::")


Attribute = tuple[str, str | None]


def _attr(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    if not name:
        raise SdpParseError("empty attribute")
    return (name, rest if colon else None)


def _fmt_attr(attr: Attribute) -> str:
    return attr[0] if attr[1] is None else f"{attr[0]}:{attr[1]}"


@dataclass(frozen=True, slots=True)
class Codec:
    """A payload format: rtpmap (RFC 4566 6) plus fmtp."""

    payload_type: int
    name: str
    clock_rate: int = 8000
    channels: int = 1
    fmtp: str | None = None

    def same_format(self, other: Codec) -> bool:
        return (self.name.lower(), self.clock_rate, self.channels) == (
            other.name.lower(),
            other.clock_rate,
            other.channels,
        )

    @property
    def rtpmap(self) -> str:
        suffix = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.payload_type} {self.name}/{self.clock_rate}{suffix}"


PCMU: Final = Codec(0, "PCMU")  # RFC 3551 6: static payload type 0
PCMA: Final = Codec(8, "PCMA")  # RFC 3551 6: static payload type 8
TELEPHONE_EVENT: Final = Codec(101, "telephone-event", fmtp="0-16")  # RFC 4733 7.1.1
_STATIC: Final = {0: PCMU, 8: PCMA, 3: Codec(3, "GSM"), 9: Codec(9, "G722"), 18: Codec(18, "G729")}


@dataclass(frozen=True, slots=True)
class Media:
    """An m= section (RFC 4566 5.14) with its c=, b= and a= lines."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    bandwidths: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    port_count: int | None = None
    other: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse_m(cls, value: str) -> Media:
        parts = value.split()
        if len(parts) < 4:
            raise SdpParseError(f"bad m= line {value[:60]!r}")
        port_text, slash, count_text = parts[1].partition("/")
        if not port_text.isdigit() or not port_text.isascii() or int(port_text) > 65535:
            raise SdpParseError(f"bad media port {parts[1]!r}")
        count: int | None = None
        if slash:
            if not count_text.isdigit() or not count_text.isascii() or len(count_text) > 5:
                raise SdpParseError(f"bad port count {parts[1]!r}")
            count = int(count_text)
        return cls(parts[0], int(port_text), parts[2], tuple(parts[3:]), port_count=count)

    def lines(self) -> list[str]:
        port = f"{self.port}" if self.port_count is None else f"{self.port}/{self.port_count}"
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        out += [f"{k}={v}" for k, v in self.other if k == "i"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidths]
        out += [f"{k}={v}" for k, v in self.other if k != "i"]
        out += [f"a={_fmt_attr(a)}" for a in self.attributes]
        return out

    def attribute(self, name: str) -> str | None:
        for k, v in self.attributes:
            if k == name:
                return "" if v is None else v
        return None

    def attributes_named(self, name: str) -> list[str]:
        return [v or "" for k, v in self.attributes if k == name]

    @property
    def direction(self) -> Direction | None:
        for k, _ in self.attributes:
            if k in _DIRECTIONS:
                return _DIRECTIONS[k]
        return None

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        if value is None:
            return None
        try:
            return int(float(value))
        except ValueError:
            raise SdpParseError(f"bad ptime {value!r}") from None

    def codecs(self) -> list[Codec]:
        """The offered payload formats resolved through rtpmap/fmtp or the static table."""
        maps: dict[str, Codec] = {}
        for value in self.attributes_named("rtpmap"):
            pt_text, _, encoding = value.partition(" ")
            enc = encoding.strip().split("/")
            if not pt_text.isdigit() or not pt_text.isascii() or len(enc) < 2:
                raise SdpParseError(f"bad rtpmap {value!r}")
            if not enc[1].isdigit() or not enc[1].isascii():
                raise SdpParseError(f"bad rtpmap clock rate {value!r}")
            channels = int(enc[2]) if len(enc) > 2 and enc[2].isdigit() else 1
            maps[pt_text] = Codec(int(pt_text), enc[0], int(enc[1]), channels)
        fmtps: dict[str, str] = {}
        for value in self.attributes_named("fmtp"):
            pt_text, _, params = value.partition(" ")
            fmtps[pt_text] = params.strip()
        out: list[Codec] = []
        for fmt in self.formats:
            if not fmt.isdigit() or not fmt.isascii() or int(fmt) > 127:
                continue
            codec = maps.get(fmt) or _STATIC.get(int(fmt))
            if codec is not None:
                out.append(replace(codec, fmtp=fmtps.get(fmt)))
        return out


@dataclass(slots=True)
class _MediaLines:
    """An m= section while its lines are read."""

    m: Media
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    other: list[tuple[str, str]] = field(default_factory=list)

    def media(self) -> Media:
        m = self.m
        return Media(
            m.media,
            m.port,
            m.proto,
            m.formats,
            self.connection,
            tuple(self.bandwidths),
            tuple(self.attributes),
            m.port_count,
            tuple(self.other),
        )


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A whole SDP body (RFC 4566 5)."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: str = "0 0"
    media: tuple[Media, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    bandwidths: tuple[str, ...] = ()
    other: tuple[tuple[str, str], ...] = field(default=())
    version: int = 0

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse a body; equal bodies give the same (immutable) result from a small cache,
        as the offer of an INVITE is read when it comes and again to answer it."""
        return _parse_cached(data)

    @classmethod
    def _parse(cls, data: bytes | str) -> SessionDescription:
        if isinstance(data, bytes):
            if len(data) > MAX_SDP_SIZE:
                raise SdpParseError("SDP too large")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise SdpParseError("SDP is not UTF-8") from None
        else:
            text = data
        lines = [line for line in re.split(r"\r?\n", text) if line]
        if len(lines) > MAX_SDP_LINES:
            raise SdpParseError("too many SDP lines")
        if not lines or lines[0] != "v=0":
            raise SdpParseError("SDP must start with v=0")
        origin: Origin | None = None
        session_name: str | None = None
        connection: Connection | None = None
        timing: str | None = None
        attributes: list[Attribute] = []
        bandwidths: list[str] = []
        other: list[tuple[str, str]] = []
        media: list[Media] = []
        current: _MediaLines | None = None
        for line in lines[1:]:
            m = _LINE_RE.match(line)
            if not m:
                raise SdpParseError(f"bad SDP line {line[:60]!r}")
            kind, value = m.groups()
            if kind == "m":
                if current is not None:
                    media.append(current.media())
                current = _MediaLines(Media.parse_m(value))
            elif current is not None:
                if kind == "c":
                    current.connection = Connection.parse(value)
                elif kind == "b":
                    current.bandwidths.append(value)
                elif kind == "a":
                    current.attributes.append(_attr(value))
                elif kind in "ik":
                    current.other.append((kind, value))
                else:
                    raise SdpParseError(f"{kind}= not allowed in a media section")
            elif kind == "o":
                origin = Origin.parse(value)
            elif kind == "s":
                session_name = value
            elif kind == "c":
                connection = Connection.parse(value)
            elif kind == "t":
                timing = value
            elif kind == "a":
                attributes.append(_attr(value))
            elif kind == "b":
                bandwidths.append(value)
            elif kind in "iuepzkr":
                other.append((kind, value))
            else:
                raise SdpParseError(f"unknown SDP line type {kind!r}")
        if current is not None:
            media.append(current.media())
        if origin is None or session_name is None:
            raise SdpParseError("SDP needs o= and s= lines")
        return cls(
            origin=origin,
            session_name=session_name,
            connection=connection,
            timing=timing if timing is not None else "0 0",
            media=tuple(media),
            attributes=tuple(attributes),
            bandwidths=tuple(bandwidths),
            other=tuple(other),
        )

    def __str__(self) -> str:
        out = [f"v={self.version}", f"o={self.origin}", f"s={self.session_name}"]
        out += [f"{k}={v}" for k, v in self.other if k in "iuep"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidths]
        out.append(f"t={self.timing}")
        out += [f"{k}={v}" for k, v in self.other if k in "rzk"]
        out += [f"a={_fmt_attr(a)}" for a in self.attributes]
        for m in self.media:
            out += m.lines()
        return "\r\n".join(out) + "\r\n"

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")

    @property
    def direction(self) -> Direction | None:
        for k, _ in self.attributes:
            if k in _DIRECTIONS:
                return _DIRECTIONS[k]
        return None

    def media_connection(self, media: Media) -> Connection | None:
        return media.connection or self.connection

    def media_direction(self, media: Media) -> Direction:
        """Media-level attribute, else session-level, else sendrecv (RFC 3264 5.1)."""
        return media.direction or self.direction or Direction.SENDRECV


_parse_cached: Final = functools.lru_cache(maxsize=256)(SessionDescription._parse)


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """What the answer agreed: where to send, with which codec and direction."""

    remote_address: str
    remote_port: int
    codec: Codec
    telephone_event: Codec | None
    direction: Direction  # our side's direction, as written in the answer
    remote_on_hold: bool
    ptime: int


def build_offer(
    *,
    address: str,
    port: int,
    session_id: int,
    version: int,
    codecs: tuple[Codec, ...] = (PCMU, PCMA),
    telephone_event: Codec | None = TELEPHONE_EVENT,
    direction: Direction = Direction.SENDRECV,
    ptime: int = 20,
    username: str = "-",
) -> SessionDescription:
    """An audio offer. Send ``version + 1`` with the same id for re-INVITEs (RFC 3264 8)."""
    formats = [*codecs, *([telephone_event] if telephone_event else [])]
    attrs: list[Attribute] = [("rtpmap", c.rtpmap) for c in formats]
    attrs += [("fmtp", f"{c.payload_type} {c.fmtp}") for c in formats if c.fmtp]
    attrs += [("ptime", str(ptime)), (direction.value, None)]
    addrtype = "IP6" if ":" in address else "IP4"
    media = Media(
        "audio",
        port,
        "RTP/AVP",
        tuple(str(c.payload_type) for c in formats),
        attributes=tuple(attrs),
    )
    return SessionDescription(
        origin=Origin(username, str(session_id), version, address, addrtype=addrtype),
        connection=Connection(address, addrtype=addrtype),
        media=(media,),
    )


def answer_offer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    session_id: int,
    version: int,
    supported: tuple[Codec, ...] = (PCMU, PCMA),
    local_direction: Direction = Direction.SENDRECV,
    ptime: int = 20,
    username: str = "-",
) -> tuple[SessionDescription, NegotiatedAudio]:
    """Answer ``offer`` (RFC 3264 6): accept the first usable audio stream, reject the rest.

    Raises :class:`NegotiationError` (answer 488) when no audio stream has a codec we
    support.
    """
    addrtype = "IP6" if ":" in address else "IP4"
    answered: list[Media] = []
    chosen: NegotiatedAudio | None = None
    for m in offer.media:
        result = None if chosen is not None else _accept_audio(offer, m, supported)
        if result is None:
            # RFC 3264 6: a rejected stream keeps its formats with port zero.
            answered.append(Media(m.media, 0, m.proto, m.formats))
            continue
        codec, dtmf, conn = result
        offered_dir = offer.media_direction(m)
        on_hold = offered_dir in (Direction.SENDONLY, Direction.INACTIVE)
        if conn.is_hold_address:
            on_hold = True
            offered_dir = Direction.of(sends=offered_dir.sends, receives=False)
        direction = answer_direction(offered_dir, local_direction)
        their_ptime = m.ptime or ptime
        formats = [codec, *([dtmf] if dtmf else [])]
        attrs: list[Attribute] = [("rtpmap", c.rtpmap) for c in formats]
        attrs += [("fmtp", f"{c.payload_type} {c.fmtp}") for c in formats if c.fmtp]
        attrs += [("ptime", str(their_ptime)), (direction.value, None)]
        answered.append(
            Media(
                "audio",
                port,
                m.proto,
                tuple(str(c.payload_type) for c in formats),
                attributes=tuple(attrs),
            )
        )
        chosen = NegotiatedAudio(
            remote_address=conn.address,
            remote_port=m.port,
            codec=codec,
            telephone_event=dtmf,
            direction=direction,
            remote_on_hold=on_hold,
            ptime=their_ptime,
        )
    if chosen is None:
        raise NegotiationError("no acceptable audio stream in the offer")
    answer = SessionDescription(
        origin=Origin(username, str(session_id), version, address, addrtype=addrtype),
        connection=Connection(address, addrtype=addrtype),
        timing=offer.timing,
        media=tuple(answered),
    )
    return answer, chosen


def _accept_audio(
    offer: SessionDescription, m: Media, supported: tuple[Codec, ...]
) -> tuple[Codec, Codec | None, Connection] | None:
    if m.media != "audio" or m.port == 0 or m.proto.upper() != "RTP/AVP":
        return None
    conn = offer.media_connection(m)
    if conn is None:
        return None
    offered = m.codecs()
    codec = next((c for c in offered if any(c.same_format(s) for s in supported)), None)
    if codec is None:
        return None
    dtmf = next(
        (c for c in offered if c.name.lower() == "telephone-event" and c.clock_rate == 8000),
        None,
    )
    return codec, dtmf, conn
