"""What a leg hears when nobody talks to it: prompts, playlists, music on hold, tones.

Every source produces 8 kHz mono int16 and is pulled by the engine, one 20 ms
frame per tick: ``read(n)`` always returns ``n`` samples (silence after the end)
and ``finished`` says when a finite source has nothing more to play.

Prompt files may be in any rate, channel count and format libsndfile reads; each is
converted to 8 kHz mono int16 once and kept in a :class:`PromptCache`, keyed by path,
modification time and size and bounded in samples (least recently used goes first).
The cached arrays are read-only and shared: a thousand callers on hold hear one copy
of the music, each through its own position.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
import soundfile as sf

from callcenter.errors import AppError
from callcenter.media.errors import MediaError
from callcenter.media.resample import TARGET_RATE, to_8k_pcm16
from callcenter.media.tones import TONE_PLANS, ToneSpec, render

log = logging.getLogger(__name__)

Samples = npt.NDArray[np.int16]

RATE: Final = TARGET_RATE
DEFAULT_CACHE_SAMPLES: Final = RATE * 60 * 60  # one hour of audio, 57.6 MB
DEFAULT_MAX_PROMPT_SECONDS: Final = 30 * 60.0


class Source(Protocol):
    """Anything the engine can play to a leg."""

    def read(self, n: int) -> Samples:
        """The next ``n`` samples, zero-padded after the end."""
        ...

    @property
    def finished(self) -> bool: ...


class PromptFileError(MediaError, AppError):
    """A prompt file is missing, unreadable, empty or too long."""

    code = "prompt-file-invalid"
    status = 422
    message_zh = "提示音文件 {path} 无法使用：{reason_zh}"
    message_en = "prompt file {path} cannot be used: {reason_en}"

    def __str__(self) -> str:
        return f"{self.message('en')} / {self.message('zh-CN')}"


def _frozen(samples: Samples) -> Samples:
    samples.flags.writeable = False
    return samples


def load_prompt(path: Path, *, max_seconds: float = DEFAULT_MAX_PROMPT_SECONDS) -> Samples:
    """Read and convert one file to 8 kHz mono int16 (read-only), uncached."""
    try:
        info = sf.info(str(path))
    except FileNotFoundError:
        raise PromptFileError(
            path=str(path), reason_zh="文件不存在", reason_en="no such file"
        ) from None
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise PromptFileError(
            path=str(path),
            reason_zh=f"不是可识别的音频文件（{exc}）",
            reason_en=f"not an audio file libsndfile can read ({exc})",
        ) from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise PromptFileError(path=str(path), reason_zh="没有音频", reason_en="it holds no audio")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise PromptFileError(
            path=str(path),
            reason_zh=f"时长 {seconds:.0f} 秒，超过上限 {max_seconds:.0f} 秒",
            reason_en=f"it lasts {seconds:.0f} s, more than the {max_seconds:.0f} s allowed",
        )
    try:
        if info.samplerate == RATE and info.channels == 1:
            data, _ = sf.read(str(path), dtype="int16")
            return _frozen(np.ascontiguousarray(data, dtype=np.int16))
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise PromptFileError(
            path=str(path),
            reason_zh=f"读取音频失败（{exc}）",
            reason_en=f"reading the audio failed ({exc})",
        ) from exc
    return _frozen(to_8k_pcm16(data, rate))


class PromptCache:
    """Converted prompts by (path, mtime, size), at most ``max_samples`` in total (LRU)."""

    def __init__(
        self,
        max_samples: int = DEFAULT_CACHE_SAMPLES,
        *,
        max_prompt_seconds: float = DEFAULT_MAX_PROMPT_SECONDS,
    ) -> None:
        if max_samples <= 0:
            raise ValueError("max_samples must be positive")
        self.max_samples = max_samples
        self.max_prompt_seconds = max_prompt_seconds
        self._entries: OrderedDict[tuple[str, int, int], Samples] = OrderedDict()
        self.samples = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, path: str | os.PathLike[str]) -> Samples:
        """The prompt at ``path`` as 8 kHz mono int16, converted at most once per version."""
        target = Path(path)
        try:
            stat = target.stat()
        except OSError:
            raise PromptFileError(
                path=str(target), reason_zh="文件不存在", reason_en="no such file"
            ) from None
        key = (str(target.resolve()), stat.st_mtime_ns, stat.st_size)
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return cached
        self.misses += 1
        samples = load_prompt(target, max_seconds=self.max_prompt_seconds)
        log.info("prompt %s converted: %d samples at 8 kHz", target, len(samples))
        if len(samples) > self.max_samples:
            return samples  # played, but too big to keep
        self._entries[key] = samples
        self.samples += len(samples)
        while self.samples > self.max_samples:
            _, evicted = self._entries.popitem(last=False)
            self.samples -= len(evicted)
        return samples


class Clip:
    """A finite source over samples already in memory (shared, never copied)."""

    def __init__(self, samples: Samples) -> None:
        data = np.asarray(samples)
        if data.dtype != np.int16 or data.ndim != 1:
            raise TypeError("a clip is a 1-D int16 array at 8 kHz")
        self.samples: Samples = data
        self.position = 0

    @classmethod
    def silence(cls, seconds: float) -> Clip:
        """A pause, e.g. between the words of a playlist."""
        return cls(np.zeros(round(seconds * RATE), dtype=np.int16))

    @property
    def remaining(self) -> int:
        return len(self.samples) - self.position

    @property
    def finished(self) -> bool:
        return self.position >= len(self.samples)

    def read(self, n: int) -> Samples:
        out = np.zeros(n, dtype=np.int16)
        chunk = self.samples[self.position : self.position + n]
        out[: len(chunk)] = chunk
        self.position += len(chunk)
        return out


class Prompt(Clip):
    """A prompt file, converted once through ``cache`` (or read uncached)."""

    def __init__(self, path: str | os.PathLike[str], cache: PromptCache | None = None) -> None:
        self.path = Path(path)
        super().__init__(cache.load(self.path) if cache is not None else load_prompt(self.path))


class Playlist:
    """Clips one after another with no gap, e.g. "you are number" "3" "in line"."""

    def __init__(self, clips: Sequence[Clip]) -> None:
        self.clips = list(clips)
        self._index = 0

    @property
    def remaining(self) -> int:
        return sum(clip.remaining for clip in self.clips[self._index :])

    @property
    def finished(self) -> bool:
        return self.remaining == 0

    def read(self, n: int) -> Samples:
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        while filled < n and self._index < len(self.clips):
            clip = self.clips[self._index]
            take = min(n - filled, clip.remaining)
            out[filled : filled + take] = clip.read(take)
            filled += take
            if clip.finished:
                self._index += 1
        return out


class Looping:
    """Music on hold: one or more tracks played round and round, seamlessly, forever.

    The tracks' arrays are shared (no copy per caller); only the position is ours.
    """

    def __init__(self, tracks: Clip | Sequence[Clip]) -> None:
        clips = [tracks] if isinstance(tracks, Clip) else list(tracks)
        self._parts: list[Samples] = [clip.samples for clip in clips if len(clip.samples)]
        if not self._parts:
            raise ValueError("music on hold needs at least one sample")
        self._part = 0
        self._offset = 0

    @property
    def finished(self) -> bool:
        return False

    def read(self, n: int) -> Samples:
        out = np.empty(n, dtype=np.int16)
        filled = 0
        while filled < n:
            part = self._parts[self._part]
            take = min(n - filled, len(part) - self._offset)
            out[filled : filled + take] = part[self._offset : self._offset + take]
            filled += take
            self._offset += take
            if self._offset == len(part):
                self._part = (self._part + 1) % len(self._parts)
                self._offset = 0
        return out


class ToneSource:
    """A call-progress tone (tones.py), endless or for ``seconds``, cadence intact."""

    def __init__(self, spec: ToneSpec, seconds: float | None = None) -> None:
        self.spec = spec
        self.length = None if seconds is None else round(seconds * RATE)
        self.position = 0

    @classmethod
    def from_plan(cls, plan: str, tone: str, seconds: float | None = None) -> ToneSource:
        """E.g. ``ToneSource.from_plan("cn", "ringback")``; plans "cn" and "us"."""
        try:
            spec = TONE_PLANS[plan][tone]
        except KeyError:
            raise ValueError(f"no tone {tone!r} in plan {plan!r}") from None
        return cls(spec, seconds)

    @property
    def finished(self) -> bool:
        return self.length is not None and self.position >= self.length

    def read(self, n: int) -> Samples:
        out = render(self.spec, self.position, n)
        if self.length is not None:
            out[max(0, self.length - self.position) :] = 0
        self.position += n
        return out


class Silence:
    """Nothing, endless or for ``seconds``."""

    def __init__(self, seconds: float | None = None) -> None:
        self.length = None if seconds is None else round(seconds * RATE)
        self.position = 0

    @property
    def finished(self) -> bool:
        return self.length is not None and self.position >= self.length

    def read(self, n: int) -> Samples:
        self.position += n
        return np.zeros(n, dtype=np.int16)
