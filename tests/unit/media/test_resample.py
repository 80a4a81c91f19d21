"""Resampling prompts to 8 kHz: pass band kept, aliases removed, formats accepted."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.media.resample import resample, to_8k_pcm16, to_mono_float


def sine(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> npt.NDArray[np.float64]:
    n = np.arange(int(rate * seconds))
    return amp * np.sin(2 * np.pi * freq * n / rate)


def amplitude_at(x: npt.NDArray[np.float64], freq: float, rate: int) -> float:
    """Amplitude of ``freq`` in the steady middle of ``x`` (edges excluded)."""
    mid = x[len(x) // 4 : 3 * len(x) // 4]
    n = np.arange(len(mid))
    probe = np.exp(-2j * np.pi * freq * n / rate)
    return float(2 * abs(np.dot(mid, probe)) / len(mid))


@pytest.mark.parametrize("rate_in", [16000, 22050, 44100, 48000, 11025])
def test_pass_band_tone_keeps_its_level(rate_in: int) -> None:
    """A 1 kHz tone at 0.5 comes out at 0.5 (within 0.1 dB) at 8 kHz."""
    y = resample(sine(1000, rate_in), rate_in)
    assert len(y) == 8000
    assert amplitude_at(y, 1000, 8000) == pytest.approx(0.5, rel=0.012)


@pytest.mark.parametrize("rate_in", [16000, 44100, 48000])
def test_tone_above_the_new_nyquist_is_filtered_not_aliased(rate_in: int) -> None:
    """A 5 kHz tone would alias to 3 kHz; the anti-alias filter removes it (< -60 dB)."""
    y = resample(sine(5000, rate_in), rate_in)
    assert amplitude_at(y, 3000, 8000) < 0.5 * 1e-3
    assert float(np.max(np.abs(y[len(y) // 4 : 3 * len(y) // 4]))) < 1e-3


def test_upsampling_from_6khz_interpolates_smoothly() -> None:
    """A 1 kHz tone at 6 kHz becomes a clean 1 kHz tone at 8 kHz."""
    y = resample(sine(1000, 6000), 6000)
    assert len(y) == 8000
    ideal = sine(1000, 8000)
    middle = slice(2000, 6000)
    assert float(np.max(np.abs(y[middle] - ideal[middle]))) < 2e-3


def test_same_rate_int16_is_returned_unchanged() -> None:
    """8 kHz int16 in, the very same samples out."""
    x = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    assert np.array_equal(to_8k_pcm16(x, 8000), x)


def test_stereo_is_mixed_down_to_mono() -> None:
    """Left and right are averaged; opposite channels cancel."""
    left = sine(440, 16000)
    stereo = np.stack([left, -left], axis=1)
    assert float(np.max(np.abs(resample(stereo, 16000)))) < 1e-12
    both = np.stack([left, left], axis=1).astype(np.float32)
    assert amplitude_at(resample(both, 16000), 440, 8000) == pytest.approx(0.5, rel=0.01)


def test_integer_formats_are_scaled_to_full_scale() -> None:
    """int16, int32 and unsigned 8-bit PCM all map onto [-1, 1]."""
    assert to_mono_float(np.array([-32768, 16384], dtype=np.int16)).tolist() == [-1.0, 0.5]
    assert to_mono_float(np.array([-(2**31)], dtype=np.int32)).tolist() == [-1.0]
    assert to_mono_float(np.array([0, 128, 192], dtype=np.uint8)).tolist() == [-1.0, 0.0, 0.5]
    with pytest.raises(ValueError):
        to_mono_float(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError):
        to_mono_float(np.array(["a"]))


def test_output_is_int16_clipped_and_of_the_right_length() -> None:
    """Overloaded float input saturates; 44.1 kHz for 2.5 s gives 20000 samples."""
    x = sine(300, 44100, seconds=2.5, amp=1.5)
    y = to_8k_pcm16(x, 44100)
    assert y.dtype == np.int16 and len(y) == 20000
    assert int(y.max()) == 32767 and int(y.min()) == -32768


def test_odd_rate_uses_direct_kernel_evaluation() -> None:
    """A rate with a huge rational ratio (8 kHz / 44099 Hz) still works and filters."""
    y = resample(sine(1000, 44099, seconds=0.5), 44099)
    assert len(y) == 4000
    assert amplitude_at(y, 1000, 8000) == pytest.approx(0.5, rel=0.012)


def test_empty_input_and_bad_rates() -> None:
    """No samples in, none out; a zero rate is refused."""
    assert len(resample(np.zeros(0), 44100)) == 0
    with pytest.raises(ValueError):
        resample(np.zeros(10), 0)


@pytest.mark.parametrize("rate_in", [16000, 44100])
def test_telephone_band_is_flat_and_the_band_edge_is_steep(rate_in: int) -> None:
    """300-3400 Hz within 0.05 dB; 4.3 kHz (which would alias to 3.7 kHz) below -80 dB."""
    for freq in (300, 2000, 3400):
        level = amplitude_at(resample(sine(freq, rate_in), rate_in), freq, 8000)
        assert 20 * np.log10(level / 0.5) == pytest.approx(0.0, abs=0.05)
    alias = amplitude_at(resample(sine(4300, rate_in), rate_in), 3700, 8000)
    assert 20 * np.log10(alias / 0.5) < -80
