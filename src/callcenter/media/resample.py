"""Resampling any-rate audio to 8 kHz int16 for the prompt player, with numpy only.

Method: band-limited interpolation with a Kaiser-windowed sinc (the classic
"windowed-sinc" resampler). For each output sample at input position
``t = n * rate_in / rate_out`` the kernel is evaluated at the input samples within
``ZERO_CROSSINGS`` lobes of ``t``. When downsampling, the sinc is stretched so
that its cutoff sits at ``CUTOFF`` of the *output* Nyquist frequency, which is the
anti-alias filter. For a rational ratio ``up/down`` (44.1 kHz -> 8 kHz is 80/441)
only ``up`` distinct kernel phases exist; they are computed once and gathered
(the polyphase form). Work is done in chunks so memory stays bounded for long
prompts.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

TARGET_RATE: Final = 8000
ZERO_CROSSINGS: Final = 32  # kernel half-width in lobes of the narrower sinc
KAISER_BETA: Final = 8.6  # about 80 dB stop-band attenuation
CUTOFF: Final = 0.95  # -6 dB point as a fraction of the lower Nyquist frequency
MAX_PHASES: Final = 4096  # above this many phases, evaluate the kernel directly
_CHUNK: Final = 8192  # output samples per vectorised step


def to_mono_float(audio: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """Mono float64 in [-1, 1] from int (any width) or float, mono or (frames, channels)."""
    data = np.asarray(audio)
    if data.ndim not in (1, 2):
        raise ValueError("audio must be (frames,) or (frames, channels)")
    if np.issubdtype(data.dtype, np.signedinteger):
        result = data.astype(np.float64) / (float(np.iinfo(data.dtype).max) + 1.0)
    elif np.issubdtype(data.dtype, np.unsignedinteger):
        half = (float(np.iinfo(data.dtype).max) + 1.0) / 2  # unsigned PCM (8-bit WAV)
        result = (data.astype(np.float64) - half) / half
    elif np.issubdtype(data.dtype, np.floating):
        result = data.astype(np.float64)
    else:
        raise ValueError(f"unsupported sample type {data.dtype}")
    return result.mean(axis=1) if result.ndim == 2 else result


def _kernel(
    x: npt.NDArray[np.float64], cutoff: float, half_width: float
) -> npt.NDArray[np.float64]:
    """Kaiser-windowed sinc at offsets ``x`` (input samples), unit DC gain."""
    window = np.zeros_like(x)
    inside = np.abs(x) < half_width
    ratio = x[inside] / half_width
    window[inside] = np.i0(KAISER_BETA * np.sqrt(1.0 - ratio**2)) / np.i0(KAISER_BETA)
    return cutoff * np.sinc(cutoff * x) * window


def resample(
    audio: npt.NDArray[np.generic], rate_in: int, rate_out: int = TARGET_RATE
) -> npt.NDArray[np.float64]:
    """Resample mono/stereo audio to ``rate_out``; float64 result in [-1, 1] units."""
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError("sample rates must be positive")
    x = to_mono_float(audio)
    if rate_in == rate_out or len(x) == 0:
        return x.copy()
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    cutoff = CUTOFF * min(1.0, rate_out / rate_in)  # in cycles per input sample * 2
    half_width = ZERO_CROSSINGS / cutoff
    taps = np.arange(-math.ceil(half_width), math.ceil(half_width) + 1)
    count = (len(x) * up + down - 1) // down
    padded = np.concatenate([np.zeros(len(taps)), x, np.zeros(len(taps))])
    base_offset = len(taps)
    phase_table = None
    if up <= MAX_PHASES:
        fractions = (np.arange(up) * down % up) / up  # t - floor(t) per phase
        phase_table = _kernel(fractions[:, None] - taps[None, :], cutoff, half_width)
    out = np.empty(count)
    for start in range(0, count, _CHUNK):
        n = np.arange(start, min(start + _CHUNK, count), dtype=np.int64)
        floor_t = (n * down) // up
        index = floor_t[:, None] + taps[None, :] + base_offset
        if phase_table is not None:
            weights = phase_table[n % up]
        else:
            frac = (n * down % up) / up
            weights = _kernel(frac[:, None] - taps[None, :], cutoff, half_width)
        out[start : start + len(n)] = np.einsum("ij,ij->i", padded[index], weights)
    return out


def to_8k_pcm16(audio: npt.NDArray[np.generic], rate_in: int) -> npt.NDArray[np.int16]:
    """What the prompt player wants: any rate, mono/stereo, int/float -> 8 kHz int16."""
    y = resample(audio, rate_in, TARGET_RATE)
    return np.clip(np.rint(y * 32768.0), -32768, 32767).astype(np.int16)
