"""A desk call presents the platform's number (``telephony.caller_id``), or else the trunk's.

On the SIP switch, ``telephony.switch = "sip"`` builds the runtime (:class:`Telephony`)
with SQLite call records and one trunk whose own ``caller_id`` is 4000. A baresip phone
registers extension 1001 and answers by itself; agent 1001 logs in with it and dials a
customer from the desk. The agent's phone rings first; once it answers, the customer's
leg goes out through the trunk to SIPp, the carrier, which answers, talks a second and
hangs up (``b2bua_carrier_hangs_up.xml``), keeping every message it received
(``-trace_msg``). With ``telephony.caller_id`` unset the engine asks for no number of
its own, so the carrier sees the trunk's 4000 in the INVITE's From, and the customer's
leg record names none of ours; with it set, the carrier sees the platform's number and
the record names it. The CTI core's old default, "anonymous", reached carriers on every
desk call (and carriers in China reject or flag those calls).

On the simulated network (``telephony.switch = "sim"``, a virtual clock) a bot agent's
desk call records the same: the platform's number, or none.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.app.bus import EventBus
from callcenter.app.cti import CallState
from callcenter.clock import VirtualClock
from callcenter.config import Settings, TelephonySettings, load_settings
from callcenter.store.db import make_async_engine
from callcenter.store.tables import LegRow
from callcenter.switch.sim.customers import Fate, Outcome
from callcenter.telephony import SERVICE_GROUP, build_telephony
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

HARD_TIMEOUT = 12.0
TRUNK_NUMBER = "4000"  # the trunk's own caller ID, as the carrier account has it
PLATFORM = "4008001000"  # the platform's number, when the site sets one
CUSTOMER = "13800000001"
AGENT = "1001"
MESSAGES = "carrier-messages.log"


def presenting(settings: Settings, caller_id: str) -> Settings:
    """``settings`` with ``telephony.caller_id`` set (validated as a file would be)."""
    telephony = TelephonySettings.model_validate(
        settings.telephony.model_dump() | {"caller_id": caller_id}
    )
    return settings.model_copy(update={"telephony": telephony})


def invites_received(messages: str) -> list[str]:
    """The INVITE requests in a SIPp message log (``-trace_msg``), as SIPp received them."""
    blocks = re.split(r"^-{5,}.*$", messages, flags=re.MULTILINE)
    received = [b.split("\n", 2)[-1] for b in blocks if "message received" in b]
    return [text.strip() for text in received if text.strip().startswith("INVITE ")]


def from_user(request: str) -> str:
    """The user part of the From header's URI (empty when it names no user)."""
    found = re.search(r"^From:[^\n]*?<sips?:(?:([^@>;]*)@)?", request, flags=re.MULTILINE)
    assert found is not None, request
    return found.group(1) or ""


