"""Least-cost routing of outbound calls (最低成本路由): which trunk carries a call.

Theory of operation
-------------------
A :class:`Trunk` serves some numbers (by dialled prefix, by the number's carrier, by
its region; an empty set means any) at a cost per minute, with at most
``max_channels`` calls at once and at most ``max_cps`` new calls per second. The CPS
limit is a token bucket of ``cps_burst`` tokens refilled at ``max_cps`` a second;
time is passed in, so the router is pure and tests need no clock.

:meth:`TrunkRouter.choose` returns the cheapest trunk that serves the number and has
a free channel and a token now (ties: the order the trunks were given), taking the
channel and the token; the caller gives the channel back with
:meth:`TrunkRouter.release` when the call ends. A call a trunk refused (503, congestion)
or that got no answer from it in time fails over: :meth:`TrunkRouter.choose` again
with the trunks already tried excluded. When no trunk can take the call the result is
a :class:`NoTrunk` with the reason (none serves the number, all busy, all at their
CPS limit), which the dialer reports as why a lead was not dialled.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trunk:
    """A carrier trunk and what it may carry."""

    name: str
    cost: float  # per minute, in the operator's currency
    prefixes: frozenset[str] = frozenset()  # dialled-number prefixes served; empty: all
    carriers: frozenset[str] = frozenset()  # e.g. "China Mobile"; empty: all
    regions: frozenset[str] = frozenset()  # e.g. "CN-GD"; empty: all
    max_channels: int | None = None  # calls at once
    max_cps: float | None = None  # new calls per second
    cps_burst: float = 1.0  # tokens the CPS bucket holds
    setup_timeout: float = 5.0  # seconds for the trunk to answer an INVITE at all

    def __post_init__(self) -> None:
        if self.max_channels is not None and self.max_channels < 0:
            raise ValueError(f"trunk {self.name}: max_channels must not be negative")
        if self.max_cps is not None and self.max_cps <= 0:
            raise ValueError(f"trunk {self.name}: max_cps must be positive")
        if self.cps_burst < 1.0:
            raise ValueError(f"trunk {self.name}: cps_burst must be at least 1")

    def serves(self, number: NumberInfo) -> bool:
        return (
            (not self.prefixes or any(number.e164.startswith(p) for p in self.prefixes))
            and (not self.carriers or number.carrier in self.carriers)
            and (not self.regions or number.region in self.regions)
        )


@dataclass(frozen=True)
class NumberInfo:
    """A number to call, as least-cost routing sees it."""

    e164: str
    carrier: str = ""
    region: str = ""


class NoTrunkReason(enum.StrEnum):
    NOT_SERVED = "no-trunk-serves-number"
    CHANNELS = "trunks-busy"
    CPS = "trunks-at-cps-limit"


@dataclass(frozen=True)
class NoTrunk:
    """No trunk can take the call now, and why (the least passing reason found)."""

    reason: NoTrunkReason


@dataclass
class _TrunkState:
    in_use: int = 0
    tokens: float = 0.0
    refilled_at: float | None = None


@dataclass
class TrunkRouter:
    """Trunk choice with channel and CPS accounting; see the module docstring."""

    trunks: Sequence[Trunk]
    _state: dict[str, _TrunkState] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        names = [t.name for t in self.trunks]
        if len(set(names)) != len(names):
            raise ValueError(f"trunk names repeat: {names}")
        self._by_cost = sorted(self.trunks, key=lambda t: t.cost)  # stable: ties keep order
        self._by_name = {t.name: t for t in self.trunks}
        self._state = {t.name: _TrunkState(tokens=t.cps_burst) for t in self.trunks}

    def trunk(self, name: str) -> Trunk:
        return self._by_name[name]

    def in_use(self, trunk: str) -> int:
        return self._state[trunk].in_use

    def _refill(self, trunk: Trunk, now: float) -> _TrunkState:
        state = self._state[trunk.name]
        if trunk.max_cps is not None:
            if state.refilled_at is not None and now > state.refilled_at:
                gained = (now - state.refilled_at) * trunk.max_cps
                state.tokens = min(trunk.cps_burst, state.tokens + gained)
            if state.refilled_at is None or now > state.refilled_at:
                state.refilled_at = now
        return state

    def choose(
        self, number: NumberInfo, now: float, *, exclude: Collection[str] = ()
    ) -> Trunk | NoTrunk:
        """The cheapest serving trunk with capacity now (channel and token taken)."""
        reason = NoTrunkReason.NOT_SERVED
        for trunk in self._by_cost:
            if trunk.name in exclude or not trunk.serves(number):
                continue
            state = self._refill(trunk, now)
            if trunk.max_channels is not None and state.in_use >= trunk.max_channels:
                reason = NoTrunkReason.CHANNELS
                continue
            if trunk.max_cps is not None and state.tokens < 1.0:
                if reason is NoTrunkReason.NOT_SERVED:
                    reason = NoTrunkReason.CPS
                continue
            state.in_use += 1
            if trunk.max_cps is not None:
                state.tokens -= 1.0
            return trunk
        return NoTrunk(reason)

    def release(self, trunk: str) -> None:
        """A call on ``trunk`` ended: its channel is free again."""
        state = self._state[trunk]
        state.in_use = max(0, state.in_use - 1)

    def failover(
        self, number: NumberInfo, failed: str, now: float, tried: Collection[str]
    ) -> Trunk | NoTrunk:
        """``failed`` refused the call (503) or timed out: release it, try the next one."""
        self.release(failed)
        log.info("trunk %s failed for %s; failing over", failed, number.e164)
        return self.choose(number, now, exclude={*tried, failed})

    def free_channels(self, number: NumberInfo | None = None) -> int | None:
        """Free channels over the trunks (serving ``number``); None when unlimited."""
        total = 0
        for trunk in self.trunks:
            if number is not None and not trunk.serves(number):
                continue
            if trunk.max_channels is None:
                return None
            total += max(0, trunk.max_channels - self._state[trunk.name].in_use)
        return total
