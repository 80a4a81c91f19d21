"""How the SIP switch names media to the engine: prompts the core plays, conference
roles, the codec an SDP answer chose, and what a gone engine makes of a command (no
engine process or peer needed)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from callcenter.media.control import EngineError
from callcenter.media.port import MediaPort
from callcenter.sip.sdp import build_offer
from callcenter.switch.ports import (
    InvalidArgument,
    LegId,
    ListenOnly,
    SwitchEvent,
    TalkListen,
    WhisperTo,
)
from callcenter.switch.sip.engine_port import MediaFailed, answer_format
from callcenter.switch.sip.media import MediaOptions, SwitchMedia, engine_role, play_source


def test_prompt_names_become_the_engines_sources(tmp_path: Path) -> None:
    wav = tmp_path / "welcome.wav"
    wav.write_bytes(b"RIFF")
    options = MediaOptions(tmp_path, prompts={"welcome": "/prompts/welcome.wav"}, tone_plan="us")
    assert play_source("welcome", options) == {"prompt": "/prompts/welcome.wav"}
    assert play_source("moh", options) == {"tone": "ringback", "plan": "us"}
    music = MediaOptions(tmp_path, music_on_hold="/prompts/music.wav")
    assert play_source("default", music) == {"prompt": "/prompts/music.wav"}
    assert play_source("tone:busy", options) == {"tone": "busy", "plan": "us"}
    assert play_source("tone:busy:2.5", options) == {"tone": "busy", "plan": "us", "seconds": 2.5}
    assert play_source("silence:0.5", options) == {"silence": 0.5}
    assert play_source(str(wav), options) == {"prompt": str(wav)}
    for unknown in ("nothing", "tone:", "silence:long", "tone:busy:soon", "/no/such.wav"):
        assert play_source(unknown, options) is None, unknown


def test_conference_roles_map_to_the_engines() -> None:
    assert engine_role(TalkListen()) == ("talk_listen", None)
    assert engine_role(ListenOnly()) == ("listen_only", None)
    assert engine_role(WhisperTo(LegId("agent-1"))) == ("whisper_to", "agent-1")
    with pytest.raises(InvalidArgument):
        engine_role("barge")  # type: ignore[arg-type]


def test_the_answers_codec_and_telephone_event_go_to_the_engine() -> None:
    offer = bytes(build_offer(address="127.0.0.1", port=4000, session_id=1, version=1))
    assert answer_format(offer) == ("PCMU", 101)
    assert answer_format(offer.replace(b"RTP/AVP 0 8 101", b"RTP/AVP 8 0")) == ("PCMA", None)
    g729 = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
    )
    assert answer_format(g729) is None
    assert answer_format(b"v=0\r\nnot sdp") is None


class _GoneEngine:
    """A Media port whose engine has exited: every command fails."""

    async def play(self, endpoint: str, play: str, **source: object) -> None:
        raise EngineError("engine-gone")

    async def send_dtmf(self, endpoint: str, digits: str) -> None:
        raise EngineError("engine-gone")


async def test_a_gone_engine_fails_the_command_with_a_switch_error(tmp_path: Path) -> None:
    events: list[SwitchEvent] = []
    media = SwitchMedia(
        cast(MediaPort, _GoneEngine()),
        MediaOptions(tmp_path),
        emit=events.append,
        now=lambda: 0.0,
        amd_decided=lambda leg, result: None,
        timed_out=lambda leg: None,
    )
    leg = LegId("leg-1")
    with pytest.raises(MediaFailed) as failed:
        await media.play(leg, "tone:busy", loop=False, barge_in_digits="")
    assert failed.value.code == "media-failed"
    with pytest.raises(MediaFailed):
        await media.send_dtmf(leg, "1")
    with pytest.raises(InvalidArgument):
        await media.send_dtmf(leg, "1x")
    await media.stop_play(leg)  # the failed play left nothing playing
    assert events == []
