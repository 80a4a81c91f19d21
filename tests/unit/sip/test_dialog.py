"""Tests for SIP dialogs: creation, state, route sets and in-dialog requests (RFC 3261 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.sip.dialog import DIALOG_TRANSITIONS, Dialog, DialogId, DialogState
from callcenter.sip.errors import DialogError, SipParseError
from callcenter.sip.headers import Via
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.sdp import Direction, SessionDescription
from callcenter.sip.uri import NameAddr, SipUri

VIA = Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnew")


def invite(*, record_route: tuple[str, ...] = ()) -> Request:
    headers = [
        ("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1"),
        ("From", '"Alice" <sip:alice@a.example>;tag=alice-tag'),
        ("To", "<sip:bob@b.example>"),
        ("Call-ID", "dlg-1"),
        ("CSeq", "10 INVITE"),
        ("Contact", "<sip:alice@10.0.0.1:5060>"),
        ("Max-Forwards", "70"),
        *(("Record-Route", rr) for rr in record_route),
    ]
    return Request.build("INVITE", "sip:bob@b.example", headers)


def answer(req: Request, status: int, *, contact: str = "<sip:bob@10.0.0.2:5070>") -> Response:
    return make_response(req, status, to_tag="bob-tag", headers=[("Contact", contact)])


def state(d: Dialog) -> DialogState:
    """Read the state through a call so mypy does not narrow it between steps."""
    return d.state


PROXIES = ("<sip:p1.example;lr>", "<sip:p2.example;lr>")


def test_uac_dialog_from_2xx_reverses_record_route() -> None:
    """RFC 3261 12.1.2: the UAC's route set is Record-Route in reverse order."""
    req = invite(record_route=PROXIES)
    d = Dialog.as_uac(req, answer(req, 200))
    assert state(d) is DialogState.CONFIRMED
    assert d.id == DialogId("dlg-1", "alice-tag", "bob-tag")
    assert [str(r.uri) for r in d.route_set] == ["sip:p2.example;lr", "sip:p1.example;lr"]
    assert d.remote_target == SipUri.parse("sip:bob@10.0.0.2:5070")
    assert d.local_seq == 10
    assert d.remote_seq is None
    assert d.is_uac
    assert not d.secure


def test_uas_dialog_keeps_record_route_order() -> None:
    """RFC 3261 12.1.1: the UAS uses Record-Route as received."""
    req = invite(record_route=PROXIES)
    d = Dialog.as_uas(req, "bob-tag", local_contact=NameAddr.parse("<sip:bob@10.0.0.2>"))
    assert state(d) is DialogState.EARLY
    assert d.id == DialogId("dlg-1", "bob-tag", "alice-tag")
    assert [str(r.uri) for r in d.route_set] == ["sip:p1.example;lr", "sip:p2.example;lr"]
    assert d.remote_target == SipUri.parse("sip:alice@10.0.0.1:5060")
    assert d.remote_seq == 10
    d.confirm()
    assert state(d) is DialogState.CONFIRMED


def test_early_dialog_confirmed_by_2xx_recomputes_route_and_target() -> None:
    """183 creates an early dialog; the 200 confirms it with its own Record-Route."""
    req = invite()
    early = answer(req, 183, contact="<sip:bob@early.example>")
    d = Dialog.as_uac(req, early)
    assert state(d) is DialogState.EARLY
    ringing = answer(req, 180, contact="<sip:bob@ringing.example>")
    d.on_response(req, ringing)
    assert d.remote_target == SipUri.parse("sip:bob@ringing.example")
    ok = answer(req, 200).with_headers(
        answer(req, 200).headers.add("Record-Route", "<sip:edge.example;lr>")
    )
    d.on_response(req, ok)
    assert state(d) is DialogState.CONFIRMED
    assert [str(r.uri) for r in d.route_set] == ["sip:edge.example;lr"]
    assert d.remote_target == SipUri.parse("sip:bob@10.0.0.2:5070")


