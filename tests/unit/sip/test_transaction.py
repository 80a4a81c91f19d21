"""Tests for SIP transactions on a virtual clock (RFC 3261 17, RFC 6026)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.errors import TransactionError
from callcenter.sip.message import Request, Response, make_response, parse_message
from callcenter.sip.transaction import (
    T2,
    TIMER_B,
    TIMER_D,
    TIMER_F,
    TIMER_H,
    TIMER_I,
    TIMER_J,
    TIMER_K,
    TIMER_L,
    TIMER_M,
    TRANSITIONS,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    ResponseReceived,
    Transaction,
    TransactionTerminated,
    TransactionTimedOut,
    TxEvent,
    TxKind,
    TxState,
    build_ack_for_non_2xx,
    cancel_target_key,
    client_key,
    is_rfc3261_branch,
    server_key,
)


def request(method: str = "INVITE", branch: str = "z9hG4bKabc", *, route: bool = False) -> Request:
    headers = [
        ("Via", f"SIP/2.0/UDP 10.0.0.1:5060;branch={branch}"),
        ("Via", "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKup"),
        ("From", "<sip:alice@a.example>;tag=ft"),
        ("To", "<sip:bob@b.example>"),
        ("Call-ID", "call-1"),
        ("CSeq", f"7 {method}"),
        ("Max-Forwards", "70"),
    ]
    if route:
        headers.append(("Route", "<sip:proxy.example;lr>"))
    return Request.build(method, "sip:bob@b.example", headers)


def events(tx: Transaction) -> list[TxEvent]:
    out: list[TxEvent] = []
    while (ev := tx.next_event()) is not None:
        out.append(ev)
    return out


def run_until(tx: Transaction, end: float) -> list[tuple[float, bytes]]:
    """Drive the timers like an event loop would, recording when each datagram left."""
    sent: list[tuple[float, bytes]] = [(0.0, d) for d in tx.datagrams_to_send()]
    while (deadline := tx.get_timer()) is not None and deadline <= end:
        tx.handle_timer(deadline)
        sent += [(deadline, d) for d in tx.datagrams_to_send()]
    return sent


def test_lost_invite_is_retransmitted_with_doubling_and_times_out_at_32s() -> None:
    """No answer: INVITE resent after 0.5, 1, 2, 4, 8, 16 s gaps; Timer B at 32 s."""
    req = request()
    tx = InviteClientTransaction(req, now=0.0)
    sent = run_until(tx, 100.0)
    times = [t for t, _ in sent]
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(data == bytes(req) for _, data in sent)
    assert tx.state is TxState.TERMINATED
    assert events(tx) == [TransactionTimedOut(tx.key, "B"), TransactionTerminated(tx.key)]
    assert TIMER_B == 32.0


def test_late_handle_timer_catches_up_in_order() -> None:
    """One handle_timer at t=40 fires every A then B, like on-time calls would."""
    tx = InviteClientTransaction(request(), now=0.0)
    tx.datagrams_to_send()
    tx.handle_timer(40.0)
    assert len(tx.datagrams_to_send()) == 6
    assert tx.terminated


def test_provisional_stops_invite_retransmissions() -> None:
    """180 Ringing moves Calling -> Proceeding; A and B stop (17.1.1.2)."""
    req = request()
    tx = InviteClientTransaction(req, now=0.0)
    tx.datagrams_to_send()
    ringing = make_response(req, 180, to_tag="tt")
    tx.receive(ringing, now=0.2)
    assert tx.state is TxState.PROCEEDING
    assert tx.get_timer() is None
    assert events(tx) == [ResponseReceived(tx.key, ringing)]
    tx.receive(ringing, now=0.3)
    assert events(tx) == [ResponseReceived(tx.key, ringing)]


def test_invite_error_response_is_acked_by_the_transaction() -> None:
    """486 -> Completed, ACK sent, resent for each retransmitted 486; D ends it at 32 s."""
    req = request(route=True)
    tx = InviteClientTransaction(req, now=0.0)
    tx.datagrams_to_send()
    busy = make_response(req, 486, to_tag="uas")
    tx.receive(busy, now=1.0)
    assert tx.state is TxState.COMPLETED
    (ack_bytes,) = tx.datagrams_to_send()
    ack = parse_message(ack_bytes)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri == req.uri
    assert ack.cseq.seq == 7
    assert ack.cseq.method == "ACK"
    assert ack.to_addr.tag == "uas"
    assert ack.headers.get_all("Via") == req.headers.get_all("Via")[:1]
    assert ack.headers.get_all("Route") == ["<sip:proxy.example;lr>"]
    assert events(tx) == [ResponseReceived(tx.key, busy)]
    tx.receive(busy, now=2.0)
    assert tx.datagrams_to_send() == [ack_bytes]
    assert events(tx) == []
    assert tx.get_timer() == 1.0 + TIMER_D
    tx.handle_timer(1.0 + TIMER_D)
    assert tx.terminated
    assert events(tx) == [TransactionTerminated(tx.key)]


def test_invite_2xx_goes_to_accepted_and_passes_retransmissions_up() -> None:
    """RFC 6026: after 200 the client waits Timer M, passing further 2xx to the TU."""
    req = request()
    tx = InviteClientTransaction(req, now=0.0)
    ok = make_response(req, 200, to_tag="uas")
    tx.receive(ok, now=1.0)
    assert tx.state is TxState.ACCEPTED
    tx.receive(ok, now=1.5)
    tx.receive(make_response(req, 180, to_tag="uas"), now=1.6)
    assert events(tx) == [ResponseReceived(tx.key, ok), ResponseReceived(tx.key, ok)]
    assert tx.get_timer() == 1.0 + TIMER_M
    tx.handle_timer(1.0 + TIMER_M)
    assert tx.terminated


def test_reliable_invite_client_has_no_timer_a_and_zero_timer_d() -> None:
    """Over TCP there are no retransmissions, and Completed ends at once."""
    req = request()
    tx = InviteClientTransaction(req, now=0.0, reliable=True)
    assert tx.get_timer() == TIMER_B
    tx.receive(make_response(req, 404, to_tag="x"), now=1.0)
    assert tx.terminated
    assert len(tx.datagrams_to_send()) == 2  # INVITE and ACK


def test_non_invite_retransmissions_cap_at_t2_and_timer_f_fires() -> None:
    """OPTIONS unanswered: gaps 0.5, 1, 2, 4, 4, 4...; Timer F at 32 s (17.1.2.2)."""
    tx = NonInviteClientTransaction(request("OPTIONS"), now=0.0)
    sent = run_until(tx, 100.0)
    times = [t for t, _ in sent]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:4] == [0.5, 1.0, 2.0, 4.0]
    assert all(g == T2 for g in gaps[3:])
    assert times[-1] < TIMER_F
    assert events(tx) == [TransactionTimedOut(tx.key, "F"), TransactionTerminated(tx.key)]


def test_non_invite_proceeding_retransmits_every_t2() -> None:
    """After a 1xx the request is still resent, every T2."""
    req = request("REGISTER")
    tx = NonInviteClientTransaction(req, now=0.0)
    tx.datagrams_to_send()
    tx.receive(make_response(req, 100), now=0.1)
    assert tx.state is TxState.PROCEEDING
    sent = run_until(tx, 12.0)
    assert [t for t, _ in sent] == [0.5, 4.5, 8.5]


def test_non_invite_final_then_timer_k() -> None:
    """200 -> Completed; retransmitted 200 absorbed; Timer K = T4 ends it."""
    req = request("BYE")
    tx = NonInviteClientTransaction(req, now=0.0)
    ok = make_response(req, 200)
    tx.receive(ok, now=0.7)
    tx.receive(ok, now=0.8)
    assert events(tx) == [ResponseReceived(tx.key, ok)]
    assert tx.get_timer() == pytest.approx(0.7 + TIMER_K)
    tx.handle_timer(0.7 + TIMER_K)
    assert tx.terminated


def test_reliable_non_invite_has_no_timer_e_and_zero_k() -> None:
    """TCP: only Timer F runs; the final response terminates at once."""
    req = request("BYE")
    tx = NonInviteClientTransaction(req, now=0.0, reliable=True)
    assert tx.get_timer() == TIMER_F
    ok = make_response(req, 200)
    tx.receive(ok, now=0.1)
    assert tx.terminated
    assert events(tx) == [ResponseReceived(tx.key, ok), TransactionTerminated(tx.key)]


def test_server_invite_sends_trying_and_repeats_last_provisional() -> None:
    """100 Trying goes out at once; a retransmitted INVITE gets the latest 1xx again."""
    req = request()
    tx = InviteServerTransaction(req, now=0.0)
    (trying,) = tx.datagrams_to_send()
    assert trying.startswith(b"SIP/2.0 100 Trying")
    tx.receive(req, now=0.5)
    assert tx.datagrams_to_send() == [trying]
    ringing = make_response(req, 180, to_tag="uas")
    tx.send(ringing, now=1.0)
    assert tx.datagrams_to_send() == [bytes(ringing)]
    tx.receive(req, now=1.5)
    assert tx.datagrams_to_send() == [bytes(ringing)]
    assert tx.last_response == ringing


def test_server_invite_error_retransmitted_with_timer_g_until_ack() -> None:
    """486 resent at 0.5, 1, 2, 4, 4 gaps (G capped at T2) until the ACK; I then ends it."""
    req = request()
    tx = InviteServerTransaction(req, now=0.0, send_trying=False)
    busy = make_response(req, 486, to_tag="uas")
    tx.send(busy, now=0.0)
    sent = run_until(tx, 10.0)
    assert [t for t, _ in sent] == [0.0, 0.5, 1.5, 3.5, 7.5]
    ack = build_ack_for_non_2xx(req, busy)
    assert server_key(ack) == tx.key
    tx.receive(ack, now=10.0)
    assert tx.state is TxState.CONFIRMED
    tx.receive(ack, now=10.1)
    tx.receive(req, now=10.2)
    assert tx.datagrams_to_send() == []
    assert tx.get_timer() == 10.0 + TIMER_I
    tx.handle_timer(10.0 + TIMER_I)
    assert tx.terminated


def test_server_invite_without_ack_times_out_with_timer_h() -> None:
    """No ACK for a 603: Timer H fires at 32 s and the TU hears of it."""
    req = request()
    tx = InviteServerTransaction(req, now=0.0, send_trying=False)
    tx.send(make_response(req, 603, to_tag="uas"), now=0.0)
    sent = run_until(tx, 100.0)
    assert sent[-1][0] < TIMER_H
    assert events(tx) == [TransactionTimedOut(tx.key, "H"), TransactionTerminated(tx.key)]


def test_server_invite_retransmitted_invite_in_completed_gets_the_final_again() -> None:
    """A lost 404: the INVITE retransmission is answered with the 404 (17.2.1)."""
    req = request()
    tx = InviteServerTransaction(req, now=0.0, send_trying=False)
    nf = make_response(req, 404, to_tag="uas")
    tx.send(nf, now=0.0)
    tx.datagrams_to_send()
    tx.receive(req, now=0.1)
    assert tx.datagrams_to_send() == [bytes(nf)]


def test_server_invite_2xx_accepted_then_timer_l() -> None:
    """200 -> Accepted (RFC 6026); the TU may resend 200; Timer L ends it; no Timer G."""
    req = request()
    tx = InviteServerTransaction(req, now=0.0)
    ok = make_response(req, 200, to_tag="uas")
    tx.send(ok, now=1.0)
    assert tx.state is TxState.ACCEPTED
    tx.send(ok, now=1.5)
    tx.receive(req, now=1.6)  # retransmitted INVITE absorbed
    assert tx.datagrams_to_send()[-2:] == [bytes(ok), bytes(ok)]
    assert tx.get_timer() == 1.0 + TIMER_L
    with pytest.raises(TransactionError):
        tx.send(make_response(req, 486, to_tag="uas"), now=2.0)
    tx.handle_timer(1.0 + TIMER_L)
    assert tx.terminated


def test_reliable_server_invite_terminates_on_ack_at_once() -> None:
    """TCP: no Timer G; Timer I is zero."""
    req = request()
    tx = InviteServerTransaction(req, now=0.0, reliable=True, send_trying=False)
    busy = make_response(req, 486, to_tag="uas")
    tx.send(busy, now=0.0)
    assert tx.get_timer() == TIMER_H
    tx.receive(build_ack_for_non_2xx(req, busy), now=0.1)
    assert tx.terminated


def test_server_non_invite_absorbs_then_repeats_and_timer_j() -> None:
    """Trying drops retransmissions; after 200 they are answered until Timer J."""
    req = request("REGISTER")
    tx = NonInviteServerTransaction(req, now=0.0)
    tx.receive(req, now=0.1)
    assert tx.datagrams_to_send() == []
    tx.send(make_response(req, 100), now=0.2)
    tx.receive(req, now=0.3)
    assert len(tx.datagrams_to_send()) == 2
    ok = make_response(req, 200, to_tag="r")
    tx.send(ok, now=1.0)
    tx.receive(req, now=2.0)
    assert tx.datagrams_to_send() == [bytes(ok), bytes(ok)]
    with pytest.raises(TransactionError):
        tx.send(ok, now=2.0)
    assert tx.get_timer() == 1.0 + TIMER_J
    tx.handle_timer(1.0 + TIMER_J)
    assert tx.terminated
    assert events(tx) == [TransactionTerminated(tx.key)]


def test_reliable_server_non_invite_zero_timer_j() -> None:
    """TCP: the final response terminates the transaction at once."""
    req = request("OPTIONS")
    tx = NonInviteServerTransaction(req, now=0.0, reliable=True)
    tx.send(make_response(req, 200), now=0.0)
    assert tx.terminated


def test_constructors_check_the_method() -> None:
    """Each machine is for its kind of request."""
    with pytest.raises(TransactionError):
        InviteClientTransaction(request("BYE"), now=0.0)
    with pytest.raises(TransactionError):
        NonInviteClientTransaction(request("INVITE"), now=0.0)
    with pytest.raises(TransactionError):
        InviteServerTransaction(request("ACK"), now=0.0)
    with pytest.raises(TransactionError):
        NonInviteServerTransaction(request("ACK"), now=0.0)


def test_illegal_transitions_raise_and_change_nothing() -> None:
    """The transition table is enforced: Terminated is final."""
    tx = NonInviteServerTransaction(request("OPTIONS"), now=0.0, reliable=True)
    tx.send(make_response(request("OPTIONS"), 200), now=0.0)
    with pytest.raises(TransactionError):
        tx._set_state(TxState.TRYING)
    assert tx.state is TxState.TERMINATED
    assert set(TRANSITIONS) == set(TxKind)


def test_matching_keys_follow_17_1_3_and_17_2_3() -> None:
    """Client: branch + CSeq method. Server: branch + sent-by + method, ACK as INVITE."""
    inv = request()
    resp = make_response(inv, 180)
    assert client_key(inv) == client_key(resp) == ("z9hG4bKabc", "INVITE")
    cancel = request("CANCEL")
    assert client_key(cancel) != client_key(inv)
    assert server_key(inv) == ("z9hG4bKabc", "10.0.0.1:5060", "INVITE")
    assert cancel_target_key(server_key(cancel)) == server_key(inv)
    assert is_rfc3261_branch("z9hG4bK1")
    assert not is_rfc3261_branch("abc")


def test_rfc2543_requests_match_on_dialog_fields() -> None:
    """Without the magic cookie, ACK still matches its INVITE (17.2.3 fallback)."""
    inv = request(branch="oldstyle1")
    busy = make_response(inv, 486, to_tag="t")
    ack = build_ack_for_non_2xx(inv, busy)
    assert server_key(ack) == server_key(inv)
    assert server_key(inv)[0] == "rfc2543"


def test_build_ack_needs_a_via() -> None:
    """An INVITE without Via cannot be ACKed."""
    inv = Request.build("INVITE", "sip:b@b", [("Call-ID", "x"), ("CSeq", "1 INVITE")])
    with pytest.raises(TransactionError):
        build_ack_for_non_2xx(inv, Response(status=486))


_STATUSES = st.sampled_from([100, 180, 183, 200, 202, 302, 404, 486, 503, 603])


@settings(max_examples=200, deadline=None, database=None)
@given(
    invite=st.booleans(),
    reliable=st.booleans(),
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=10.0), st.one_of(_STATUSES, st.none())),
        max_size=12,
    ),
)
def test_client_transactions_always_end_and_never_raise(
    invite: bool, reliable: bool, steps: list[tuple[float, int | None]]
) -> None:
    """Any mix of responses and clock jumps keeps a client transaction on its table;
    once it has a final answer (or none came) it is gone 64*T1 + D later."""
    req = request("INVITE" if invite else "OPTIONS")
    tx: InviteClientTransaction | NonInviteClientTransaction
    if invite:
        tx = InviteClientTransaction(req, now=0.0, reliable=reliable)
    else:
        tx = NonInviteClientTransaction(req, now=0.0, reliable=reliable)
    now = 0.0
    previous = tx.state
    for delay, status in steps:
        now += delay
        tx.handle_timer(now)
        if status is not None and not tx.terminated:
            tx.receive(make_response(req, status, to_tag="t"), now)
        if tx.state is not previous:
            assert tx.state in TRANSITIONS[tx.kind][previous]
            previous = tx.state
        deadline = tx.get_timer()
        assert deadline is None or deadline > now
    if tx.state is TxState.PROCEEDING and invite:
        # No Timer C for a UA (16.6 is for proxies): the TU CANCELs, the UAS says 487.
        tx.receive(make_response(req, 487, to_tag="t"), now)
    tx.handle_timer(now + TIMER_B + TIMER_D)
    assert tx.terminated
    assert tx.get_timer() is None
    kinds = [type(e) for e in events(tx)]
    assert kinds.count(TransactionTerminated) == 1
    assert kinds[-1] is TransactionTerminated


@settings(max_examples=200, deadline=None, database=None)
@given(
    invite=st.booleans(),
    reliable=st.booleans(),
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=10.0),
            st.sampled_from(["retransmit", "ack", "respond"]),
            _STATUSES,
        ),
        max_size=12,
    ),
)
def test_server_transactions_always_end_and_refuse_illegal_sends(
    invite: bool, reliable: bool, steps: list[tuple[float, str, int]]
) -> None:
    """Server transactions accept retransmissions and ACKs at any time, refuse sends
    after the final response with TransactionError, and always terminate."""
    req = request("INVITE" if invite else "REGISTER")
    tx: InviteServerTransaction | NonInviteServerTransaction
    if invite:
        tx = InviteServerTransaction(req, now=0.0, reliable=reliable)
    else:
        tx = NonInviteServerTransaction(req, now=0.0, reliable=reliable)
    now = 0.0
    for delay, action, status in steps:
        now += delay
        tx.handle_timer(now)
        if action == "retransmit":
            tx.receive(req, now)
        elif action == "ack" and invite:
            tx.receive(build_ack_for_non_2xx(req, make_response(req, 486, to_tag="t")), now)
        elif action == "respond":
            try:
                tx.send(make_response(req, status, to_tag="t"), now)
            except TransactionError:
                assert tx.state is not TxState.PROCEEDING or not invite
    if not tx.terminated and tx.state in (TxState.PROCEEDING, TxState.TRYING):
        tx.send(make_response(req, 500, to_tag="t"), now)
    tx.handle_timer(now + TIMER_H + TIMER_I + TIMER_J)
    assert tx.terminated
