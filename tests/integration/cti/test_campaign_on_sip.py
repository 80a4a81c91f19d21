"""An outbound campaign on the SIP switch: SIPp as the carrier, baresip agents.

``telephony.switch = "sip"`` builds the runtime (:class:`Telephony`) with SQLite call
records and one trunk with digest credentials. Two baresip phones register extensions
1001 and 1002 at the switch and answer by themselves (nailed-up headsets); the agents
log in with them. A progressive :class:`CampaignDialer` on the engine's clock dials
five leads from memory through the trunk to SIPp, which challenges every INVITE and
answers by the dialled number (``campaign_carrier.xml``): three people pick up after
ringing and talk for two seconds, one number is busy (486) and one does not exist (404).
Each person is bridged to an agent within the two-second rule, the busy and invalid
numbers come back as outcomes the retry rules act on, the compliance ledger counts the
live answers and no abandoned call, nothing is left up, and the call records agree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.app.cti.outbound import (
    CampaignOutcome,
    CampaignSetup,
    DialEnded,
    OutboundFlows,
)
from callcenter.app.dialer import CampaignDialer, DialerSettings, DialingMode, MemoryLeads
from callcenter.domain.agent import AgentState
from callcenter.domain.compliance import Window
from callcenter.domain.dialing_policy import CallingWindow, CampaignRules, Lead, Outcome
from callcenter.store.db import make_async_engine
from callcenter.store.tables import CallRow, LegRow
from callcenter.switch.ports import LegId
from callcenter.switch.sip.legs import LegState
from peers import free_media_ports, free_udp_port, peer_log, start_peer
from sipkit import (
    SCENARIOS,
    SIPP,
    carrier_trunk,
    sip_settings,
    sip_telephony,
    start_baresip_phone,
    stop_peers,
    until,
)

SCENARIO = SCENARIOS / "campaign_carrier.xml"
HARD_TIMEOUT = 25.0
AGENTS = {"1001": "secret-1", "1002": "secret-2"}
GROUP = "outbound"
PEOPLE = ("13800000001", "13800000002", "13800000003")
BUSY = "13800000486"
INVALID = "13800000404"
# Dialling order: two lines first (one per ready agent), the busy one among them.
NUMBERS = (PEOPLE[0], BUSY, PEOPLE[1], INVALID, PEOPLE[2])
ALL_DAY = CallingWindow(dt.time(0, 0), dt.time(23, 59, 59))


@pytest.mark.sipp
@pytest.mark.baresip
async def test_a_progressive_campaign_dials_through_a_digest_trunk_to_baresip_agents(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Five leads, two auto-answer agents: three people connected, one busy, one
    invalid; the ledger, the leads, the engine and the call records tell that story."""
    carrier_port = free_udp_port()
    settings = sip_settings(
        tmp_path,
        sqlite_template,
        trunks=[carrier_trunk(carrier_port, username="trunk-user", password="trunk-secret")],
        phones=AGENTS,
        nonce_secret="campaign-on-sip-test-nonce-secret",
    )
    db = make_async_engine(settings.database_url)
    telephony = sip_telephony(settings, db)
    leads = MemoryLeads(Lead(f"L{i}", no, "Asia/Shanghai") for i, no in enumerate(NUMBERS))
    setup = CampaignSetup("c1", frozenset({GROUP}), safe_harbour_prompt="safe-harbour")
    ended: list[DialEnded] = []
    processes: list[asyncio.subprocess.Process] = []
    dialer: CampaignDialer | None = None
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await telephony.start()
            switch, engine, clock = telephony.sip_switch, telephony.engine, telephony.clock
            assert switch is not None and switch.phones is not None and clock is not None
            assert isinstance(engine, OutboundFlows)
            processes.append(
                await start_peer(
                    SIPP,
                    "-sf",
                    str(SCENARIO),
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(carrier_port),
                    "-mp",
                    str(free_media_ports()),
                    "-m",
                    str(len(NUMBERS)),
                    "-nostdin",
                    "-timeout",
                    "20s",
                    "-timeout_error",
                    cwd=tmp_path,
                    log="carrier.log",
                )
            )
            for no, password in AGENTS.items():
                await start_baresip_phone(
                    processes,
                    tmp_path,
                    switch,
                    no,
                    password=password,
                    hz=400.0,
                    recordings=tmp_path / f"rec-{no}",
                )
                telephony.set_profile(no, [GROUP])
                await engine.log_in(f"login-{no}", no, no)
                await engine.ready(f"ready-{no}", no)

            dialer = CampaignDialer(
                engine,
                clock,
                DialerSettings(
                    setup,
                    DialingMode.PROGRESSIVE,
                    caller_id="02088880000",
                    rules=CampaignRules(windows=(ALL_DAY,)),
                    ring_timeout=15.0,
                    interval=0.25,
                ),
                leads,
            )
            dialer.on_end.append(ended.append)
            await dialer.start()
            await until(lambda: len(ended) == len(NUMBERS), within=18)
            await dialer.stop()
            await until(lambda: not engine.calls(), within=3)
            assert await processes[0].wait() == 0, peer_log(tmp_path, "carrier.log")
            await telephony.drain()
            agent_states = {no: engine.agent(no).state for no in AGENTS}
            report = dialer.ledger.report(clock.now())
            async with db.connect() as connection:
                rows = (await connection.execute(select(CallRow))).all()
                legs = (await connection.execute(select(LegRow))).all()
            switch_legs = {switch.leg_state(LegId(leg.leg_id)) for leg in legs}
    finally:
        if dialer is not None:
            await dialer.stop()
        await stop_peers(processes, terminate=processes[1:])
        await telephony.stop()
        await db.dispose()

    by_number = {NUMBERS[int(e.lead_id[1:])]: e for e in ended}
    assert {n: e.outcome for n, e in by_number.items()} == {
        **dict.fromkeys(PEOPLE, CampaignOutcome.CONNECTED),
        BUSY: CampaignOutcome.BUSY,
        INVALID: CampaignOutcome.INVALID_NUMBER,
    }, peer_log(tmp_path, "carrier.log")
    for number in PEOPLE:
        call = by_number[number]
        assert call.answered_at is not None and call.connected_at is not None
        assert call.connected_at - call.answered_at <= setup.drop_timeout, call
        assert call.agent_no in AGENTS and not call.safe_harbour_played
        assert call.trunk is None  # the switch's default trunk, the only one
    assert {by_number[n].agent_no for n in PEOPLE} == set(AGENTS)  # both took calls
    for number in (BUSY, INVALID):
        assert by_number[number].answered_at is None and by_number[number].agent_no is None
    # The leads: what the retry rules see (a 404 is final: never dialled again).
    outcome = {no: leads.lead(f"L{i}").last_outcome for i, no in enumerate(NUMBERS)}
    assert outcome == {
        **dict.fromkeys(PEOPLE, Outcome.ANSWERED),
        BUSY: Outcome.BUSY,
        INVALID: Outcome.INVALID_NUMBER,
    }
    assert all(leads.lead(f"L{i}").attempts_lifetime == 1 for i in range(len(NUMBERS)))
    assert leads.taken == 0
    # The ledger: three live answers, none abandoned, in every window.
    assert {b.window for b in report.windows} == set(Window)
    assert all((b.live, b.abandoned) == (3, 0) for b in report.windows), report
    assert (dialer.dials, dialer.connects, dialer.abandoned) == (5, 3, 0)
    assert all(s in (AgentState.READY, AgentState.WRAP_UP) for s in agent_states.values())
    # The call records: one per lead, bridged to the agent the dialer was told of.
    assert len(rows) == len(NUMBERS)
    records = {row.dialled: row for row in rows}
    assert set(records) == set(NUMBERS)
    for number in PEOPLE:
        row = records[number]
        assert row.direction == "outbound" and row.caller == "02088880000"
        assert row.agent_no == by_number[number].agent_no and row.agents == [row.agent_no]
        assert row.answered_at is not None and row.bridged_at is not None
        assert row.ended_at is not None
    assert records[BUSY].cause == "busy" and records[INVALID].cause == "invalid_number"
    for number in (BUSY, INVALID):
        assert records[number].agent_no is None and records[number].bridged_at is None
    assert all(leg.ended_at is not None for leg in legs)
    assert switch_legs == {LegState.ENDED}  # nothing left up on the switch either
    agent_legs = sorted(leg.agent_no for leg in legs if leg.agent_no is not None)
    assert agent_legs == sorted(by_number[n].agent_no or "" for n in PEOPLE)
