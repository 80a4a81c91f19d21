"""The player: prompts in odd formats, the bounded cache, playlists, music on hold, tones."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from callcenter.media.player import (
    Clip,
    Looping,
    Playlist,
    Prompt,
    PromptCache,
    PromptFileError,
    Silence,
    Source,
    ToneSource,
    load_prompt,
)
from callcenter.media.tones import TONE_PLANS, render

RATE = 8000


def sine(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> npt.NDArray[np.float64]:
    n = np.arange(round(seconds * rate))
    return amplitude * np.sin(2 * np.pi * freq * n / rate)


def dominant_hz(x: npt.NDArray[np.int16]) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[int(np.argmax(spectrum))])


def drain(source: Source, frames: int, size: int = 160) -> npt.NDArray[np.int16]:
    return np.concatenate([source.read(size) for _ in range(frames)])


def write(path: Path, rate: int, channels: int, subtype: str, fmt: str = "WAV") -> Path:
    mono = sine(1000, 1.0, rate)
    data = np.column_stack([mono] * channels) if channels > 1 else mono
    sf.write(path, data, rate, subtype=subtype, format=fmt)
    return path


@pytest.mark.parametrize(
    ("rate", "channels", "subtype", "fmt"),
    [
        (44100, 2, "FLOAT", "WAV"),
        (16000, 1, "PCM_16", "WAV"),
        (48000, 1, "PCM_24", "FLAC"),
        (11025, 1, "PCM_U8", "WAV"),
        (8000, 1, "ULAW", "WAV"),
    ],
)
def test_a_1_khz_prompt_in_any_format_plays_as_1_khz_at_8_khz(
    tmp_path: Path, rate: int, channels: int, subtype: str, fmt: str
) -> None:
    """Rate, channels and encoding are converted once; pitch, length and level survive."""
    path = write(tmp_path / f"prompt.{fmt.lower()}", rate, channels, subtype, fmt)
    samples = Prompt(path).samples

    assert samples.dtype == np.int16
    assert len(samples) == pytest.approx(RATE, abs=2)
    assert dominant_hz(samples) == pytest.approx(1000, abs=1)
    middle = samples[1000:7000].astype(np.float64)
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 * 32768 / np.sqrt(2), rel=0.05)


def test_an_8_khz_pcm_prompt_is_taken_sample_for_sample(tmp_path: Path) -> None:
    original = np.arange(-800, 800, dtype=np.int16) * 20
    sf.write(tmp_path / "exact.wav", original, RATE, subtype="PCM_16")
    assert np.array_equal(load_prompt(tmp_path / "exact.wav"), original)


def test_a_missing_prompt_names_the_file_in_both_languages(tmp_path: Path) -> None:
    with pytest.raises(PromptFileError) as error:
        Prompt(tmp_path / "welcome.wav", PromptCache())
    assert (
        error.value.message("en")
        == f"prompt file {tmp_path}/welcome.wav cannot be used: no such file"
    )
    assert error.value.message("zh-CN") == f"提示音文件 {tmp_path}/welcome.wav 无法使用：文件不存在"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEjunk" * 4, "not an audio file"),
        (b"", "not an audio file"),
    ],
)
def test_a_file_that_is_not_audio_is_refused_by_name(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    bad = tmp_path / "queue-position.wav"
    bad.write_bytes(content)
    with pytest.raises(PromptFileError) as error:
        Prompt(bad, PromptCache())
    assert str(bad) in error.value.message("en")
    assert reason in error.value.message("en")
    assert "不是可识别的音频文件" in error.value.message("zh-CN")


def test_an_empty_or_overlong_prompt_is_refused(tmp_path: Path) -> None:
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16), RATE)
    with pytest.raises(PromptFileError, match="holds no audio"):
        load_prompt(tmp_path / "empty.wav")
    write(tmp_path / "long.wav", RATE, 1, "PCM_16")
    with pytest.raises(PromptFileError, match="more than the 0 s allowed"):
        PromptCache(max_prompt_seconds=0.5).load(tmp_path / "long.wav")


def test_the_cache_converts_a_file_once_and_again_when_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "moh.wav", 44100, 2, "FLOAT")
    cache = PromptCache()
    first = cache.load(path)
    assert cache.load(path) is first
    assert (cache.hits, cache.misses) == (1, 1)
    assert not first.flags.writeable  # shared between legs: nobody may change it

    sf.write(path, sine(500, 0.5, 16000), 16000)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = cache.load(path)
    assert changed is not first
    assert len(changed) == 4000
    assert dominant_hz(changed) == pytest.approx(500, abs=1)


def test_the_cache_is_bounded_in_samples_and_drops_the_least_recently_used(
    tmp_path: Path,
) -> None:
    paths = []
    for name in ("a", "b", "c"):
        paths.append(tmp_path / f"{name}.wav")
        sf.write(paths[-1], np.ones(RATE, dtype=np.int16), RATE)
    cache = PromptCache(max_samples=2 * RATE)
    a = cache.load(paths[0])
    cache.load(paths[1])
    assert cache.load(paths[0]) is a  # a is now the most recently used
    cache.load(paths[2])  # evicts b

    assert len(cache) == 2
    assert cache.samples == 2 * RATE
    assert cache.load(paths[0]) is a
    misses = cache.misses
    cache.load(paths[1])
    assert cache.misses == misses + 1


def test_a_prompt_larger_than_the_cache_plays_but_is_not_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "big.wav", RATE, 1, "PCM_16")
    cache = PromptCache(max_samples=RATE // 2)
    assert len(Prompt(path, cache).samples) == RATE
    assert len(cache) == 0
    assert cache.samples == 0


def test_a_clip_pads_its_last_frame_with_silence_then_is_finished() -> None:
    clip = Clip(np.arange(1, 201, dtype=np.int16))
    assert np.array_equal(clip.read(160), np.arange(1, 161))
    assert not clip.finished
    last = clip.read(160)
    assert np.array_equal(last[:40], np.arange(161, 201))
    assert not last[40:].any()
    assert clip.finished
    assert not clip.read(160).any()


def test_a_playlist_joins_prompts_without_a_gap(tmp_path: Path) -> None:
    """ "You are number" + "3" + "in line", read in 160-sample frames across the joins."""
    words = [
        np.full(length, value, dtype=np.int16) for length, value in ((250, 1), (97, 2), (300, 3))
    ]
    sf.write(tmp_path / "number.wav", words[0], RATE, subtype="PCM_16")
    playlist = Playlist([Prompt(tmp_path / "number.wav"), Clip(words[1]), Clip(words[2])])
    assert playlist.remaining == 647

    played = drain(playlist, 5)
    assert np.array_equal(played[:647], np.concatenate(words))
    assert not played[647:].any()
    assert playlist.finished


def test_a_pause_in_a_playlist_is_a_clip_of_silence() -> None:
    playlist = Playlist(
        [Clip(np.ones(80, dtype=np.int16)), Clip.silence(0.01), Clip(np.ones(80, dtype=np.int16))]
    )
    played = playlist.read(240)
    assert played[:80].all()
    assert not played[80:160].any()
    assert played[160:].all()


def test_music_on_hold_loops_seamlessly_and_never_finishes() -> None:
    """A 0.3 s track (not a whole number of frames) wraps inside a frame without a click."""
    track = np.rint(sine(440, 0.3, RATE, 0.3) * 32767).astype(np.int16)
    moh = Looping(Clip(track))
    played = drain(moh, 100)  # two seconds
    assert np.array_equal(played, np.resize(track, len(played)))
    assert not moh.finished


def test_music_on_hold_of_several_tracks_plays_them_in_turn() -> None:
    tracks = [Clip(np.full(100, 1, dtype=np.int16)), Clip(np.full(70, 2, dtype=np.int16))]
    played = drain(Looping(tracks), 4, size=85)
    assert np.array_equal(played, np.resize(np.repeat([1, 2], [100, 70]), 340))


def test_music_on_hold_needs_some_music() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        Looping([Clip(np.zeros(0, dtype=np.int16))])


@pytest.mark.parametrize(
    ("plan", "tone"), [("cn", "ringback"), ("cn", "congestion"), ("us", "busy")]
)
def test_a_tone_source_continues_phase_and_cadence_across_frames(plan: str, tone: str) -> None:
    """Six seconds in 20 ms frames equal the tone rendered in one piece."""
    played = drain(ToneSource.from_plan(plan, tone), 300)
    assert np.array_equal(played, render(TONE_PLANS[plan][tone], 0, 300 * 160))


def test_a_tone_for_a_while_stops_on_the_sample_and_finishes() -> None:
    busy = ToneSource.from_plan("cn", "busy", seconds=0.03)
    first, second = busy.read(160), busy.read(160)
    assert first.any()
    assert second[:80].any()
    assert not second[80:].any()
    assert busy.finished


def test_an_unknown_tone_is_refused() -> None:
    with pytest.raises(ValueError, match="no tone 'howler' in plan 'cn'"):
        ToneSource.from_plan("cn", "howler")


def test_silence_is_endless_or_lasts_as_long_as_asked() -> None:
    endless, short = Silence(), Silence(0.05)
    assert not drain(endless, 50).any()
    assert not endless.finished
    short.read(160)
    short.read(160)
    assert not short.finished
    short.read(160)
    assert short.finished


def test_every_player_is_a_source_for_the_engine(tmp_path: Path) -> None:
    sf.write(tmp_path / "p.wav", np.ones(10, dtype=np.int16), RATE)
    sources: list[Source] = [
        Clip(np.ones(10, dtype=np.int16)),
        Prompt(tmp_path / "p.wav"),
        Playlist([Clip(np.ones(10, dtype=np.int16))]),
        Looping(Clip(np.ones(10, dtype=np.int16))),
        ToneSource.from_plan("us", "ringback"),
        Silence(),
    ]
    for source in sources:
        frame = source.read(160)
        assert frame.shape == (160,)
        assert frame.dtype == np.int16
