"""The CTI engine on the SIP switch with the media engine: music in the queue, then a
supervisor listens, whispers and barges.

``telephony.sip.media_engine`` starts an engine process and puts every call's media on
it. Two baresip phones register: 1001 (the agent, a 400 Hz tone) and 1003 (the
supervisor's phone, 500 Hz). SIPp calls the DID; its media gateway (an RTP peer) keeps
what the customer hears and plays a 1 kHz tone. With no agent ready the call waits in
the queue and the customer hears the music on hold (a 700 Hz WAV from the ``media``
section); 1001 gets ready, its phone answers, and they talk. The supervisor listens
with phone 1003 (the call moves into a conference, the supervisor listen-only): the
supervisor hears both and the customer does not hear the supervisor; then whispers:
the agent hears the supervisor, the customer still does not; then barges: the
customer hears the supervisor too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile

from callcenter.app.cti import CallState
from callcenter.media.g711 import ulaw_to_pcm16
from callcenter.store.db import make_async_engine
from callcenter.switch.ports import ListenOnly, TalkListen, WhisperTo
from callcenter.telephony import SERVICE_GROUP
from peers import RtpTonePeer, free_udp_port, peer_log, tone_strength, write_tone_wav
from sipkit import (
    SCENARIOS,
    carrier_trunk,
    sip_settings,
    sip_telephony,
    sipp_calls_did,
    start_baresip_phone,
    stop_peers,
)
from sipkit import until as _until

HARD_TIMEOUT = 30.0
DID = "4008001000"
CUSTOMER_HZ = 1000.0
MUSIC_HZ = 700.0
PHONE_HZ = {"1001": 400.0, "1003": 500.0}


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    await _until(condition, within, every=0.02)


@pytest.mark.sipp
@pytest.mark.baresip
async def test_queued_caller_hears_music_then_a_supervisor_listens_whispers_and_barges(
    tmp_path: Path, sqlite_template: Path
) -> None:
    write_tone_wav(tmp_path / "music.wav", hz=MUSIC_HZ, seconds=3)
    carrier_port = free_udp_port()
    settings = sip_settings(
        tmp_path,
        sqlite_template,
        media={"port_min": 42000, "port_max": 42998, "music_on_hold": str(tmp_path / "music.wav")},
        trunks=[carrier_trunk(carrier_port)],
        dids=[DID],
        phones={"1001": "secret-1", "1003": "secret-3"},
        nonce_secret="cti-on-sip-media-test-nonce",
        ring_timeout_seconds=8,
        media_engine=True,
    )
    scenario = tmp_path / "customer.xml"
    scenario.write_text(
        (SCENARIOS / "b2bua_carrier_calls_did.xml")
        .read_text()
        .replace('<pause milliseconds="4000" />', '<pause milliseconds="9500" />')
    )
    db = make_async_engine(settings.database_url)
    telephony = sip_telephony(settings, db, with_media=True)
    customer = RtpTonePeer()
    processes: list[asyncio.subprocess.Process] = []
    heard = {no: tmp_path / f"heard-{no}" for no in PHONE_HZ}
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await telephony.start()
            switch = telephony.sip_switch
            assert switch is not None and switch.phones is not None
            assert switch.media is not None
            engine = telephony.engine
            for no, hz in PHONE_HZ.items():
                await start_baresip_phone(
                    processes,
                    tmp_path,
                    switch,
                    no,
                    password=f"secret-{no[-1]}",
                    hz=hz,
                    recordings=heard[no],
                )
            telephony.set_profile("1001", [SERVICE_GROUP])
            await engine.log_in("login-1001", "1001", "1001")

            await customer.open()
            processes.append(
                await sipp_calls_did(
                    tmp_path,
                    switch.address,
                    scenario,
                    did=DID,
                    media_port=customer.port,
                    carrier_port=carrier_port,
                    timeout="25s",
                    log="customer.log",
                )
            )
            await until(lambda: bool(engine.calls()))
            (call,) = engine.calls()
            await until(lambda: len(customer.received) >= 50)  # a second in the queue
            queued = len(customer.received)
            assert call.state is not CallState.CONNECTED
            assert call.customer_leg is not None
            customer_media = switch.rtp_port(call.customer_leg).local_address
            customer.play(customer_media, hz=CUSTOMER_HZ, seconds=10)
            await engine.ready("ready-1001", "1001")
            await until(lambda: call.state is CallState.CONNECTED and call.agent_no == "1001")
            await asyncio.sleep(0.5)

            await engine.listen("listen-1", "sup", call.call_id, "1003")
            await until(lambda: call.monitors["sup"].role == ListenOnly())
            await asyncio.sleep(0.3)
            listen_from = len(customer.received)
            await asyncio.sleep(1.2)
            listen_to = len(customer.received)
            await engine.whisper("whisper-1", "sup", call.call_id, "1003")
            await until(lambda: isinstance(call.monitors["sup"].role, WhisperTo))
            await asyncio.sleep(0.3)
            whisper_from = len(customer.received)
            await asyncio.sleep(1.2)
            whisper_to = len(customer.received)
            await engine.barge("barge-1", "sup", call.call_id, "1003")
            await until(lambda: call.monitors["sup"].role == TalkListen())
            await asyncio.sleep(0.3)
            barge_from = len(customer.received)
            await asyncio.sleep(1.2)
            barge_to = len(customer.received)
            await until(lambda: call.ended, within=10)
            assert await processes[-1].wait() == 0, peer_log(tmp_path, "customer.log")
            await asyncio.sleep(0.3)  # baresip closes its recordings when the call ends
    finally:
        await stop_peers(processes, terminate=processes[:2])
        await customer.aclose()
        await telephony.stop()
        await db.dispose()

    def audio(start: int, end: int) -> object:
        return ulaw_to_pcm16(b"".join(customer.received[start:end]))

    # In the queue: the music on hold.
    assert tone_strength(audio(0, queued), MUSIC_HZ) > 0.8
    # Listening: the customer hears the agent, not the supervisor.
    listening = audio(listen_from, listen_to)
    assert tone_strength(listening, PHONE_HZ["1001"]) > 0.8
    assert tone_strength(listening, PHONE_HZ["1003"]) < 0.05
    # Whispering: the customer still does not hear the supervisor (the agent does).
    whispering = audio(whisper_from, whisper_to)
    assert tone_strength(whispering, PHONE_HZ["1001"]) > 0.8
    assert tone_strength(whispering, PHONE_HZ["1003"]) < 0.05
    (agent_file,) = sorted(heard["1001"].glob("*dec*.wav"))
    agent, _ = soundfile.read(agent_file)
    assert tone_strength(agent, PHONE_HZ["1003"]) > 0.1, peer_log(tmp_path, "baresip-1001.log")
    # Barging: the customer hears the agent and the supervisor.
    barging = audio(barge_from, barge_to)
    assert tone_strength(barging, PHONE_HZ["1001"]) > 0.2
    assert tone_strength(barging, PHONE_HZ["1003"]) > 0.2
    # The supervisor heard both the customer and the agent.
    (supervisor_file,) = sorted(heard["1003"].glob("*dec*.wav"))
    supervisor, _ = soundfile.read(supervisor_file)
    assert tone_strength(supervisor, CUSTOMER_HZ) > 0.2, peer_log(tmp_path, "baresip-1003.log")
    assert tone_strength(supervisor, PHONE_HZ["1001"]) > 0.2
