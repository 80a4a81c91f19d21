"""The compiled relay kept in step with the media core (the engine's per-packet path).

Theory of operation
-------------------
The compiled relay (:mod:`callcenter.media._fastpath`, a CPython extension built with
the package) watches every RTP socket in one epoll set (a
:class:`~callcenter.media._fastpath.Relay`), whose descriptor the engine's loop watches
(``add_reader``); each wake-up drains every ready socket in C. :class:`FastPath` keeps
it in step with the core: a bridge that only relays (and records) is *attached*
(:meth:`MediaCore.relayable`, the endpoints' state handed over with
:meth:`Endpoint.fast_state`), and C relays and taps its packets; a command touching an
endpoint first takes the state back (:meth:`FastPath.release`), and after each command
and tick the bridges that qualify are attached again (:meth:`FastPath.settle`). What C
hands off (digits, a new SSRC, a gap, any packet of an endpoint not attached) goes to
:meth:`Endpoint.receive`, the reference, as before. The tick takes the attached
endpoints' taps from C in one call.

Without a compiler when the package was installed, ``COMPILED_RELAY`` is false and
the engine uses the Python path alone.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from callcenter.media.core import MediaCore
from callcenter.media.endpoint import Address, Endpoint

try:
    from callcenter.media import _fastpath
except ImportError:  # built without a C compiler: the Python path alone
    _fastpath = None  # type: ignore[assignment]

__all__ = ["COMPILED_RELAY", "FastPath"]

log = logging.getLogger(__name__)

COMPILED_RELAY: Final = _fastpath is not None  # the extension was built with the package
_monotonic: Final = time.monotonic


@dataclass(eq=False)
class FastPath:
    """The compiled relay, kept in step with the core; see the module docstring."""

    core: MediaCore
    relay: _fastpath.Relay
    by_slot: dict[int, Endpoint] = field(default_factory=dict)
    pending: set[Endpoint] = field(default_factory=set)  # not attached, may qualify
    handed_off: int = 0  # datagrams C gave to the Python path
    _generation: int = 0  # bumped whenever an endpoint is attached or released
    _frames_plan: tuple[list[Endpoint] | None, int, list[int] | None] = (None, -1, None)

    def __post_init__(self) -> None:
        self.core.take_frames = self.take_frames

    @classmethod
    def start(cls, core: MediaCore) -> FastPath:
        """A new relay for ``core`` (only when :data:`COMPILED_RELAY`)."""
        assert _fastpath is not None
        return cls(core, _fastpath.Relay())

    def register(self, endpoint: Endpoint, sock: socket.socket) -> None:
        endpoint.fast_slot = self.relay.add(sock.fileno())
        self.by_slot[endpoint.fast_slot] = endpoint

    def forget(self, endpoint: Endpoint) -> None:
        """Stop watching a deleted endpoint's socket (its state was released before)."""
        self.release((endpoint,))
        self.relay.remove(endpoint.fast_slot)
        del self.by_slot[endpoint.fast_slot]
        self.pending.discard(endpoint)
        endpoint.fast_slot = -1

    def release(self, endpoints: Iterable[Endpoint]) -> None:
        """Take these endpoints' bridges back from C: Python is about to touch them."""
        relay, pending = self.relay, self.pending
        for endpoint in endpoints:
            for party in (endpoint, endpoint.partner):
                if party is not None and party.fast_attached:
                    party.load_fast_state(relay.detach(party.fast_slot))
                    party.fast_attached = False
                    pending.add(party)
                    self._generation += 1
            pending.add(endpoint)

    def settle(self, endpoints: Iterable[Endpoint] | None = None) -> None:
        """Attach the bridges that only relay, of ``endpoints`` or of all pending ones."""
        pending = self.pending
        for endpoint in list(pending if endpoints is None else endpoints):
            partner = endpoint.partner
            if endpoint.fast_attached or partner is None or endpoint.fast_slot < 0:
                pending.discard(endpoint)  # a bridge command or a packet brings it back
                continue
            if partner.fast_slot < 0 or not self.core.relayable(endpoint):
                continue
            try:
                self.relay.attach(endpoint.fast_slot, partner.fast_slot, endpoint.fast_state())
                self.relay.attach(partner.fast_slot, endpoint.fast_slot, partner.fast_state())
            except (ValueError, OverflowError) as exc:  # e.g. a remote C cannot parse
                log.debug("%s stays on the Python path: %s", endpoint.endpoint_id, exc)
                self.relay.detach(endpoint.fast_slot)
                pending.difference_update((endpoint, partner))
                continue
            endpoint.fast_attached = partner.fast_attached = True
            pending.difference_update((endpoint, partner))
            self._generation += 1

    def refresh(self, *, timed_only: bool = False) -> None:
        """Copy C's counters into the attached endpoints (stats, the inactivity check)."""
        state = self.relay.state
        for endpoint in self.by_slot.values():
            if endpoint.fast_attached and (not timed_only or endpoint.inactivity_timeout > 0):
                endpoint.load_fast_state(state(endpoint.fast_slot))

    def on_readable(self) -> None:
        """The loop's callback: drain every ready socket; Python takes what C hands off."""
        now = _monotonic()
        handed = self.relay.drain(now)
        if handed:
            self.hand_off(handed, now)

    def hand_off(self, handed: list[tuple[int, bytes, Address]], now: float) -> None:
        touched: list[Endpoint] = []
        by_slot = self.by_slot
        self.handed_off += len(handed)
        for slot, data, source in handed:
            endpoint = by_slot.get(slot)
            if endpoint is None:
                continue
            if endpoint.fast_attached:
                self.release((endpoint,))
            endpoint.receive(data, source, now)
            touched.append(endpoint)
        self.settle(touched)

    def take_frames(self, endpoints: list[Endpoint]) -> bytes:
        """The tick's frames of tapped endpoints: from C for the attached ones.

        The core hands the same list every tick until its taps change: the slots are
        worked out again only then, or when an endpoint was attached or released.
        """
        planned, generation, slots = self._frames_plan
        if planned is not endpoints or generation != self._generation:
            slots = [e.fast_slot for e in endpoints if e.fast_attached]
            if len(slots) < len(endpoints):
                slots = None
            self._frames_plan = (endpoints, self._generation, slots)
        take = self.relay.take_frames
        if slots is not None:
            return take(slots)
        return b"".join(
            [take((e.fast_slot,)) if e.fast_attached else bytes(e.take_frame()) for e in endpoints]
        )

    def close(self) -> None:
        self.relay.close()
