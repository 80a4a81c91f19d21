"""Call-progress tones and DTMF synthesis at 8 kHz as int16 numpy arrays.

Tone plans follow ITU-T E.180 Supplement 2 (tones in national networks) for the
Chinese network (450 Hz) and the North American precise tone plan (ANSI T1.401).
A :class:`ToneGenerator` yields consecutive 20 ms frames; every sample is computed
from its absolute index, so phase and cadence continue seamlessly across frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from callcenter.media.dtmf import DIGIT_FREQUENCIES
from callcenter.media.errors import InvalidDigitError

SAMPLE_RATE: Final = 8000
FRAME_SAMPLES: Final = 160  # 20 ms at 8 kHz, the usual G.711 ptime
# A full-scale int16 sine is +3.17 dBm0 (ITU-T G.711: the digital milliwatt sits
# 3.17 dB below the overload point).
FULL_SCALE_DBM0: Final = 3.17


def dbm0_to_amplitude(level_dbm0: float) -> float:
    """Peak int16 amplitude of a sine at ``level_dbm0``."""
    return 32767.0 * 10 ** ((level_dbm0 - FULL_SCALE_DBM0) / 20)


@dataclass(frozen=True, slots=True)
class ToneSpec:
    """Frequencies summed at ``level_dbm0`` each, switched by an on/off cadence.

    ``cadence`` is a sequence of (on, off) seconds repeated forever; empty means
    continuous.
    """

    frequencies: tuple[float, ...]
    level_dbm0: float
    cadence: tuple[tuple[float, float], ...] = ()

    @property
    def period(self) -> float:
        return sum(on + off for on, off in self.cadence)


CHINA: Final[Mapping[str, ToneSpec]] = {
    "dial": ToneSpec((450.0,), -10.0),
    "ringback": ToneSpec((450.0,), -10.0, ((1.0, 4.0),)),
    "busy": ToneSpec((450.0,), -10.0, ((0.35, 0.35),)),
    "congestion": ToneSpec((450.0,), -10.0, ((0.7, 0.7),)),
}

US: Final[Mapping[str, ToneSpec]] = {
    "dial": ToneSpec((350.0, 440.0), -13.0),
    "ringback": ToneSpec((440.0, 480.0), -19.0, ((2.0, 4.0),)),
    "busy": ToneSpec((480.0, 620.0), -24.0, ((0.5, 0.5),)),
    "congestion": ToneSpec((480.0, 620.0), -24.0, ((0.25, 0.25),)),  # "reorder"
}

TONE_PLANS: Final[Mapping[str, Mapping[str, ToneSpec]]] = {"cn": CHINA, "us": US}


def _gate(spec: ToneSpec, index: npt.NDArray[np.int64], rate: int) -> npt.NDArray[np.bool_]:
    if not spec.cadence:
        return np.ones(len(index), dtype=np.bool_)
    period = round(spec.period * rate)
    position = index % period
    gate = np.zeros(len(index), dtype=np.bool_)
    start = 0
    for on, off in spec.cadence:
        on_n, off_n = round(on * rate), round(off * rate)
        gate |= (position >= start) & (position < start + on_n)
        start += on_n + off_n
    return gate


def render(
    spec: ToneSpec, start: int, count: int, rate: int = SAMPLE_RATE
) -> npt.NDArray[np.int16]:
    """Samples ``start .. start + count`` of the infinite tone described by ``spec``."""
    index = np.arange(start, start + count, dtype=np.int64)
    amplitude = dbm0_to_amplitude(spec.level_dbm0)
    out = np.zeros(count, dtype=np.float64)
    for freq in spec.frequencies:
        # Reduce f*n modulo the rate in integers where possible, so phase stays exact
        # for hours of samples.
        if float(freq).is_integer():
            cycles = (int(freq) * index) % rate / rate
        else:
            cycles = np.mod(freq * index / rate, 1.0)
        out += amplitude * np.sin(2.0 * np.pi * cycles)
    out *= _gate(spec, index, rate)
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


def silence(samples: int = FRAME_SAMPLES) -> npt.NDArray[np.int16]:
    return np.zeros(samples, dtype=np.int16)


def dtmf_tone(
    digit: str,
    duration: float = 0.1,
    *,
    level_dbm0: float = -7.0,
    twist_db: float = 2.0,
    rate: int = SAMPLE_RATE,
) -> npt.NDArray[np.int16]:
    """One DTMF digit: row at ``level_dbm0 - twist_db``, column at ``level_dbm0``.

    The defaults (-7 dBm0 high group, 2 dB pre-emphasis) are typical of a phone.
    """
    freqs = DIGIT_FREQUENCIES.get(digit.upper()) if len(digit) == 1 else None
    if freqs is None:
        raise InvalidDigitError(f"not a DTMF digit: {digit!r}")
    n = np.arange(round(duration * rate))
    row = dbm0_to_amplitude(level_dbm0 - twist_db) * np.sin(2 * np.pi * freqs[0] * n / rate)
    col = dbm0_to_amplitude(level_dbm0) * np.sin(2 * np.pi * freqs[1] * n / rate)
    return np.clip(np.rint(row + col), -32768, 32767).astype(np.int16)


def dtmf_sequence(
    digits: str, *, on: float = 0.1, off: float = 0.1, rate: int = SAMPLE_RATE
) -> npt.NDArray[np.int16]:
    """A digit string as in-band audio: each tone ``on`` seconds, then ``off`` silence."""
    parts: list[npt.NDArray[np.int16]] = []
    for digit in digits:
        parts.append(dtmf_tone(digit, on, rate=rate))
        parts.append(silence(round(off * rate)))
    return np.concatenate(parts) if parts else silence(0)


class ToneGenerator:
    """Endless 20 ms frames of one tone, continuing phase and cadence across frames."""

    def __init__(
        self, spec: ToneSpec, *, frame_samples: int = FRAME_SAMPLES, rate: int = SAMPLE_RATE
    ) -> None:
        if frame_samples <= 0:
            raise ValueError("frame_samples must be positive")
        self.spec = spec
        self.frame_samples = frame_samples
        self.rate = rate
        self.position = 0

    @classmethod
    def from_plan(cls, country: str, tone: str) -> ToneGenerator:
        return cls(TONE_PLANS[country][tone])

    def next_frame(self) -> npt.NDArray[np.int16]:
        frame = render(self.spec, self.position, self.frame_samples, self.rate)
        self.position += self.frame_samples
        return frame

    def frames(self, count: int) -> npt.NDArray[np.int16]:
        """The next ``count`` frames stacked into shape (count, frame_samples)."""
        block = render(self.spec, self.position, count * self.frame_samples, self.rate)
        self.position += count * self.frame_samples
        return block.reshape(count, self.frame_samples)

    def seconds_elapsed(self) -> float:
        return self.position / self.rate

    def __iter__(self) -> ToneGenerator:
        return self

    def __next__(self) -> npt.NDArray[np.int16]:
        return self.next_frame()


def level_dbm0(samples: npt.NDArray[np.int16]) -> float:
    """Power of a signal in dBm0 (a full-scale sine is +3.17 dBm0)."""
    power = float(np.mean(np.asarray(samples, dtype=np.float64) ** 2))
    if power == 0.0:
        return -math.inf
    sine_power = 32767.0**2 / 2
    return FULL_SCALE_DBM0 + 10 * math.log10(power / sine_power)
