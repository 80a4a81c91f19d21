"""``originate`` on the SIP switch says which trunk the leg goes out on (issue 6).

Two trunks point at UDP sockets of the test that never answer (the INVITEs just wait
there). The switch answers with the trunk it sent the INVITE to: the one named, else
its default (the first configured) for a number; a ``sip:`` URI goes straight to its
host on no trunk. A trunk out of channels refuses the leg at once (503), and the
answer still names it: that is the trunk that refused the call.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from callcenter.switch.ports import HangupCause, LegHungUp, LegId, SwitchEvent
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.legs import LegState
from callcenter.switch.sip.trunks import Trunk

TIMEOUT = 10.0


@pytest.fixture
def silent_ports() -> Iterator[tuple[int, int]]:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second,
    ):
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        yield int(first.getsockname()[1]), int(second.getsockname()[1])


async def test_originate_answers_with_the_trunk_named_or_the_default_or_none(
    silent_ports: tuple[int, int],
) -> None:
    """A number with no trunk named goes to the first trunk, one named to that trunk, a
    URI to no trunk; sending the same originate again answers the same; the first trunk,
    its one channel taken, refuses the next call with a 503 and is named as refusing."""
    mobile_port, national_port = silent_ports
    trunks = [
        Trunk("mobile", "127.0.0.1", mobile_port, max_channels=1),
        Trunk("national", "127.0.0.1", national_port),
    ]
    async with asyncio.timeout(TIMEOUT), SipSwitch(trunks) as switch:
        seen: list[SwitchEvent] = []
        switch.subscribe(seen.append)
        default = await switch.originate(LegId("c0"), "13800138000", caller_id="4000")
        named = await switch.originate(
            LegId("c1"), "13800138001", caller_id="4000", trunk="national"
        )
        uri = f"sip:13800138002@127.0.0.1:{national_port}"
        direct = await switch.originate(LegId("c2"), uri, caller_id="4000")
        assert (default, named, direct) == ("mobile", "national", None)
        again = await switch.originate(LegId("c0"), "13800138000", caller_id="4000")
        assert again == "mobile" and switch.leg_state(LegId("c0")) is LegState.DIALLING

        refused = await switch.originate(
            LegId("c3"), "13800138003", caller_id="4000", trunk="mobile"
        )
        assert refused == "mobile"
        (ended,) = [e for e in seen if isinstance(e, LegHungUp)]
        assert (ended.leg, ended.cause, ended.sip_status) == ("c3", HangupCause.CONGESTION, 503)
        for leg in ("c0", "c1", "c2"):
            await switch.hangup(LegId(leg))
