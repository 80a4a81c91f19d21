"""Prompts from text: espeak-ng speaks Mandarin and English once, into a cache directory."""

from __future__ import annotations

import asyncio
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcenter.media.prompts import SpeechFailed, SpeechPrompts, SpeechUnavailable

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def counting_espeak(tmp_path: Path) -> tuple[Path, Path]:
    """A wrapper that logs each run, then is espeak-ng."""
    runs = tmp_path / "runs.log"
    wrapper = tmp_path / "espeak-counting"
    wrapper.write_text(f'#!/bin/sh\necho run >> {runs}\nexec espeak-ng "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper, runs


def run_count(runs: Path) -> int:
    return len(runs.read_text().splitlines()) if runs.exists() else 0


@pytest.mark.parametrize(
    ("voice", "text"),
    [("cmn", "您好，欢迎致电客服中心，请稍候"), ("en", "Thank you for calling, please hold")],
)
async def test_each_voice_speaks_an_8_khz_prompt_that_is_not_silent(
    tmp_path: Path, voice: str, text: str
) -> None:
    path = await SpeechPrompts(tmp_path / "tts").synthesize(text, voice)
    samples, rate = sf.read(path, dtype="int16")
    assert rate == 8000
    assert samples.ndim == 1
    assert len(samples) > 8000  # more than a second of speech
    voiced = np.abs(samples.astype(np.int32)) > 1000
    assert voiced.mean() > 0.2
    assert path.parent == tmp_path / "tts"
    assert path.name.startswith(f"{voice}-")


async def test_a_prompt_is_generated_once_and_then_found(tmp_path: Path) -> None:
    """The second request, even concurrent with the first, runs no espeak-ng."""
    program, runs = counting_espeak(tmp_path)
    prompts = SpeechPrompts(tmp_path / "tts", program=str(program))
    first, second = await asyncio.gather(
        prompts.synthesize("请在提示音后留言"), prompts.synthesize("请在提示音后留言")
    )
    assert first == second
    assert await prompts.synthesize("请在提示音后留言") == first
    assert run_count(runs) == 1
    assert sorted(p.name for p in (tmp_path / "tts").iterdir()) == [first.name]


async def test_text_voice_rate_and_pitch_each_make_a_different_prompt(tmp_path: Path) -> None:
    prompts = SpeechPrompts(tmp_path)
    paths = {
        prompts.path_for("您好", "cmn"),
        prompts.path_for("您好", "en"),
        prompts.path_for("您好。", "cmn"),
        prompts.path_for("您好", "cmn", rate=120),
        prompts.path_for("您好", "cmn", pitch=70),
    }
    assert len(paths) == 5
    assert prompts.path_for("您好", "cmn") == SpeechPrompts(tmp_path).path_for("您好", "cmn")


async def test_text_that_looks_like_an_option_is_spoken_not_obeyed(tmp_path: Path) -> None:
    path = await SpeechPrompts(tmp_path).synthesize("--help", "en")
    samples, _ = sf.read(path, dtype="int16")
    assert np.abs(samples).max() > 1000


async def test_a_missing_espeak_ng_says_how_to_install_it(tmp_path: Path) -> None:
    prompts = SpeechPrompts(tmp_path, program=str(tmp_path / "no-such-espeak"))
    with pytest.raises(SpeechUnavailable) as error:
        await prompts.synthesize("您好")
    assert "apt-get install espeak-ng" in error.value.message("en")
    assert "找不到语音合成程序" in error.value.message("zh-CN")
    assert not list(tmp_path.glob("*.wav"))


async def test_an_unknown_voice_fails_with_espeak_ngs_reason(tmp_path: Path) -> None:
    with pytest.raises(SpeechFailed) as error:
        await SpeechPrompts(tmp_path).synthesize("hello", "nosuchvoice")
    assert "voice does not exist" in error.value.message("en")
    assert "语音合成失败" in error.value.message("zh-CN")
    assert not list(tmp_path.glob("*"))


@pytest.mark.parametrize(
    ("text", "voice", "rate"),
    [("   ", "en", 160), ("hello", "en; rm -rf", 160), ("hello", "en", 1000)],
)
async def test_bad_requests_are_refused_before_running_anything(
    tmp_path: Path, text: str, voice: str, rate: int
) -> None:
    program, runs = counting_espeak(tmp_path)
    with pytest.raises(SpeechFailed):
        await SpeechPrompts(tmp_path, program=str(program)).synthesize(text, voice, rate=rate)
    assert run_count(runs) == 0
