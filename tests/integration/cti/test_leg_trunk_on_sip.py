"""The call records name each customer leg's trunk on the SIP switch (issue 6, 中继).

``telephony.switch = "sip"`` builds the runtime with SQLite call records and two carrier
trunks, each a SIPp: ``mobile``, the cheaper, answers every INVITE 503 (its capacity is
gone); ``national``, the dearer, rings and answers. An IVR-broadcast dialer on the
platform's least-cost router dials one lead: the mobile trunk refuses it, the dialer
fails it over, the national trunk carries it (no media engine here, so the message
cannot play and the engine hangs up: SIPp takes the BYE). Then a call is dialled
naming no trunk: the switch takes its default, the first configured (``mobile``), and
says so, so that leg too names the trunk it went out on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.app.cti.outbound import (
    Broadcast,
    CampaignOutcome,
    CampaignSetup,
    DialEnded,
    DialRequest,
    OutboundFlows,
)
from callcenter.app.dialer import CampaignDialer, DialerSettings, DialingMode, MemoryLeads
from callcenter.domain.dialing_policy import CallingWindow, CampaignRules, Lead
from callcenter.store.db import make_async_engine
from callcenter.store.tables import LegRow
from peers import free_media_ports, free_udp_port, peer_log, start_peer
from sipkit import SCENARIOS, SIPP, sip_settings, sip_telephony, stop_peers, until

HARD_TIMEOUT = 20.0
LEAD = "13800000001"
UNROUTED = "13800000009"  # dialled naming no trunk
ALL_DAY = CallingWindow(dt.time(0, 0), dt.time(23, 59, 59))


async def sipp_carrier(
    tmp_path: Path, scenario: Path, port: int, calls: int, log: str
) -> asyncio.subprocess.Process:
    return await start_peer(
        SIPP,
        "-sf",
        str(scenario),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mp",
        str(free_media_ports()),
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        "15s",
        "-timeout_error",
        cwd=tmp_path,
        log=log,
    )


@pytest.mark.sipp
async def test_a_503_from_one_trunk_and_the_call_carried_by_the_next_each_name_theirs(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The lead's first attempt ends congested on ``mobile`` and its second is answered on
    ``national``: two calls, one customer leg each, naming those trunks; the call
    dialled naming no trunk names ``mobile``, where the switch sent it."""
    mobile_port, national_port = free_udp_port(), free_udp_port()
    trunks = [
        {"name": "mobile", "host": "127.0.0.1", "port": mobile_port, "cost": 0.02},
        {"name": "national", "host": "127.0.0.1", "port": national_port, "cost": 0.05},
    ]
    settings = sip_settings(
        tmp_path, sqlite_template, trunks=trunks, phones={}, nonce_secret="leg-trunk-sip-nonce"
    )
    refusing = tmp_path / "carrier_fails_503.xml"
    template = (SCENARIOS / "b2bua_carrier_fails.xml").read_text()
    refusing.write_text(template.replace("[status]", "503"))
    db = make_async_engine(settings.database_url)
    telephony = sip_telephony(settings, db)
    setup = CampaignSetup(
        "c1", frozenset({"out"}), safe_harbour_prompt="safe-harbour", broadcast=Broadcast("offer")
    )
    ended: list[DialEnded] = []
    processes: list[asyncio.subprocess.Process] = []
    dialer: CampaignDialer | None = None
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await telephony.start()
            engine, clock = telephony.engine, telephony.clock
            assert isinstance(engine, OutboundFlows) and clock is not None
            processes.append(await sipp_carrier(tmp_path, refusing, mobile_port, 2, "mobile.log"))
            answering = SCENARIOS / "b2bua_carrier_answer.xml"
            processes.append(
                await sipp_carrier(tmp_path, answering, national_port, 1, "national.log")
            )
            dialer = CampaignDialer(
                engine,
                clock,
                DialerSettings(
                    setup,
                    DialingMode.BROADCAST,
                    caller_id="02088880000",
                    rules=CampaignRules(windows=(ALL_DAY,)),
                    ring_timeout=10.0,
                    interval=0.25,
                    broadcast_lines=1,
                ),
                MemoryLeads([Lead("L0", LEAD, "Asia/Shanghai")]),
                trunks=telephony.trunk_router(),
            )
            dialer.on_end.append(ended.append)
            await dialer.start()
            await until(lambda: len(ended) == 1, within=10)
            await dialer.stop()
            await engine.dial_lead(DialRequest("c1", "L9", UNROUTED, "02088880000"))
            await until(lambda: not engine.calls(), within=3)
            for process, log in zip(processes, ("mobile.log", "national.log"), strict=True):
                assert await process.wait() == 0, peer_log(tmp_path, log)
            await telephony.drain()
            async with db.connect() as connection:
                legs = (await connection.execute(select(LegRow).order_by(LegRow.created_at))).all()
    finally:
        if dialer is not None:
            await dialer.stop()
        await stop_peers(processes)
        await telephony.stop()
        await db.dispose()

    (carried,) = ended
    assert (carried.trunk, carried.outcome) == ("national", CampaignOutcome.BROADCAST_HEARD)
    customer = [
        (leg.dest, leg.trunk, leg.cause, leg.answered_at is not None)
        for leg in legs
        if leg.purpose == "customer"
    ]
    assert customer == [
        (LEAD, "mobile", "congestion", False),
        (LEAD, "national", "normal", True),
        (UNROUTED, "mobile", "congestion", False),
    ], customer
    assert len({leg.call_id for leg in legs}) == 3  # an attempt is a call of its own
