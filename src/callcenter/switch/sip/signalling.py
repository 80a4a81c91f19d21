"""The SIP side of the B2BUA: one UDP transport, every leg's dialog, the wire rules.

Theory of operation
-------------------
:class:`Signalling` owns the switch's :class:`UdpTransport` and speaks SIP for the legs
the switch hands it; it reports what the far ends do to its :class:`LegOwner` (the
switch), which keeps the legs, emits the port's events and ends legs.

Outbound: ``send_invite`` starts the INVITE transaction. 180/183 -> ``alerting``,
2xx -> ACK (re-sent for every retransmitted 2xx, RFC 3261 13.2.2.4) and ``connected``,
401/407 -> the INVITE once more with the trunk's digest credentials (22.2), 3xx-6xx
and Timer B -> ``ended`` with the status. ``cancel`` sends CANCEL only once a
provisional came (9.1) and otherwise when the first one comes; a 2xx that races the
CANCEL is ACKed and BYEd (15).

Inbound: a new INVITE with a usable offer is answered 180 and given to ``offered``;
an unusable one gets 488 (no state). ``send_2xx`` repeats our 200 at T1, 2 T1 ... T2
until the ACK, and gives up with a BYE after 64 T1 (13.3.1.4). The caller's CANCEL
gets 487 on the INVITE and ``ended(cancelled)``.

In a dialog: BYE -> 200 and ``ended(normal)``; re-INVITE, UPDATE and REFER go to
:class:`MidCall` (hold, session refresh, transfer), as do the answers to our own
re-INVITEs; a NOTIFY gets 200; other methods -> 501; anything matching no dialog ->
481 (12.2.2); OPTIONS -> 200 with Allow, in a
dialog or not. With a registrar on the same socket (``registrar_events``), REGISTER,
the answers to its qualify OPTIONS and their timeouts go there. An ended leg's Call-ID
is remembered for ``ACK_WAIT`` (late 2xx, retransmitted BYE), then forgotten, so the
table does not grow with every call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Final, Literal, Protocol

from callcenter.sip.auth import DigestClient
from callcenter.sip.dialog import Dialog, DialogState
from callcenter.sip.endpoint import (
    DEFAULT_MAX_TRANSACTIONS,
    AckReceived,
    Address,
    CancelReceived,
    Endpoint,
    EndpointEvent,
    RequestReceived,
    StrayResponse,
)
from callcenter.sip.errors import NegotiationError, SipError, TransactionError
from callcenter.sip.headers import Via
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.sdp import SessionDescription, answer_offer
from callcenter.sip.transaction import (
    T1,
    T2,
    ResponseReceived,
    TransactionKey,
    TransactionTimedOut,
    build_cancel,
)
from callcenter.sip.transport import UdpTransport
from callcenter.sip.uri import NameAddr, SipUri
from callcenter.switch.ports import HangupCause
from callcenter.switch.sip.engine_port import answer_format
from callcenter.switch.sip.legs import UNANSWERED, LegState, SipLeg, next_hop, remote_media
from callcenter.switch.sip.midcall import MidCall, parse_session_expires
from callcenter.switch.sip.trunks import Trunk, cause_for_status

__all__ = ["ACK_WAIT", "ALLOW", "LegOwner", "Signalling"]

log = logging.getLogger(__name__)

ALLOW: Final = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, REFER, NOTIFY"
ACK_WAIT: Final = 64 * T1  # RFC 3261 13.3.1.4: give up on the ACK of our 2xx


class LegOwner(Protocol):
    """What the signalling tells the switch about its legs."""

    def offered(self, invite: Request, tag: str, trunk: str | None) -> SipLeg: ...

    def alerting(self, record: SipLeg, status: int, early_media: bool) -> None: ...

    def connected(self, record: SipLeg) -> None: ...

    def hold_confirmed(self, record: SipLeg) -> None: ...

    def transfer(self, record: SipLeg, dest: str) -> bool: ...

    def ended(
        self,
        record: SipLeg,
        cause: HangupCause,
        sip_status: int | None,
        by: Literal["remote", "switch"],
    ) -> None: ...


class Signalling:
    """SIP for the switch's legs over one UDP socket."""

    def __init__(
        self,
        owner: LegOwner,
        trunks: Mapping[str, Trunk],
        *,
        media_host: str,
        token: Callable[[], str],
        ack_wait: float = ACK_WAIT,
        max_transactions: int = DEFAULT_MAX_TRANSACTIONS,
    ) -> None:
        self.owner = owner
        self.trunks = trunks
        self.media_host = media_host
        self.ack_wait = ack_wait
        self._token = token
        endpoint = Endpoint(max_transactions=max_transactions)
        self.transport = UdpTransport(endpoint, handler=self._on_sip)
        self._by_call_id: dict[str, SipLeg] = {}
        self._forget: dict[str, asyncio.TimerHandle] = {}
        # The registrar sharing this socket, if any (RegistrarService.handle).
        self.registrar_events: Callable[[EndpointEvent], None] | None = None
        self.allow = ALLOW
        self.midcall = MidCall(self)
        # RFC 4028: the interval our INVITEs offer (None: no session timer).
        self.session_expires: int | None = None

    @property
    def address(self) -> Address:
        return self.transport.local_address

    def register(self, record: SipLeg) -> None:
        self._by_call_id[record.call_id] = record

    def retire(self, record: SipLeg) -> None:
        """The leg ended: recognise its late messages for a while, then forget it."""
        if record.call_id in self._by_call_id and record.call_id not in self._forget:
            self._forget[record.call_id] = asyncio.get_running_loop().call_later(
                self.ack_wait, self._forget_call, record.call_id
            )

    def _forget_call(self, call_id: str) -> None:
        self._forget.pop(call_id, None)
        self._by_call_id.pop(call_id, None)

    @property
    def known_calls(self) -> int:
        return len(self._by_call_id)

    async def aclose(self) -> None:
        for handle in self._forget.values():
            handle.cancel()
        self._forget.clear()
        await self.transport.aclose()

    def via(self) -> Via:
        host, port = self.address
        branch = self.transport.endpoint.new_branch()
        return Via.parse(f"SIP/2.0/UDP {host}:{port};branch={branch};rport")

    def contact(self, record: SipLeg) -> NameAddr:
        host, port = self.address
        user = record.caller if record.direction == "outbound" else record.dest
        safe = user if user and user.replace("+", "").isalnum() else None
        return NameAddr(SipUri(host, user=safe, port=port))

    # -- outbound ---------------------------------------------------------------------

    def send(self, request: Request, addr: Address) -> TransactionKey | None:
        """Start a client transaction; None when the endpoint is full (overload)."""
        try:
            return self.transport.send_request(request, addr)
        except TransactionError as exc:
            log.warning("%s for %s not sent: %s", request.method, request.call_id, exc)
            return None

    def send_invite(self, record: SipLeg, invite: Request) -> None:
        """Start the INVITE; an overloaded endpoint ends the leg (congestion, 503)."""
        record.invite = invite
        record.provisional_seen = False
        key = self.send(invite, record.target)
        if key is None:
            self.owner.ended(record, HangupCause.CONGESTION, 503, "switch")
            return
        record.invite_key = key

    def cancel(self, record: SipLeg) -> None:
        """CANCEL the pending INVITE, or once a provisional says it may go (RFC 3261 9.1)."""
        if record.invite is None or not record.invite_key:
            return
        if not record.provisional_seen:
            record.cancel_pending = True
            return
        self.send(build_cancel(record.invite), record.target)

    def send_bye(self, record: SipLeg) -> None:
        dialog = record.dialog
        if dialog is None or dialog.state is DialogState.TERMINATED:
            return
        bye = dialog.create_request("BYE", via=self.via())
        dialog.terminate()
        self.send(bye, next_hop(bye))

    def _on_invite_response(self, record: SipLeg, response: Response) -> None:
        if response.is_provisional:
            self._on_provisional(record, response)
        elif response.is_success:
            self._on_2xx(record, response)
        elif response.status in (401, 407) and self._retry_with_credentials(record, response):
            return
        elif record.state is not LegState.ENDED:
            log.info("leg %s: INVITE failed %d", record.id, response.status)
            self.owner.ended(record, cause_for_status(response.status), response.status, "remote")

    def _on_provisional(self, record: SipLeg, response: Response) -> None:
        record.provisional_seen = True
        if record.cancel_pending:
            record.cancel_pending = False
            self.cancel(record)
            return
        if record.state is LegState.ENDED or response.status == 100:
            return
        if response.status == 183:
            self._learn_media(record, response)
        early = bool(response.body) and response.content_type == "application/sdp"
        self.owner.alerting(record, response.status, early)

    def _on_2xx(self, record: SipLeg, response: Response) -> None:
        if record.dialog is not None:  # a retransmitted 2xx: ACK it again
            if record.ack is not None:
                self.transport.send_request(record.ack, next_hop(record.ack))
            return
        assert record.invite is not None
        try:
            record.dialog = Dialog.as_uac(
                record.invite, response, local_contact=self.contact(record)
            )
        except SipError as exc:
            log.warning("leg %s: unusable 2xx (%s)", record.id, exc)
            if record.state is not LegState.ENDED:
                self.owner.ended(record, HangupCause.FAILED, response.status, "remote")
            return
        record.ack = record.dialog.create_ack(record.invite.cseq.seq, via=self.via())
        self.transport.send_request(record.ack, next_hop(record.ack))
        if record.state is LegState.ENDED:  # answered after we gave up: RFC 3261 15
            self.send_bye(record)
            return
        self._learn_media(record, response)
        self.owner.connected(record)
        agreed = parse_session_expires(response.headers.get("Session-Expires"))
        if agreed is not None and record.state is LegState.ANSWERED:
            interval, refresher = agreed
            self.midcall.start_session(record, interval, we_refresh=refresher != "uas")

    def _retry_with_credentials(self, record: SipLeg, challenge: Response) -> bool:
        trunk = record.trunk
        if record.state is LegState.ENDED or record.authenticated or record.invite is None:
            return False
        if trunk is None or trunk.username is None or trunk.password is None:
            return False
        client = DigestClient(trunk.username, trunk.password)
        try:
            invite = client.authorize(
                record.invite,
                challenge,
                cnonce=self._token(),
                branch=self.transport.endpoint.new_branch(),
            )
        except SipError as exc:
            log.warning("leg %s: cannot answer the challenge: %s", record.id, exc)
            return False
        record.authenticated = True
        log.info("leg %s: INVITE again with credentials", record.id)
        self.send_invite(record, invite)
        return True

    def _learn_media(self, record: SipLeg, response: Response) -> None:
        if response.content_type != "application/sdp":
            return
        try:
            address = remote_media(response.body)
        except SipError as exc:
            log.warning("leg %s: bad SDP answer: %s", record.id, exc)
            return
        if address is not None:
            record.rtp.set_remote(address)
            chosen = answer_format(response.body)
            if chosen is not None:
                record.rtp.use_format(*chosen)

    # -- inbound ----------------------------------------------------------------------

    def _on_new_invite(self, event: RequestReceived) -> None:
        invite = event.request
        tag = self._token()
        try:
            offer = SessionDescription.parse(invite.body)
            answer_offer(offer, address=self.media_host, port=9, session_id=0, version=0)
        except (SipError, NegotiationError) as exc:
            log.info("INVITE %s refused: %s", invite.headers.get("Call-ID"), exc)
            self.transport.send_response(make_response(invite, 488, to_tag=tag))
            return
        trunk = next((t.name for t in self.trunks.values() if t.host == event.addr[0]), None)
        self.transport.send_response(make_response(invite, 180, to_tag=tag))
        record = self.owner.offered(invite, tag, trunk)
        record.invite_key = event.key
        self.register(record)

    def answer(self, record: SipLeg, media: Address) -> None:
        """Answer an offered leg with an SDP answer for our RTP port at ``media``."""
        invite = record.invite
        assert invite is not None
        offer = SessionDescription.parse(invite.body)
        sdp, negotiated = answer_offer(
            offer, address=media[0], port=media[1], session_id=record.session_id, version=1
        )
        record.rtp.set_remote((negotiated.remote_address, negotiated.remote_port))
        event = negotiated.telephone_event
        record.rtp.use_format(negotiated.codec.name, event.payload_type if event else None)
        contact = self.contact(record)
        record.dialog = Dialog.as_uas(
            invite, record.local_tag, confirmed=True, local_contact=contact
        )
        headers = [
            ("Contact", str(contact)),
            ("Allow", ALLOW),
            ("Content-Type", "application/sdp"),
            *self._session_timer(record, invite),
        ]
        ok = make_response(invite, 200, to_tag=record.local_tag, headers=headers, body=bytes(sdp))
        self.send_2xx(record, ok)

    def redirect(self, record: SipLeg, target: SipUri) -> None:
        """302 Moved Temporarily to ``target`` for an offered leg (RFC 3261 21.3.3)."""
        if record.invite is not None:
            moved = make_response(
                record.invite, 302, to_tag=record.local_tag, headers=[("Contact", f"<{target}>")]
            )
            self.transport.send_response(moved)

    def _session_timer(self, record: SipLeg, invite: Request) -> list[tuple[str, str]]:
        """RFC 4028 9: take the caller's Session-Expires; it refreshes when it can."""
        offered = parse_session_expires(invite.headers.get("Session-Expires"))
        if offered is None:
            return []
        interval, refresher = offered
        supported = invite.headers.get_all("Supported")
        they_can = "timer" in {t.strip().lower() for v in supported for t in v.split(",")}
        we_refresh = refresher == "uas" or not they_can
        record.session_expires, record.we_refresh = interval, we_refresh
        chosen = "uas" if we_refresh else "uac"
        headers = [("Session-Expires", f"{int(interval)};refresher={chosen}")]
        return [*headers, ("Require", "timer")] if not we_refresh else headers

    def reject(self, record: SipLeg, status: int) -> None:
        if record.invite is not None:
            reject = make_response(record.invite, status, to_tag=record.local_tag)
            self.transport.send_response(reject)

    def send_2xx(self, record: SipLeg, ok: Response) -> None:
        """Send our 2xx to an INVITE (first or re-INVITE) until its ACK comes."""
        record.cancel_timer("2xx")
        self._send_2xx(record, ok, T1, 0.0)

    def _send_2xx(self, record: SipLeg, ok: Response, interval: float, waited: float) -> None:
        """Send (again) our 2xx until its ACK (RFC 3261 13.3.1.4: T1 doubling to T2)."""
        record.timers.pop("2xx", None)
        if record.acked or record.state is LegState.ENDED:
            return
        if waited >= self.ack_wait:
            log.warning("leg %s: no ACK for our 2xx, hanging up", record.id)
            self.send_bye(record)
            self.owner.ended(record, HangupCause.FAILED, None, "switch")
            return
        self.transport.send_response(ok)
        delay = min(interval, self.ack_wait - waited)
        record.timers["2xx"] = asyncio.get_running_loop().call_later(
            delay, self._send_2xx, record, ok, min(interval * 2, T2), waited + delay
        )

    # -- dispatch ---------------------------------------------------------------------

    def _on_sip(self, event: EndpointEvent) -> None:
        if self.registrar_events is not None and _is_registrars(event):
            self.registrar_events(event)
        elif isinstance(event, ResponseReceived):
            self._on_response(event.key, event.response)
        elif isinstance(event, StrayResponse):
            self._on_stray(event.response)
        elif isinstance(event, RequestReceived):
            self._on_request(event)
        elif isinstance(event, CancelReceived):
            self._on_cancel(event)
        elif isinstance(event, AckReceived):
            record = self._find(event.request)
            if record is not None:
                record.acked = True
                record.cancel_timer("2xx")
        elif isinstance(event, TransactionTimedOut):
            self._on_timeout(event)

    def _find(self, msg: Request | Response) -> SipLeg | None:
        return self._by_call_id.get(msg.headers.get("Call-ID") or "")

    def _on_response(self, key: TransactionKey, response: Response) -> None:
        if response.cseq.method != "INVITE":
            return  # BYE, CANCEL and NOTIFY answers change nothing
        record = self._find(response)
        if record is not None and record.reinvite_key and key == record.reinvite_key:
            self.midcall.on_response(record, response)
            return
        if record is None or record.direction != "outbound" or key != record.invite_key:
            return
        self._on_invite_response(record, response)

    def _on_stray(self, response: Response) -> None:
        record = self._find(response)
        if record is None or not response.is_success or response.cseq.method != "INVITE":
            return
        again = record.reinvite_ack
        if again is None or again.cseq.seq != response.cseq.seq:
            again = record.ack if record.direction == "outbound" else None
        if again is not None:
            self.transport.send_request(again, next_hop(again))

    def _on_timeout(self, event: TransactionTimedOut) -> None:
        for record in self._by_call_id.values():
            if record.reinvite_key and record.reinvite_key == event.key:
                self.midcall.on_timeout(record)
                return
            if record.invite_key == event.key and record.direction == "outbound":
                if record.state in UNANSWERED:
                    log.info("leg %s: no answer to INVITE (Timer %s)", record.id, event.timer)
                    self.owner.ended(record, HangupCause.FAILED, 408, "remote")
                return
        if self.registrar_events is not None:  # perhaps a qualify OPTIONS
            self.registrar_events(event)

    def _on_request(self, event: RequestReceived) -> None:
        request = event.request
        if request.method == "INVITE" and request.to_addr.tag is None:
            self._on_new_invite(event)
            return
        record = self._find(request)
        dialog = record.dialog if record is not None else None
        if request.method == "OPTIONS":
            response = make_response(request, 200, headers=[("Allow", ALLOW)])
        elif record is None or dialog is None or not dialog.matches(request):
            response = make_response(request, 481)
        elif (status := dialog.on_request(request)) is not None:
            response = make_response(request, status)
        elif request.method == "BYE":
            response = make_response(request, 200)
            if record.state is not LegState.ENDED:
                self.owner.ended(record, HangupCause.NORMAL, None, "remote")
        elif request.method == "INVITE":
            if (refused := self.midcall.on_invite(record, request)) is None:
                return  # our 2xx is out, repeated until the ACK
            response = refused
        elif request.method == "UPDATE":
            response = self.midcall.on_update(record, request)
        elif request.method == "REFER":
            response = self.midcall.on_refer(record, request)
        elif request.method == "NOTIFY":
            response = make_response(request, 200)
        else:
            response = make_response(request, 501)
        self.transport.send_response(response)

    def _on_cancel(self, event: CancelReceived) -> None:
        record = self._find(event.request)
        if record is None or record.invite_key != event.invite_key:
            return
        if record.state is LegState.OFFERED:
            self.reject(record, 487)
            self.owner.ended(record, HangupCause.CANCELLED, 487, "remote")


def _is_registrars(event: EndpointEvent) -> bool:
    """REGISTER, and the answers to the OPTIONS only the registrar sends (qualify)."""
    if isinstance(event, RequestReceived):
        return event.request.method == "REGISTER"
    if isinstance(event, ResponseReceived):
        return event.response.cseq.method == "OPTIONS"
    return False
