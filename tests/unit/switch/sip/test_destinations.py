"""Where a dest goes, without a network: numbers through trunks, sip: URIs straight,
agents' phones only with a registrar (their bindings are tested on sockets, in
tests/integration/sip/test_b2bua_phones_and_trunk_limits.py)."""

from __future__ import annotations

import pytest

from callcenter.sip.uri import SipUri
from callcenter.switch.ports import InvalidArgument
from callcenter.switch.sip.destinations import Destinations, Route
from callcenter.switch.sip.trunks import Trunk

PSTN = Trunk("pstn", "192.0.2.1", 5080)
BACKUP = Trunk("backup", "192.0.2.2")
BOTH = Destinations({"pstn": PSTN, "backup": BACKUP}, None)


def test_a_number_goes_through_the_first_trunk_unless_one_is_named() -> None:
    assert BOTH.route("13800138000") == Route(
        "13800138000", SipUri("192.0.2.1", user="13800138000", port=5080), PSTN, PSTN.address
    )
    routed = BOTH.route("13800138000", "backup")
    assert routed is not None and routed.trunk is BACKUP and routed.target == BACKUP.address


def test_a_sip_uri_goes_straight_to_its_host() -> None:
    routed = BOTH.route("sip:agent@198.51.100.9:5062")
    assert routed == Route(
        "sip:agent@198.51.100.9:5062", SipUri("198.51.100.9", user="agent", port=5062)
    )
    assert BOTH.trunk(None, "sip:agent@198.51.100.9") is None


@pytest.mark.parametrize(
    ("dest", "trunk", "problem"),
    [
        ("13800138000", "nope", "no trunk"),
        ("1 2<3>", None, "bad destination"),
        ("agent:1001", None, "no registrar"),
    ],
)
def test_bad_destinations_are_refused(dest: str, trunk: str | None, problem: str) -> None:
    with pytest.raises(InvalidArgument, match=problem):
        BOTH.route(dest, trunk)


def test_without_trunks_only_uris_can_be_dialled() -> None:
    none = Destinations({}, None)
    assert none.default is None
    with pytest.raises(InvalidArgument, match="needs a trunk"):
        none.route("13800138000")
    assert not none.is_phone("1001", None)
    assert none.is_phone("agent:1001", "pstn")
