"""SIP transactions (RFC 3261 17, with the RFC 6026 Accepted state).

Theory of operation
-------------------
A transaction is one request and its responses. Four state machines exist: INVITE
client (17.1.1), non-INVITE client (17.1.2), INVITE server (17.2.1), non-INVITE
server (17.2.2). Each object is sans-io: inputs are ``receive(msg, now)``,
``send(response, now)`` (server side) and ``handle_timer(now)``; outputs are bytes
queued for the peer (``datagrams_to_send()``), events for the transaction user
(``next_event()``) and the next deadline (``get_timer()``). The client transaction
queues its request when created.

The allowed state changes of each machine are listed in ``TRANSITIONS`` and every
change goes through ``_set_state``, which refuses anything else. Timers live in a
dict ``name -> deadline``; ``handle_timer`` fires whatever is due in deadline order,
so a late call catches up exactly as if it had been called on time.

Over reliable transports (TCP, TLS) nothing is retransmitted (Timers A, E, G are not
set) and the wait states use zero (Timers D, I, J, K), i.e. terminate at once.
2xx to INVITE moves to Accepted (RFC 6026 7.1/8.4) instead of Terminated so that
2xx retransmissions are absorbed (server) or passed up for a new ACK (client).
Timer C (16.6, proxies only) is not implemented: we are a UA / B2BUA.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Final

from callcenter.sip.errors import SipParseError, TransactionError
from callcenter.sip.headers import MAGIC_COOKIE, CSeq, Headers
from callcenter.sip.message import Request, Response, make_response

log = logging.getLogger(__name__)

T1: Final = 0.5  # RFC 3261 17.1.1.1: RTT estimate
T2: Final = 4.0  # RFC 3261 17.1.2.2: maximum retransmit interval (non-INVITE, INVITE responses)
T4: Final = 5.0  # RFC 3261 17.1.2.2: maximum time a message stays in the network
TIMER_A: Final = T1  # RFC 3261 17.1.1.2: INVITE retransmit, initial interval
TIMER_B: Final = 64 * T1  # RFC 3261 17.1.1.2: INVITE transaction timeout
TIMER_D: Final = 32.0  # RFC 3261 17.1.1.2: wait for response retransmits (>32 s on UDP)
TIMER_E: Final = T1  # RFC 3261 17.1.2.2: non-INVITE retransmit, initial interval
TIMER_F: Final = 64 * T1  # RFC 3261 17.1.2.2: non-INVITE transaction timeout
TIMER_G: Final = T1  # RFC 3261 17.2.1: INVITE final response retransmit interval
TIMER_H: Final = 64 * T1  # RFC 3261 17.2.1: wait time for ACK receipt
TIMER_I: Final = T4  # RFC 3261 17.2.1: wait time for ACK retransmits
TIMER_J: Final = 64 * T1  # RFC 3261 17.2.2: wait time for non-INVITE request retransmits
TIMER_K: Final = T4  # RFC 3261 17.1.2.2: wait time for response retransmits
TIMER_L: Final = 64 * T1  # RFC 6026 8.7: wait time for accepted INVITE request retransmits
TIMER_M: Final = 64 * T1  # RFC 6026 8.4: wait time for retransmission of 2xx to INVITE


class TxState(Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


class TxKind(Enum):
    INVITE_CLIENT = "invite-client"
    NON_INVITE_CLIENT = "non-invite-client"
    INVITE_SERVER = "invite-server"
    NON_INVITE_SERVER = "non-invite-server"


_S = TxState
TRANSITIONS: Final[dict[TxKind, dict[TxState, frozenset[TxState]]]] = {
    TxKind.INVITE_CLIENT: {  # RFC 3261 figure 5 + RFC 6026 figure 3
        _S.CALLING: frozenset({_S.PROCEEDING, _S.COMPLETED, _S.ACCEPTED, _S.TERMINATED}),
        _S.PROCEEDING: frozenset({_S.COMPLETED, _S.ACCEPTED, _S.TERMINATED}),
        _S.COMPLETED: frozenset({_S.TERMINATED}),
        _S.ACCEPTED: frozenset({_S.TERMINATED}),
    },
    TxKind.NON_INVITE_CLIENT: {  # RFC 3261 figure 6
        _S.TRYING: frozenset({_S.PROCEEDING, _S.COMPLETED, _S.TERMINATED}),
        _S.PROCEEDING: frozenset({_S.COMPLETED, _S.TERMINATED}),
        _S.COMPLETED: frozenset({_S.TERMINATED}),
    },
    TxKind.INVITE_SERVER: {  # RFC 3261 figure 7 + RFC 6026 figure 5
        _S.PROCEEDING: frozenset({_S.COMPLETED, _S.ACCEPTED, _S.TERMINATED}),
        _S.COMPLETED: frozenset({_S.CONFIRMED, _S.TERMINATED}),
        _S.CONFIRMED: frozenset({_S.TERMINATED}),
        _S.ACCEPTED: frozenset({_S.TERMINATED}),
    },
    TxKind.NON_INVITE_SERVER: {  # RFC 3261 figure 8
        _S.TRYING: frozenset({_S.PROCEEDING, _S.COMPLETED, _S.TERMINATED}),
        _S.PROCEEDING: frozenset({_S.COMPLETED, _S.TERMINATED}),
        _S.COMPLETED: frozenset({_S.TERMINATED}),
    },
}

TransactionKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A client transaction passes a response up to its TU."""

    key: TransactionKey
    response: Response


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """Timer B, F (client: no final response) or H (server: no ACK) fired."""

    key: TransactionKey
    timer: str


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    """The transaction reached Terminated and can be forgotten."""

    key: TransactionKey


