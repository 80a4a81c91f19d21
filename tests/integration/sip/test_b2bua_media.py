"""A carrier's call to an agent's baresip through the media engine: recorded in stereo,
a key sent to the carrier, and the customer held with music.

As in the relay test (``test_b2bua_did_to_phone``), SIPp calls a DID from the carrier
trunk with its media at a small RTP peer that plays a 1 kHz tone, baresip registers
1001 and plays 400 Hz; the test acts as the core. Here the switch has the media
engine: each leg is an engine endpoint, the bridge is the engine's, and the core
records the bridge in stereo (customer left, agent right), sends the digit 5 to the
carrier (RFC 4733), holds the customer, who hears the music on hold (a 700 Hz WAV)
after a ``sendonly`` re-INVITE (``b2bua_customer_held_music.xml`` checks it), and
resumes the call before the customer hangs up.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile

from callcenter.media.client import EngineClient
from callcenter.media.g711 import ulaw_to_pcm16
from callcenter.switch.ports import (
    BridgeId,
    LegAnswered,
    LegHeld,
    LegHungUp,
    LegId,
    LegOffered,
    LegResumed,
    RecordingFinished,
    RecordingId,
    RecordingStarted,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.media import MediaOptions
from callcenter.switch.sip.trunks import Trunk
from peers import (
    AUDIO_RATE,
    RtpTonePeer,
    baresip_phone,
    free_udp_port,
    peer_log,
    start_peer,
    stop,
    tone_strength,
    write_tone_wav,
)
from sipkit import SCENARIOS, md5_registrar, sipp_calls_did, wait_for

HARD_TIMEOUT = 25.0
DID = "4008001000"
CARRIER_HZ = 1000.0
PHONE_HZ = 400.0
MUSIC_HZ = 700.0
EVENT_PT = 101


class KeyHearingPeer(RtpTonePeer):
    """The carrier's media gateway, also noting the RFC 4733 events it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[int] = []

    def on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        if len(data) >= 16 and data[0] >> 6 == 2 and data[1] & 0x7F == EVENT_PT:
            self.events.append(data[12])
            return
        super().on_datagram(data, source)


@pytest.mark.sipp
@pytest.mark.baresip
async def test_a_call_through_the_engine_is_recorded_in_stereo_and_held_with_music(
    tmp_path: Path,
) -> None:
    carrier_port = free_udp_port()
    write_tone_wav(tmp_path / "phone.wav", hz=PHONE_HZ, seconds=15)
    write_tone_wav(tmp_path / "music.wav", hz=MUSIC_HZ, seconds=3)
    scenario = SCENARIOS / "b2bua_customer_held_music.xml"
    registrar = md5_registrar({"1001": "secret"}, b"media-test-nonce-secret-01234567")
    options = MediaOptions(tmp_path / "recordings", music_on_hold=str(tmp_path / "music.wav"))
    heard_dir = tmp_path / "heard"
    media = KeyHearingPeer()
    engine = await EngineClient(port_min=41000, port_max=41998).start()
    seen: list[object] = []
    try:
        async with (
            asyncio.timeout(HARD_TIMEOUT),
            SipSwitch(
                [Trunk("carrier", "127.0.0.1", carrier_port)],
                registrar=registrar,
                media=engine,
                media_options=options,
            ) as switch,
        ):
            assert switch.phones is not None
            switch.subscribe(seen.append)
            argv = baresip_phone(
                tmp_path / "baresip",
                sip_port=free_udp_port(also_next=True),
                registrar=switch.address,
                extension="1001",
                password="secret",
                source=tmp_path / "phone.wav",
                recordings=heard_dir,
            )
            phone = await start_peer(*argv, cwd=tmp_path, log="baresip.log")
            carrier = None
            try:
                await switch.phones.wait_for("1001", timeout=10.0)
                await media.open()
                carrier = await sipp_calls_did(
                    tmp_path,
                    switch.address,
                    scenario,
                    did=DID,
                    media_port=media.port,
                    carrier_port=carrier_port,
                    timeout="15s",
                    log="carrier.log",
                )
                offered = await wait_for(seen, lambda e: isinstance(e, LegOffered), 10)
                assert isinstance(offered, LegOffered)
                customer, agent = offered.leg, LegId("agent-1001")
                await switch.answer(customer)
                await switch.originate(agent, "agent:1001", caller_id=offered.caller)
                await wait_for(seen, lambda e: isinstance(e, LegAnswered) and e.leg == agent, 10)
                bridge = BridgeId("did-call")
                await switch.bridge(bridge, [customer, agent])
                await switch.record(RecordingId("did-call-rec"), bridge)
                media.play(switch.rtp_port(customer).local_address, hz=CARRIER_HZ, seconds=4.0)
                await asyncio.sleep(2.5)
                await switch.send_dtmf(customer, "5")
                await switch.hold(customer)
                await wait_for(seen, lambda e: isinstance(e, LegHeld) and e.leg == customer, 5)
                held_from = len(media.received)
                await asyncio.sleep(1.5)
                held_to = len(media.received)
                await switch.resume(customer)
                await wait_for(seen, lambda e: isinstance(e, LegResumed) and e.leg == customer, 5)
                await wait_for(seen, lambda e: isinstance(e, LegHungUp) and e.leg == customer, 10)
                finished = await wait_for(seen, lambda e: isinstance(e, RecordingFinished), 5)
                await switch.hangup(agent)
                assert await carrier.wait() == 0, peer_log(tmp_path, "carrier.log")
                await asyncio.sleep(0.5)  # baresip closes its recordings when the call ends
                phone.terminate()
                await phone.wait()
            finally:
                if carrier is not None:
                    await stop(carrier)
                await stop(phone)
                await media.aclose()
    finally:
        await engine.close()
    started = [e for e in seen if isinstance(e, RecordingStarted)]
    assert [(e.recording, e.target) for e in started] == [("did-call-rec", "did-call")]
    assert isinstance(finished, RecordingFinished)
    assert finished.path == str(tmp_path / "recordings" / "did-call-rec.wav")
    assert 3.0 <= finished.seconds <= 7.0 and finished.bytes > 0, finished
    # Stereo: the customer (carrier's tone) on the left, the agent (baresip's) on the right.
    audio, rate = soundfile.read(finished.path)
    assert rate == AUDIO_RATE and audio.shape[1] == 2
    talk = audio[int(0.3 * rate) : int(2.3 * rate)]
    assert tone_strength(talk[:, 0], CARRIER_HZ) > 0.8, tone_strength(talk[:, 0], PHONE_HZ)
    assert tone_strength(talk[:, 1], PHONE_HZ) > 0.8, tone_strength(talk[:, 1], CARRIER_HZ)
    # The carrier heard the phone through the engine, and the key 5 as RFC 4733 events.
    received = np.asarray(media.audio(), dtype=np.float64)
    assert tone_strength(received[: 2 * AUDIO_RATE], PHONE_HZ) > 0.8
    assert media.events and set(media.events) == {5}, media.events
    assert media.sources == {switch.rtp_port(customer).local_address}
    # On hold the customer heard the music, and the phone had heard the carrier.
    music = ulaw_to_pcm16(b"".join(media.received[held_from:held_to]))
    assert len(music) >= AUDIO_RATE, len(music)
    assert tone_strength(music, MUSIC_HZ) > 0.8, tone_strength(music, PHONE_HZ)
    (heard,) = sorted(heard_dir.glob("*dec*.wav"))
    phone_audio, _ = soundfile.read(heard)
    assert tone_strength(phone_audio[AUDIO_RATE : 2 * AUDIO_RATE], CARRIER_HZ) > 0.8
