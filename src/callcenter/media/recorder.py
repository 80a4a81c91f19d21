"""Call recordings written as the call goes, in WAV, and repaired after a crash.

Theory of operation
-------------------
A :class:`Recorder` opens the WAV file through libsndfile (soundfile) at once, so
the header is on disk from the first moment. ``write`` only appends the tick's
frames to an in-memory buffer; ``flush`` hands the buffer to libsndfile, which
encodes it and passes it to the operating system with ``write(2)``. The engine
calls ``flush`` for a few recordings per tick (staggered), so no tick pays for all
of them; the buffer also flushes itself when it holds ``max_buffer_seconds``.

Audio handed to the operating system survives ``kill -9`` of the engine, but the
RIFF and ``data`` chunk sizes in the header are only written on ``close``: a killed
recording has a header claiming (almost) no audio. :func:`repair` parses the chunk
list, recomputes the ``data`` size from the file length (cut to whole blocks), the
``fact`` sample count of compressed formats and the RIFF size, and writes them back.
:func:`repair_all` does that for a directory when the engine restarts.

GSM 6.10 packs 320 samples into one 65-byte block (the WAV49 layout); libsndfile
keeps a partial block in memory, so ``flush`` hands over only whole blocks and
keeps the rest buffered: whatever ``flushed_frames`` counts is on disk.
libsndfile writes GSM 6.10 in WAV for mono only; stereo GSM is refused up front.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import soundfile as sf

from callcenter.errors import AppError
from callcenter.media.errors import MediaError

log = logging.getLogger(__name__)

RecordingFormat: TypeAlias = Literal["pcm16", "alaw", "ulaw", "gsm"]

# Our format names -> libsndfile subtypes in a WAV container.
SUBTYPES: Final[dict[str, str]] = {
    "pcm16": "PCM_16",
    "alaw": "ALAW",
    "ulaw": "ULAW",
    "gsm": "GSM610",
}
GSM_BLOCK_SAMPLES: Final = 320  # one WAV49 block: two 160-sample GSM 06.10 frames
GSM_BLOCK_BYTES: Final = 65
MONO_ONLY: Final = frozenset({"gsm"})  # libsndfile: GSM 6.10 in WAV is mono only
DEFAULT_MAX_BUFFER_SECONDS: Final = 10.0

# WAVE format tags (RFC 2361, Appendix A) and samples per block_align bytes.
WAVE_FORMAT_PCM: Final = 0x0001
WAVE_FORMAT_ALAW: Final = 0x0006
WAVE_FORMAT_MULAW: Final = 0x0007
WAVE_FORMAT_GSM610: Final = 0x0031


class RecordingError(MediaError, AppError):
    """Base of the recorder's errors: messages in Chinese and English."""

    code = "recording-error"
    status = 422

    def __str__(self) -> str:
        return f"{self.message('en')} / {self.message('zh-CN')}"


class UnsupportedRecordingFormat(RecordingError):
    code = "recording-format-unsupported"
    message_zh = "不支持的录音格式 {fmt}（{channels} 声道）：{reason_zh}"
    message_en = "unsupported recording format {fmt} ({channels} channels): {reason_en}"


class RecordingClosed(RecordingError):
    code = "recording-closed"
    status = 409
    message_zh = "录音 {path} 已结束，不能再写入"
    message_en = "recording {path} is closed and cannot be written to"


class RecordingOpenFailed(RecordingError):
    code = "recording-open-failed"
    status = 500
    message_zh = "无法创建录音文件 {path}：{reason}"
    message_en = "cannot create recording file {path}: {reason}"


class RecordingRepairFailed(RecordingError):
    code = "recording-repair-failed"
    message_zh = "无法修复录音文件 {path}：{reason_zh}"
    message_en = "cannot repair recording {path}: {reason_en}"


@dataclasses.dataclass(frozen=True, slots=True)
class RecordingInfo:
    """What the core is told about a finished (or repaired) recording."""

    path: Path
    seconds: float
    bytes: int
    frames: int
    channels: int = 1
    fmt: str = "pcm16"


def _check_format(fmt: str, channels: int) -> str:
    subtype = SUBTYPES.get(fmt)
    if subtype is None:
        raise UnsupportedRecordingFormat(
            fmt=fmt,
            channels=channels,
            reason_zh="可用格式为 " + "、".join(SUBTYPES),
            reason_en="use one of " + ", ".join(SUBTYPES),
        )
    if fmt in MONO_ONLY and channels != 1:
        raise UnsupportedRecordingFormat(
            fmt=fmt,
            channels=channels,
            reason_zh="libsndfile 的 WAV 只支持单声道 GSM 6.10，请改用单声道或 pcm16/alaw/ulaw",
            reason_en=(
                "libsndfile writes GSM 6.10 in WAV for mono only; record mono, "
                "or stereo in pcm16, alaw or ulaw"
            ),
        )
    return subtype