TxEvent = ResponseReceived | TransactionTimedOut | TransactionTerminated


def client_key(msg: Request | Response) -> TransactionKey:
    """Key matching a response to its client transaction (RFC 3261 17.1.3).

    Top Via branch plus the CSeq method (so CANCEL and INVITE stay apart).
    """
    branch = msg.top_via.branch or ""
    method = msg.method if isinstance(msg, Request) else msg.cseq.method
    return (branch, method)


def server_key(request: Request) -> TransactionKey:
    """Key matching a request to its server transaction (RFC 3261 17.2.3).

    RFC 3261 branches: branch, sent-by and method, with ACK mapped to INVITE. Older
    (RFC 2543) requests fall back to Call-ID, From tag, CSeq number, top Via sent-by
    and method: enough to tie retransmissions and the ACK of a non-2xx to the INVITE.
    """
    method = "INVITE" if request.method == "ACK" else request.method
    return _server_key(request, method)


def server_key_for_response(response: Response) -> TransactionKey:
    """The key of the server transaction a response we are sending belongs to."""
    return _server_key(response, response.cseq.method)


def _server_key(msg: Request | Response, method: str) -> TransactionKey:
    via = msg.top_via
    if via.is_rfc3261_branch:
        return (via.branch or "", via.sent_by, method)
    return (
        "rfc2543",
        msg.call_id,
        msg.from_addr.tag or "",
        str(msg.cseq.seq),
        via.sent_by,
        method,
    )


def cancel_target_key(cancel_key: TransactionKey) -> TransactionKey:
    """The server key of the INVITE a CANCEL (with that key) refers to (RFC 3261 9.2)."""
    return (*cancel_key[:-1], "INVITE")


def is_rfc3261_branch(branch: str) -> bool:
    return branch.startswith(MAGIC_COOKIE)