@pytest.mark.sipp
@pytest.mark.baresip
@pytest.mark.parametrize(
    ("platform", "seen", "recorded"),
    [("", TRUNK_NUMBER, None), (PLATFORM, PLATFORM, PLATFORM)],
    ids=["platform-sets-none", "platform-sets-its-number"],
)
async def test_a_desk_call_reaches_the_carrier_from_the_platforms_number_or_the_trunks(
    tmp_path: Path,
    sqlite_template: Path,
    platform: str,
    seen: str,
    recorded: str | None,
) -> None:
    """Agent 1001 dials a customer from the desk through a trunk presenting 4000: the
    carrier's INVITE is From the platform's number when it has one, else from 4000 (never
    "anonymous"), and the customer's leg record names the number we asked for, or none."""
    carrier_port = free_udp_port()
    settings = presenting(
        sip_settings(
            tmp_path,
            sqlite_template,
            trunks=[carrier_trunk(carrier_port, caller_id=TRUNK_NUMBER)],
            phones={AGENT: "secret-1"},
            nonce_secret="desk-caller-id-test-nonce-secret",
        ),
        platform,
    )
    assert settings.telephony.caller_id == platform
    db = make_async_engine(settings.database_url)
    telephony = sip_telephony(settings, db)
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await telephony.start()
            switch, engine = telephony.sip_switch, telephony.engine
            assert switch is not None
            processes.append(
                await start_peer(
                    SIPP,
                    "-sf",
                    str(SCENARIOS / "b2bua_carrier_hangs_up.xml"),
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(carrier_port),
                    "-mp",
                    str(free_media_ports()),
                    "-m",
                    "1",
                    "-nostdin",
                    "-timeout",
                    "10s",
                    "-timeout_error",
                    "-trace_msg",
                    "-message_file",
                    MESSAGES,
                    cwd=tmp_path,
                    log="carrier.log",
                )
            )
            await start_baresip_phone(
                processes,
                tmp_path,
                switch,
                AGENT,
                password="secret-1",
                hz=400.0,
                recordings=tmp_path / "rec-1001",
            )
            telephony.set_profile(AGENT, [SERVICE_GROUP])
            await engine.log_in("login-1001", AGENT, AGENT)
            call_id = await engine.dial("dial-1", AGENT, CUSTOMER)
            (call,) = engine.calls()
            assert call.call_id == call_id
            await until(lambda: call.state is CallState.CONNECTED, within=6)
            await until(lambda: call.ended, within=4)  # the carrier hangs up after 1 s
            assert await processes[0].wait() == 0, peer_log(tmp_path, "carrier.log")
            await telephony.drain()
            async with db.connect() as connection:
                legs = (
                    await connection.execute(select(LegRow).where(LegRow.call_id == call_id))
                ).all()
    finally:
        await stop_peers(processes, terminate=processes[1:])
        await telephony.stop()
        await db.dispose()

    (invite,) = invites_received((tmp_path / MESSAGES).read_text(errors="replace"))
    assert invite.startswith(f"INVITE sip:{CUSTOMER}@127.0.0.1"), invite
    assert from_user(invite) == seen, invite
    by_purpose = {leg.purpose: leg for leg in legs}
    assert set(by_purpose) == {"agent", "customer"}
    customer = by_purpose["customer"]
    assert customer.dest == CUSTOMER and customer.answered_at is not None
    assert customer.caller_id == recorded
    assert by_purpose["agent"].caller_id is None  # the agent's own phone: nothing of ours


@pytest.mark.parametrize(
    ("platform", "recorded"),
    [("", None), (PLATFORM, PLATFORM)],
    ids=["platform-sets-none", "platform-sets-its-number"],
)
async def test_a_desk_call_on_the_simulated_network_names_the_platforms_number_or_none(
    tmp_path: Path, sqlite_template: Path, platform: str, recorded: str | None
) -> None:
    """Bot agent 2001 dials a customer who answers, talks three seconds and hangs up:
    the customer's leg record names the platform's number when it has one, else none;
    the bot's own phone names none."""
    shutil.copyfile(sqlite_template, tmp_path / "cc.db")
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path),
            "database": {"url": f"sqlite:///{tmp_path / 'cc.db'}"},
            "telephony": {
                "switch": "sim",
                "caller_id": platform,
                "sim": {"bot_agents": 1, "calls_per_hour": 0},
            },
        },
    )
    db = make_async_engine(settings.database_url)
    clock = VirtualClock()
    sessions = async_sessionmaker(db, expire_on_commit=False)
    telephony = build_telephony(settings.telephony, EventBus(), sessions, clock)
    assert telephony is not None
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await telephony.start()
            assert telephony.book is not None
            telephony.book.script(
                CUSTOMER, Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=3.0)
            )
            (bot,) = telephony.bot_agents
            call_id = await telephony.engine.dial("dial-1", bot, CUSTOMER)
            await clock.advance_async(20.0)
            assert not telephony.engine.calls()
            await telephony.drain()
            async with db.connect() as connection:
                legs = (
                    await connection.execute(select(LegRow).where(LegRow.call_id == call_id))
                ).all()
    finally:
        await telephony.stop()
        await db.dispose()

    by_purpose = {leg.purpose: leg for leg in legs}
    assert set(by_purpose) == {"agent", "customer"}
    customer = by_purpose["customer"]
    assert customer.dest == CUSTOMER and customer.answered_at is not None
    assert customer.caller_id == recorded
    assert by_purpose["agent"].caller_id is None