def _as_int16(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    if not isinstance(samples, np.ndarray) or samples.dtype.char != "h":
        raise TypeError(f"recordings take int16 samples, not {getattr(samples, 'dtype', samples)}")
    if samples.ndim != 1:
        raise ValueError("each channel is a 1-D array of samples")
    return samples


class Recorder:
    """One recording: mono (the mix) or stereo (customer left, agent right)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: RecordingFormat | str = "pcm16",
        stereo: bool = True,
        rate: int = 8000,
        *,
        max_buffer_seconds: float = DEFAULT_MAX_BUFFER_SECONDS,
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.channels = 2 if stereo else 1
        self.rate = rate
        subtype = _check_format(fmt, self.channels)
        self._block = GSM_BLOCK_SAMPLES if fmt == "gsm" else 1
        self._max_buffer = max(self._block, round(max_buffer_seconds * rate))
        self._pending: list[npt.NDArray[np.int16]] = []  # mono, or the left channel
        self._pending_right: list[npt.NDArray[np.int16]] = []
        self._pending_frames = 0
        self.flushed_frames = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: sf.SoundFile | None = sf.SoundFile(
                self.path, "w", rate, self.channels, subtype, format="WAV"
            )
        except (OSError, sf.LibsndfileError) as exc:
            raise RecordingOpenFailed(path=str(self.path), reason=str(exc)) from exc
        log.info("recording %s started (%s, %d channels)", self.path, fmt, self.channels)

    @property
    def buffered_frames(self) -> int:
        """Frames written but not yet handed to the operating system."""
        return self._pending_frames

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(
        self, left: npt.NDArray[np.int16], right: npt.NDArray[np.int16] | None = None
    ) -> None:
        """Append one tick. Stereo: customer ``left``, agent ``right`` (silence if None).

        Mono: ``left`` is the mix; if ``right`` is given too, the two are summed
        (saturating) into the mix. The samples are copied: the caller may reuse its
        buffers. Channels are interleaved only at ``flush``, once per batch.
        """
        if self._file is None:
            raise RecordingClosed(path=str(self.path))
        a = _as_int16(left)
        b = None if right is None else _as_int16(right)
        if b is not None and len(b) != len(a):
            raise ValueError("left and right must have the same number of samples")
        if self.channels == 2:
            self._pending.append(a.copy())
            self._pending_right.append(np.zeros(len(a), np.int16) if b is None else b.copy())
        elif b is None:
            self._pending.append(a.copy())
        else:
            mix = np.clip(a.astype(np.int32) + b, -32768, 32767)
            self._pending.append(mix.astype(np.int16))
        self._pending_frames += len(a)
        if self._pending_frames >= self._max_buffer:
            self.flush()

    def _take(self, count: int) -> npt.NDArray[np.int16]:
        """The first ``count`` buffered frames as (count, channels); the rest stays."""
        channels = [self._pending] if self.channels == 1 else [self._pending, self._pending_right]
        data = np.empty((count, self.channels), dtype=np.int16)
        for c, parts in enumerate(channels):
            joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
            data[:, c] = joined[:count]
            parts[:] = [joined[count:]] if len(joined) > count else []
        self._pending_frames -= count
        return data

    def flush(self) -> int:
        """Hand buffered audio to the OS; returns the frames flushed.

        For GSM only whole 320-sample blocks go out; the remainder stays buffered.
        """
        count = self._pending_frames - self._pending_frames % self._block
        if self._file is None or count == 0:
            return 0
        self._file.write(self._take(count))
        self.flushed_frames += count
        return count

    def close(self) -> RecordingInfo:
        """Write out everything (GSM pads its last block), fix the header, report."""
        if self._file is None:
            raise RecordingClosed(path=str(self.path))
        if self._pending_frames:
            count = self._pending_frames
            self._file.write(self._take(count))
            self.flushed_frames += count
        self._file.close()
        self._file = None
        info = inspect(self.path)  # GSM: libsndfile pads (or drops) the last block
        log.info("recording %s finished: %.2f s, %d bytes", self.path, info.seconds, info.bytes)
        return info


# --- repair after a crash -------------------------------------------------------------

_FORMAT_NAMES: Final = {
    WAVE_FORMAT_PCM: "pcm16",
    WAVE_FORMAT_ALAW: "alaw",
    WAVE_FORMAT_MULAW: "ulaw",
    WAVE_FORMAT_GSM610: "gsm",
}


@dataclasses.dataclass(frozen=True, slots=True)
class _WavLayout:
    format_tag: int
    channels: int
    rate: int
    block_align: int
    samples_per_block: int
    fact_offset: int | None  # where the fact chunk's sample count is stored
    data_offset: int  # first byte of audio (after the data chunk header)


def _fail(path: Path, zh: str, en: str) -> RecordingRepairFailed:
    return RecordingRepairFailed(path=str(path), reason_zh=zh, reason_en=en)


def _parse_layout(path: Path, head: bytes) -> _WavLayout:
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise _fail(path, "不是 WAV 文件", "not a WAV file")
    fmt: tuple[int, int, int, int, int] | None = None
    fact_offset: int | None = None
    pos = 12
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        (size,) = struct.unpack_from("<I", head, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + size > len(head):
                raise _fail(path, "fmt 块不完整", "truncated fmt chunk")
            tag, channels, rate, _, block_align = struct.unpack_from("<HHIIH", head, body)
            per_block = 1
            if tag == WAVE_FORMAT_GSM610 and size >= 20:
                (per_block,) = struct.unpack_from("<H", head, body + 18)
            fmt = (tag, channels, rate, block_align, per_block)
        elif chunk_id == b"fact":
            fact_offset = body
        elif chunk_id == b"data":
            if fmt is None:
                raise _fail(path, "data 块前没有 fmt 块", "no fmt chunk before the data chunk")
            tag, channels, rate, block_align, per_block = fmt
            if tag not in _FORMAT_NAMES or block_align == 0 or channels == 0:
                raise _fail(path, f"不支持的编码 {tag:#06x}", f"unsupported encoding {tag:#06x}")
            return _WavLayout(tag, channels, rate, block_align, per_block, fact_offset, body)
        pos = body + size + (size & 1)
    raise _fail(path, "找不到 data 块（文件头被截断）", "no data chunk (the header is truncated)")


def _info(path: Path, layout: _WavLayout, data_size: int, length: int) -> RecordingInfo:
    frames = data_size // layout.block_align * layout.samples_per_block
    return RecordingInfo(
        path=path,
        seconds=frames / layout.rate if layout.rate else 0.0,
        bytes=length,
        frames=frames,
        channels=layout.channels,
        fmt=_FORMAT_NAMES[layout.format_tag],
    )


def inspect(path: str | os.PathLike[str]) -> RecordingInfo:
    """What a recording's header says it holds (the ``data`` chunk, in whole blocks)."""
    target = Path(path)
    try:
        with target.open("rb") as f:
            layout = _parse_layout(target, f.read(4096))
            length = os.fstat(f.fileno()).st_size
            f.seek(layout.data_offset - 4)
            (data_size,) = struct.unpack("<I", f.read(4))
    except OSError as exc:
        raise _fail(target, f"读取失败：{exc}", f"cannot read it: {exc}") from exc
    return _info(target, layout, min(data_size, length - layout.data_offset), length)


def repair(path: str | os.PathLike[str]) -> RecordingInfo:
    """Make a recording cut short by a crash a valid WAV again; a no-op if it is one.

    The audio length is what the file holds after the header, cut down to whole
    blocks (a half-written sample or GSM block is dropped).
    """
    target = Path(path)
    try:
        with target.open("r+b") as f:
            head = f.read(4096)
            layout = _parse_layout(target, head)
            length = os.fstat(f.fileno()).st_size
            blocks = max(0, length - layout.data_offset) // layout.block_align
            data_size = blocks * layout.block_align
            end = layout.data_offset + data_size
            info = _info(target, layout, data_size, 0)
            if data_size & 1:  # RIFF chunks are padded to an even size
                f.truncate(end)
                f.seek(end)
                f.write(b"\0")
                end += 1
            else:
                f.truncate(end)
            sizes = {
                4: end - 8,
                layout.data_offset - 4: data_size,
            }
            if layout.fact_offset is not None:
                sizes[layout.fact_offset] = info.frames
            for offset, value in sizes.items():
                f.seek(offset)
                f.write(struct.pack("<I", value))
    except OSError as exc:
        raise _fail(target, f"读写失败：{exc}", f"cannot read or write it: {exc}") from exc
    log.info("recording %s repaired: %d frames", target, info.frames)
    return dataclasses.replace(info, bytes=end)


def _needs_repair(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(12)
        length = os.fstat(f.fileno()).st_size
    if len(head) < 12 or head[:4] != b"RIFF":
        return True
    return int.from_bytes(head[4:8], "little") + 8 != length


def repair_all(
    directory: str | os.PathLike[str], *, modified_before: float | None = None
) -> list[RecordingInfo]:
    """Repair every ``*.wav`` under ``directory`` whose RIFF size disagrees with its length.

    Call it when the engine starts, before it records. When other engine processes
    may be recording into the same directory, pass ``modified_before`` (a Unix time,
    e.g. now minus a minute) so files still being written are left alone. Files that
    cannot be repaired are logged and skipped. Returns what was repaired.
    """
    repaired: list[RecordingInfo] = []
    paths: Iterable[Path] = sorted(Path(directory).rglob("*.wav"))
    for path in paths:
        try:
            if modified_before is not None and path.stat().st_mtime >= modified_before:
                continue
            if not _needs_repair(path):
                continue
            repaired.append(repair(path))
        except (RecordingRepairFailed, OSError) as exc:
            log.warning("recording %s left as it is: %s", path, exc)
    return repaired
