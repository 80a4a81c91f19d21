"""The sans-io SIP transaction layer: datagrams in, datagrams and events out.

Theory of operation
-------------------
``receive_datagram(data, addr, now=now)`` parses one datagram and routes it:

* a response goes to the client transaction with the same branch and CSeq method
  (17.1.3); one with no transaction is a ``StrayResponse`` (e.g. a 2xx retransmitted
  after the INVITE transaction ended, which the TU must ACK again);
* a request goes to its server transaction (17.2.3) as a retransmission, or creates
  one and surfaces as ``RequestReceived``; an ACK without a transaction is the ACK of
  a 2xx (``AckReceived``); a CANCEL gets its own transaction, answered 200 (or 481
  when nothing matches) and surfaces as ``CancelReceived`` so the TU answers 487;
* malformed input is answered 400 (or the status the parser asked for: 505, 513,
  416...) when Via, From, To, Call-ID and CSeq can still be read, else dropped; both
  are counted in ``stats``;
* when ``max_transactions`` are alive, new requests are answered 503 with
  Retry-After without creating state, so a flood cannot grow memory.

Responses are sent back per RFC 3261 18.2.2 and RFC 3581: to the source address,
and to the source port when the Via asked for ``rport``. Timers of all transactions
sit in a heap with lazy deletion, so ``get_timer`` is cheap with many transactions.
"""

from __future__ import annotations

import heapq
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from callcenter.sip.errors import SipParseError, TransactionError
from callcenter.sip.headers import MAGIC_COOKIE, Headers, Via, canonical_name
from callcenter.sip.message import Request, Response, make_response, parse_message, reason_phrase
from callcenter.sip.transaction import (
    ClientTransaction,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    ResponseReceived,
    ServerTransaction,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    TxState,
    build_cancel,
    cancel_target_key,
    client_key,
    server_key,
    server_key_for_response,
)

log = logging.getLogger(__name__)

