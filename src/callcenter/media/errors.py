"""Errors raised by the media engine's pure building blocks.

Every parser of untrusted bytes raises exactly one error type, so the engine can
count and drop a malformed datagram instead of crashing on it.
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class of every error raised by :mod:`callcenter.media`."""


class RtpParseError(MediaError, ValueError):
    """A datagram is not a valid RTP packet (RFC 3550 section 5.1)."""


class RtcpParseError(MediaError, ValueError):
    """A datagram is not a valid (compound) RTCP packet (RFC 3550 section 6)."""


class TelephoneEventParseError(MediaError, ValueError):
    """A payload is not a valid RFC 4733 telephone-event payload."""


class InvalidDigitError(MediaError, ValueError):
    """A DTMF digit outside 0-9, *, #, A-D was asked for."""
