"""An endpoint fed hostile datagrams: nothing raises, every datagram is accounted for once.

A fuzz target (hypothesis) for the engine's only parser of untrusted input on the hot
path: :meth:`Endpoint.receive`. Whatever arrives, each datagram ends up either
accepted (``received``) or under exactly one drop counter, and the partner only ever
gets well-formed RTP carrying an accepted payload.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.media.dtmf import TelephoneEvent
from callcenter.media.endpoint import Endpoint
from callcenter.media.room import Bridge
from callcenter.media.rtp import RtpPacket

Address = tuple[str, int]
PHONE: Address = ("127.0.0.1", 40000)
AGENT: Address = ("127.0.0.1", 40002)
FUZZ = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def bridged() -> tuple[Endpoint, list[bytes]]:
    sent: list[bytes] = []

    def send(data: bytes | bytearray, addr: Address) -> None:
        assert addr == AGENT
        sent.append(bytes(data))

    def nowhere(data: bytes | bytearray, addr: Address) -> None:
        raise AssertionError("nothing is sent back to the phone")

    caller = Endpoint("caller", ("127.0.0.1", 20000), nowhere)
    agent = Endpoint("agent", ("127.0.0.1", 20002), send, codec="PCMA")
    caller.set_remote(PHONE)
    agent.set_remote(AGENT)
    Bridge("b", caller, agent).connect()
    return caller, sent


def rtp_like() -> st.SearchStrategy[bytes]:
    """Mostly plausible RTP (so the deeper checks are reached), sometimes garbage."""
    header = st.builds(
        lambda first, pt, seq, ts, ssrc: struct.pack("!BBHII", first, pt, seq, ts, ssrc),
        st.sampled_from([0x80, 0x80, 0x80, 0x90, 0xA0, 0x81, 0x40, 0x00, 0xFF]),
        st.sampled_from([0, 0, 8, 101, 0x80 | 0, 18, 127]),
        st.integers(0, 20) | st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFFFFFF),
        st.sampled_from([1, 1, 1, 2, 0xDEADBEEF]),
    )
    payload = st.binary(max_size=200) | st.just(b"\xff" * 160)
    return st.builds(lambda h, p: h + p, header, payload) | st.binary(max_size=40)


@FUZZ
@given(st.lists(st.tuples(rtp_like(), st.sampled_from([PHONE, PHONE, ("10.0.0.9", 1)])),
                max_size=60))  # fmt: skip
def test_hostile_datagrams_never_raise_and_are_each_counted_once(
    datagrams: list[tuple[bytes, Address]],
) -> None:
    caller, sent = bridged()
    for i, (data, source) in enumerate(datagrams):
        caller.receive(data, source, 100.0 + i * 0.02)
    stats = caller.stats
    assert stats.received + stats.dropped == len(datagrams)
    assert stats.forwarded <= stats.received
    assert caller.partner is not None
    for data in sent:  # all on the agent leg's own stream, in its codec
        packet = RtpPacket.parse(data)
        assert packet.payload_type in (8, 101) and packet.ssrc == caller.partner.out.ssrc


def test_a_telephone_event_with_a_short_payload_is_malformed() -> None:
    caller, _ = bridged()
    caller.receive(bytes(RtpPacket(101, 1, 0, 1, b"\x01")), PHONE, 0.0)
    caller.receive(bytes(RtpPacket(101, 2, 0, 1, bytes(TelephoneEvent(5)))), PHONE, 0.02)
    assert (caller.stats.malformed, caller.stats.received) == (1, 1)