class Transaction:
    """What the four machines share: state, timers, outbox and events."""

    kind: TxKind

    def __init__(self, request: Request, *, reliable: bool, initial: TxState) -> None:
        self.request = request
        self.reliable = reliable
        self.state = initial
        self.key: TransactionKey = ()
        self._timers: dict[str, float] = {}
        self._intervals: dict[str, float] = {}
        # Lists, not deques: they hold one or two items at a time, and an empty deque
        # costs a 64-slot block for each of the thousands of transactions alive.
        self._outbox: list[bytes] = []
        self._events: list[TxEvent] = []
        self._call_id = request.headers.get("Call-ID") or "?"

    # --- outputs ---
    def datagrams_to_send(self) -> list[bytes]:
        out = self._outbox
        self._outbox = []
        return out

    def next_event(self) -> TxEvent | None:
        return self._events.pop(0) if self._events else None

    def get_timer(self) -> float | None:
        return min(self._timers.values()) if self._timers else None

    @property
    def terminated(self) -> bool:
        return self.state is TxState.TERMINATED

    # --- timers ---
    def handle_timer(self, now: float) -> None:
        while self._timers:
            name, deadline = min(self._timers.items(), key=lambda item: item[1])
            if deadline > now:
                return
            del self._timers[name]
            self._on_timer(name, deadline)

    def _start_timer(self, name: str, at: float, interval: float | None = None) -> None:
        self._timers[name] = at
        if interval is not None:
            self._intervals[name] = interval

    def _stop_timers(self, *names: str) -> None:
        for name in names:
            self._timers.pop(name, None)

    def _wait_then_terminate(self, timer: str, duration: float, now: float) -> None:
        """Start a wait timer, or terminate at once when it is zero (reliable transport)."""
        if self.reliable:
            self._set_state(TxState.TERMINATED)
        else:
            self._start_timer(timer, now + duration)

    def _on_timer(self, name: str, deadline: float) -> None:
        raise NotImplementedError

    # --- state ---
    def _set_state(self, new: TxState) -> None:
        allowed = TRANSITIONS[self.kind].get(self.state, frozenset())
        if new not in allowed:
            raise TransactionError(f"{self.kind.value}: {self.state.value} -> {new.value}")
        if log.isEnabledFor(logging.DEBUG):
            kind, old = self.kind.value, self.state.value
            log.debug("%s %s: %s -> %s", kind, self._call_id, old, new.value)
        self.state = new
        if new is TxState.TERMINATED:
            self._timers.clear()
            self._events.append(TransactionTerminated(self.key))

    def _timed_out(self, timer: str) -> None:
        self._events.append(TransactionTimedOut(self.key, timer))
        self._set_state(TxState.TERMINATED)


class InviteClientTransaction(Transaction):
    """RFC 3261 17.1.1 (+ RFC 6026 Accepted). Queues the INVITE when created."""

    kind = TxKind.INVITE_CLIENT

    def __init__(self, request: Request, *, now: float, reliable: bool = False) -> None:
        if request.method != "INVITE":
            raise TransactionError("InviteClientTransaction needs an INVITE")
        super().__init__(request, reliable=reliable, initial=TxState.CALLING)
        self.key = client_key(request)
        self._wire = bytes(request)
        self._ack: bytes | None = None
        self._outbox.append(self._wire)
        if not reliable:
            self._start_timer("A", now + TIMER_A, TIMER_A)
        self._start_timer("B", now + TIMER_B)

    def receive(self, response: Response, now: float) -> None:
        state = self.state
        if state in (TxState.CALLING, TxState.PROCEEDING):
            self._stop_timers("A", "B")
            if not response.is_provisional:
                self._wire = b""  # never sent again: free it for the wait state
            if response.is_provisional:
                if state is TxState.CALLING:
                    self._set_state(TxState.PROCEEDING)
                self._events.append(ResponseReceived(self.key, response))
            elif response.is_success:
                self._set_state(TxState.ACCEPTED)
                self._start_timer("M", now + TIMER_M)
                self._events.append(ResponseReceived(self.key, response))
            else:
                self._set_state(TxState.COMPLETED)
                self._ack = bytes(build_ack_for_non_2xx(self.request, response))
                self._outbox.append(self._ack)
                self._events.append(ResponseReceived(self.key, response))
                self._wait_then_terminate("D", TIMER_D, now)
        elif state is TxState.COMPLETED:
            if response.status >= 300 and self._ack is not None:
                self._outbox.append(self._ack)  # 17.1.1.2: retransmitted final -> ACK again
        elif state is TxState.ACCEPTED and response.is_success:
            self._events.append(ResponseReceived(self.key, response))  # RFC 6026 7.2

    def _on_timer(self, name: str, deadline: float) -> None:
        if name == "A" and self.state is TxState.CALLING:
            self._outbox.append(self._wire)
            interval = self._intervals["A"] * 2  # 17.1.1.2: A doubles, no cap
            self._start_timer("A", deadline + interval, interval)
        elif name == "B" and self.state is TxState.CALLING:
            self._timed_out("B")
        elif name in ("D", "M"):
            self._set_state(TxState.TERMINATED)


