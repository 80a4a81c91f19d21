"""Tests for SDP parsing (RFC 4566) and offer/answer (RFC 3264)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.errors import NegotiationError, SdpParseError
from callcenter.sip.message import Request
from callcenter.sip.sdp import (
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    Codec,
    Connection,
    Direction,
    Media,
    SessionDescription,
    answer_direction,
    answer_offer,
    build_offer,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sip"


def body_of(name: str) -> bytes:
    return Request.parse((FIXTURES / name).read_bytes()).body


def offer_with(media_lines: str, *, conn: str = "c=IN IP4 192.0.2.5\r\n") -> SessionDescription:
    text = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\n" + conn + "t=0 0\r\n" + media_lines
    return SessionDescription.parse(text)


@pytest.mark.parametrize("name", ["sipp_uac_invite.sip", "baresip_invite.sip", "torture_wsinv.sip"])
def test_fixture_bodies_round_trip(name: str) -> None:
    """The SDP bodies of captured INVITEs parse and serialise back to the same value."""
    sdp = SessionDescription.parse(body_of(name))
    assert SessionDescription.parse(bytes(sdp)) == sdp


def test_baresip_offer_fields() -> None:
    """baresip offers PCMU, PCMA and telephone-event 101 with ptime 20, sendrecv."""
    sdp = SessionDescription.parse(body_of("baresip_invite.sip"))
    assert sdp.origin.sess_version == 3442198003
    assert sdp.connection == Connection("127.0.0.1")
    (audio,) = sdp.media
    assert audio.port == 10332
    assert [c.name for c in audio.codecs()] == ["PCMU", "PCMA", "telephone-event"]
    assert audio.codecs()[2].fmtp == "0-15"
    assert audio.ptime == 20
    assert audio.direction is Direction.SENDRECV
    assert audio.bandwidths == ("AS:64",)
    assert audio.attribute("label") == "1"
    assert bytes(sdp).splitlines() == body_of("baresip_invite.sip").splitlines()


def test_static_payload_types_resolve_without_rtpmap() -> None:
    """RFC 3551: 0 and 8 mean PCMU and PCMA even with no rtpmap line."""
    m = Media.parse_m("audio 5000 RTP/AVP 8 0 96")
    assert [c.name for c in m.codecs()] == ["PCMA", "PCMU"]


def test_answer_keeps_the_offerers_codec_order_and_dtmf_payload_type() -> None:
    """Offer PCMA first with telephone-event 96: the answer picks PCMA and keeps 96."""
    offer = offer_with(
        "m=audio 5000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n"
    )
    sdp, neg = answer_offer(offer, address="10.0.0.2", port=40000, session_id=7, version=1)
    assert neg.codec.same_format(PCMA)
    assert neg.telephone_event is not None
    assert neg.telephone_event.payload_type == 96
    assert neg.remote_address == "192.0.2.5"
    assert neg.remote_port == 5000
    assert neg.direction is Direction.SENDRECV
    assert not neg.remote_on_hold
    (audio,) = sdp.media
    assert audio.formats == ("8", "96")
    assert audio.attribute("fmtp") == "96 0-15"
    assert sdp.connection == Connection("10.0.0.2")
    assert SessionDescription.parse(bytes(sdp)) == sdp


def test_answer_respects_local_preferences_list() -> None:
    """If we only support PCMU, PCMU is chosen even when offered second."""
    offer = offer_with("m=audio 5000 RTP/AVP 8 0\r\n")
    _, neg = answer_offer(
        offer, address="10.0.0.2", port=1, session_id=1, version=1, supported=(PCMU,)
    )
    assert neg.codec.name == "PCMU"


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ("sendrecv", Direction.SENDRECV),
        ("sendonly", Direction.RECVONLY),
        ("recvonly", Direction.SENDONLY),
        ("inactive", Direction.INACTIVE),
    ],
)
def test_hold_directions_are_mirrored(offered: str, expected: Direction) -> None:
    """RFC 3264 6.1: the answer mirrors sendonly/recvonly; inactive stays inactive."""
    offer = offer_with(f"m=audio 5000 RTP/AVP 0\r\na={offered}\r\n")
    _, neg = answer_offer(offer, address="10.0.0.2", port=1, session_id=1, version=2)
    assert neg.direction is expected
    assert neg.remote_on_hold is (offered in ("sendonly", "inactive"))


def test_old_style_hold_with_zero_address() -> None:
    """RFC 3264 8.4: c=0.0.0.0 means hold; we answer recvonly."""
    offer = offer_with("m=audio 5000 RTP/AVP 0\r\n", conn="c=IN IP4 0.0.0.0\r\n")
    _, neg = answer_offer(offer, address="10.0.0.2", port=1, session_id=1, version=2)
    assert neg.remote_on_hold
    assert neg.direction is Direction.RECVONLY


def test_session_level_direction_applies_to_media() -> None:
    """A session-level a=sendonly holds every stream without its own attribute."""
    text = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\na=sendonly\r\n"
    offer = SessionDescription.parse(text + "m=audio 5000 RTP/AVP 0\r\n")
    assert offer.direction is Direction.SENDONLY
    _, neg = answer_offer(offer, address="10.0.0.2", port=1, session_id=1, version=2)
    assert neg.direction is Direction.RECVONLY


def test_local_hold_limits_the_answer() -> None:
    """If we hold (sendonly locally), a sendrecv offer is answered sendonly."""
    assert answer_direction(Direction.SENDRECV, Direction.SENDONLY) is Direction.SENDONLY
    assert answer_direction(Direction.SENDONLY, Direction.SENDONLY) is Direction.INACTIVE
    assert Direction.of(sends=False, receives=False) is Direction.INACTIVE


def test_video_and_extra_audio_are_rejected_with_port_zero() -> None:
    """RFC 3264 6: the answer has one m= per offered m=; unwanted ones get port 0."""
    offer = SessionDescription.parse(body_of("torture_wsinv.sip"))
    sdp, neg = answer_offer(offer, address="10.0.0.2", port=4000, session_id=1, version=1)
    assert [m.port for m in sdp.media] == [4000, 0]
    assert sdp.media[1].formats == ("31",)
    assert neg.codec.name == "PCMU"


def test_nothing_acceptable_raises_negotiation_error() -> None:
    """Only G.729 or SRTP offered: 488."""
    for media in ("m=audio 5000 RTP/AVP 18\r\n", "m=audio 5000 RTP/SAVP 0\r\n"):
        with pytest.raises(NegotiationError) as exc:
            answer_offer(offer_with(media), address="1.1.1.1", port=1, session_id=1, version=1)
        assert exc.value.status == 488
    no_conn = offer_with("m=audio 5000 RTP/AVP 0\r\n", conn="")
    with pytest.raises(NegotiationError):
        answer_offer(no_conn, address="1.1.1.1", port=1, session_id=1, version=1)


def test_build_offer_and_answer_it_ourselves() -> None:
    """Our own offer is answerable by our own answerer; hold offers are sendonly."""
    offer = build_offer(address="10.0.0.1", port=30000, session_id=5, version=1)
    assert offer.media[0].formats == ("0", "8", "101")
    _, neg = answer_offer(offer, address="10.0.0.2", port=1, session_id=1, version=1)
    assert neg.telephone_event == TELEPHONE_EVENT
    hold = build_offer(
        address="10.0.0.1",
        port=30000,
        session_id=5,
        version=2,
        direction=Direction.SENDONLY,
        telephone_event=None,
        codecs=(PCMA,),
    )
    assert hold.media[0].direction is Direction.SENDONLY
    assert hold.origin.sess_version == 2
    v6 = build_offer(address="2001:db8::1", port=1, session_id=1, version=1)
    assert v6.connection == Connection("2001:db8::1", addrtype="IP6")
    assert Codec(96, "opus", 48000, 2).rtpmap == "96 opus/48000/2"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=1\r\n",
        "v=0\r\ns=-\r\n",
        "v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n",
        "v=0\r\no=- 1 x IN IP4 1.1.1.1\r\ns=-\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nc=IN IP4\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nm=audio x RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nm=audio 1\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nX=bad\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nq=unknown\r\n",
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\na=\r\n",
    ],
)
def test_malformed_sdp(text: str) -> None:
    """Broken SDP raises SdpParseError, which is a SipParseError asking for 488."""
    with pytest.raises(SdpParseError) as exc:
        SessionDescription.parse(text)
    assert exc.value.status == 488


def test_bad_rtpmap_and_ptime_raise_on_use() -> None:
    """Attribute values are checked when read."""
    m = offer_with("m=audio 1 RTP/AVP 96\r\na=rtpmap:96 nonsense\r\na=ptime:x\r\n").media[0]
    with pytest.raises(SdpParseError):
        m.codecs()
    with pytest.raises(SdpParseError):
        _ = m.ptime


def test_non_utf8_and_oversized_sdp() -> None:
    """Bytes input is size-checked and must be UTF-8."""
    with pytest.raises(SdpParseError):
        SessionDescription.parse(b"v=0\r\ns=\xff\r\n")
    with pytest.raises(SdpParseError):
        SessionDescription.parse(b"v=0\r\n" + b"a=x\r\n" * 5000)


def test_other_lines_survive_round_trip() -> None:
    """i=, u=, e=, p=, r=, z=, k= and media i=/k= are kept in RFC 4566 order."""
    text = (
        "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=x\r\ni=info\r\nu=http://x\r\ne=a@b\r\np=+1\r\n"
        "c=IN IP4 1.1.1.1\r\nb=AS:1\r\nt=0 0\r\nr=1 2 3\r\nz=0 0\r\nk=clear:x\r\na=tool:y\r\n"
        "m=audio 1/2 RTP/AVP 0\r\ni=mi\r\nc=IN IP4 2.2.2.2\r\nk=prompt\r\na=recvonly\r\n"
    )
    sdp = SessionDescription.parse(text)
    assert str(sdp) == text
    assert sdp.media[0].port_count == 2
    assert sdp.media_connection(sdp.media[0]) == Connection("2.2.2.2")


@settings(max_examples=150, deadline=None, database=None)
@given(
    port=st.integers(1, 65535),
    version=st.integers(0, 2**32),
    codecs=st.permutations([PCMU, PCMA]).map(tuple),
    dtmf_pt=st.integers(96, 127),
    direction=st.sampled_from(list(Direction)),
    extra_media=st.lists(st.sampled_from(["video", "audio", "application"]), max_size=3),
)
def test_our_offers_round_trip_and_are_answerable(
    port: int,
    version: int,
    codecs: tuple[Codec, ...],
    dtmf_pt: int,
    direction: Direction,
    extra_media: list[str],
) -> None:
    """Any offer we build parses back to itself, and answering it keeps one m= per m=,
    picks the first offered codec and mirrors the direction."""
    offer = build_offer(
        address="192.0.2.9",
        port=port,
        session_id=1,
        version=version,
        codecs=codecs,
        telephone_event=Codec(dtmf_pt, "telephone-event", fmtp="0-16"),
        direction=direction,
    )
    extras = tuple(Media(kind, 9, "RTP/AVP", ("0",)) for kind in extra_media)
    offer = SessionDescription(
        origin=offer.origin, connection=offer.connection, media=offer.media + extras
    )
    assert SessionDescription.parse(bytes(offer)) == offer
    answer, neg = answer_offer(offer, address="10.0.0.2", port=4000, session_id=2, version=1)
    assert len(answer.media) == len(offer.media)
    assert neg.codec.same_format(codecs[0])
    assert neg.telephone_event is not None
    assert neg.telephone_event.payload_type == dtmf_pt
    assert neg.direction is answer_direction(direction)
    assert [m.port for m in answer.media][1:] == [0] * len(extras)