Address = tuple[str, int]
DEFAULT_PORT: Final = 5060  # RFC 3261 19.1.2
DEFAULT_MAX_TRANSACTIONS: Final = 10_000  # our overload limit
RETRY_AFTER: Final = 5  # seconds, RFC 3261 20.33 in our 503s
_SALVAGE: Final = ("Via", "From", "To", "Call-ID", "CSeq")


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request; answer it with ``Endpoint.send_response``."""

    key: TransactionKey
    request: Request
    addr: Address


@dataclass(frozen=True, slots=True)
class AckReceived:
    """An ACK outside any transaction: the ACK of a 2xx (RFC 3261 13.3.1.4)."""

    request: Request
    addr: Address


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """A CANCEL matched a pending INVITE (already answered 200); send 487 to the INVITE."""

    invite_key: TransactionKey
    request: Request


@dataclass(frozen=True, slots=True)
class StrayResponse:
    """A response matching no client transaction."""

    response: Response
    addr: Address


EndpointEvent = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | StrayResponse
    | ResponseReceived
    | TransactionTimedOut
    | TransactionTerminated
)


@dataclass
class EndpointStats:
    datagrams: int = 0
    keepalives: int = 0
    malformed_answered: int = 0
    malformed_dropped: int = 0
    overload_rejected: int = 0
    stray_responses: int = 0


def response_address(via: Via, source: Address) -> Address:
    """Where responses go (RFC 3261 18.2.2, RFC 3581 4): source IP, rport or Via port."""
    port = source[1] if via.wants_rport else (via.port or DEFAULT_PORT)
    return (source[0], port)


def _stamp_via(request: Request, source: Address) -> Request:
    """Add received= and fill rport in the top Via (RFC 3261 18.2.1, RFC 3581 4)."""
    via = request.top_via
    wants_rport = via.wants_rport
    if not wants_rport and via.host.strip("[]") == source[0]:
        return request
    stamped = via.with_param("received", source[0])
    if wants_rport:
        stamped = stamped.with_param("rport", str(source[1]))
    values = request.headers.get_all("Via")
    headers = request.headers.remove("Via")
    for value in reversed([str(stamped), *values[1:]]):
        headers = headers.prepend("Via", value)
    return request.with_headers(headers)


def _salvage_error_response(
    data: bytes, status: int, detail: str = ""
) -> tuple[Response, Via] | None:
    """Answer to a request we could not parse, if the essential headers are readable,
    with the top Via it is sent back by.

    Copies every Via and the first From, To, Call-ID and CSeq as written (8.2.6.2);
    the parse error goes in a Warning (RFC 3261 20.43, code 399) to help the peer.
    """
    text = data.lstrip(b"\r\n").decode("utf-8", errors="replace")
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = re.split(r"\r?\n", head)
    start = lines[0].split(" ")
    if lines[0].upper().startswith("SIP/") or start[0] == "ACK" or len(lines) > 300:
        return None
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        try:
            cname = canonical_name(name.strip())
        except SipParseError:
            continue
        if colon and cname in _SALVAGE and not re.search(r"[\x00\r\ufffd]", value):
            found.setdefault(cname, []).append(value.strip())
    if any(name not in found for name in _SALVAGE):
        return None
    fields = [("Via", value) for value in found["Via"]]
    fields += [(name, found[name][0]) for name in _SALVAGE if name != "Via"]
    safe = "".join(c for c in detail if c.isascii() and c.isprintable() and c not in '"\\')
    if safe:
        fields.append(("Warning", f'399 callcenter "{safe[:120]}"'))
    response = Response(status=status, reason=reason_phrase(status), headers=Headers(tuple(fields)))
    try:  # read as the answer will be addressed: a Via list that cannot be split is no Via
        via = Via.parse(response.headers.get_all("Via")[0])
    except (SipParseError, IndexError):
        return None
    return response, via


@dataclass(slots=True)
class _ClientEntry:
    tx: ClientTransaction
    addr: Address
    cancel_pending: bool = False


@dataclass(slots=True)
class _ServerEntry:
    tx: ServerTransaction
    addr: Address


class Endpoint:
    """Transactions of one SIP transport (one local socket), sans-io."""

    def __init__(
        self,
        *,
        reliable: bool = False,
        max_transactions: int = DEFAULT_MAX_TRANSACTIONS,
        token: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self.reliable = reliable
        self.max_transactions = max_transactions
        self.stats = EndpointStats()
        self._token = token
        self._clients: dict[TransactionKey, _ClientEntry] = {}
        self._servers: dict[TransactionKey, _ServerEntry] = {}
        self._outbox: deque[tuple[bytes, Address]] = deque()
        self._events: deque[EndpointEvent] = deque()
        self._heap: list[tuple[float, int, bool, TransactionKey]] = []
        self._seq = 0
        self._pending: deque[tuple[bool, TransactionKey]] = deque()

    # --- public outputs ---
    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address]]:
        out = list(self._outbox)
        self._outbox.clear()
        return out

    def next_event(self) -> EndpointEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        while self._heap:
            deadline, _, is_client, key = self._heap[0]
            entry = self._entry(is_client, key)
            if entry is not None and entry.tx.get_timer() == deadline:
                return deadline
            heapq.heappop(self._heap)
        return None

    def handle_timer(self, now: float) -> None:
        while (deadline := self.get_timer()) is not None and deadline <= now:
            _, _, is_client, key = heapq.heappop(self._heap)
            entry = self._entry(is_client, key)
            if entry is None:
                continue
            entry.tx.handle_timer(now)
            self._flush(is_client, key, entry)

    @property
    def transaction_count(self) -> int:
        return len(self._clients) + len(self._servers)

    def new_branch(self) -> str:
        """A fresh RFC 3261 branch (8.1.1.7)."""
        return MAGIC_COOKIE + self._token()

    # --- sending ---
    def send_request(self, request: Request, addr: Address, *, now: float) -> TransactionKey:
        """Start a client transaction (or send an ACK for 2xx as is). Returns its key."""
        if request.method == "ACK":
            self._outbox.append((bytes(request), addr))
            return client_key(request)
        if self.transaction_count >= self.max_transactions:
            raise TransactionError("too many transactions")
        key = client_key(request)
        if key in self._clients:
            raise TransactionError(f"transaction {key} exists: use a new branch")
        tx: ClientTransaction
        if request.method == "INVITE":
            tx = InviteClientTransaction(request, now=now, reliable=self.reliable)
        else:
            tx = NonInviteClientTransaction(request, now=now, reliable=self.reliable)
        entry = _ClientEntry(tx, addr)
        self._clients[key] = entry
        self._flush(True, key, entry)
        return key

    def cancel(self, invite_key: TransactionKey, *, now: float) -> None:
        """CANCEL a pending INVITE; deferred until a provisional arrives (RFC 3261 9.1).

        Does nothing once the INVITE has a final response (the TU sends BYE instead).
        """
        entry = self._clients.get(invite_key)
        if entry is None or not isinstance(entry.tx, InviteClientTransaction):
            raise TransactionError(f"no INVITE transaction {invite_key}")
        if entry.tx.state is TxState.CALLING:
            entry.cancel_pending = True
        elif entry.tx.state is TxState.PROCEEDING:
            cancel = build_cancel(entry.tx.request)
            if client_key(cancel) not in self._clients:  # idempotent
                self.send_request(cancel, entry.addr, now=now)

    def send_response(self, response: Response, *, now: float) -> None:
        """Answer through the matching server transaction.

        A 2xx to INVITE with no transaction left is sent statelessly to the Via.
        """
        key = server_key_for_response(response)
        entry = self._servers.get(key)
        if entry is None:
            if response.is_success and response.cseq.method == "INVITE":
                via = response.top_via
                host = via.received or via.host
                self._outbox.append((bytes(response), (host, via.rport or via.port or 5060)))
                return
            raise TransactionError(f"no server transaction for {key}")
        tx = entry.tx
        tx.send(response, now)
        self._flush(False, key, entry)

    # --- receiving ---
    def receive_datagram(self, data: bytes, addr: Address, *, now: float) -> None:
        self.stats.datagrams += 1
        if not data.strip(b"\r\n\t "):
            self.stats.keepalives += 1  # RFC 5626 4.4.1 CRLF keep-alive
            return
        try:
            msg = parse_message(data, datagram=not self.reliable)
            if isinstance(msg, Request):
                self._check_request(msg)
        except SipParseError as exc:
            self._reject_malformed(data, addr, exc)
            return
        if isinstance(msg, Response):
            self._receive_response(msg, addr, now)
        else:
            self._receive_request(_stamp_via(msg, addr), addr, now)

    def _check_request(self, request: Request) -> None:
        """The mandatory fields (RFC 3261 8.1.1) must be readable and consistent."""
        request.top_via  # noqa: B018
        request.call_id  # noqa: B018
        request.from_addr  # noqa: B018
        request.to_addr  # noqa: B018
        if request.cseq.method != request.method:
            raise SipParseError("CSeq method does not match the request method")

    def _reject_malformed(self, data: bytes, addr: Address, exc: SipParseError) -> None:
        salvaged = _salvage_error_response(data, exc.status, str(exc))
        if salvaged is None:
            self.stats.malformed_dropped += 1
            log.info("dropped malformed datagram from %s: %s", addr, exc)
            return
        response, via = salvaged
        self.stats.malformed_answered += 1
        log.info("answered %d to malformed request from %s: %s", exc.status, addr, exc)
        self._outbox.append((bytes(response), response_address(via, addr)))

    def _receive_response(self, response: Response, addr: Address, now: float) -> None:
        try:
            key = client_key(response)
        except SipParseError:
            self.stats.malformed_dropped += 1
            return
        entry = self._clients.get(key)
        if entry is None:
            self.stats.stray_responses += 1
            self._events.append(StrayResponse(response, addr))
            return
        tx = entry.tx
        tx.receive(response, now)
        if entry.cancel_pending and tx.state is TxState.PROCEEDING:
            entry.cancel_pending = False
            self._flush(True, key, entry)
            self.send_request(build_cancel(tx.request), entry.addr, now=now)
            return
        self._flush(True, key, entry)

    def _receive_request(self, request: Request, addr: Address, now: float) -> None:
        key = server_key(request)
        entry = self._servers.get(key)
        if entry is not None:
            if request.method == "ACK" and entry.tx.state is TxState.ACCEPTED:
                # ACK of a 2xx reusing the INVITE's branch (or RFC 2543 matching).
                self._events.append(AckReceived(request, addr))
                return
            entry.tx.receive(request, now)
            self._flush(False, key, entry)
            return
        if request.method == "ACK":
            self._events.append(AckReceived(request, addr))
            return
        reply_to = response_address(request.top_via, addr)
        if self.transaction_count >= self.max_transactions:
            self.stats.overload_rejected += 1
            busy = make_response(request, 503, headers=[("Retry-After", str(RETRY_AFTER))])
            self._outbox.append((bytes(busy), reply_to))
            return
        tx: ServerTransaction
        if request.method == "INVITE":
            tx = InviteServerTransaction(request, now=now, reliable=self.reliable)
        else:
            tx = NonInviteServerTransaction(request, now=now, reliable=self.reliable)
        server_entry = _ServerEntry(tx, reply_to)
        self._servers[key] = server_entry
        if request.method == "CANCEL":
            self._receive_cancel(request, key, server_entry, now)
            return
        self._flush(False, key, server_entry)
        self._events.append(RequestReceived(key, request, addr))

    def _receive_cancel(
        self, cancel: Request, key: TransactionKey, entry: _ServerEntry, now: float
    ) -> None:
        invite_key = cancel_target_key(key)
        invite = self._servers.get(invite_key)
        pending = invite is not None and invite.tx.state is TxState.PROCEEDING
        tag = self._token() if pending else None
        entry.tx.send(make_response(cancel, 200 if pending else 481, to_tag=tag), now)
        self._flush(False, key, entry)
        if pending:
            self._events.append(CancelReceived(invite_key, cancel))

    # --- plumbing ---
    def _entry(self, is_client: bool, key: TransactionKey) -> _ClientEntry | _ServerEntry | None:
        return self._clients.get(key) if is_client else self._servers.get(key)

    def _flush(
        self, is_client: bool, key: TransactionKey, entry: _ClientEntry | _ServerEntry
    ) -> None:
        tx = entry.tx
        for data in tx.datagrams_to_send():
            self._outbox.append((data, entry.addr))
        while (event := tx.next_event()) is not None:
            self._events.append(event)
        if tx.terminated:
            (self._clients if is_client else self._servers).pop(key, None)
            return
        deadline = tx.get_timer()
        if deadline is not None:
            self._seq += 1
            heapq.heappush(self._heap, (deadline, self._seq, is_client, key))
        if len(self._heap) > 4 * self.transaction_count + 64:
            self._compact_heap()

    def _compact_heap(self) -> None:
        """Rebuild the timer heap from live transactions, dropping stale entries."""
        live = []
        for deadline, seq, is_client, key in self._heap:
            entry = self._entry(is_client, key)
            if entry is not None and entry.tx.get_timer() == deadline:
                live.append((deadline, seq, is_client, key))
        heapq.heapify(live)
        self._heap = live


__all__ = [
    "AckReceived",
    "Address",
    "CancelReceived",
    "Endpoint",
    "EndpointEvent",
    "EndpointStats",
    "RequestReceived",
    "StrayResponse",
    "response_address",
]
