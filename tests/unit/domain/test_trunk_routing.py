"""Least-cost routing: the cheapest trunk that serves the number and has room now."""

from __future__ import annotations

import pytest

from callcenter.domain.trunk_routing import NoTrunk, NoTrunkReason, NumberInfo, Trunk, TrunkRouter

MOBILE = NumberInfo("+8613800000001", carrier="China Mobile", region="CN-GD")
UNICOM = NumberInfo("+8613000000001", carrier="China Unicom", region="CN-BJ")
FIXED = NumberInfo("+862088880000", carrier="", region="CN-GD")


def names(choice: Trunk | NoTrunk) -> str:
    assert isinstance(choice, Trunk), choice
    return choice.name


def test_the_cheapest_serving_trunk_wins() -> None:
    """A carrier's own trunk is cheapest for its numbers; others take the general one."""
    router = TrunkRouter(
        [
            Trunk("general", cost=0.08),
            Trunk("cmcc", cost=0.03, carriers=frozenset({"China Mobile"})),
            Trunk("gd-local", cost=0.05, regions=frozenset({"CN-GD"})),
        ]
    )
    assert names(router.choose(MOBILE, 0.0)) == "cmcc"
    assert names(router.choose(FIXED, 0.0)) == "gd-local"
    assert names(router.choose(UNICOM, 0.0)) == "general"


def test_prefixes_limit_what_a_trunk_carries() -> None:
    """A trunk for +8620 numbers only; a mobile number goes elsewhere, or nowhere."""
    router = TrunkRouter([Trunk("gz", cost=0.01, prefixes=frozenset({"+8620"}))])
    assert names(router.choose(FIXED, 0.0)) == "gz"
    assert router.choose(MOBILE, 0.0) == NoTrunk(NoTrunkReason.NOT_SERVED)


def test_a_full_trunk_overflows_to_the_next_cheapest_and_frees_on_release() -> None:
    """Two channels on the cheap trunk: the third call takes the dear one; once a call
    ends the cheap trunk is chosen again."""
    router = TrunkRouter([Trunk("cheap", 0.01, max_channels=2), Trunk("dear", 0.09)])
    chosen = [names(router.choose(MOBILE, 0.0)) for _ in range(3)]
    assert chosen == ["cheap", "cheap", "dear"]
    assert router.in_use("cheap") == 2
    router.release("cheap")
    assert names(router.choose(MOBILE, 1.0)) == "cheap"


def test_all_channels_busy_is_a_reason() -> None:
    router = TrunkRouter([Trunk("only", 0.01, max_channels=1)])
    assert names(router.choose(MOBILE, 0.0)) == "only"
    assert router.choose(MOBILE, 0.0) == NoTrunk(NoTrunkReason.CHANNELS)
    assert router.free_channels() == 0


def test_cps_is_a_token_bucket_refilled_with_time() -> None:
    """2 calls per second, burst 2: two calls at t=0, none more until t=0.5, one then."""
    router = TrunkRouter([Trunk("t", 0.01, max_cps=2.0, cps_burst=2.0)])
    assert names(router.choose(MOBILE, 0.0)) == "t"
    assert names(router.choose(MOBILE, 0.0)) == "t"
    assert router.choose(MOBILE, 0.2) == NoTrunk(NoTrunkReason.CPS)
    assert names(router.choose(MOBILE, 0.5)) == "t"
    assert router.choose(MOBILE, 0.5) == NoTrunk(NoTrunkReason.CPS)
    # A long pause fills the bucket to its burst only.
    assert [isinstance(router.choose(MOBILE, 100.0), Trunk) for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_cps_limit_on_the_cheap_trunk_spills_to_the_next() -> None:
    router = TrunkRouter([Trunk("cheap", 0.01, max_cps=1.0), Trunk("dear", 0.05)])
    assert [names(router.choose(MOBILE, 0.0)) for _ in range(2)] == ["cheap", "dear"]


def test_failover_on_503_tries_the_next_trunk_and_frees_the_first() -> None:
    """The cheap trunk answers 503: release it, take the next; when all have failed,
    no trunk."""
    router = TrunkRouter([Trunk("a", 0.01, max_channels=5), Trunk("b", 0.02)])
    first = names(router.choose(MOBILE, 0.0))
    assert first == "a"
    second = router.failover(MOBILE, "a", 0.1, tried=())
    assert names(second) == "b"
    assert router.in_use("a") == 0
    assert router.failover(MOBILE, "b", 0.2, tried=("a",)) == NoTrunk(NoTrunkReason.NOT_SERVED)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        Trunk("x", 0.01, max_cps=0.0)
    with pytest.raises(ValueError):
        Trunk("x", 0.01, max_channels=-1)
    with pytest.raises(ValueError):
        TrunkRouter([Trunk("x", 0.01), Trunk("x", 0.02)])