class NonInviteClientTransaction(Transaction):
    """RFC 3261 17.1.2. Queues the request when created."""

    kind = TxKind.NON_INVITE_CLIENT

    def __init__(self, request: Request, *, now: float, reliable: bool = False) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} is not a non-INVITE transaction")
        super().__init__(request, reliable=reliable, initial=TxState.TRYING)
        self.key = client_key(request)
        self._wire = bytes(request)
        self._outbox.append(self._wire)
        if not reliable:
            self._start_timer("E", now + TIMER_E, TIMER_E)
        self._start_timer("F", now + TIMER_F)

    def receive(self, response: Response, now: float) -> None:
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            return  # Completed absorbs retransmitted finals (17.1.2.2)
        if response.is_provisional:
            if self.state is TxState.TRYING:
                self._set_state(TxState.PROCEEDING)
            self._events.append(ResponseReceived(self.key, response))
        else:
            self._stop_timers("E", "F")
            self._wire = b""  # never sent again: free it for the wait state
            self._set_state(TxState.COMPLETED)
            self._events.append(ResponseReceived(self.key, response))
            self._wait_then_terminate("K", TIMER_K, now)

    def _on_timer(self, name: str, deadline: float) -> None:
        if name == "E" and self.state in (TxState.TRYING, TxState.PROCEEDING):
            self._outbox.append(self._wire)
            # 17.1.2.2: doubles up to T2 while Trying; T2 once Proceeding.
            interval = min(self._intervals["E"] * 2, T2) if self.state is TxState.TRYING else T2
            self._start_timer("E", deadline + interval, interval)
        elif name == "F" and self.state in (TxState.TRYING, TxState.PROCEEDING):
            self._timed_out("F")
        elif name == "K":
            self._set_state(TxState.TERMINATED)


class InviteServerTransaction(Transaction):
    """RFC 3261 17.2.1 (+ RFC 6026 Accepted). Sends 100 Trying at once by default."""

    kind = TxKind.INVITE_SERVER

    def __init__(
        self, request: Request, *, now: float, reliable: bool = False, send_trying: bool = True
    ) -> None:
        if request.method != "INVITE":
            raise TransactionError("InviteServerTransaction needs an INVITE")
        super().__init__(request, reliable=reliable, initial=TxState.PROCEEDING)
        self.key = server_key(request)
        self._last: bytes | None = None
        self.last_response: Response | None = None
        if send_trying:
            self.send(make_response(request, 100), now)

    def send(self, response: Response, now: float) -> None:
        """The TU answers. 1xx keeps Proceeding; 2xx -> Accepted; 3xx-6xx -> Completed."""
        if self.state is TxState.ACCEPTED and response.is_success:
            # RFC 6026 8.5: the TU retransmits 2xx through us; nothing kept to resend.
            self.last_response = response
            self._outbox.append(bytes(response))
            return
        if self.state is not TxState.PROCEEDING:
            raise TransactionError(f"cannot send {response.status} in {self.state.value}")
        self._emit(response)
        if response.is_success:
            self._last = None  # only the TU resends a 2xx (RFC 6026 8.5)
            self._set_state(TxState.ACCEPTED)
            self._start_timer("L", now + TIMER_L)
        elif response.is_final:
            self._set_state(TxState.COMPLETED)
            if not self.reliable:
                self._start_timer("G", now + TIMER_G, TIMER_G)
            self._start_timer("H", now + TIMER_H)

    def _emit(self, response: Response) -> None:
        self.last_response = response
        self._last = bytes(response)
        self._outbox.append(self._last)

    def receive(self, request: Request, now: float) -> None:
        """A retransmitted INVITE or the ACK for a non-2xx final response."""
        if request.method == "INVITE":
            if self.state in (TxState.PROCEEDING, TxState.COMPLETED) and self._last is not None:
                self._outbox.append(self._last)
        elif request.method == "ACK" and self.state is TxState.COMPLETED:
            self._stop_timers("G", "H")
            self._set_state(TxState.CONFIRMED)
            self._wait_then_terminate("I", TIMER_I, now)

    def _on_timer(self, name: str, deadline: float) -> None:
        if name == "G" and self.state is TxState.COMPLETED and self._last is not None:
            self._outbox.append(self._last)
            interval = min(self._intervals["G"] * 2, T2)  # 17.2.1: min(2G, T2)
            self._start_timer("G", deadline + interval, interval)
        elif name == "H" and self.state is TxState.COMPLETED:
            self._timed_out("H")
        elif name in ("I", "L"):
            self._set_state(TxState.TERMINATED)


