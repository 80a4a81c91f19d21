"""The command protocol between the signalling side and a media engine process.

Theory of operation
-------------------
One JSON object per line, UTF-8, over the engine's stdin (down) and stdout (up); the
engine logs to stderr. Audio never crosses: only commands, their replies and events.

* request  ``{"id": 7, "op": "bridge", "args": {"bridge": "b1", "a": "e1", "b": "e2"}}``
* reply    ``{"id": 7, "ok": true, "result": {...}}`` or
  ``{"id": 7, "ok": false, "error": "unknown-endpoint", "details": {...}}``
* event    ``{"event": "dtmf", "endpoint": "e1", "digit": "5", ...}``: pushed when it
  happens, never per packet.

Ids are the caller's; the engine answers every request exactly once, in any order.
Events are frozen dataclasses here, named in the past tense, shared by the engine
(which builds them) and the client (which parses them back).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from callcenter.errors import Language

OPS: Final = frozenset(
    {
        "create_endpoint",
        "set_remote",
        "delete_endpoint",
        "bridge",
        "unbridge",
        "join",
        "leave",
        "play",
        "stop_play",
        "record",
        "stop_record",
        "send_dtmf",
        "start_detection",
        "stop_detection",
        "stats",
        "ping",
    }
)
ROLES: Final = ("talk_listen", "listen_only", "whisper_to")
DETECTIONS: Final = ("dtmf_inband", "amd")


class EngineError(Exception):
    """A command the engine refused, or the engine is gone. Messages in zh-CN and en."""

    MESSAGES: ClassVar[dict[str, tuple[str, str]]] = {
        "unknown-op": ("未知的媒体命令：{op}", "unknown media command: {op}"),
        "bad-arguments": ("媒体命令参数错误：{reason}", "bad media command arguments: {reason}"),
        "unknown-endpoint": ("媒体端点不存在：{id}", "media endpoint not found: {id}"),
        "unknown-bridge": ("桥接不存在：{id}", "bridge not found: {id}"),
        "unknown-conference": ("会议不存在：{id}", "conference not found: {id}"),
        "unknown-recording": ("录音不存在：{id}", "recording not found: {id}"),
        "already-exists": ("{kind} 已存在：{id}", "{kind} already exists: {id}"),
        "endpoint-busy": ("媒体端点已在使用：{id}", "media endpoint already in use: {id}"),
        "no-free-port": ("媒体端口已用尽：{low}-{high}", "no free media port in {low}-{high}"),
        "not-supported": ("媒体引擎不支持：{what}", "the media engine does not support: {what}"),
        "engine-gone": (
            "媒体引擎进程已退出：{reason}",
            "the media engine is gone: {reason}",
        ),
        "internal-error": ("媒体引擎内部错误：{reason}", "media engine internal error: {reason}"),
    }

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code if code in self.MESSAGES else "internal-error"
        self.details: dict[str, Any] = details

    def message(self, language: Language) -> str:
        zh, en = self.MESSAGES[self.code]
        try:
            return (zh if language == "zh-CN" else en).format(**self.details)
        except (KeyError, IndexError, ValueError):
            return zh if language == "zh-CN" else en

    def __str__(self) -> str:
        return f"{self.code}: {self.message('en')}"


# --- events (engine -> signalling side) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class DtmfDetected:
    name: ClassVar[str] = "dtmf"
    endpoint: str
    digit: str
    method: Literal["rfc4733", "inband"]
    at: float


@dataclass(frozen=True, slots=True)
class PlayFinished:
    name: ClassVar[str] = "play_finished"
    endpoint: str
    play: str
    stopped: bool  # True when stop_play (or the endpoint's deletion) ended it
    at: float


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    name: ClassVar[str] = "recording_started"
    recording: str
    path: str
    parties: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    name: ClassVar[str] = "recording_finished"
    recording: str
    path: str
    seconds: float
    bytes: int
    parties: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class RtpTimedOut:
    name: ClassVar[str] = "rtp_timeout"
    endpoint: str
    seconds: float  # without a packet
    at: float


@dataclass(frozen=True, slots=True)
class AmdDecided:
    name: ClassVar[str] = "amd_result"
    endpoint: str
    result: str  # human | machine | unsure
    reason: str
    elapsed: float  # seconds of answered audio it took
    at: float


MediaEvent = (
    DtmfDetected | PlayFinished | RecordingStarted | RecordingFinished | RtpTimedOut | AmdDecided
)
EVENT_TYPES: Final[dict[str, type[MediaEvent]]] = {
    cls.name: cls
    for cls in (
        DtmfDetected,
        PlayFinished,
        RecordingStarted,
        RecordingFinished,
        RtpTimedOut,
        AmdDecided,
    )
}


# --- framing ---------------------------------------------------------------------------


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def request(request_id: int, op: str, args: dict[str, Any]) -> bytes:
    return encode({"id": request_id, "op": op, "args": args})


def reply_ok(request_id: int, result: dict[str, Any]) -> bytes:
    return encode({"id": request_id, "ok": True, "result": result})


def reply_error(request_id: int, error: EngineError) -> bytes:
    return encode({"id": request_id, "ok": False, "error": error.code, "details": error.details})


def event_message(event: MediaEvent) -> bytes:
    fields = dataclasses.asdict(event)
    return encode({"event": event.name, **fields})


def decode(line: bytes) -> dict[str, Any]:
    """One line to a message; a line that is not a JSON object raises ``bad-arguments``."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EngineError("bad-arguments", reason=f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise EngineError("bad-arguments", reason="not a JSON object")
    return message


def parse_event(message: dict[str, Any]) -> MediaEvent:
    """An event message back into its dataclass."""
    kind = EVENT_TYPES.get(str(message.get("event")))
    if kind is None:
        raise EngineError("bad-arguments", reason=f"unknown event {message.get('event')!r}")
    values: dict[str, Any] = {f.name: message.get(f.name) for f in dataclasses.fields(kind)}
    if "parties" in values:
        values["parties"] = tuple(values["parties"] or ())
    return kind(**values)
