"""Recordings: every format decoded by soundfile, stereo channels apart, kill -9 survival."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.media.recorder import (
    Recorder,
    RecordingClosed,
    RecordingOpenFailed,
    RecordingRepairFailed,
    UnsupportedRecordingFormat,
    repair,
    repair_all,
)

RATE = 8000
FORMATS = ["pcm16", "alaw", "ulaw", "gsm"]


def tone(freq: float, seconds: float, amplitude: float = 8000.0) -> npt.NDArray[np.int16]:
    n = np.arange(round(seconds * RATE))
    return np.rint(amplitude * np.sin(2 * np.pi * freq * n / RATE)).astype(np.int16)


def frames_of(x: npt.NDArray[np.int16], size: int = 160) -> list[npt.NDArray[np.int16]]:
    return [x[i : i + size] for i in range(0, len(x), size)]


def snr_db(reference: npt.NDArray[np.int16], decoded: npt.NDArray[np.int16]) -> float:
    ref = reference.astype(np.float64)
    noise = decoded[: len(ref)].astype(np.float64) - ref
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum(noise**2), 1e-9)))


def correlation(a: npt.NDArray[np.int16], b: npt.NDArray[np.int16]) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].astype(np.float64), b[:n].astype(np.float64))[0, 1])


def dominant_hz(x: npt.NDArray[np.int16]) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[int(np.argmax(spectrum))])


def read_int16(path: Path) -> npt.NDArray[np.int16]:
    data, rate = sf.read(path, dtype="int16", always_2d=True)
    assert rate == RATE
    return np.asarray(data, dtype=np.int16)


def assert_faithful(fmt: str, sent: npt.NDArray[np.int16], got: npt.NDArray[np.int16]) -> None:
    """PCM is exact; G.711 keeps about 35 dB SNR on a tone; GSM 6.10 keeps the waveform."""
    if fmt == "pcm16":
        assert np.array_equal(got[: len(sent)], sent)
    elif fmt in ("alaw", "ulaw"):
        assert snr_db(sent, got) > 30
    else:
        assert correlation(sent, got) > 0.9


def assert_frames_agree(fmt: str, ours: int, libsndfile: int) -> None:
    """libsndfile 1.2 reads one extra GSM block when the WAV49 block count is odd
    (the 65-byte blocks then need a RIFF pad byte); sox and our header agree."""
    if fmt == "gsm" and ours // 320 % 2 == 1:
        assert libsndfile == ours + 320
    else:
        assert libsndfile == ours


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_decoded_by_soundfile_with_the_samples_written(
    tmp_path: Path, fmt: str
) -> None:
    """A mono recording in each format reads back as what was recorded."""
    sent = tone(440, 1.0)
    recorder = Recorder(tmp_path / f"call.{fmt}.wav", fmt, stereo=False)
    for frame in frames_of(sent):
        recorder.write(frame)
    info = recorder.close()

    got = read_int16(info.path)
    assert got.shape[1] == 1
    assert_frames_agree(fmt, info.frames, len(got))
    assert info.frames >= len(sent) - 320
    assert info.seconds == pytest.approx(info.frames / RATE)
    assert info.bytes == info.path.stat().st_size
    assert info.fmt == fmt
    assert_faithful(fmt, sent, got[:, 0])


@pytest.mark.parametrize("fmt", ["pcm16", "alaw", "ulaw"])
def test_stereo_keeps_customer_left_and_agent_right(tmp_path: Path, fmt: str) -> None:
    """Customer 440 Hz on the left, agent 1 kHz on the right: neither leaks across."""
    customer, agent = tone(440, 1.0), tone(1000, 1.0)
    recorder = Recorder(tmp_path / "stereo.wav", fmt, stereo=True)
    for left, right in zip(frames_of(customer), frames_of(agent), strict=True):
        recorder.write(left, right)
    info = recorder.close()

    got = read_int16(info.path)
    assert got.shape == (RATE, 2)
    assert dominant_hz(got[:, 0]) == 440
    assert dominant_hz(got[:, 1]) == 1000
    assert_faithful(fmt, customer, got[:, 0])
    assert_faithful(fmt, agent, got[:, 1])


def test_stereo_without_an_agent_frame_records_silence_on_the_right(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "one-sided.wav", "pcm16", stereo=True)
    recorder.write(tone(440, 0.02))
    got = read_int16(recorder.close().path)
    assert np.array_equal(got[:, 0], tone(440, 0.02))
    assert not got[:, 1].any()


def test_mono_records_the_mix_of_both_sides_saturating(tmp_path: Path) -> None:
    customer, agent = tone(440, 0.5, 20000), tone(1000, 0.5, 20000)
    recorder = Recorder(tmp_path / "mix.wav", "pcm16", stereo=False)
    recorder.write(customer, agent)
    got = read_int16(recorder.close().path)[:, 0]
    expected = np.clip(customer.astype(np.int32) + agent, -32768, 32767)
    assert np.array_equal(got, expected)


def test_stereo_gsm_is_refused_saying_libsndfile_writes_it_mono_only(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedRecordingFormat) as error:
        Recorder(tmp_path / "x.wav", "gsm", stereo=True)
    assert "mono only" in error.value.message("en")
    assert "单声道" in error.value.message("zh-CN")
    assert not (tmp_path / "x.wav").exists()


def test_an_unknown_format_is_refused_listing_the_ones_there_are(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedRecordingFormat) as error:
        Recorder(tmp_path / "x.wav", "mp3", stereo=False)
    assert "pcm16, alaw, ulaw, gsm" in str(error.value)
    assert "不支持的录音格式 mp3" in str(error.value)


def test_writes_stay_buffered_until_flush_hands_them_to_the_os(tmp_path: Path) -> None:
    """The engine staggers flushes; between them only memory grows."""
    recorder = Recorder(tmp_path / "buffered.wav", "pcm16", stereo=False)
    header = recorder.path.stat().st_size
    for frame in frames_of(tone(440, 0.2)):
        recorder.write(frame)
    assert recorder.buffered_frames == 1600
    assert recorder.path.stat().st_size == header

    assert recorder.flush() == 1600
    assert recorder.buffered_frames == 0
    assert recorder.flushed_frames == 1600
    assert recorder.path.stat().st_size == header + 3200
    assert recorder.flush() == 0
    recorder.close()


def test_the_engine_may_reuse_its_frame_buffers(tmp_path: Path) -> None:
    """What was written is what is recorded, even if the caller's array changes after."""
    recorder = Recorder(tmp_path / "reuse.wav", "pcm16", stereo=True)
    left, right = tone(440, 0.02), tone(1000, 0.02)
    recorder.write(left, right)
    left[:] = 0
    right[:] = 0
    got = read_int16(recorder.close().path)
    assert np.array_equal(got[:, 0], tone(440, 0.02))
    assert np.array_equal(got[:, 1], tone(1000, 0.02))


