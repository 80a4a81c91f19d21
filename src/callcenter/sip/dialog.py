"""SIP dialogs (RFC 3261 12, 13.2.2.4, 15).

Theory of operation
-------------------
A dialog is the peer-to-peer relationship an INVITE creates, identified by Call-ID,
local tag and remote tag. The UAC builds it from a 1xx-with-tag or 2xx response
(``Dialog.as_uac``), the UAS from the request and the tag it puts in To
(``Dialog.as_uas``). A dialog is Early until a 2xx, Confirmed after, and Terminated
by BYE, a non-2xx final answer to the initial INVITE, or 481/408 to an in-dialog
request (12.2.1.2). ``DIALOG_TRANSITIONS`` lists the allowed changes and
``_set_state`` is the only writer of ``state``.

The dialog remembers the route set (Record-Route, reversed for the UAC), the remote
target (Contact, refreshed by re-INVITE/UPDATE) and both CSeq counters, and builds
in-dialog requests (BYE, re-INVITE, INFO, REFER, ACK for 2xx) with the right
Request-URI and Route headers for loose and strict routers (12.2.1.1).
The caller supplies the Via (it knows the transport and draws the branch).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from callcenter.sip.errors import DialogError, SipParseError
from callcenter.sip.headers import CSeq, Headers, Via
from callcenter.sip.message import MAX_FORWARDS_DEFAULT, Request, Response
from callcenter.sip.uri import NameAddr, SipUri, Uri, remove_param

log = logging.getLogger(__name__)


class DialogState(Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


DIALOG_TRANSITIONS: Final[dict[DialogState, frozenset[DialogState]]] = {
    DialogState.EARLY: frozenset({DialogState.CONFIRMED, DialogState.TERMINATED}),
    DialogState.CONFIRMED: frozenset({DialogState.TERMINATED}),
}

TARGET_REFRESH_METHODS: Final = frozenset({"INVITE", "UPDATE"})  # RFC 3261 12.2, RFC 3311


@dataclass(frozen=True, slots=True)
class DialogId:
    """RFC 3261 12: Call-ID, local tag, remote tag."""

    call_id: str
    local_tag: str
    remote_tag: str


def _without_tag(addr: NameAddr) -> NameAddr:
    return NameAddr(addr.uri, addr.display_name, remove_param(addr.params, "tag"))


def _single_contact(msg: Request | Response) -> Uri:
    contacts = msg.contacts
    if contacts.star or len(contacts.contacts) != 1:
        raise SipParseError("a dialog needs exactly one Contact")
    return contacts.contacts[0].uri


class Dialog:
    """One dialog's state and the requests it can build."""

    def __init__(
        self,
        *,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: NameAddr,
        remote_uri: NameAddr,
        remote_target: Uri,
        route_set: tuple[NameAddr, ...],
        local_seq: int,
        remote_seq: int | None,
        is_uac: bool,
        state: DialogState,
        local_contact: NameAddr | None = None,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.is_uac = is_uac
        self.state = state
        self.local_contact = local_contact
        self.secure = isinstance(remote_target, SipUri) and remote_target.secure

    # --- creation ---
    @classmethod
    def as_uac(
        cls, request: Request, response: Response, *, local_contact: NameAddr | None = None
    ) -> Dialog:
        """The UAC side, from a 1xx (with To tag) or 2xx to ``request`` (12.1.2)."""
        if not (response.is_provisional and response.status > 100) and not response.is_success:
            raise DialogError(f"{response.status} does not create a dialog")
        remote_tag = response.to_addr.tag
        local_tag = request.from_addr.tag
        if not remote_tag or not local_tag:
            raise DialogError("a dialog needs both tags")
        state = DialogState.CONFIRMED if response.is_success else DialogState.EARLY
        dialog = cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=_without_tag(request.from_addr),
            remote_uri=_without_tag(request.to_addr),
            remote_target=_single_contact(response),
            route_set=tuple(reversed(response.record_route)),
            local_seq=request.cseq.seq,
            remote_seq=None,
            is_uac=True,
            state=state,
            local_contact=local_contact,
        )
        log.debug("dialog %s created as UAC, %s", dialog.call_id, state.value)
        return dialog

    @classmethod
    def as_uas(
        cls,
        request: Request,
        local_tag: str,
        *,
        confirmed: bool = False,
        local_contact: NameAddr | None = None,
        initial_local_seq: int = 0,
    ) -> Dialog:
        """The UAS side, when it answers ``request`` with a 1xx/2xx carrying ``local_tag``."""
        remote_tag = request.from_addr.tag
        if not remote_tag:
            raise DialogError("the request has no From tag (RFC 2543 peer)")
        state = DialogState.CONFIRMED if confirmed else DialogState.EARLY
        dialog = cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=_without_tag(request.to_addr),
            remote_uri=_without_tag(request.from_addr),
            remote_target=_single_contact(request),
            route_set=tuple(request.record_route),
            local_seq=initial_local_seq,
            remote_seq=request.cseq.seq,
            is_uac=False,
            state=state,
            local_contact=local_contact,
        )
        log.debug("dialog %s created as UAS, %s", dialog.call_id, state.value)
        return dialog

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    # --- state ---
    def _set_state(self, new: DialogState) -> None:
        if new not in DIALOG_TRANSITIONS.get(self.state, frozenset()):
            raise DialogError(f"dialog {self.call_id}: {self.state.value} -> {new.value}")
        if log.isEnabledFor(logging.INFO):
            log.info("dialog %s: %s -> %s", self.call_id, self.state.value, new.value)
        self.state = new

    def confirm(self) -> None:
        """The UAS sent 2xx (or the UAC got one): Early -> Confirmed."""
        if self.state is DialogState.EARLY:
            self._set_state(DialogState.CONFIRMED)

    def terminate(self) -> None:
        if self.state is not DialogState.TERMINATED:
            self._set_state(DialogState.TERMINATED)

    # --- responses (UAC side of any in-dialog transaction) ---
    def on_response(self, request: Request, response: Response) -> None:
        """Update the dialog with the response to ``request`` we sent in it."""
        method = request.method
        if method == "INVITE" and self.state is DialogState.EARLY:
            if response.is_success:
                # 13.2.2.4: confirmed, route set recomputed from the 2xx.
                self.route_set = tuple(reversed(response.record_route))
                self.remote_target = _single_contact(response)
                self._set_state(DialogState.CONFIRMED)
            elif response.status >= 300:
                self._set_state(DialogState.TERMINATED)
            elif response.headers.get("Contact") is not None:
                self.remote_target = _single_contact(response)
            return
        if response.status in (481, 408):
            self.terminate()  # 12.2.1.2
            return
        refresh = method in TARGET_REFRESH_METHODS and response.is_success
        if refresh and response.headers.get("Contact") is not None:
            self.remote_target = _single_contact(response)
        if method == "BYE":
            self.terminate()

    # --- requests received in the dialog (UAS side) ---
    def on_request(self, request: Request) -> int | None:
        """Check and apply an in-dialog request; returns an error status or None.

        500 for an out-of-order CSeq (12.2.2). A target refresh updates the remote
        target; BYE terminates (15.1.2). ACK and CANCEL do not move the counter.
        """
        cseq = request.cseq.seq
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and cseq <= self.remote_seq:
                return 500
            self.remote_seq = cseq
        if request.method in TARGET_REFRESH_METHODS and request.headers.get("Contact"):
            self.remote_target = _single_contact(request)
        if request.method == "BYE":
            self.terminate()
        return None

    def matches(self, msg: Request | Response) -> bool:
        """True when ``msg`` from the peer belongs to this dialog (Call-ID and both tags).

        In a request the peer sent, To carries our tag; in a response, From does.
        """
        try:
            from_tag, to_tag = msg.from_addr.tag, msg.to_addr.tag
            call_id = msg.call_id
        except SipParseError:
            return False
        sent_by_us = (isinstance(msg, Request) and False) or (isinstance(msg, Response) and True)
        ours, theirs = (from_tag, to_tag) if sent_by_us else (to_tag, from_tag)
        return call_id == self.call_id and ours == self.local_tag and theirs == self.remote_tag

    # --- building requests (12.2.1.1) ---
    def _route_and_uri(self) -> tuple[Uri, list[NameAddr]]:
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0]
        if isinstance(first.uri, SipUri) and first.uri.lr:
            return self.remote_target, list(self.route_set)
        # Strict router: it becomes the Request-URI, the remote target the last Route.
        strict_uri = first.uri.without_headers() if isinstance(first.uri, SipUri) else first.uri
        return strict_uri, [*self.route_set[1:], NameAddr(self.remote_target)]

    def create_request(
        self,
        method: str,
        *,
        via: Via,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """A new in-dialog request: BYE, re-INVITE, INFO, REFER, UPDATE, NOTIFY...

        Uses the next local CSeq. ACK and CANCEL have their own builders.
        """
        if method in ("ACK", "CANCEL"):
            raise DialogError(f"use create_ack / the INVITE's CANCEL for {method}")
        if self.state is DialogState.TERMINATED:
            raise DialogError(f"dialog {self.call_id} is terminated")
        self.local_seq += 1
        return self._build(method, self.local_seq, via, headers, body, content_type)

    def create_ack(
        self,
        invite_cseq: int,
        *,
        via: Via,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """The ACK for a 2xx to the INVITE with ``invite_cseq`` (13.2.2.4)."""
        return self._build("ACK", invite_cseq, via, (), body, content_type)

    def _build(
        self,
        method: str,
        seq: int,
        via: Via,
        extra: Iterable[tuple[str, str]],
        body: bytes,
        content_type: str | None,
    ) -> Request:
        uri, routes = self._route_and_uri()
        fields: list[tuple[str, str]] = [
            ("Via", str(via)),
            ("Max-Forwards", str(MAX_FORWARDS_DEFAULT)),
            ("From", str(self.local_uri.with_tag(self.local_tag))),
            ("To", str(self.remote_uri.with_tag(self.remote_tag))),
            ("Call-ID", self.call_id),
            ("CSeq", str(CSeq(seq, method))),
        ]
        fields += [("Route", str(r)) for r in routes]
        if self.local_contact is not None and method in ("INVITE", "UPDATE", "REFER", "NOTIFY"):
            fields.append(("Contact", str(self.local_contact)))
        if content_type is not None:
            fields.append(("Content-Type", content_type))
        headers = Headers.of(*fields).extend(extra)
        return Request(method=method, uri=uri, headers=headers, body=body)
