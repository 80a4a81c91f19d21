"""The engine's command protocol: one JSON object per line, replies by id, typed events."""

from __future__ import annotations

import json

import pytest

from callcenter.media import control
from callcenter.media.control import (
    AmdDecided,
    DtmfDetected,
    EngineError,
    PlayFinished,
    RecordingFinished,
    RecordingStarted,
    RtpTimedOut,
)


def test_a_request_is_one_line_of_json_with_its_id() -> None:
    line = control.request(7, "bridge", {"bridge": "b1", "a": "e1", "b": "e2"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"id": 7, "op": "bridge", "args": {"bridge": "b1", "a": "e1",
                                                                   "b": "e2"}}  # fmt: skip
    assert set(control.OPS) >= {"create_endpoint", "bridge", "join", "record", "send_dtmf"}


def test_replies_carry_the_result_or_the_error_code_and_details() -> None:
    assert control.decode(control.reply_ok(3, {"port": 20000})) == {
        "id": 3, "ok": True, "result": {"port": 20000}
    }  # fmt: skip
    error = EngineError("unknown-endpoint", id="leg-9")
    assert control.decode(control.reply_error(4, error)) == {
        "id": 4, "ok": False, "error": "unknown-endpoint", "details": {"id": "leg-9"}
    }  # fmt: skip


@pytest.mark.parametrize(
    "event",
    [
        DtmfDetected("e1", "#", "rfc4733", 1.5),
        PlayFinished("e1", "welcome", False, 2.0),
        RecordingStarted("r1", "/tmp/r1.wav", ("e1", "e2"), 3.0),
        RecordingFinished("r1", "/tmp/r1.wav", 12.5, 200_044, ("e1", "e2"), 4.0),
        RtpTimedOut("e2", 30.0, 5.0),
        AmdDecided("e1", "machine", "greeting 2.4 s", 2.4, 6.0),
    ],
)
def test_every_event_survives_the_trip_up_the_pipe(event: control.MediaEvent) -> None:
    message = control.decode(control.event_message(event))
    assert message["event"] == event.name
    assert control.parse_event(message) == event


def test_chinese_text_is_sent_as_utf8_not_escaped() -> None:
    line = control.event_message(RecordingStarted("r", "/录音/r.wav", (), 0.0))
    assert "录音".encode() in line


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b"\xff\xfe\n"])
def test_a_line_that_is_not_a_json_object_is_refused(line: bytes) -> None:
    with pytest.raises(EngineError) as refused:
        control.decode(line)
    assert refused.value.code == "bad-arguments"


def test_an_unknown_event_is_refused() -> None:
    with pytest.raises(EngineError, match="bad-arguments"):
        control.parse_event({"event": "fireworks"})


def test_errors_speak_chinese_and_english_and_name_the_value() -> None:
    error = EngineError("no-free-port", low=20000, high=20010)
    assert error.message("zh-CN") == "媒体端口已用尽：20000-20010"
    assert error.message("en") == "no free media port in 20000-20010"
    assert str(error) == "no-free-port: no free media port in 20000-20010"
    unknown = EngineError("something-new", reason="x")
    assert unknown.code == "internal-error"
    missing = EngineError("engine-gone")
    assert missing.message("en") == "the media engine is gone: {reason}"
