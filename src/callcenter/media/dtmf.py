"""DTMF: RFC 4733 telephone events on RTP, and in-band detection in 8 kHz PCM.

Theory of operation
-------------------
*RFC 4733 receive.* A key press is one *event*, identified by the RTP timestamp of
its start. The sender repeats the event every packetisation interval with a growing
duration and finally sends (usually three) packets with the E bit set; any of them
may be lost, duplicated or reordered. :class:`TelephoneEventReceiver` reports each
event exactly once, when the first end packet arrives. If every end packet is lost,
the digit is still reported when the next event starts or when no packet of the
event has arrived for ``end_timeout`` seconds (see :meth:`~TelephoneEventReceiver.
handle_timer`). Timestamps of finished events are remembered so that late
retransmissions are ignored.

*RFC 4733 send.* :class:`TelephoneEventSender` turns a digit string into a schedule
of packets (offset in seconds, RTP timestamp, marker, payload) for the RTP sender.

*In-band.* :class:`DtmfDetector` cuts the PCM stream into blocks of 205 samples
(the classic Goertzel block length at 8 kHz: the DTMF frequencies fall close to
DFT bins) and evaluates the 8 DTMF frequencies per block. A block *hits* a digit
when one row and one column frequency stand out (level, twist, peak-to-neighbour
and share-of-total-energy checks); a digit is reported after ``on_blocks``
consecutive hits and may be reported again only after ``off_blocks`` blocks
without it. Nothing here reads a clock.
"""

from __future__ import annotations

import functools
import logging
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from callcenter.media.errors import InvalidDigitError, TelephoneEventParseError
from callcenter.media.rtp import RtpPacket

log = logging.getLogger(__name__)

# RFC 4733 3.2 (events registered by RFC 4734 section 3.2): DTMF event codes 0-15.
DTMF_DIGITS: Final = "0123456789*#ABCD"
DIGIT_TO_EVENT: Final = {digit: code for code, digit in enumerate(DTMF_DIGITS)}
TELEPHONE_EVENT_SIZE: Final = 4  # RFC 4733 2.3: event(8) E R volume(6) duration(16)
MAX_VOLUME: Final = 63  # RFC 4733 2.3.4: power level in -dBm0, 6 bits
MAX_DURATION: Final = 0xFFFF  # RFC 4733 2.3.5
END_PACKET_REPEATS: Final = 3  # RFC 4733 2.5.1.4: the final packet is sent three times

# ITU-T Q.23: DTMF row (low group) and column (high group) frequencies in Hz.
ROW_FREQUENCIES: Final = (697.0, 770.0, 852.0, 941.0)
COLUMN_FREQUENCIES: Final = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD: Final = ("123A", "456B", "789C", "*0#D")
DIGIT_FREQUENCIES: Final = {
    KEYPAD[r][c]: (ROW_FREQUENCIES[r], COLUMN_FREQUENCIES[c]) for r in range(4) for c in range(4)
}

_EVENT = struct.Struct("!BBH")


