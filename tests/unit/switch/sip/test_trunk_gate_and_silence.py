"""Two pure rules of the SIP switch, on a virtual clock: how many calls a trunk takes
(channels and calls per second) and which relayed legs have gone silent."""

from __future__ import annotations

from callcenter.switch.ports import LegId
from callcenter.switch.sip.legs import LegState, SipLeg, silent_legs
from callcenter.switch.sip.relay import RtpPort, connect
from callcenter.switch.sip.trunks import Trunk, TrunkGate


def test_calls_per_second_are_counted_over_a_sliding_second() -> None:
    """max_cps 2: two calls at t=0 and 0.5 pass, a third at 0.9 does not; at 1.0 the
    first has left the window and one more passes."""
    trunk = Trunk("pstn", "192.0.2.1", max_cps=2)
    gate = TrunkGate()
    assert gate.admits(trunk, busy=0, now=0.0)
    assert gate.admits(trunk, busy=0, now=0.5)
    assert not gate.admits(trunk, busy=0, now=0.9)
    assert gate.admits(trunk, busy=0, now=1.0)
    assert not gate.admits(trunk, busy=0, now=1.2)


def test_channels_in_use_limit_the_trunk_and_each_trunk_counts_alone() -> None:
    small, other = Trunk("small", "192.0.2.1", max_channels=1), Trunk("other", "192.0.2.2")
    gate = TrunkGate()
    assert gate.admits(small, busy=0, now=0.0)
    assert not gate.admits(small, busy=1, now=5.0)
    assert gate.admits(small, busy=0, now=6.0)
    assert all(gate.admits(other, busy=100, now=6.0) for _ in range(50))  # no limits


def leg(name: str, state: LegState = LegState.ANSWERED) -> SipLeg:
    return SipLeg(
        LegId(name), "inbound", state, (), caller="", dest="", call_id=name, local_tag="t",
        rtp=RtpPort(),
    )  # fmt: skip


def test_a_relayed_leg_is_silent_once_its_count_stood_still_for_the_timeout() -> None:
    """Legs a and b are relayed; a keeps receiving, b stops: at 1.0 s without packets b
    is silent. An unrelayed leg, one we hold, one whose phone holds us (it sends
    nothing) and an ended one are never reported, and the silence of a hold does not
    count once the hold is over."""
    a, b, alone, held, ended = leg("a"), leg("b"), leg("alone"), leg("held"), leg("ended")
    holding = leg("holding")
    connect(a.rtp, b.rtp)
    connect(held.rtp, ended.rtp)
    connect(holding.rtp, RtpPort())
    held.held = True
    holding.remote_sends = False
    ended.state = LegState.ENDED
    legs = [a, b, alone, held, ended, holding]
    assert silent_legs(legs, 0.0, 1.0) == []
    a.rtp.stats.received = 10
    assert silent_legs(legs, 0.5, 1.0) == []
    a.rtp.stats.received = 20
    assert silent_legs(legs, 1.0, 1.0) == [b]
    assert a.rtp_seen == (20, 1.0)
    assert holding not in silent_legs(legs, 4.9, 1.0)  # a watchdog tick during the hold
    holding.remote_sends = True  # the phone resumed at 5.0 and stays silent
    assert holding not in silent_legs(legs, 5.5, 1.0)
    assert holding in silent_legs(legs, 5.9, 1.0)
