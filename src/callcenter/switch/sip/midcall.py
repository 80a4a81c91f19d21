"""Mid-call SIP of the switch's legs: re-INVITEs both ways, REFER from phones, session
timers, and the RTP watchdog that ends calls whose far end vanished.

Theory of operation
-------------------
Hold and resume (RFC 3264 8.4). :meth:`MidCall.sync` brings the far end to the hold
state the core wants (``want_hold``) with a re-INVITE whose offer (our SDP, version
+ 1) is ``inactive`` to hold (we play nothing: music needs the media engine, with it
the offer becomes ``sendonly``) and ``sendrecv`` to resume. One re-INVITE at a time:
its 2xx confirms (ACK, ``held``, the owner is told); 491 (glare) retries after 2.1 to
4 s (RFC 3261 14.1); 408, 481 or no answer end the leg; any other failure leaves the
session as it was (14.1) and the wish is dropped. The leg's port stops sending at once
when the core holds it, so nothing leaks while the re-INVITE travels.

Re-INVITEs from the far end (a phone holding the call, a session refresh): the offer
is answered as RFC 3264 6.1 says (sendonly -> recvonly, inactive -> inactive; still
``inactive`` while the core holds the leg); a new media address re-arms the latch;
the 2xx is repeated until its ACK like the first one. One arriving while ours is
pending gets 491 (RFC 3261 14.2). An offerless re-INVITE gets our offer (its answer
comes in the ACK). An UPDATE without a body is a session refresh (RFC 4028 9).

REFER from a phone (RFC 3515): 202, a NOTIFY ``SIP/2.0 100 Trying`` at once, then the
owner hands the phone's bridge partner to the Refer-To target (a blind transfer, as
``redirect``); a last NOTIFY carries the outcome (``200 OK`` when the target answers).

Session timers (RFC 4028): an INVITE with Session-Expires gets it back in our 2xx
with the caller as refresher; our INVITEs offer ``session_expires`` and refresh at half
the interval (a re-INVITE with the same SDP) when the 2xx makes us the refresher. Any
refresh re-arms the deadline (the interval less min(32 s, a third), section 10); a
session that reaches it is ended with BYE.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Final

from callcenter.sip.errors import NegotiationError, SipError
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.sdp import Direction, SessionDescription, answer_offer, build_offer
from callcenter.sip.transaction import T1
from callcenter.sip.uri import NameAddr, SipUri
from callcenter.switch.ports import HangupCause
from callcenter.switch.sip.legs import LegState, SipLeg, next_hop, remote_media

if TYPE_CHECKING:
    from callcenter.switch.sip.signalling import Signalling

__all__ = ["MIN_SE", "MidCall", "session_deadline"]

log = logging.getLogger(__name__)

MIN_SE: Final = 90  # RFC 4028 5: the smallest Session-Expires a peer must accept
GLARE_RETRY: Final = (2.1, 4.0)  # RFC 3261 14.1: wait before trying again after 491
SIPFRAG: Final = "message/sipfrag;version=2.0"  # RFC 3420, in REFER's NOTIFY (3515 2.4.5)


def session_deadline(interval: float) -> float:
    """When a session not refreshed is over (RFC 4028 10: less min(32 s, a third))."""
    return interval - min(32.0, interval / 3)


def parse_session_expires(value: str | None) -> tuple[float, str | None] | None:
    """``1800;refresher=uac`` -> (1800.0, "uac"); None when absent or unusable."""
    if not value:
        return None
    head, *params = (part.strip() for part in value.split(";"))
    try:
        interval = float(int(head))
    except ValueError:
        return None
    refresher = None
    for param in params:
        name, _, given = param.partition("=")
        if name.strip().lower() == "refresher":
            refresher = given.strip().lower() or None
    return (interval, refresher) if interval > 0 else None


class MidCall:
    """The in-dialog requests of one :class:`Signalling`'s legs (see the module doc)."""

    def __init__(self, sig: Signalling) -> None:
        self.sig = sig

    # -- hold and resume: our re-INVITEs ----------------------------------------------

    def sync(self, record: SipLeg) -> None:
        """Send the re-INVITE that brings the far end to the hold state the core wants."""
        record.cancel_timer("glare")
        if record.state is not LegState.ANSWERED or record.reinvite_key:
            return
        if record.want_hold != record.held:
            self._reinvite(record, hold=record.want_hold)

    def refresh(self, record: SipLeg) -> None:
        """A session refresh (RFC 4028 7.4): a re-INVITE that changes nothing."""
        record.timers.pop("refresh", None)
        if record.state is LegState.ANSWERED and not record.reinvite_key:
            self._reinvite(record, hold=record.held)

    def _reinvite(self, record: SipLeg, *, hold: bool) -> None:
        dialog = record.dialog
        if dialog is None or not record.rtp.is_open:
            return
        record.sdp_version += 1
        host, port = record.rtp.local_address
        offer = build_offer(
            address=host,
            port=port,
            session_id=record.session_id,
            version=record.sdp_version,
            direction=record.rtp.hold_direction if hold else Direction.SENDRECV,
        )
        headers = [("Contact", str(self.sig.contact(record))), ("Allow", self.sig.allow)]
        if record.session_expires is not None:
            refresher = "uac" if record.we_refresh else "uas"
            headers.append(("Supported", "timer"))
            headers.append(
                ("Session-Expires", f"{int(record.session_expires)};refresher={refresher}")
            )
        try:
            request = dialog.create_request(
                "INVITE",
                via=self.sig.via(),
                headers=headers,
                body=bytes(offer),
                content_type="application/sdp",
            )
        except SipError as exc:
            log.warning("leg %s: no re-INVITE: %s", record.id, exc)
            return
        key = self.sig.send(request, next_hop(request))
        if key is None:
            return
        record.reinvite, record.reinvite_key, record.reinvite_hold = request, key, hold
        log.info("leg %s: re-INVITE (%s)", record.id, "hold" if hold else "sendrecv")

    def on_response(self, record: SipLeg, response: Response) -> None:
        """The far end answered our re-INVITE."""
        request = record.reinvite
        if response.is_provisional or request is None or record.dialog is None:
            return
        record.reinvite_key = ()
        record.dialog.on_response(request, response)
        if response.is_success:
            record.reinvite_ack = record.dialog.create_ack(request.cseq.seq, via=self.sig.via())
            self.sig.transport.send_request(record.reinvite_ack, next_hop(record.reinvite_ack))
            self._learn_answer(record, response)
            if record.held != record.reinvite_hold:
                record.held = record.reinvite_hold
                self.sig.owner.hold_confirmed(record)
            self._session_refreshed(record)
            self.sync(record)
        elif response.status == 491:
            delay = random.uniform(*GLARE_RETRY)
            loop = asyncio.get_running_loop()
            record.timers["glare"] = loop.call_later(delay, self.sync, record)
        elif response.status in (408, 481):
            self._vanished(record, f"re-INVITE answered {response.status}", bye=False)
        else:
            log.warning("leg %s: re-INVITE refused %d", record.id, response.status)
            record.want_hold = record.held  # RFC 3261 14.1: the session is unchanged
            record.rtp.sending = record.remote_sends and not record.held

    def on_timeout(self, record: SipLeg) -> None:
        record.reinvite_key = ()
        self._vanished(record, "no answer to re-INVITE", bye=True)

    def _learn_answer(self, record: SipLeg, response: Response) -> None:
        if response.content_type != "application/sdp":
            return
        try:
            address = remote_media(response.body)
        except SipError as exc:
            log.warning("leg %s: bad SDP answer to re-INVITE: %s", record.id, exc)
            return
        if address is not None and address != record.rtp.latch.signalled:
            record.rtp.relatch(address)

    # -- the far end's re-INVITE and UPDATE -------------------------------------------

    def on_invite(self, record: SipLeg, request: Request) -> Response | None:
        """A re-INVITE in an answered dialog: an error response, or None when our 2xx
        went out (repeated until the ACK)."""
        if record.reinvite_key:
            return make_response(request, 491)  # RFC 3261 14.2: ours is pending
        if record.state is not LegState.ANSWERED:
            return make_response(request, 488)
        local = record.rtp.hold_direction if record.want_hold else Direction.SENDRECV
        host, port = record.rtp.local_address
        if request.body:
            try:
                offer = SessionDescription.parse(request.body)
                sdp, negotiated = answer_offer(
                    offer,
                    address=host,
                    port=port,
                    session_id=record.session_id,
                    version=record.sdp_version + 1,
                    local_direction=local,
                )
            except (SipError, NegotiationError) as exc:
                log.info("leg %s: re-INVITE refused: %s", record.id, exc)
                return make_response(request, 488)
            address = (negotiated.remote_address, negotiated.remote_port)
            if address != record.rtp.latch.signalled:
                record.rtp.relatch(address)
            event = negotiated.telephone_event
            record.rtp.use_format(
                negotiated.codec.name, event.payload_type if event is not None else None
            )
            if record.remote_sends != negotiated.direction.receives:  # a hold began or ended
                record.rtp_seen = (record.rtp.stats.received, asyncio.get_running_loop().time())
            record.remote_sends = negotiated.direction.receives
            record.rtp.sending = negotiated.direction.sends
            body = bytes(sdp)
        else:
            offer_sdp = build_offer(
                address=host,
                port=port,
                session_id=record.session_id,
                version=record.sdp_version + 1,
                direction=local,
            )
            body = bytes(offer_sdp)
        record.sdp_version += 1
        log.info(
            "leg %s: re-INVITE from the far end, it %s",
            record.id,
            "sends" if record.remote_sends else "holds",
        )
        headers = [
            ("Contact", str(self.sig.contact(record))),
            ("Allow", self.sig.allow),
            ("Content-Type", "application/sdp"),
            *self._session_headers(record, request),
        ]
        ok = make_response(request, 200, headers=headers, body=body)
        record.acked = False
        self.sig.send_2xx(record, ok)
        return None

    def on_update(self, record: SipLeg, request: Request) -> Response:
        """UPDATE: a session refresh without a body; an offer in it is not taken."""
        if request.body:
            return make_response(request, 488)
        return make_response(request, 200, headers=self._session_headers(record, request))

    def _session_headers(self, record: SipLeg, request: Request) -> list[tuple[str, str]]:
        """The far end refreshed (or may have): re-arm the deadline, say it back."""
        offered = parse_session_expires(request.headers.get("Session-Expires"))
        if offered is not None:
            record.session_expires = offered[0]
            record.we_refresh = offered[1] == "uas"
        if record.session_expires is None:
            return []
        self._session_refreshed(record)
        refresher = "uas" if record.we_refresh else "uac"
        return [
            ("Session-Expires", f"{int(record.session_expires)};refresher={refresher}"),
            ("Require", "timer"),
        ]

    # -- session timers (RFC 4028) -----------------------------------------------------

    def start_session(self, record: SipLeg, interval: float, *, we_refresh: bool) -> None:
        record.session_expires, record.we_refresh = interval, we_refresh
        self._session_refreshed(record)

    def _session_refreshed(self, record: SipLeg) -> None:
        interval = record.session_expires
        if interval is None or record.state is not LegState.ANSWERED:
            return
        loop = asyncio.get_running_loop()
        record.cancel_timer("session")
        record.cancel_timer("refresh")
        record.timers["session"] = loop.call_later(
            session_deadline(interval), self._expired, record
        )
        if record.we_refresh:
            record.timers["refresh"] = loop.call_later(interval / 2, self.refresh, record)

    def _expired(self, record: SipLeg) -> None:
        record.timers.pop("session", None)
        self._vanished(record, "session expired without a refresh (RFC 4028 10)", bye=True)

    def _vanished(self, record: SipLeg, why: str, *, bye: bool) -> None:
        """The far end is gone: BYE (when it may still hear it) and end the leg."""
        if record.state is LegState.ENDED:
            return
        log.warning("leg %s: %s, hanging up", record.id, why)
        if bye:
            self.sig.send_bye(record)
        self.sig.owner.ended(record, HangupCause.FAILED, None, "switch")

    # -- REFER from a phone (RFC 3515) -------------------------------------------------

    def on_refer(self, record: SipLeg, request: Request) -> Response:
        """202 and the transfer handed to the owner; 400 without a usable Refer-To."""
        try:
            target = NameAddr.parse(request.headers.get("Refer-To") or "").uri
        except SipError:
            target = None
        if not isinstance(target, SipUri) or record.state is not LegState.ANSWERED:
            return make_response(request, 400 if target is None else 488)
        host, port = self.sig.address
        ours = target.host == host and (target.port or port) == port
        dest = target.user if ours and target.user else str(target.without_headers())
        asyncio.get_running_loop().call_soon(self._start_transfer, record, dest)
        return make_response(request, 202, headers=[("Contact", str(self.sig.contact(record)))])

    def _start_transfer(self, record: SipLeg, dest: str) -> None:
        self.notify(record, "100 Trying", final=False)
        if not self.sig.owner.transfer(record, dest):
            self.notify(record, "503 Service Unavailable", final=True)

    def notify(self, record: SipLeg, status_line: str, *, final: bool) -> None:
        """Tell a phone that REFERred how its transfer goes (RFC 3515 2.4.5)."""
        dialog = record.dialog
        if dialog is None or record.state is LegState.ENDED:
            return
        state = "terminated;reason=noresource" if final else f"active;expires={int(64 * T1)}"
        try:
            notify = dialog.create_request(
                "NOTIFY",
                via=self.sig.via(),
                headers=[
                    ("Event", "refer"),
                    ("Subscription-State", state),
                    ("Contact", str(self.sig.contact(record))),
                ],
                body=f"SIP/2.0 {status_line}\r\n".encode(),
                content_type=SIPFRAG,
            )
        except SipError as exc:
            log.warning("leg %s: no NOTIFY: %s", record.id, exc)
            return
        self.sig.send(notify, next_hop(notify))
