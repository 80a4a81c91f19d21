"""The SIP switch's pure parts: trunks and causes, the leg table, the INVITE it builds,
where requests go, what an SDP answer says, and the relay's bookkeeping."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.errors import SipError
from callcenter.sip.headers import Via
from callcenter.sip.message import Request
from callcenter.sip.sdp import SessionDescription, build_offer
from callcenter.sip.uri import SipUri, parse_uri
from callcenter.switch.ports import HangupCause, InvalidArgument, LegId, Switch
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.legs import (
    LEG_TRANSITIONS,
    LegState,
    SipLeg,
    build_invite,
    next_hop,
    remote_media,
    set_state,
)
from callcenter.switch.sip.relay import RtpPort, connect, disconnect, looks_like_rtp
from callcenter.switch.sip.trunks import Trunk, cause_for_status, request_uri_for

CARRIER = Trunk("carrier", "192.0.2.1", 5080, username="u", password="p", caller_id="4000")


def test_a_trunk_is_udp_with_a_valid_port() -> None:
    assert CARRIER.address == ("192.0.2.1", 5080)
    assert CARRIER.has_credentials
    assert not Trunk("open", "192.0.2.2").has_credentials
    assert Trunk("default", "192.0.2.2").port == 5060
    with pytest.raises(ValueError, match="UDP"):
        Trunk("tls", "192.0.2.3", transport="tls")
    with pytest.raises(ValueError, match="port"):
        Trunk("bad", "192.0.2.3", port=0)


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (404, HangupCause.INVALID_NUMBER),
        (484, HangupCause.INVALID_NUMBER),
        (486, HangupCause.BUSY),
        (600, HangupCause.BUSY),
        (408, HangupCause.NO_ANSWER),
        (480, HangupCause.NO_ANSWER),
        (487, HangupCause.CANCELLED),
        (403, HangupCause.REJECTED),
        (603, HangupCause.REJECTED),
        (503, HangupCause.CONGESTION),
        (502, HangupCause.CONGESTION),
        (500, HangupCause.FAILED),
        (488, HangupCause.FAILED),
        (302, HangupCause.FAILED),
    ],
)
def test_a_failed_invite_maps_to_a_cause(status: int, cause: HangupCause) -> None:
    assert cause_for_status(status) is cause


def test_numbers_go_through_the_trunk_and_sip_uris_go_straight() -> None:
    assert request_uri_for("13800138000", CARRIER) == SipUri(
        "192.0.2.1", user="13800138000", port=5080
    )
    assert request_uri_for("+8613800138000", CARRIER).user == "+8613800138000"
    direct = request_uri_for("sip:agent@127.0.0.1:5160", None)
    assert (direct.user, direct.host, direct.port) == ("agent", "127.0.0.1", 5160)


@pytest.mark.parametrize(
    "dest", ["", " ", "1 2", "a@b", "x;y", "<1>", "tel:+861", "123\n", "1#", "sip:<x>", "sip:"]
)
def test_a_bad_number_is_refused(dest: str) -> None:
    with pytest.raises(InvalidArgument):
        request_uri_for(dest, CARRIER)


def test_a_number_without_any_trunk_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="trunk"):
        request_uri_for("100", None)


def make_leg(state: LegState) -> SipLeg:
    return SipLeg(
        LegId("l"),
        "outbound",
        state,
        (),
        caller="4000",
        dest="100",
        call_id="c",
        local_tag="t",
        rtp=RtpPort(),
    )


@pytest.mark.parametrize("start", list(LegState))
@pytest.mark.parametrize("new", list(LegState))
def test_the_leg_table_is_the_only_way_to_change_state(start: LegState, new: LegState) -> None:
    """Every allowed change happens; every other one raises and changes nothing."""
    leg = make_leg(start)
    if new in LEG_TRANSITIONS.get(start, frozenset()):
        set_state(leg, new)
        assert leg.state is new
    else:
        with pytest.raises(ValueError, match="->"):
            set_state(leg, new)
        assert leg.state is start


def test_every_state_can_end_and_ended_is_final() -> None:
    for state in LegState:
        if state is not LegState.ENDED:
            assert LegState.ENDED in LEG_TRANSITIONS[state]
    assert LegState.ENDED not in LEG_TRANSITIONS


def test_the_invite_round_trips_and_offers_our_media() -> None:
    """The INVITE parses back with the mandatory headers (RFC 3261 8.1.1) and an SDP
    offer of PCMU, PCMA and telephone-event on our RTP address."""
    uri = SipUri("192.0.2.1", user="13800138000", port=5080)
    offer = build_offer(address="127.0.0.1", port=40000, session_id=5, version=1)
    invite = build_invite(
        uri=uri,
        via=Via.parse("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport"),
        caller_id="4000",
        local=("127.0.0.1", 5060),
        call_id="call-1@127.0.0.1",
        tag="tag1",
        sdp=offer,
    )
    parsed = Request.parse(bytes(invite))
    assert parsed.method == "INVITE" and parsed.uri == uri
    assert parsed.from_addr.tag == "tag1" and parsed.to_addr.tag is None
    assert str(parsed.from_addr.uri) == "sip:4000@127.0.0.1:5060"
    assert (parsed.cseq.seq, parsed.cseq.method) == (1, "INVITE")
    assert parsed.call_id == "call-1@127.0.0.1"
    assert parsed.max_forwards == 70
    (contact,) = parsed.contacts.contacts
    assert str(contact.uri) == "sip:4000@127.0.0.1:5060"
    sdp = SessionDescription.parse(parsed.body)
    (audio,) = sdp.media
    assert audio.port == 40000
    assert [c.name for c in audio.codecs()] == ["PCMU", "PCMA", "telephone-event"]
    assert remote_media(parsed.body) == ("127.0.0.1", 40000)


def test_requests_go_to_the_first_route_else_the_request_uri() -> None:
    base = Request.build(
        "BYE",
        "sip:peer@192.0.2.5:5062",
        [("Via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx"), ("CSeq", "2 BYE")],
    )
    assert next_hop(base) == ("192.0.2.5", 5062)
    routed = base.with_headers(base.headers.add("Route", "<sip:192.0.2.9;lr>"))
    assert next_hop(routed) == ("192.0.2.9", 5060)


def test_remote_media_skips_rejected_streams_and_reads_session_connection() -> None:
    body = (
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"
        b"m=video 0 RTP/AVP 96\r\nm=audio 0 RTP/AVP 0\r\nm=audio 41000 RTP/AVP 0\r\n"
    )
    assert remote_media(body) == ("192.0.2.7", 41000)
    assert remote_media(b"") is None
    rejected = b"v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"
    assert remote_media(rejected) is None


def test_only_rtp_looking_datagrams_are_relayed() -> None:
    assert looks_like_rtp(bytes([0x80, 0]) + bytes(10))
    assert not looks_like_rtp(bytes([0x80, 0]) + bytes(9))  # shorter than the header
    assert not looks_like_rtp(bytes([0x40, 0]) + bytes(10))  # version 1
    assert not looks_like_rtp(b"\r\n\r\n" + bytes(12))  # a SIP keep-alive


def test_ports_connect_in_pairs() -> None:
    a, b, c = RtpPort(), RtpPort(), RtpPort()
    connect(a, b)
    connect(a, b)  # again: fine
    assert (a.partner, b.partner) == (b, a)
    with pytest.raises(ValueError, match="connected"):
        connect(b, c)
    disconnect(b)
    assert (a.partner, b.partner) == (None, None)
    connect(b, c)
    assert c.partner is b


def test_a_port_with_nowhere_to_send_drops() -> None:
    port = RtpPort()
    port.send(bytes(12))
    assert port.stats.dropped == 1 and port.stats.sent == 0
    assert not port.is_open


def test_the_sip_switch_is_a_switch() -> None:
    """mypy checks this assignment against the port's Protocol; pytest that it builds
    without a loop or a socket."""
    switch: Switch = SipSwitch([CARRIER])
    assert isinstance(switch, SipSwitch) and switch.trunks == {"carrier": CARRIER}


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=600))
def test_remote_media_of_untrusted_bytes_raises_only_sip_errors(body: bytes) -> None:
    """A far end's SDP answer is untrusted: garbage raises SipError, never anything else."""
    with contextlib.suppress(SipError):
        address = remote_media(body)
        assert address is None or 0 < address[1] < 65536


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(max_size=40), st.text(max_size=40).map(lambda t: "sip:" + t)))
def test_request_uri_for_untrusted_numbers(dest: str) -> None:
    """Whatever the core passes as a number gives a SIP URI or InvalidArgument."""
    with contextlib.suppress(InvalidArgument):
        uri = request_uri_for(dest, CARRIER)
        assert Request.build("INVITE", uri, []).uri == uri
        assert parse_uri(str(uri)) == uri
