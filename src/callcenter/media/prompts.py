"""Prompts spoken from text by espeak-ng, for operators who have no recording yet.

Each (text, voice, rate, pitch) is synthesised once into ``directory`` as an 8 kHz
mono 16-bit WAV named by a hash of those values, so the player's cache loads it
without resampling. A second request finds the file; two concurrent requests for
the same prompt share one espeak-ng run. Files appear atomically (written under a
temporary name, then renamed), so a crash never leaves half a prompt behind.

Voices: ``cmn`` (Mandarin) and ``en`` (English) are the ones the project uses; any
voice name espeak-ng knows is accepted. The text goes to espeak-ng on standard
input, never on the command line, so it cannot be read as an option.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import re
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import soundfile as sf

from callcenter.errors import AppError
from callcenter.media.errors import MediaError
from callcenter.media.resample import to_8k_pcm16

log = logging.getLogger(__name__)

ESPEAK: Final = "espeak-ng"
VOICES: Final = ("cmn", "en")
DEFAULT_RATE: Final = 160  # words per minute; espeak-ng's own default is 175
MIN_RATE: Final = 80
MAX_RATE: Final = 450
FORMAT_VERSION: Final = 1  # part of the hash: bump when the output format changes
_VOICE_NAME: Final = re.compile(r"^[A-Za-z0-9_+\-]{1,40}$")


class SpeechError(MediaError, AppError):
    """Base of the text-to-speech errors: messages in Chinese and English."""

    code = "speech-error"
    status = 422

    def __str__(self) -> str:
        return f"{self.message('en')} / {self.message('zh-CN')}"


class SpeechUnavailable(SpeechError):
    code = "speech-unavailable"
    status = 503
    message_zh = (
        "找不到语音合成程序 {program}，请安装 espeak-ng（Debian：apt-get install espeak-ng）"
    )
    message_en = (
        "the speech synthesiser {program} was not found: install espeak-ng "
        "(Debian: apt-get install espeak-ng)"
    )


class SpeechFailed(SpeechError):
    code = "speech-failed"
    message_zh = "语音合成失败（语音 {voice}）：{reason}"
    message_en = "speech synthesis failed (voice {voice}): {reason}"


class SpeechPrompts:
    """Text-to-prompt files in a cache directory."""

    def __init__(self, directory: str | os.PathLike[str], *, program: str = ESPEAK) -> None:
        self.directory = Path(directory)
        self.program = program
        self._running: dict[Path, asyncio.Task[Path]] = {}

    def path_for(
        self, text: str, voice: str = "cmn", *, rate: int = DEFAULT_RATE, pitch: int = 50
    ) -> Path:
        """Where the prompt for these values lives (whether or not it exists yet)."""
        key = f"{FORMAT_VERSION}\0{voice}\0{rate}\0{pitch}\0{text}".encode()
        digest = hashlib.sha256(key).hexdigest()[:32]
        return self.directory / f"{voice}-{digest}.wav"

    async def synthesize(
        self, text: str, voice: str = "cmn", *, rate: int = DEFAULT_RATE, pitch: int = 50
    ) -> Path:
        """The path of the prompt speaking ``text``, generated on first use."""
        if not text.strip():
            raise SpeechFailed(voice=voice, reason="empty text / 文本为空")
        if not _VOICE_NAME.match(voice):
            raise SpeechFailed(voice=voice, reason="not a voice name / 语音名称无效")
        if not MIN_RATE <= rate <= MAX_RATE or not 0 <= pitch <= 99:
            raise SpeechFailed(
                voice=voice,
                reason=f"rate {MIN_RATE}-{MAX_RATE}, pitch 0-99 / "
                f"语速 {MIN_RATE}-{MAX_RATE}，音高 0-99",
            )
        path = self.path_for(text, voice, rate=rate, pitch=pitch)
        if path.exists():
            return path
        task = self._running.get(path)
        if task is None:
            task = asyncio.ensure_future(self._generate(path, text, voice, rate, pitch))
            self._running[path] = task
            task.add_done_callback(lambda _: self._running.pop(path, None))
        return await asyncio.shield(task)

    async def _generate(self, path: Path, text: str, voice: str, rate: int, pitch: int) -> Path:
        argv = [self.program, "-v", voice, "-s", str(rate), "-p", str(pitch), "-b", "1", "--stdout"]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise SpeechUnavailable(program=self.program) from None
        wav, errors = await process.communicate(text.encode())
        if process.returncode != 0 or not wav:
            reason = errors.decode(errors="replace").strip() or f"exit {process.returncode}"
            raise SpeechFailed(voice=voice, reason=reason)
        samples = await asyncio.to_thread(_to_8k, wav)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        await asyncio.to_thread(_write, partial, samples)
        partial.replace(path)
        log.info("prompt spoken by espeak-ng (%s): %s", voice, path.name)
        return path


def _to_8k(wav: bytes) -> npt.NDArray[np.int16]:
    """espeak-ng's 22.05 kHz stream (its header gives no length) as 8 kHz int16."""
    with sf.SoundFile(io.BytesIO(wav)) as f:
        data = f.read(dtype="int16")
        rate = f.samplerate
    return to_8k_pcm16(data, rate)


def _write(path: Path, samples: npt.NDArray[np.int16]) -> None:
    sf.write(path, samples, 8000, subtype="PCM_16", format="WAV")
