"""Call-progress tones and DTMF synthesis: frequencies, cadences, levels, continuity."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.media.errors import InvalidDigitError
from callcenter.media.tones import (
    CHINA,
    FRAME_SAMPLES,
    US,
    ToneGenerator,
    ToneSpec,
    dbm0_to_amplitude,
    dtmf_sequence,
    dtmf_tone,
    level_dbm0,
    render,
    silence,
)

RATE = 8000


def peak_frequencies(x: npt.NDArray[np.int16], count: int) -> list[float]:
    """The ``count`` strongest frequencies of a signal (1 Hz resolution for 1 s)."""
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return sorted(float(f) for f in freqs[np.argsort(spectrum)[-count:]])


def on_off_runs(x: npt.NDArray[np.int16]) -> list[tuple[bool, int]]:
    """Run lengths of tone/no-tone, judged per 10 ms window."""
    windows = x[: len(x) // 80 * 80].reshape(-1, 80)
    active = np.any(windows != 0, axis=1).tolist()
    runs: list[tuple[bool, int]] = []
    for a in active:
        if runs and runs[-1][0] == a:
            runs[-1] = (a, runs[-1][1] + 80)
        else:
            runs.append((a, 80))
    return runs


def test_chinese_dial_tone_is_continuous_450_hz() -> None:
    """China: dial tone is 450 Hz without interruption."""
    x = render(CHINA["dial"], 0, RATE)
    assert peak_frequencies(x, 1) == [450.0]
    assert on_off_runs(x) == [(True, RATE)]


def test_chinese_ringback_is_one_second_on_four_off() -> None:
    """China: ringback 450 Hz, 1 s on, 4 s off, repeating."""
    x = render(CHINA["ringback"], 0, 10 * RATE)
    assert on_off_runs(x) == [(True, RATE), (False, 4 * RATE)] * 2
    assert peak_frequencies(x[:RATE], 1) == [450.0]


def test_chinese_busy_is_350_ms_on_350_off() -> None:
    """China: busy 450 Hz, 0.35 s on, 0.35 s off."""
    x = render(CHINA["busy"], 0, int(1.4 * RATE))
    assert on_off_runs(x) == [(True, 2800), (False, 2800)] * 2


def test_chinese_congestion_is_700_ms_on_700_off() -> None:
    """China: congestion 450 Hz, 0.7 s on, 0.7 s off."""
    x = render(CHINA["congestion"], 0, int(2.8 * RATE))
    assert on_off_runs(x) == [(True, 5600), (False, 5600)] * 2


def test_us_dial_tone_is_350_plus_440() -> None:
    """US precise tone plan: dial is 350 + 440 Hz, continuous."""
    assert peak_frequencies(render(US["dial"], 0, RATE), 2) == [350.0, 440.0]


def test_us_ringback_is_440_plus_480_two_on_four_off() -> None:
    """US: ringback 440 + 480 Hz, 2 s on, 4 s off."""
    x = render(US["ringback"], 0, 12 * RATE)
    assert on_off_runs(x) == [(True, 2 * RATE), (False, 4 * RATE)] * 2
    assert peak_frequencies(x[:RATE], 2) == [440.0, 480.0]


def test_us_busy_and_reorder_are_480_plus_620_at_two_speeds() -> None:
    """US: busy 0.5/0.5 s, reorder (congestion) 0.25/0.25 s, both 480 + 620 Hz."""
    busy = render(US["busy"], 0, 2 * RATE)
    assert on_off_runs(busy) == [(True, 4000), (False, 4000)] * 2
    reorder = render(US["congestion"], 0, RATE)
    assert on_off_runs(reorder) == [(True, 2000), (False, 2000)] * 2
    tone = np.concatenate([busy[:4000], busy[8000:12000]])
    assert peak_frequencies(tone, 2) == [480.0, 620.0]


def test_levels_follow_the_plan_in_dbm0() -> None:
    """China dial at -10 dBm0; US ringback at -19 dBm0 per frequency (-16 for two)."""
    assert level_dbm0(render(CHINA["dial"], 0, RATE)) == pytest.approx(-10.0, abs=0.05)
    ring = render(US["ringback"], 0, RATE)
    assert level_dbm0(ring) == pytest.approx(-19.0 + 10 * np.log10(2), abs=0.1)
    assert level_dbm0(silence()) == -np.inf
    assert dbm0_to_amplitude(3.17) == pytest.approx(32767)


def test_generator_frames_continue_phase_and_cadence() -> None:
    """Frames concatenated are identical to one long rendering: no clicks at the joins."""
    gen = ToneGenerator.from_plan("cn", "busy")
    frames = [gen.next_frame() for _ in range(100)]
    assert all(f.shape == (FRAME_SAMPLES,) and f.dtype == np.int16 for f in frames)
    assert np.array_equal(np.concatenate(frames), render(CHINA["busy"], 0, 100 * FRAME_SAMPLES))
    assert gen.seconds_elapsed() == pytest.approx(2.0)
    block = gen.frames(5)
    assert block.shape == (5, FRAME_SAMPLES)
    assert np.array_equal(block.ravel(), render(CHINA["busy"], 16000, 800))
    assert np.array_equal(next(iter(gen)), render(CHINA["busy"], 16800, 160))


def test_phase_stays_exact_after_hours() -> None:
    """Sample n of a 450 Hz tone after ten hours equals sample n mod 80 (its exact period)."""
    spec = CHINA["dial"]
    late = 10 * 3600 * RATE
    assert np.array_equal(render(spec, late, 160), render(spec, late % 80, 160))


def test_non_integer_frequency_and_custom_frame_size() -> None:
    """A 425.5 Hz tone in 30 ms frames still joins seamlessly."""
    spec = ToneSpec((425.5,), -10.0)
    gen = ToneGenerator(spec, frame_samples=240)
    joined = np.concatenate([gen.next_frame() for _ in range(4)])
    assert np.array_equal(joined, render(spec, 0, 960))
    with pytest.raises(ValueError):
        ToneGenerator(spec, frame_samples=0)


def test_dtmf_tone_has_the_row_and_column_frequencies() -> None:
    """Digit 9 is 852 + 1477 Hz, with the column 2 dB stronger by default."""
    x = dtmf_tone("9", 1.0)
    assert peak_frequencies(x, 2) == [852.0, 1477.0]
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    assert 20 * np.log10(spectrum[1477] / spectrum[852]) == pytest.approx(2.0, abs=0.1)
    with pytest.raises(InvalidDigitError):
        dtmf_tone("X")


def test_dtmf_sequence_lays_out_tones_and_gaps() -> None:
    """Two digits at 100 ms on and 50 ms off give 300 ms of audio in four runs."""
    x = dtmf_sequence("1#", on=0.1, off=0.05)
    assert len(x) == int(0.3 * RATE)
    assert on_off_runs(x) == [(True, 800), (False, 400), (True, 800), (False, 400)]
    assert len(dtmf_sequence("")) == 0
