"""SipSwitch passes the Switch port's contract checks that need no media engine.

The four destinations the checks dial are SIPp carriers, one process per behaviour,
each called straight at its ``sip:`` URI: one answers, one is busy (486), one rings
for ever (and takes our CANCEL), one does not know the number (404). The checks run
on the real clock (``advance`` sleeps). Hold and resume (re-INVITEs: the hold check's
answering carrier takes them) and redirect run; play, collect, conferences and
recording need the media engine and are not run yet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.switch.contract import (
    Check,
    Harness,
    bridged_hangup_leaves_the_other_leg_up,
    errors_carry_stable_codes,
    hangup_while_ringing_cancels,
    hold_and_resume,
    originate_is_idempotent_per_leg_id,
    originate_to_a_busy_number,
    originate_to_an_answering_number,
    originate_to_an_invalid_number,
    redirect_hands_the_leg_over,
    ring_timeout_gives_no_answer,
)
from callcenter.switch.sip.b2bua import SipSwitch
from peers import free_media_ports, free_udp_port, stop

SCENARIOS = Path(__file__).resolve().parents[2] / "fixtures" / "sip" / "sipp"
SIPP = "/usr/bin/sipp"
HARD_TIMEOUT = 20.0

APPLICABLE: tuple[Check, ...] = (
    originate_to_an_answering_number,
    originate_to_a_busy_number,
    originate_to_an_invalid_number,
    ring_timeout_gives_no_answer,
    hangup_while_ringing_cancels,
    originate_is_idempotent_per_leg_id,
    bridged_hangup_leaves_the_other_leg_up,
    hold_and_resume,
    redirect_hands_the_leg_over,
    errors_carry_stable_codes,
)


async def start_carrier(cwd: Path, scenario: Path, port: int) -> asyncio.subprocess.Process:
    """A SIPp carrier taking any number of calls until killed; output to a log file."""
    with (cwd / f"{scenario.stem}.log").open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            SIPP,
            "-sf",
            str(scenario),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-mp",
            str(free_media_ports()),
            "-nostdin",
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )


def refusing(cwd: Path, status: int) -> Path:
    template = (SCENARIOS / "b2bua_carrier_fails.xml").read_text()
    path = cwd / f"carrier_fails_{status}.xml"
    path.write_text(template.replace("[status]", str(status)))
    return path


@pytest.mark.sipp
@pytest.mark.parametrize("check", APPLICABLE, ids=lambda check: check.__name__)
async def test_sip_switch_meets_the_contract(check: Check, tmp_path: Path) -> None:
    """One contract check on a fresh SipSwitch with its four SIPp destinations."""
    behaviours = {
        # The hold check's answering carrier takes the hold and resume re-INVITEs.
        "answering": SCENARIOS
        / ("b2bua_carrier_held.xml" if check is hold_and_resume else "b2bua_carrier_answer.xml"),
        "busy": refusing(tmp_path, 486),
        "silent": SCENARIOS / "b2bua_carrier_rings.xml",
        "invalid": refusing(tmp_path, 404),
    }
    ports = {name: free_udp_port() for name in behaviours}
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with asyncio.timeout(HARD_TIMEOUT), SipSwitch() as switch:
            for name, scenario in behaviours.items():
                processes.append(await start_carrier(tmp_path, scenario, ports[name]))
            dest = {name: f"sip:{name}@127.0.0.1:{port}" for name, port in ports.items()}
            harness = Harness(
                switch=switch,
                advance=asyncio.sleep,
                now=switch.now,
                answering=dest["answering"],
                busy=dest["busy"],
                silent=dest["silent"],
                invalid=dest["invalid"],
                prompt="none",
                step=0.05,
            )
            await check(harness)
    finally:
        for process in processes:
            await stop(process)
