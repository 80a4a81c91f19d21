"""The SIP switch's record of one leg, its state table, and the SIP messages it builds.

Theory of operation
-------------------
A leg is one SIP dialog with one far end, plus its RTP port. Outbound legs start
DIALLING (INVITE sent), move to RINGING on 180/183 and ANSWERED on 2xx; inbound legs
start OFFERED (INVITE received, 180 sent) and move to ANSWERED when the core answers.
Every leg ends in ENDED, from any state. ``LEG_TRANSITIONS`` lists the allowed changes
and :func:`set_state` is the only writer of ``state``.

An ENDED leg keeps its record (ids stay idempotent) and, for a while, its SIP
identity, so late messages (a 2xx racing our CANCEL, a retransmitted BYE) are
recognised.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from callcenter.sip.dialog import Dialog
from callcenter.sip.endpoint import Address
from callcenter.sip.errors import SipParseError
from callcenter.sip.headers import Headers, Via
from callcenter.sip.message import Request
from callcenter.sip.sdp import SessionDescription
from callcenter.sip.transaction import TransactionKey
from callcenter.sip.uri import SipUri
from callcenter.switch.ports import BridgeId, LegId
from callcenter.switch.sip.relay import RtpPort
from callcenter.switch.sip.trunks import DEFAULT_SIP_PORT, Trunk

__all__ = [
    "LEG_TRANSITIONS",
    "LegState",
    "SipLeg",
    "build_invite",
    "next_hop",
    "remote_media",
    "set_state",
    "silent_legs",
]

log = logging.getLogger(__name__)


class LegState(enum.Enum):
    OFFERED = "offered"
    DIALLING = "dialling"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


_L = LegState
LEG_TRANSITIONS: Final[dict[LegState, frozenset[LegState]]] = {
    _L.OFFERED: frozenset({_L.ANSWERED, _L.ENDED}),
    _L.DIALLING: frozenset({_L.RINGING, _L.ANSWERED, _L.ENDED}),
    _L.RINGING: frozenset({_L.ANSWERED, _L.ENDED}),
    _L.ANSWERED: frozenset({_L.ENDED}),
}
UNANSWERED: Final = frozenset({_L.OFFERED, _L.DIALLING, _L.RINGING})


@dataclass
class SipLeg:
    id: LegId
    direction: Literal["inbound", "outbound"]
    state: LegState
    signature: tuple[object, ...]
    caller: str
    dest: str
    call_id: str
    local_tag: str
    rtp: RtpPort
    trunk: Trunk | None = None
    invite: Request | None = None  # the INVITE we sent (outbound) or received (inbound)
    invite_key: TransactionKey = ()
    target: Address = ("", 0)  # where our requests outside the dialog go
    dialog: Dialog | None = None
    ack: Request | None = None  # our ACK of the 2xx, sent again for retransmitted 2xx
    provisional_seen: bool = False  # a CANCEL may go (RFC 3261 9.1)
    cancel_pending: bool = False
    authenticated: bool = False
    acked: bool = False  # inbound: the ACK of our 2xx came
    answering: bool = False  # inbound: answer() is opening the RTP port
    session_id: int = 0
    bridge: BridgeId | None = None
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    # Mid-call (midcall.py): our SDP version, hold wanted and confirmed, our pending
    # re-INVITE and what it asks, its ACK (sent again for a repeated 2xx).
    sdp_version: int = 1
    want_hold: bool = False
    held: bool = False
    music: str = ""
    remote_sends: bool = True  # the far end's last SDP lets it send (not holding us)
    reinvite: Request | None = None
    reinvite_key: TransactionKey = ()
    reinvite_hold: bool = False
    reinvite_ack: Request | None = None
    # RFC 4028: the session interval and whether we refresh it (else the far end does).
    session_expires: float | None = None
    we_refresh: bool = False
    # RTP inactivity: packets received when last looked at, and when that count moved.
    rtp_seen: tuple[int, float] = (0, 0.0)
    # Blind transfer (redirect): the core's leg handed to a hidden leg of the switch,
    # each naming the other; ``notify`` is the phone whose REFER asked for it.
    redirected_to: str | None = None
    hidden: bool = False
    handoff: LegId | None = None
    notify: SipLeg | None = None
    # originate(amd=True): LegAnswered waits for the media engine's verdict.
    amd: bool = False
    handoff_bridge: BridgeId | None = None  # the engine's bridge of a handed-over caller

    def cancel_timer(self, name: str) -> None:
        handle = self.timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    def cancel_timers(self) -> None:
        for name in list(self.timers):
            self.cancel_timer(name)


def silent_legs(records: Iterable[SipLeg], now: float, timeout: float) -> list[SipLeg]:
    """The answered, relayed legs whose RTP port received nothing for ``timeout``
    seconds (each leg's ``rtp_seen`` notes when its count last moved). A leg on hold
    either way (we held it, or its far end said it sends nothing) is never silent."""
    silent: list[SipLeg] = []
    for record in records:
        relayed = record.rtp.partner is not None
        on_hold = record.held or not record.remote_sends
        if record.state is not LegState.ANSWERED or not relayed or on_hold:
            record.rtp_seen = (record.rtp.stats.received, now)
            continue
        received = record.rtp.stats.received
        if received != record.rtp_seen[0]:
            record.rtp_seen = (received, now)
        elif now - record.rtp_seen[1] >= timeout:
            silent.append(record)
    return silent


def set_state(leg: SipLeg, new: LegState) -> None:
    if new not in LEG_TRANSITIONS.get(leg.state, frozenset()):
        raise ValueError(f"leg {leg.id}: {leg.state.value} -> {new.value}")
    log.info("leg %s (%s): %s -> %s", leg.id, leg.call_id, leg.state.value, new.value)
    leg.state = new


def build_invite(
    *,
    uri: SipUri,
    via: Via,
    caller_id: str,
    local: Address,
    call_id: str,
    tag: str,
    sdp: SessionDescription,
    session_expires: int | None = None,
) -> Request:
    """An initial INVITE with an SDP offer (RFC 3261 8.1.1, 13.2.1), offering a session
    timer (RFC 4028 7.1) when ``session_expires`` is given."""
    host, port = local
    from_uri = SipUri(host, user=caller_id or None, port=port)
    contact = SipUri(host, user=caller_id or None, port=port)
    headers = Headers.of(
        ("Via", str(via)),
        ("Max-Forwards", "70"),
        ("From", f"<{from_uri}>;tag={tag}"),
        ("To", f"<{uri}>"),
        ("Call-ID", call_id),
        ("CSeq", "1 INVITE"),
        ("Contact", f"<{contact}>"),
        ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY"),
        ("Content-Type", "application/sdp"),
    )
    if session_expires is not None:
        headers = headers.add("Supported", "timer").add("Session-Expires", str(session_expires))
    return Request(method="INVITE", uri=uri, headers=headers, body=bytes(sdp))


def next_hop(request: Request) -> Address:
    """Where a request goes: its first Route, else its Request-URI (RFC 3261 8.1.2)."""
    routes = request.route
    uri = routes[0].uri if routes else request.uri
    if not isinstance(uri, SipUri):
        raise SipParseError(f"cannot send to {uri}")
    return (uri.host.strip("[]"), uri.port or DEFAULT_SIP_PORT)


def remote_media(body: bytes) -> Address | None:
    """The audio address of an SDP answer (the first accepted audio stream), if any."""
    if not body:
        return None
    sdp = SessionDescription.parse(body)
    for media in sdp.media:
        connection = sdp.media_connection(media)
        if media.media == "audio" and media.port != 0 and connection is not None:
            return (connection.address, media.port)
    return None