def event_for_digit(digit: str) -> int:
    """The RFC 4733 event code of a DTMF digit (lower-case a-d accepted)."""
    code = DIGIT_TO_EVENT.get(digit.upper()) if len(digit) == 1 else None
    if code is None:
        raise InvalidDigitError(f"not a DTMF digit: {digit!r}")
    return code


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """RFC 4733 2.3 telephone-event payload."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 0xFF:
            raise ValueError("event must fit 8 bits")
        if not 0 <= self.volume <= MAX_VOLUME:
            raise ValueError("volume must be 0..63 (-dBm0)")
        if not 0 <= self.duration <= MAX_DURATION:
            raise ValueError("duration must fit 16 bits")

    @property
    def digit(self) -> str | None:
        """The DTMF digit of this event, or None for other events (e.g. flash)."""
        return DTMF_DIGITS[self.event] if self.event < len(DTMF_DIGITS) else None

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> TelephoneEvent:
        """Parse a payload; octets after the first event are ignored."""
        if len(data) < TELEPHONE_EVENT_SIZE:
            raise TelephoneEventParseError(f"telephone-event payload of {len(data)} octets")
        event, flags, duration = _EVENT.unpack_from(bytes(data[:TELEPHONE_EVENT_SIZE]))
        # RFC 4733 2.3.3: the R bit is reserved and ignored by the receiver.
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)


@dataclass(frozen=True, slots=True)
class DigitReceived:
    """A DTMF digit reported once per key press (RFC 4733 or in-band)."""

    digit: str
    timestamp: int  # RTP timestamp (RFC 4733) or sample index (in-band) of the start
    duration: int  # in timestamp units / samples, as far as known
    at: float | None = None


@dataclass(slots=True)
class _OpenEvent:
    timestamp: int
    event: TelephoneEvent
    last_seen: float


def _ts_delta(a: int, b: int) -> int:
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d >= 1 << 31 else d


@dataclass(slots=True)
class TelephoneEventReceiver:
    """Turns a stream of RFC 4733 packets into digits, each exactly once."""

    end_timeout: float = 0.25
    memory: int = 32
    _open: _OpenEvent | None = field(default=None, init=False, repr=False)
    _finished: deque[int] = field(default_factory=deque, init=False, repr=False)
    duplicates: int = field(default=0, init=False)
    lost_ends: int = field(default=0, init=False)

    def receive(self, packet: RtpPacket, now: float) -> list[DigitReceived]:
        """Feed one RTP packet of the telephone-event payload type.

        Raises :class:`TelephoneEventParseError` if the payload is malformed.
        """
        event = TelephoneEvent.parse(packet.payload)
        ts = packet.timestamp
        out: list[DigitReceived] = []
        if ts in self._finished:
            self.duplicates += 1
            return out
        current = self._open
        if current is not None and current.timestamp != ts:
            if _ts_delta(ts, current.timestamp) < 0:
                self.duplicates += 1  # a late packet of an event older than the open one
                return out
            self.lost_ends += 1
            out.extend(self._close(current, now))
        if event.end:
            self._open = None
            out.extend(self._close(_OpenEvent(ts, event, now), now))
        else:
            same = current is not None and current.timestamp == ts
            if same and current is not None and event.duration < current.event.duration:
                event = current.event  # updates may arrive out of order: keep the longest
            self._open = _OpenEvent(ts, event, now)
        return out

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` should next be called, or None."""
        return None if self._open is None else self._open.last_seen + self.end_timeout

    def handle_timer(self, now: float) -> list[DigitReceived]:
        """Report an event whose end packets were all lost."""
        current = self._open
        if current is None or now < current.last_seen + self.end_timeout:
            return []
        self.lost_ends += 1
        return self._close(current, now)

    def _close(self, open_event: _OpenEvent, now: float) -> list[DigitReceived]:
        self._open = None
        self._finished.append(open_event.timestamp)
        while len(self._finished) > self.memory:
            self._finished.popleft()
        digit = open_event.event.digit
        if digit is None:
            return []
        log.debug("telephone-event digit %s at ts %d", digit, open_event.timestamp)
        return [DigitReceived(digit, open_event.timestamp, open_event.event.duration, now)]


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """One RFC 4733 packet to send ``offset`` seconds after the schedule starts."""

    offset: float
    timestamp: int
    marker: bool
    event: TelephoneEvent


@dataclass(frozen=True, slots=True)
class TelephoneEventSender:
    """Plans the RFC 4733 packets for a digit string (RFC 4733 2.5.1).

    Each digit: a first packet with the marker bit, an update every ``ptime`` with
    the duration so far, and the final duration sent ``END_PACKET_REPEATS`` times with
    the E bit. All packets of a digit carry the RTP timestamp of its start.
    """

    clock_rate: int = 8000
    ptime: float = 0.020
    digit_duration: float = 0.100
    gap: float = 0.100
    volume: int = 10

    def schedule(self, digits: str, start_timestamp: int) -> list[ScheduledEvent]:
        codes = [event_for_digit(d) for d in digits]
        step = round(self.ptime * self.clock_rate)
        updates = max(1, round(self.digit_duration / self.ptime))
        gap_ticks = max(1, round(self.gap / self.ptime))
        out: list[ScheduledEvent] = []
        tick = 0  # in units of ptime since the start of the schedule
        for code in codes:
            start_ts = (start_timestamp + tick * step) & 0xFFFFFFFF
            for k in range(1, updates + 1):
                end = k == updates
                duration = min(k * step, MAX_DURATION)
                repeats = END_PACKET_REPEATS if end else 1
                for r in range(repeats):
                    out.append(
                        ScheduledEvent(
                            offset=(tick + k + r) * self.ptime,
                            timestamp=start_ts,
                            marker=k == 1,
                            event=TelephoneEvent(code, end, self.volume, duration),
                        )
                    )
            tick += updates + gap_ticks
        return out


# --- in-band detection -------------------------------------------------------------

DTMF_BLOCK: Final = 205  # samples per Goertzel block at 8 kHz (25.6 ms)
MAX_NORMAL_TWIST_DB: Final = 8.0  # column (high group) weaker than row by at most 8 dB
MAX_REVERSE_TWIST_DB: Final = 4.0  # column stronger than row by at most 4 dB
MIN_PEAK_RATIO_DB: Final = 6.0  # winning row/column over the runner-up in its group
MIN_TONE_SHARE: Final = 0.6  # row + column energy over total block energy
MIN_TONE_AMPLITUDE: Final = 100.0  # per-frequency amplitude in int16 units (~ -50 dBFS)

