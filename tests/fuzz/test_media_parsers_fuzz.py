"""Fuzz the media parsers of untrusted datagrams: they only ever raise their parse error."""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.media.dtmf import TelephoneEvent, TelephoneEventReceiver
from callcenter.media.errors import RtcpParseError, RtpParseError, TelephoneEventParseError
from callcenter.media.rtcp import Goodbye, build_compound, parse_compound
from callcenter.media.rtp import RtpPacket, RtpReceiver

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rtp_like() -> st.SearchStrategy[bytes]:
    """Bytes that start like RTP (version 2) so the parser goes past its first check."""
    return st.builds(
        lambda first, rest: bytes([0x80 | (first & 0x3F)]) + rest,
        st.integers(0, 255),
        st.binary(max_size=120),
    )


def rtcp_like() -> st.SearchStrategy[bytes]:
    """A run of headers with plausible types and lengths, followed by random bodies."""
    header = st.builds(
        lambda flags, pt, words, body: struct.pack("!BBH", 0x80 | flags, pt, words) + body,
        st.integers(0, 0x3F),
        st.sampled_from([200, 201, 202, 203, 204, 205, 206, 207]),
        st.integers(0, 12),
        st.binary(max_size=48),
    )
    return st.lists(header, min_size=1, max_size=4).map(b"".join)


@FUZZ
@given(st.one_of(st.binary(max_size=200), rtp_like()))
def test_rtp_parser_only_raises_rtp_parse_error(data: bytes) -> None:
    """Any datagram either parses (and then round-trips) or raises RtpParseError."""
    try:
        packet = RtpPacket.parse(data)
    except RtpParseError:
        return
    assert RtpPacket.parse(bytes(packet)) == packet
    RtpReceiver().receive(packet, 0.0)


@FUZZ
@given(st.one_of(st.binary(max_size=200), rtcp_like()))
def test_rtcp_parser_only_raises_rtcp_parse_error(data: bytes) -> None:
    """Any datagram either parses (and re-parses from its rebuild) or raises RtcpParseError."""
    try:
        packets = parse_compound(data)
    except RtcpParseError:
        return
    again = parse_compound(build_compound(packets))
    assert [type(p) for p in again] == [type(p) for p in packets]
    for before, after in zip(packets, again, strict=True):
        if not isinstance(before, Goodbye):  # a BYE reason is re-encoded as UTF-8 text
            assert after == before


@FUZZ
@given(st.binary(max_size=16), st.integers(0, 2**32 - 1))
def test_telephone_event_parser_only_raises_its_parse_error(data: bytes, ts: int) -> None:
    """Any payload parses to an event or raises TelephoneEventParseError, also in the receiver."""
    try:
        event = TelephoneEvent.parse(data)
    except TelephoneEventParseError:
        pass
    else:
        assert TelephoneEvent.parse(bytes(event)) == event
    receiver = TelephoneEventReceiver()
    try:
        receiver.receive(RtpPacket(101, 0, ts, 1, data), 0.0)
    except TelephoneEventParseError:
        assert len(data) < 4
