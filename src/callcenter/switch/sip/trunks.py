"""Carrier trunks of the SIP switch, and what a carrier's final answer means.

A :class:`Trunk` says where outbound calls go (host, port, UDP), which credentials
answer the carrier's digest challenge (RFC 3261 22.2), which caller id to present
when the core gives none, and its capacity: at most ``max_channels`` calls at once and
``max_cps`` new calls per second (0: no limit); a call over either ends at once as
congestion (503), as the carrier itself would refuse it. :func:`cause_for_status`
maps a failed INVITE's final response to the port's :class:`HangupCause` (RFC 3398
7.2.4.1 gives the ISDN equivalents this follows).
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass
from typing import Final

from callcenter.sip.errors import SipParseError
from callcenter.sip.uri import SipUri, parse_uri
from callcenter.switch.ports import HangupCause, InvalidArgument

__all__ = [
    "DEFAULT_SIP_PORT",
    "Trunk",
    "TrunkGate",
    "cause_for_status",
    "is_dialable",
    "request_uri_for",
]

log = logging.getLogger(__name__)

DEFAULT_SIP_PORT: Final = 5060  # RFC 3261 19.1.2
# What we dial as the user part of a trunk's URI: digits, letters and the dial-string
# marks that RFC 3261 25.1 lets stand unescaped in a user part.
_NUMBER_RE: Final = re.compile(r"[A-Za-z0-9+*._\-]{1,64}")


@dataclass(frozen=True, slots=True)
class Trunk:
    """One carrier: calls to it go to ``host:port`` over ``transport`` (UDP only, for now)."""

    name: str
    host: str
    port: int = DEFAULT_SIP_PORT
    transport: str = "udp"
    username: str | None = None
    password: str | None = None
    caller_id: str | None = None
    max_channels: int = 0
    max_cps: float = 0.0

    def __post_init__(self) -> None:
        if self.transport.lower() != "udp":
            raise ValueError(f"trunk {self.name}: only UDP is supported, not {self.transport}")
        if not 0 < self.port < 65536:
            raise ValueError(f"trunk {self.name}: bad port {self.port}")
        if self.max_channels < 0 or self.max_cps < 0:
            raise ValueError(f"trunk {self.name}: limits must not be negative")

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def has_credentials(self) -> bool:
        return self.username is not None and self.password is not None


class TrunkGate:
    """Admission of new calls per trunk, time passed in: at most ``max_cps`` calls
    started in any one second and ``max_channels`` at once (``busy``: the calls the
    trunk carries now, counted by the caller). 0 means no limit."""

    def __init__(self) -> None:
        self._starts: dict[str, deque[float]] = {}

    def admits(self, trunk: Trunk, *, busy: int, now: float) -> bool:
        """True (and the call counted as started) when ``trunk`` has room for one more."""
        starts = self._starts.setdefault(trunk.name, deque())
        while starts and starts[0] <= now - 1.0:
            starts.popleft()
        if trunk.max_cps and len(starts) >= trunk.max_cps:
            log.warning("trunk %s: over %g calls per second", trunk.name, trunk.max_cps)
            return False
        if trunk.max_channels and busy >= trunk.max_channels:
            log.warning("trunk %s: all %d channels busy", trunk.name, trunk.max_channels)
            return False
        starts.append(now)
        return True


# RFC 3261 21 statuses -> the port's causes (RFC 3398 7.2.4.1 for the ISDN view).
_CAUSES: Final[dict[int, HangupCause]] = {
    404: HangupCause.INVALID_NUMBER,  # Not Found
    410: HangupCause.INVALID_NUMBER,  # Gone
    484: HangupCause.INVALID_NUMBER,  # Address Incomplete
    604: HangupCause.INVALID_NUMBER,  # Does Not Exist Anywhere
    486: HangupCause.BUSY,  # Busy Here
    600: HangupCause.BUSY,  # Busy Everywhere
    408: HangupCause.NO_ANSWER,  # Request Timeout
    480: HangupCause.NO_ANSWER,  # Temporarily Unavailable
    487: HangupCause.CANCELLED,  # Request Terminated
    403: HangupCause.REJECTED,  # Forbidden
    603: HangupCause.REJECTED,  # Decline
    502: HangupCause.CONGESTION,  # Bad Gateway
    503: HangupCause.CONGESTION,  # Service Unavailable
    504: HangupCause.CONGESTION,  # Server Time-out
}


def cause_for_status(status: int) -> HangupCause:
    """The hang-up cause behind a failed INVITE's final status (3xx-6xx)."""
    return _CAUSES.get(status, HangupCause.FAILED)


def is_dialable(number: str) -> bool:
    """True when ``number`` can stand as the user part of a SIP URI as it is."""
    return _NUMBER_RE.fullmatch(number) is not None


def request_uri_for(dest: str, trunk: Trunk | None) -> SipUri:
    """Where ``dest`` is dialled: a ``sip:`` URI as given, else ``dest@trunk``."""
    if dest.lower().startswith(("sip:", "sips:")):
        try:
            uri = parse_uri(dest)
        except SipParseError as exc:
            raise InvalidArgument(f"cannot dial {dest!r}: {exc}") from None
        if not isinstance(uri, SipUri):
            raise InvalidArgument(f"cannot dial {dest!r}")
        return uri
    if trunk is None:
        raise InvalidArgument(f"{dest!r} needs a trunk: none is configured")
    if not is_dialable(dest):
        raise InvalidArgument(f"bad destination number {dest!r}")
    return SipUri(trunk.host, user=dest, port=trunk.port)