_FREQUENCIES: Final = np.array(ROW_FREQUENCIES + COLUMN_FREQUENCIES)


def goertzel_powers(
    blocks: npt.NDArray[np.float64], frequencies: npt.NDArray[np.float64], sample_rate: float
) -> npt.NDArray[np.float64]:
    """Squared magnitude |X(f)|^2 of each block at each frequency.

    This is the Goertzel filter's output after N samples, evaluated in closed form
    as one projection per frequency so that numpy computes all blocks and all
    frequencies in a single matrix product. ``blocks`` has shape (k, N); the
    result has shape (k, len(frequencies)).
    """
    cos, sin = _basis(blocks.shape[-1], tuple(frequencies.tolist()), float(sample_rate))
    real = blocks @ cos
    imag = blocks @ sin
    return np.asarray(real * real + imag * imag, dtype=np.float64)


@functools.lru_cache(maxsize=8)
def _basis(
    n: int, frequencies: tuple[float, ...], sample_rate: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    phase = 2.0 * np.pi * np.outer(np.arange(n), frequencies) / sample_rate
    cos, sin = np.cos(phase), np.sin(phase)
    cos.flags.writeable = False
    sin.flags.writeable = False
    return cos, sin


@dataclass(slots=True)
class DtmfDetector:
    """In-band DTMF detector for a stream of 8 kHz int16 samples."""

    sample_rate: int = 8000
    on_blocks: int = 2
    off_blocks: int = 2
    min_amplitude: float = MIN_TONE_AMPLITUDE
    samples_seen: int = field(default=0, init=False)
    _pending: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0), init=False, repr=False
    )
    _candidate: int = field(default=-1, init=False, repr=False)
    _run: int = field(default=0, init=False, repr=False)
    _run_start: int = field(default=0, init=False, repr=False)
    _active: int = field(default=-1, init=False, repr=False)
    _miss: int = field(default=0, init=False, repr=False)

    def feed(self, samples: npt.NDArray[np.int16]) -> list[DigitReceived]:
        """Process more samples; return digits whose tone has just been confirmed."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float64)])
        count = len(data) // DTMF_BLOCK
        first_sample = self.samples_seen - len(self._pending)
        self._pending = data[count * DTMF_BLOCK :]
        self.samples_seen += len(samples)
        if count == 0:
            return []
        codes = self.classify(data[: count * DTMF_BLOCK].reshape(count, DTMF_BLOCK))
        out: list[DigitReceived] = []
        for i, code in enumerate(codes.tolist()):
            out.extend(self._step(code, first_sample + i * DTMF_BLOCK))
        return out

    def classify(self, blocks: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Per block: index into ``KEYPAD`` (row * 4 + column) of a valid tone, or -1."""
        n = blocks.shape[1]
        powers = goertzel_powers(blocks, _FREQUENCIES, self.sample_rate)
        rows, cols = powers[:, :4], powers[:, 4:]
        row = np.argmax(rows, axis=1)
        col = np.argmax(cols, axis=1)
        idx = np.arange(len(blocks))
        row_p = rows[idx, row]
        col_p = cols[idx, col]
        row_second = np.sort(rows, axis=1)[:, -2]
        col_second = np.sort(cols, axis=1)[:, -2]
        # amplitude of a sinusoid from its DFT magnitude: A = 2|X|/N
        min_p = (self.min_amplitude * n / 2.0) ** 2
        peak = 10 ** (MIN_PEAK_RATIO_DB / 10)
        energy = np.einsum("ij,ij->i", blocks, blocks)
        ok = (
            (row_p >= min_p)
            & (col_p >= min_p)
            & (col_p * 10 ** (MAX_NORMAL_TWIST_DB / 10) >= row_p)
            & (row_p * 10 ** (MAX_REVERSE_TWIST_DB / 10) >= col_p)
            & (row_p >= peak * row_second)
            & (col_p >= peak * col_second)
            & (2.0 * (row_p + col_p) / n >= MIN_TONE_SHARE * energy)
        )
        return np.where(ok, row * 4 + col, -1).astype(np.int64)

    def _step(self, code: int, block_start: int) -> list[DigitReceived]:
        if code == self._candidate:
            self._run += 1
        else:
            self._candidate, self._run, self._run_start = code, 1, block_start
        if code == self._active:
            self._miss = 0
            return []
        if self._active != -1:
            self._miss += 1
            if self._miss < self.off_blocks:
                return []
            self._active = -1
        if code != -1 and self._run >= self.on_blocks:
            self._active, self._miss = code, 0
            digit = KEYPAD[code // 4][code % 4]
            log.debug("in-band digit %s at sample %d", digit, self._run_start)
            return [DigitReceived(digit, self._run_start, self._run * DTMF_BLOCK)]
        return []
