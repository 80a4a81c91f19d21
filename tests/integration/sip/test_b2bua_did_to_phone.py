"""A carrier's call to a DID reaches an agent's registered baresip, with audio both ways.

The switch's socket is also the registrar: baresip registers extension 1001 there with
digest (MD5 only: baresip 1.0.0 gives up on SHA-256). SIPp, as the carrier, calls the
DID from the trunk's address; its SDP points at the carrier's media gateway, a small
RTP peer (:class:`peers.RtpTonePeer`) that plays a 1 kHz tone and keeps what it
hears. The test acts as the core: it answers the offered call, originates
``agent:1001`` (the phone where 1001 is registered) and bridges the two legs. baresip
plays a 400 Hz tone (aufile) and records what it hears (sndfile): each side must hear
the other's tone, and not its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from callcenter.switch.ports import (
    BridgeId,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegId,
    LegOffered,
    LegRedirected,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.legs import LegState
from callcenter.switch.sip.trunks import Trunk
from peers import (
    AUDIO_RATE,
    RtpTonePeer,
    baresip_command,
    baresip_phone,
    free_udp_port,
    peer_log,
    start_peer,
    stop,
    tone_strength,
    write_tone_wav,
)
from sipkit import SCENARIOS, md5_registrar, sipp_calls_did, stop_peers
from sipkit import until as _until

HARD_TIMEOUT = 20.0
NONCE_SECRET = b"did-test-nonce-secret-0123456789"
DID = "4008001000"
CARRIER_HZ = 1000.0
PHONE_HZ = 400.0


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    await _until(condition, within, every=0.02)


async def wait_for_leg_event(
    seen: list[object], kind: type[object], leg: LegId, within: float = 10.0
) -> None:
    async with asyncio.timeout(within):
        while not any(isinstance(e, kind) and getattr(e, "leg", None) == leg for e in seen):
            await asyncio.sleep(0.02)


@pytest.mark.sipp
@pytest.mark.baresip
async def test_carrier_call_to_a_did_talks_both_ways_with_the_registered_phone(
    tmp_path: Path,
) -> None:
    """baresip registers 1001; SIPp calls the DID from the carrier trunk; the call is
    answered, 1001's phone rung and bridged; each side hears the other's tone."""
    carrier_port = free_udp_port()
    trunk = Trunk("carrier", "127.0.0.1", carrier_port)
    write_tone_wav(tmp_path / "phone.wav", hz=PHONE_HZ, seconds=15)
    recordings = tmp_path / "recordings"
    media = RtpTonePeer()
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        SipSwitch([trunk], registrar=md5_registrar({"1001": "secret"}, NONCE_SECRET)) as switch,
    ):
        assert switch.phones is not None
        seen: list[object] = []
        subscription = switch.subscribe(seen.append)
        argv = baresip_phone(
            tmp_path / "baresip",
            sip_port=free_udp_port(also_next=True),
            registrar=switch.address,
            extension="1001",
            password="secret",
            source=tmp_path / "phone.wav",
            recordings=recordings,
        )
        phone = await start_peer(*argv, cwd=tmp_path, log="baresip.log")
        carrier = None
        try:
            (binding,) = await switch.phones.wait_for("1001", timeout=10.0)
            await media.open()
            carrier = await sipp_calls_did(
                tmp_path,
                switch.address,
                SCENARIOS / "b2bua_carrier_calls_did.xml",
                did=DID,
                media_port=media.port,
                carrier_port=carrier_port,
                timeout="15s",
                log="carrier.log",
            )
            await until(lambda: bool(seen), within=10)
            offered = seen[0]
            assert isinstance(offered, LegOffered), seen
            assert (offered.trunk, offered.dialled, offered.caller) == (
                "carrier",
                DID,
                "13900139000",
            )
            customer = offered.leg
            await switch.answer(customer)
            agent = LegId("agent-1001")
            await switch.originate(agent, "agent:1001", caller_id="13900139000")
            await wait_for_leg_event(seen, LegAnswered, agent)
            await switch.bridge(BridgeId("did-call"), [customer, agent])
            media.play(switch.rtp_port(customer).local_address, hz=CARRIER_HZ, seconds=3.0)
            await wait_for_leg_event(seen, LegHungUp, customer)
            assert await carrier.wait() == 0, peer_log(tmp_path, "carrier.log")
            await switch.hangup(agent)
            await asyncio.sleep(0.5)  # baresip closes its recordings when the call ends
            phone.terminate()
            await phone.wait()
        finally:
            if carrier is not None:
                await stop(carrier)
            await stop(phone)
            await media.aclose()
        subscription.close()
    ended = [e for e in seen if isinstance(e, LegHungUp)]
    assert {(e.leg, e.cause, e.by) for e in ended} == {
        (customer, HangupCause.NORMAL, "remote"),
        (agent, HangupCause.NORMAL, "switch"),
    }
    assert binding.source[1] != carrier_port
    # The phone heard the carrier's tone ...
    heard = sorted(recordings.glob("*dec*.wav"))
    assert heard, f"{sorted(recordings.iterdir())}\n{peer_log(tmp_path, 'baresip.log')}"
    audio, rate = soundfile.read(heard[-1])
    assert rate == AUDIO_RATE
    assert tone_strength(audio, CARRIER_HZ) > 0.8, tone_strength(audio, PHONE_HZ)
    # ... and the carrier heard the phone's, from the switch's relay port only.
    received = np.asarray(media.audio(), dtype=np.float64)
    assert len(received) >= 2 * AUDIO_RATE, len(received)
    assert tone_strength(received, PHONE_HZ) > 0.8, tone_strength(received, CARRIER_HZ)
    assert media.sources == {switch.rtp_port(customer).local_address}


@pytest.mark.sipp
@pytest.mark.baresip
async def test_a_phone_blind_transfers_the_caller_to_another_phone_with_refer(
    tmp_path: Path,
) -> None:
    """1001's baresip, talking with the carrier's caller, holds and resumes the call
    (its own re-INVITEs: answered, the call stays up), then transfers it to 1002 (its
    menu's /transfer: a REFER to sip:1002@switch). The switch answers 202, hands
    the caller to 1002's registered phone (the core sees the caller redirected to 1002
    and gone), NOTIFYs 200 so 1001 hangs up, and the caller then hears 1002's tone."""
    carrier_port = free_udp_port()
    registrar = md5_registrar({"1001": "secret", "1002": "secret"}, NONCE_SECRET)
    scenario = tmp_path / "carrier.xml"
    scenario.write_text(
        (SCENARIOS / "b2bua_carrier_calls_did.xml")
        .read_text()
        .replace('<pause milliseconds="4000" />', '<pause milliseconds="5000" />')
    )
    media = RtpTonePeer()
    control = free_udp_port()
    processes: list[asyncio.subprocess.Process] = []
    async with (
        asyncio.timeout(HARD_TIMEOUT),
        SipSwitch([Trunk("carrier", "127.0.0.1", carrier_port)], registrar=registrar) as switch,
    ):
        assert switch.phones is not None
        seen: list[object] = []
        subscription = switch.subscribe(seen.append)
        try:
            for extension, hz in (("1001", PHONE_HZ), ("1002", 600.0)):
                write_tone_wav(tmp_path / f"{extension}.wav", hz=hz, seconds=15)
                argv = baresip_phone(
                    tmp_path / f"baresip-{extension}",
                    sip_port=free_udp_port(also_next=True),
                    registrar=switch.address,
                    extension=extension,
                    password="secret",
                    source=tmp_path / f"{extension}.wav",
                    recordings=tmp_path / f"rec-{extension}",
                    control_port=control if extension == "1001" else None,
                )
                processes.append(await start_peer(*argv, cwd=tmp_path, log=f"{extension}.log"))
                await switch.phones.wait_for(extension, timeout=10.0)
            await media.open()
            processes.append(
                await sipp_calls_did(
                    tmp_path,
                    switch.address,
                    scenario,
                    did=DID,
                    media_port=media.port,
                    carrier_port=carrier_port,
                    timeout="15s",
                    log="carrier.log",
                )
            )
            await until(lambda: bool(seen), within=10)
            offered = seen[0]
            assert isinstance(offered, LegOffered)
            customer = offered.leg
            await switch.answer(customer)
            agent = LegId("agent-1001")
            await switch.originate(agent, "1001", caller_id=offered.caller)
            await wait_for_leg_event(seen, LegAnswered, agent)
            await switch.bridge(BridgeId("did-call"), [customer, agent])
            media.play(switch.rtp_port(customer).local_address, hz=CARRIER_HZ, seconds=5.0)
            await asyncio.sleep(1.0)
            phone_port = switch.rtp_port(agent)
            assert (await baresip_command(control, "hold")).get("ok")
            await until(lambda: not phone_port.sending)  # its re-INVITE: answered, not sent to
            assert (await baresip_command(control, "resume")).get("ok")
            await until(lambda: phone_port.sending)
            assert switch.leg_state(agent) is LegState.ANSWERED
            address = "sip:1002@{}:{}".format(*switch.address)
            reply = await baresip_command(control, "transfer", address)
            assert reply.get("ok"), reply
            await wait_for_leg_event(seen, LegRedirected, customer)
            await wait_for_leg_event(seen, LegHungUp, agent)  # 1001 hung up after NOTIFY 200
            assert await processes[-1].wait() == 0, peer_log(tmp_path, "carrier.log")
        finally:
            await stop_peers(processes, terminate=processes[:2])
            await media.aclose()
        subscription.close()
    redirected = [e for e in seen if isinstance(e, LegRedirected)]
    assert [(e.leg, e.dest) for e in redirected] == [(customer, "1002")]
    ended = {e.leg: e for e in seen if isinstance(e, LegHungUp)}
    assert ended[agent].by == "remote" and ended[customer].by == "switch"
    received = np.asarray(media.audio(), dtype=np.float64)
    assert tone_strength(received[:AUDIO_RATE], PHONE_HZ) > 0.8
    assert tone_strength(received[-2 * AUDIO_RATE :], 600.0) > 0.8
    heard = sorted((tmp_path / "rec-1002").glob("*dec*.wav"))
    assert heard, peer_log(tmp_path, "1002.log")
    audio, _ = soundfile.read(heard[-1])
    assert tone_strength(audio, CARRIER_HZ) > 0.8