def test_a_full_buffer_flushes_itself(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "auto.wav", "pcm16", stereo=False, max_buffer_seconds=0.1)
    for frame in frames_of(tone(440, 0.1)):
        recorder.write(frame)
    assert recorder.buffered_frames == 0
    assert recorder.flushed_frames == 800
    recorder.close()


def test_gsm_flushes_whole_blocks_and_keeps_the_rest(tmp_path: Path) -> None:
    """320 samples make a GSM block; a partial block would sit inside libsndfile."""
    recorder = Recorder(tmp_path / "gsm.wav", "gsm", stereo=False)
    for frame in frames_of(tone(440, 0.1)):  # 800 samples
        recorder.write(frame)
    assert recorder.flush() == 640
    assert recorder.buffered_frames == 160
    info = recorder.close()
    assert info.frames == 960  # the last block is padded with silence


def test_a_recording_that_cannot_be_created_says_where(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a directory should be")
    with pytest.raises(RecordingOpenFailed) as error:
        Recorder(tmp_path / "taken" / "call.wav", "pcm16", stereo=True)
    assert f"{tmp_path}/taken/call.wav" in error.value.message("en")
    assert "无法创建录音文件" in error.value.message("zh-CN")
    with pytest.raises(RecordingOpenFailed):
        Recorder(tmp_path, "pcm16", stereo=True)  # a directory


def test_a_closed_recording_refuses_more_audio(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "closed.wav", "ulaw", stereo=True)
    recorder.close()
    assert recorder.closed
    with pytest.raises(RecordingClosed):
        recorder.write(tone(440, 0.02))
    with pytest.raises(RecordingClosed):
        recorder.close()


def test_samples_must_be_int16_in_equal_lengths(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "types.wav", "pcm16", stereo=True)
    with pytest.raises(TypeError):
        recorder.write(np.zeros(160, dtype=np.float32))
    with pytest.raises(ValueError, match="same number"):
        recorder.write(tone(440, 0.02), tone(440, 0.01))
    recorder.close()


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from callcenter.media.recorder import Recorder

    directory = sys.argv[1]
    n = np.arange(16000)
    left = np.rint(8000 * np.sin(2 * np.pi * 440 * n / 8000)).astype(np.int16)
    right = np.rint(8000 * np.sin(2 * np.pi * 1000 * n / 8000)).astype(np.int16)
    recorders = [
        Recorder(f"{directory}/pcm16.wav", "pcm16", stereo=True),
        Recorder(f"{directory}/alaw.wav", "alaw", stereo=True),
        Recorder(f"{directory}/ulaw.wav", "ulaw", stereo=True),
        Recorder(f"{directory}/gsm.wav", "gsm", stereo=False),
    ]
    for start in range(0, 16000, 160):
        for r in recorders:
            if r.channels == 2:
                r.write(left[start : start + 160], right[start : start + 160])
            else:
                r.write(left[start : start + 160])
        if start == 8000:
            flushed = [r.flush() for r in recorders]
            print("flushed", *flushed, flush=True)
    print("buffered", *(r.buffered_frames for r in recorders), flush=True)
    time.sleep(60)
    """
)


def test_a_recording_killed_mid_call_is_repaired_up_to_its_last_flush(tmp_path: Path) -> None:
    """kill -9 after 1.02 s flushed and 0.98 s buffered: the flushed part survives.

    GSM hands over whole 320-sample blocks only, so its last 160 flushed samples
    were still buffered.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        flushed_line = child.stdout.readline().split()
        buffered_line = child.stdout.readline().split()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert flushed_line == ["flushed", "8160", "8160", "8160", "8000"]
    assert buffered_line == ["buffered", "7840", "7840", "7840", "8000"]

    repaired = {info.fmt: info for info in repair_all(tmp_path)}
    assert sorted(repaired) == sorted(FORMATS)
    left, right = tone(440, 1.02), tone(1000, 1.02)
    for fmt, info in repaired.items():
        got = read_int16(info.path)
        expected_frames = 8000 if fmt == "gsm" else 8160
        assert info.frames == expected_frames
        assert_frames_agree(fmt, info.frames, len(got))
        assert info.bytes == info.path.stat().st_size
        assert_faithful(fmt, left[:expected_frames], got[:, 0])
        if fmt != "gsm":
            assert_faithful(fmt, right[:expected_frames], got[:, 1])
    assert repair_all(tmp_path) == []  # now consistent: nothing left to do


@pytest.mark.skipif(shutil.which("soxi") is None, reason="sox is not installed")
def test_sox_agrees_with_the_repaired_length(tmp_path: Path) -> None:
    """A second reader (sox) sees the repaired sizes, not only libsndfile."""
    recorder = Recorder(tmp_path / "sox.wav", "alaw", stereo=True)
    for frame in frames_of(tone(440, 0.5)):
        recorder.write(frame, frame)
    recorder.flush()
    truncated = recorder.path.read_bytes()
    recorder.close()
    recorder.path.write_bytes(truncated)  # as a kill -9 leaves it: header sizes unwritten

    info = repair(recorder.path)
    samples = subprocess.run(
        ["soxi", "-s", str(recorder.path)], capture_output=True, text=True, check=True
    )
    assert int(samples.stdout) == info.frames == 4000


def riff_sizes(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    data_at = data.index(b"data")
    return struct.unpack_from("<I", data, 4)[0], struct.unpack_from("<I", data, data_at + 4)[0]


def test_repair_drops_a_half_written_sample_and_fixes_both_sizes(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "half.wav", "pcm16", stereo=True)
    recorder.write(tone(440, 0.1), tone(1000, 0.1))
    recorder.flush()
    cut = recorder.path.read_bytes()
    recorder.close()
    recorder.path.write_bytes(cut + b"\x01\x02\x03")  # three bytes of a next frame

    info = repair(recorder.path)
    assert info.frames == 800
    assert riff_sizes(recorder.path) == (len(cut) - 8, 800 * 4)
    assert read_int16(recorder.path).shape == (800, 2)


def test_repair_leaves_a_good_recording_as_it_was(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "good.wav", "ulaw", stereo=False)
    recorder.write(tone(440, 0.3))
    info = recorder.close()
    before = info.path.read_bytes()
    assert repair(info.path) == info
    assert info.path.read_bytes() == before


def test_repair_all_skips_recent_files_and_what_is_not_a_recording(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another engine may still be writing a recent file; junk is logged and left."""
    recorder = Recorder(tmp_path / "day" / "live.wav", "pcm16", stereo=False)
    recorder.write(tone(440, 0.1))
    recorder.flush()
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all")

    with caplog.at_level(logging.WARNING, logger="callcenter.media.recorder"):
        assert repair_all(tmp_path, modified_before=0.0) == []
        assert [info.frames for info in repair_all(tmp_path)] == [800]
    assert "junk.wav" in caplog.text
    assert "not a WAV file" in caplog.text
    recorder.close()


def test_a_header_cut_short_cannot_be_repaired_and_says_why(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "cut.wav", "alaw", stereo=False)
    recorder.close()
    recorder.path.write_bytes(recorder.path.read_bytes()[:30])
    with pytest.raises(RecordingRepairFailed) as error:
        repair(recorder.path)
    assert "cut.wav" in error.value.message("en")
    assert "无法修复录音文件" in error.value.message("zh-CN")


def killed_recording(fmt: str) -> bytes:
    """A recording's bytes as a kill -9 leaves them: flushed audio, header sizes unset."""
    with tempfile.TemporaryDirectory() as directory:
        recorder = Recorder(Path(directory) / "r.wav", fmt, stereo=fmt != "gsm")
        sent = tone(440, 0.3)
        recorder.write(sent, sent if fmt != "gsm" else None)
        recorder.flush()
        data = recorder.path.read_bytes()
        recorder.close()
    return data


KILLED = {fmt: killed_recording(fmt) for fmt in FORMATS}


@settings(max_examples=60, deadline=None)
@given(fmt=st.sampled_from(FORMATS), keep=st.floats(0.0, 1.0))
def test_repair_of_a_file_cut_anywhere_gives_a_playable_file_or_says_why(
    fmt: str, keep: float
) -> None:
    """Cut at any byte: either a WAV soundfile reads with what the header says, or a
    RecordingRepairFailed (the header itself is cut); never a crash, never garbage."""
    data = KILLED[fmt]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "cut.wav"
        path.write_bytes(data[: round(len(data) * keep)])
        try:
            info = repair(path)
        except RecordingRepairFailed:
            assert len(data) * keep < 80  # only a cut inside the header is hopeless
            return
        assert info.bytes == path.stat().st_size
        frames = len(read_int16(path))
        assert_frames_agree(fmt, info.frames, frames)
        assert info.frames <= 2400 + 320
