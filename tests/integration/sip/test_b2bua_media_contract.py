"""SipSwitch with the media engine passes the Switch port's media checks: play,
collect, conference roles and recording a bridge; and redirect, whose hand-over is
bridged in the engine.

The answering destination is a SIPp carrier (one process, any number of calls); for the
collect check it presses the harness's keys as RFC 4733 events a second after the
answer (``b2bua_carrier_presses_keys.xml`` plays a pcap written here). The prompt is a
one-second WAV. The engine is one process for the module, its events read by whichever
switch runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.media.client import EngineClient
from callcenter.switch.contract import (
    Check,
    Harness,
    collect_receives_the_callers_keys,
    conference_roles,
    play_to_the_end_and_stop_play,
    record_a_bridge,
    redirect_hands_the_leg_over,
)
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.media import MediaOptions
from peers import free_media_ports, free_udp_port, stop, write_rfc4733_pcap, write_tone_wav
from sipkit import SCENARIOS, SIPP

pytestmark = pytest.mark.asyncio(loop_scope="module")

HARD_TIMEOUT = 20.0
KEYS = "123"

MEDIA_CHECKS: tuple[Check, ...] = (
    play_to_the_end_and_stop_play,
    collect_receives_the_callers_keys,
    conference_roles,
    record_a_bridge,
    redirect_hands_the_leg_over,
)


async def start_carrier(cwd: Path, scenario: Path, port: int) -> asyncio.subprocess.Process:
    with (cwd / "carrier.log").open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            SIPP, "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
            "-mp", str(free_media_ports()), "-nostdin",
            cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
        )  # fmt: skip


@pytest.mark.sipp
@pytest.mark.parametrize("check", MEDIA_CHECKS, ids=lambda check: check.__name__)
async def test_sip_switch_with_media_meets_the_contract(
    check: Check, engine: EngineClient, tmp_path: Path
) -> None:
    write_tone_wav(tmp_path / "prompt.wav", hz=600.0, seconds=1.0)
    write_rfc4733_pcap(tmp_path / "keys.pcap", KEYS)
    port = free_udp_port()
    carrier = await start_carrier(tmp_path, SCENARIOS / "b2bua_carrier_presses_keys.xml", port)
    answering = f"sip:answering@127.0.0.1:{port}"
    options = MediaOptions(tmp_path / "recordings")
    try:
        async with (
            asyncio.timeout(HARD_TIMEOUT),
            SipSwitch(media=engine, media_options=options) as switch,
        ):
            harness = Harness(
                switch=switch,
                advance=asyncio.sleep,
                now=switch.now,
                answering=answering,
                busy=answering,
                silent=answering,
                invalid=answering,
                prompt=str(tmp_path / "prompt.wav"),
                prompt_within=5.0,
                keys=KEYS,
                step=0.05,
            )
            await check(harness)
    finally:
        await stop(carrier)
    if check is record_a_bridge:
        assert [p.name for p in (tmp_path / "recordings").iterdir()] == ["rec.wav"]