def test_early_dialog_dies_with_a_failure_response() -> None:
    """A 486 after 180 terminates the early dialog."""
    req = invite()
    d = Dialog.as_uac(req, answer(req, 180))
    d.on_response(req, answer(req, 486))
    assert state(d) is DialogState.TERMINATED


def test_bye_uses_next_cseq_and_routes_through_loose_routers() -> None:
    """RFC 3261 12.2.1.1: loose route set -> Request-URI is the remote target."""
    req = invite(record_route=PROXIES)
    d = Dialog.as_uac(req, answer(req, 200))
    bye = d.create_request("BYE", via=VIA)
    assert bye.method == "BYE"
    assert bye.uri == SipUri.parse("sip:bob@10.0.0.2:5070")
    assert bye.cseq.seq == 11
    assert bye.headers.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert bye.from_addr.tag == "alice-tag"
    assert bye.from_addr.display_name == "Alice"
    assert bye.to_addr.tag == "bob-tag"
    assert bye.call_id == "dlg-1"
    assert bye.top_via.branch == "z9hG4bKnew"
    assert bye.max_forwards == 70
    info = d.create_request(
        "INFO", via=VIA, body=b"Signal=5\r\n", content_type="application/dtmf-relay"
    )
    assert info.cseq.seq == 12
    assert info.content_type == "application/dtmf-relay"


def test_strict_router_becomes_the_request_uri() -> None:
    """A first route without ;lr is a strict router (12.2.1.1)."""
    req = invite(record_route=("<sip:loose.example;lr>", "<sip:strict.example>"))
    d = Dialog.as_uac(req, answer(req, 200))
    bye = d.create_request("BYE", via=VIA)
    assert bye.uri == SipUri.parse("sip:strict.example")
    assert bye.headers.get_all("Route") == [
        "<sip:loose.example;lr>",
        "<sip:bob@10.0.0.2:5070>",
    ]


def test_ack_for_2xx_reuses_the_invite_cseq() -> None:
    """13.2.2.4: the ACK has the INVITE's CSeq number and the dialog's routes."""
    req = invite(record_route=PROXIES)
    d = Dialog.as_uac(req, answer(req, 200))
    ack = d.create_ack(10, via=VIA)
    assert str(ack.cseq) == "10 ACK"
    assert ack.headers.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert d.local_seq == 10
    with pytest.raises(DialogError):
        d.create_request("ACK", via=VIA)


def test_reinvite_carries_contact_and_refreshes_target() -> None:
    """A re-INVITE (hold) is a target refresh both ways."""
    req = invite()
    d = Dialog.as_uac(req, answer(req, 200), local_contact=NameAddr.parse("<sip:a@10.0.0.1>"))
    reinvite = d.create_request("INVITE", via=VIA, body=b"v=0\r\n", content_type="application/sdp")
    assert reinvite.headers.get("Contact") == "<sip:a@10.0.0.1>"
    d.on_response(reinvite, answer(reinvite, 200, contact="<sip:bob@moved.example>"))
    assert d.remote_target == SipUri.parse("sip:bob@moved.example")
    refer = d.create_request("REFER", via=VIA, headers=[("Refer-To", "<sip:carol@c>")])
    assert refer.headers.get("Refer-To") == "<sip:carol@c>"


def test_in_dialog_requests_check_cseq_order() -> None:
    """12.2.2: a lower CSeq gets 500; a higher one moves the counter; BYE ends it."""
    req = invite()
    d = Dialog.as_uas(req, "bob-tag", confirmed=True)
    peer = Dialog.as_uac(req, answer(req, 200))
    info = peer.create_request("INFO", via=VIA)
    assert d.matches(info)
    assert d.on_request(info) is None
    assert d.remote_seq == 11
    assert d.on_request(info) == 500
    reinvite = peer.create_request("INVITE", via=VIA, headers=[("Contact", "<sip:a@new>")])
    assert d.on_request(reinvite) is None
    assert d.remote_target == SipUri.parse("sip:a@new")
    ack = peer.create_ack(reinvite.cseq.seq, via=VIA)
    assert d.on_request(ack) is None
    bye = peer.create_request("BYE", via=VIA)
    assert d.on_request(bye) is None
    assert state(d) is DialogState.TERMINATED
    with pytest.raises(DialogError):
        d.create_request("BYE", via=VIA)


