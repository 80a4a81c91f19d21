"""Errors raised by the SIP core.

Malformed input from a peer always raises :class:`SipParseError` (or a subclass),
never ``ValueError``/``IndexError``; the endpoint turns it into a 400 or a drop.
"""

from __future__ import annotations


class SipError(Exception):
    """Base class of every error the SIP core raises."""


class SipParseError(SipError):
    """Bytes or text from the wire do not follow the grammar (RFC 3261 25, RFC 4566 9).

    ``status`` is the response code a server should answer with, when it can answer.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SdpParseError(SipParseError):
    """A session description does not follow RFC 4566."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=488)


class AuthError(SipError):
    """Digest authentication cannot proceed (RFC 7616), e.g. unsupported algorithm."""


class TransactionError(SipError):
    """The transaction user asked for something the state machine forbids (RFC 3261 17)."""


class DialogError(SipError):
    """A dialog operation is not possible in the dialog's state (RFC 3261 12)."""


class NegotiationError(SipError):
    """An SDP offer has nothing we can accept (RFC 3264 6): answer 488."""

    status = 488
