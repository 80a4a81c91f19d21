"""The CTI engine, unchanged, on the SIP switch: SIPp customers, baresip agents.

``telephony.switch = "sip"`` builds the runtime (:class:`Telephony`) with SQLite call
records. Two baresip phones register extensions 1001 and 1002 at the switch; the
agents log in with those extensions. SIPp, as the carrier, calls the DID; its media
gateway is a small RTP peer playing a 1 kHz tone and keeping what it hears. The call
is queued and offered to agent 1001, whose baresip answers by itself and talks (a
400 Hz tone); 1001 blind-transfers it to 1002 (a 600 Hz tone): the customer is held
(re-INVITE inactive, which SIPp checks) while 1002 rings, resumed when 1002 answers,
and they talk until the customer hangs up. Each phone's recording holds the customer's tone, the
customer heard both agents, and the call record names both agents in order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sqlalchemy import select

from callcenter.app.cti import CallState, ToAgent
from callcenter.domain.agent import AgentState
from callcenter.store.db import make_async_engine
from callcenter.store.tables import CallRow, LegRow
from callcenter.telephony import SERVICE_GROUP
from peers import AUDIO_RATE, RtpTonePeer, free_udp_port, peer_log, tone_strength
from sipkit import (
    SCENARIOS,
    carrier_trunk,
    sip_settings,
    sip_telephony,
    sipp_calls_did,
    start_baresip_phone,
    stop_peers,
    until,
)

HARD_TIMEOUT = 25.0
DID = "4008001000"
CUSTOMER_HZ = 1000.0
AGENT_HZ = {"1001": 400.0, "1002": 600.0}


@pytest.mark.sipp
@pytest.mark.baresip
async def test_inbound_call_is_queued_answered_by_baresip_and_blind_transferred(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Queued, offered to 1001 (auto-answer, audio), blind transfer to 1002 (answers,
    audio), the customer hangs up: the engine and the call record tell that story."""
    carrier_port = free_udp_port()
    settings = sip_settings(
        tmp_path,
        sqlite_template,
        trunks=[carrier_trunk(carrier_port)],
        dids=[DID],
        phones={"1001": "secret-1", "1002": "secret-2"},
        nonce_secret="cti-on-sip-test-nonce-secret",
        ring_timeout_seconds=8,
    )
    db = make_async_engine(settings.database_url)
    telephony = sip_telephony(settings, db)
    scenario = SCENARIOS / "b2bua_customer_held.xml"
    media = RtpTonePeer()
    processes: list[asyncio.subprocess.Process] = []
    recordings = {no: tmp_path / f"rec-{no}" for no in AGENT_HZ}
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await telephony.start()
            switch = telephony.sip_switch
            assert switch is not None and switch.phones is not None
            engine = telephony.engine
            for no, hz in AGENT_HZ.items():
                await start_baresip_phone(
                    processes,
                    tmp_path,
                    switch,
                    no,
                    password=f"secret-{no[-1]}",
                    hz=hz,
                    recordings=recordings[no],
                )
                telephony.set_profile(no, [SERVICE_GROUP])
                await engine.log_in(f"login-{no}", no, no)
            await engine.ready("ready-1001", "1001")

            await media.open()
            processes.append(
                await sipp_calls_did(
                    tmp_path,
                    switch.address,
                    scenario,
                    did=DID,
                    media_port=media.port,
                    carrier_port=carrier_port,
                    timeout="20s",
                    log="customer.log",
                )
            )
            await until(lambda: bool(engine.calls()))
            (call,) = engine.calls()
            await until(lambda: call.state is CallState.CONNECTED and call.agent_no == "1001")
            assert call.customer_leg is not None
            media.play(switch.rtp_port(call.customer_leg).local_address, hz=CUSTOMER_HZ, seconds=6)
            await asyncio.sleep(1.5)  # 1001 talks
            await engine.ready("ready-1002", "1002")
            await engine.blind_transfer("transfer-1", "1001", ToAgent("1002"))
            await until(lambda: call.state is CallState.CONNECTED and call.agent_no == "1002")
            assert engine.agent("1002").state is AgentState.TALKING
            assert engine.agent("1001").state in (AgentState.WRAP_UP, AgentState.READY)
            await until(lambda: call.ended, within=10)
            assert await processes[-1].wait() == 0, peer_log(tmp_path, "customer.log")
            await telephony.drain()
            async with db.connect() as connection:
                row = (await connection.execute(select(CallRow))).one()
                legs = (await connection.execute(select(LegRow))).all()
    finally:
        await stop_peers(processes, terminate=processes[:2])
        await media.aclose()
        await telephony.stop()
        await db.dispose()

    assert (row.caller, row.dialled, row.queue_id) == ("13900139000", DID, "service")
    assert row.agents == ["1001", "1002"] and row.agent_no == "1002"
    assert row.queued_at is not None and row.answered_at is not None and row.ended_at is not None
    assert row.cause == "normal"
    assert sorted(leg.agent_no or "" for leg in legs) == ["", "1001", "1002"]
    for no in AGENT_HZ:
        heard = sorted(recordings[no].glob("*dec*.wav"))
        assert heard, peer_log(tmp_path, f"baresip-{no}.log")
        audio, _ = soundfile.read(heard[-1])
        assert tone_strength(audio, CUSTOMER_HZ) > 0.8, no
    received = np.asarray(media.audio(), dtype=np.float64)
    assert len(received) >= 3 * AUDIO_RATE, len(received)
    # What the customer heard: 1001 first, then 1002 until the end.
    assert tone_strength(received[:AUDIO_RATE], AGENT_HZ["1001"]) > 0.8
    assert tone_strength(received[-2 * AUDIO_RATE :], AGENT_HZ["1002"]) > 0.8
