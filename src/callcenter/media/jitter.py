"""A small adaptive jitter buffer keyed by RTP sequence number (sans-io).

Theory of operation
-------------------
The engine calls :meth:`JitterBuffer.push` for each packet as it arrives and
:meth:`JitterBuffer.pop` once per packetisation interval (its 20 ms tick); both take
``now``. Packets are keyed by *extended* sequence number, so wrap-around at 65535 is
invisible.

* Playout starts ``target_delay`` after the first packet arrived.
* Each pop plays the next sequence number. If that packet is missing but later
  ones are buffered, it is treated as lost: the pop returns ``None`` and
  ``concealed`` counts it (the caller plays comfort noise or repeats a frame).
  If nothing at all is buffered, the buffer *underruns*: it returns ``None`` without
  advancing, which adds one interval of delay (the buffer grows).
* ``target_delay`` follows the RFC 3550 A.8 jitter estimate (``ptime + 3 J``),
  clamped to [min_delay, max_delay]. When more than ``target_delay + ptime`` of
  audio is queued, one frame is discarded per pop until the excess is gone
  (the buffer shrinks, counted in ``discarded``).
* A packet older than the playout point is late and dropped; a packet more than
  ``max_ahead`` packets ahead means the stream restarted, and the buffer resets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from callcenter.media.rtp import RtpPacket, seq_delta

log = logging.getLogger(__name__)

DEFAULT_PTIME: Final = 0.020
DEFAULT_MIN_DELAY: Final = 0.040
DEFAULT_MAX_DELAY: Final = 0.300
JITTER_MULTIPLIER: Final = 3.0  # target delay covers about three jitter deviations
MAX_AHEAD: Final = 100  # packets; further ahead is taken for a stream restart


@dataclass(slots=True)
class JitterBuffer:
    """See the module docstring. Times are in seconds, on the caller's clock."""

    ptime: float = DEFAULT_PTIME
    min_delay: float = DEFAULT_MIN_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    clock_rate: int = 8000
    max_ahead: int = MAX_AHEAD
    target_delay: float = field(default=DEFAULT_MIN_DELAY, init=False)
    jitter: float = field(default=0.0, init=False)  # seconds, RFC 3550 A.8 estimate
    concealed: int = field(default=0, init=False)
    underruns: int = field(default=0, init=False)
    late: int = field(default=0, init=False)
    duplicates: int = field(default=0, init=False)
    discarded: int = field(default=0, init=False)
    resets: int = field(default=0, init=False)
    played: int = field(default=0, init=False)
    _packets: dict[int, RtpPacket] = field(default_factory=dict, init=False, repr=False)
    # extended sequence numbers of the newest packet seen and of the next to play
    _highest: int | None = field(default=None, init=False, repr=False)
    _next: int | None = field(default=None, init=False, repr=False)
    _start_at: float | None = field(default=None, init=False, repr=False)
    _playing: bool = field(default=False, init=False, repr=False)
    _transit: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.min_delay <= self.max_delay:
            raise ValueError("need 0 < min_delay <= max_delay")
        self.target_delay = self.min_delay

    @property
    def depth(self) -> int:
        """Packets buffered at or after the playout point."""
        return len(self._packets)

    @property
    def buffered_seconds(self) -> float:
        """Audio between the playout point and the newest packet."""
        if self._highest is None or self._next is None:
            return 0.0
        return max(0, self._highest - self._next + 1) * self.ptime

    def push(self, packet: RtpPacket, now: float) -> bool:
        """Queue a packet that arrived at ``now``; False if it was dropped."""
        if self._highest is None:
            self._restart(packet, now)
            return True
        if self._next is None:
            raise AssertionError("unreachable: _next is set with _highest")
        ext = self._highest + seq_delta(packet.sequence_number, self._highest & 0xFFFF)
        if ext - self._next >= self.max_ahead or ext < self._next - self.max_ahead:
            log.debug("jitter buffer reset at seq %d", packet.sequence_number)
            self.resets += 1
            self._restart(packet, now)
            return True
        if ext < self._next:
            self.late += 1
            return False
        if ext in self._packets:
            self.duplicates += 1
            return False
        self._packets[ext] = packet
        self._highest = max(self._highest, ext)
        self._update_jitter(packet, now)
        return True

    def pop(self, now: float) -> RtpPacket | None:
        """The packet to play at this tick, or None (buffering, lost or underrun)."""
        if self._next is None or self._start_at is None:
            return None
        if not self._playing:
            if now < self._start_at:
                return None
            self._playing = True
        if not self._packets:
            self.underruns += 1
            return None
        # Shrink: too much queued for the current target delay.
        if self.buffered_seconds > self.target_delay + self.ptime + 1e-9:
            dropped = self._packets.pop(self._next, None)
            self._next += 1
            if dropped is not None:
                self.discarded += 1
        packet = self._packets.pop(self._next, None)
        self._next += 1
        if packet is None:
            self.concealed += 1
            return None
        self.played += 1
        return packet

    def _restart(self, packet: RtpPacket, now: float) -> None:
        self._packets = {packet.sequence_number: packet}
        self._highest = packet.sequence_number
        self._next = packet.sequence_number
        self._start_at = now + self.target_delay
        self._playing = False
        self._transit = None
        self._update_jitter(packet, now)

    def _update_jitter(self, packet: RtpPacket, now: float) -> None:
        transit = now - packet.timestamp / self.clock_rate
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < 1.0:  # ignore timestamp jumps
                self.jitter += (d - self.jitter) / 16.0  # RFC 3550 A.8
        self._transit = transit
        wanted = self.ptime + JITTER_MULTIPLIER * self.jitter
        self.target_delay = min(self.max_delay, max(self.min_delay, wanted))