def test_responses_481_and_408_terminate_the_dialog() -> None:
    """12.2.1.2: the peer no longer knows the dialog."""
    req = invite()
    for status in (481, 408):
        d = Dialog.as_uac(req, answer(req, 200))
        info = d.create_request("INFO", via=VIA)
        d.on_response(info, make_response(info, status))
        assert state(d) is DialogState.TERMINATED


def test_bye_response_terminates() -> None:
    """Our BYE answered: the dialog is over."""
    req = invite()
    d = Dialog.as_uac(req, answer(req, 200))
    bye = d.create_request("BYE", via=VIA)
    d.on_response(bye, make_response(bye, 200))
    assert state(d) is DialogState.TERMINATED
    d.terminate()
    assert state(d) is DialogState.TERMINATED


def test_matching_by_call_id_and_tags() -> None:
    """Responses match by From=local and To=remote; others do not match."""
    req = invite()
    d = Dialog.as_uac(req, answer(req, 200))
    bye = d.create_request("BYE", via=VIA)
    assert d.matches(make_response(bye, 200))
    assert not d.matches(make_response(invite(), 200, to_tag="someone-else"))
    assert not d.matches(Request.build("BYE", "sip:a@b", []))


def test_dialog_creation_errors() -> None:
    """100 Trying, missing tags or Contact cannot make a dialog."""
    req = invite()
    with pytest.raises(DialogError):
        Dialog.as_uac(req, make_response(req, 100))
    with pytest.raises(DialogError):
        Dialog.as_uac(req, make_response(req, 486, to_tag="x"))
    with pytest.raises(DialogError):
        Dialog.as_uac(req, make_response(req, 200))
    with pytest.raises(SipParseError):
        Dialog.as_uac(req, make_response(req, 200, to_tag="x"))
    no_tag = req.with_headers(req.headers.set("From", "<sip:alice@a.example>"))
    with pytest.raises(DialogError):
        Dialog.as_uas(no_tag, "bob-tag")


def test_illegal_transition_raises() -> None:
    """Terminated is final; the table says so."""
    req = invite()
    d = Dialog.as_uac(req, answer(req, 200))
    d.terminate()
    with pytest.raises(DialogError):
        d._set_state(DialogState.CONFIRMED)
    assert DialogState.TERMINATED not in DIALOG_TRANSITIONS


def test_dialog_from_captured_carrier_answer() -> None:
    """SIPp's INVITE answered by a carrier through two record-routing proxies."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "sip"
    req = Request.parse((fixtures / "sipp_uac_invite.sip").read_bytes())
    ok = Response.parse((fixtures / "carrier_200_ok_record_route.sip").read_bytes())
    d = Dialog.as_uac(req, ok)
    assert d.remote_tag == "as6f1c2b7d"
    assert [str(r.uri) for r in d.route_set] == [
        "sip:edge.carrier.example;transport=udp;lr",
        "sip:198.51.100.1;lr;ftag=4242SIPpTag001",
    ]
    bye = d.create_request("BYE", via=VIA)
    assert bye.uri == SipUri.parse("sip:service@203.0.113.20:5060;transport=udp")
    assert bye.cseq.seq == 2
    answer = SessionDescription.parse(ok.body)
    (audio,) = answer.media
    assert [c.name for c in audio.codecs()] == ["PCMA", "telephone-event"]
    assert answer.media_direction(audio) is Direction.SENDRECV