class NonInviteServerTransaction(Transaction):
    """RFC 3261 17.2.2."""

    kind = TxKind.NON_INVITE_SERVER

    def __init__(self, request: Request, *, now: float, reliable: bool = False) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} is not a non-INVITE transaction")
        super().__init__(request, reliable=reliable, initial=TxState.TRYING)
        self.key = server_key(request)
        self._last: bytes | None = None
        self.last_response: Response | None = None

    def send(self, response: Response, now: float) -> None:
        if self.state not in (TxState.TRYING, TxState.PROCEEDING):
            raise TransactionError(f"cannot send {response.status} in {self.state.value}")
        self.last_response = response
        self._last = bytes(response)
        self._outbox.append(self._last)
        if response.is_provisional:
            if self.state is TxState.TRYING:
                self._set_state(TxState.PROCEEDING)
        else:
            self._set_state(TxState.COMPLETED)
            self._wait_then_terminate("J", TIMER_J, now)

    def receive(self, request: Request, now: float) -> None:
        """Retransmissions: dropped while Trying, answered with the last response after."""
        if self.state in (TxState.PROCEEDING, TxState.COMPLETED) and self._last is not None:
            self._outbox.append(self._last)

    def _on_timer(self, name: str, deadline: float) -> None:
        if name == "J":
            self._set_state(TxState.TERMINATED)


ClientTransaction = InviteClientTransaction | NonInviteClientTransaction
ServerTransaction = InviteServerTransaction | NonInviteServerTransaction


def build_ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """The ACK the client transaction sends for a 3xx-6xx (RFC 3261 17.1.1.3).

    Same Request-URI, Call-ID, From, CSeq number and top Via as the INVITE; To from
    the response (with its tag); Route copied from the INVITE.
    """
    try:
        vias = invite.headers.get_all("Via")
        fields: list[tuple[str, str]] = [
            ("Via", vias[0]),
            ("Max-Forwards", "70"),
            ("From", invite.headers.get("From") or ""),
            ("To", response.headers.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", str(CSeq(invite.cseq.seq, "ACK"))),
        ]
    except (IndexError, SipParseError) as exc:
        raise TransactionError(f"cannot build ACK: {exc}") from None
    fields += [("Route", r) for r in invite.headers.get_all("Route")]
    return Request(method="ACK", uri=invite.uri, headers=Headers(tuple(fields)))


def build_cancel(invite: Request) -> Request:
    """The CANCEL for a pending INVITE (RFC 3261 9.1).

    Same Request-URI, Call-ID, From, To, CSeq number and top Via (so the same branch)
    as the INVITE, and its Route headers.
    """
    try:
        fields: list[tuple[str, str]] = [
            ("Via", invite.headers.get_all("Via")[0]),
            ("Max-Forwards", "70"),
            ("From", invite.headers.get("From") or ""),
            ("To", invite.headers.get("To") or ""),
            ("Call-ID", invite.call_id),
            ("CSeq", str(CSeq(invite.cseq.seq, "CANCEL"))),
        ]
    except (IndexError, SipParseError) as exc:
        raise TransactionError(f"cannot build CANCEL: {exc}") from None
    fields += [("Route", r) for r in invite.headers.get_all("Route")]
    return Request(method="CANCEL", uri=invite.uri, headers=Headers(tuple(fields)))
