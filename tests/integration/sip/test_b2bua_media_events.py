"""What the media engine tells the SIP switch: an answering machine's greeting, a far
end gone silent; and the recordings a crash left, repaired when the switch starts.

* Answering-machine detection: the core originates with ``amd=True`` to a SIPp carrier
  that answers with a long recorded greeting (English, spoken by espeak-ng, streamed
  with ``rtp_stream``); LegAnswered waits for the engine's verdict and says
  ``machine``.
* RTP inactivity: with ``rtp_timeout`` 1 s, a caller streaming a tone is bridged to a
  carrier that answers but sends no RTP; the engine reports the silence (counted from
  the answer) and the switch hangs the carrier up (failed, by the switch) while the
  caller stays up until it hangs up by itself.
* Start-up: a recording left with an unfinished header is repaired.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile

from callcenter.media.client import EngineClient
from callcenter.media.prompts import SpeechPrompts
from callcenter.switch.ports import (
    BridgeId,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegId,
    LegOffered,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.media import MediaOptions
from callcenter.switch.sip.trunks import Trunk
from peers import AUDIO_RATE, free_media_ports, free_udp_port, peer_log, start_peer, stop
from sipkit import SCENARIOS, SIPP, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

HARD_TIMEOUT = 20.0
GREETING = (
    "Hello, you have reached the voicemail of John Smith. I am not available right now. "
    "Please leave your name and number after the tone, and I will call you back."
)


def sipp(scenario: str, *args: str) -> tuple[str, ...]:
    """SIPp's command line for one call of ``scenario`` on 127.0.0.1."""
    return (
        SIPP, *args, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
        "-mp", str(free_media_ports()), "-m", "1", "-nostdin",
        "-timeout", "15s", "-timeout_error",
    )  # fmt: skip


@pytest.mark.sipp
async def test_an_answering_machine_is_told_apart_before_the_answer_is_reported(
    engine: EngineClient, tmp_path: Path
) -> None:
    spoken = await SpeechPrompts(tmp_path / "speech").synthesize(GREETING, "en")
    samples, rate = soundfile.read(spoken, dtype="int16")
    assert rate == AUDIO_RATE
    soundfile.write(tmp_path / "greeting.wav", samples, rate, subtype="ULAW", format="WAV")
    port = free_udp_port()
    options = MediaOptions(tmp_path / "recordings", amd_timeout=8.0)
    seen: list[object] = []
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        SipSwitch(media=engine, media_options=options) as switch,
    ):
        switch.subscribe(seen.append)
        machine = await start_peer(
            *sipp("b2bua_carrier_greets.xml", "-p", str(port)),
            cwd=tmp_path,
            log="machine.log",
        )
        try:
            leg = LegId("amd-call")
            await switch.originate(leg, f"sip:machine@127.0.0.1:{port}", caller_id="4000", amd=True)
            answered = await wait_for(seen, lambda e: isinstance(e, LegAnswered), 10)
            await switch.hangup(leg)
            assert await machine.wait() == 0, peer_log(tmp_path, "machine.log")
        finally:
            await stop(machine)
    assert isinstance(answered, LegAnswered)
    assert (answered.leg, answered.amd) == (leg, "machine")
    assert [e for e in seen if isinstance(e, LegAnswered)] == [answered]


@pytest.mark.sipp
async def test_a_bridged_leg_the_engine_hears_nothing_from_is_torn_down(
    engine: EngineClient, tmp_path: Path
) -> None:
    t = np.arange(6 * AUDIO_RATE) / AUDIO_RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    soundfile.write(tmp_path / "tone.wav", tone, AUDIO_RATE, subtype="ULAW", format="WAV")
    port = free_udp_port()
    options = MediaOptions(tmp_path / "recordings")
    seen: list[object] = []
    processes: list[asyncio.subprocess.Process] = []
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        SipSwitch(
            [Trunk("carrier", "127.0.0.1", port, caller_id="4000")],
            rtp_timeout=1.0,
            media=engine,
            media_options=options,
        ) as switch,
    ):
        switch.subscribe(seen.append)
        try:
            processes.append(
                await start_peer(
                    *sipp("b2bua_carrier_answer.xml", "-p", str(port)),
                    cwd=tmp_path,
                    log="carrier.log",
                )
            )
            address = "{}:{}".format(*switch.address)
            caller_args = (address, "-s", "2000", "-p", str(free_udp_port()))
            processes.append(
                await start_peer(
                    *sipp("b2bua_caller_streams.xml", *caller_args),
                    cwd=tmp_path,
                    log="caller.log",
                )
            )
            offered = await wait_for(seen, lambda e: isinstance(e, LegOffered), 10)
            assert isinstance(offered, LegOffered)
            await switch.answer(offered.leg)
            silent = LegId("silent-carrier")
            await switch.originate(silent, "13800138000", caller_id="4000")
            answered = await wait_for(
                seen, lambda e: isinstance(e, LegAnswered) and e.leg == silent, 10
            )
            await switch.bridge(BridgeId("b-silent"), [offered.leg, silent])
            ended = await wait_for(seen, lambda e: isinstance(e, LegHungUp) and e.leg == silent, 5)
            assert await processes[0].wait() == 0, peer_log(tmp_path, "carrier.log")
            caller_end = await wait_for(
                seen, lambda e: isinstance(e, LegHungUp) and e.leg == offered.leg, 10
            )
            assert await processes[1].wait() == 0, peer_log(tmp_path, "caller.log")
        finally:
            for process in processes:
                await stop(process)
    assert isinstance(answered, LegAnswered)
    assert isinstance(ended, LegHungUp) and isinstance(caller_end, LegHungUp)
    assert (ended.cause, ended.by) == (HangupCause.FAILED, "switch")
    assert 0.9 <= ended.at - answered.at <= 2.5, ended.at - answered.at
    assert (caller_end.cause, caller_end.by) == (HangupCause.NORMAL, "remote")


async def test_recordings_a_crash_left_unfinished_are_repaired_when_the_switch_starts(
    engine: EngineClient, tmp_path: Path
) -> None:
    """A recording whose header still says "no audio" (the process was killed before
    closing it) is playable in full once a switch with the media engine has started."""
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    path = recordings / "killed.wav"
    t = np.arange(2 * AUDIO_RATE) / AUDIO_RATE
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 440.0 * t), AUDIO_RATE, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[4:8] = (36).to_bytes(4, "little")  # RIFF size and data size as when opened
    data[40:44] = (0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert soundfile.info(path).frames == 0
    async with SipSwitch(media=engine, media_options=MediaOptions(recordings)):
        pass
    assert soundfile.info(path).frames == 2 * AUDIO_RATE
