"""A campaign started through the API dials on the SIP switch over its routed trunk.

The whole platform runs with ``telephony.switch = "sip"`` and two trunks in its
settings: ``mobile``, cheap, for China Mobile numbers (SIPp as the carrier, with
digest credentials, ``campaign_carrier.xml``), and ``national``, dearer, for any
number (nothing listens there, so a call sent to it would never be answered). Two
baresip phones register 1001 and 1002, whose agents log in at the desk and get ready.
A progressive campaign of the group is approved and started through the API; the
platform's dialer (:class:`~callcenter.app.dialing.Dialing`) dials its five China
Mobile leads, every one on the mobile trunk: three people are connected to the
agents, one number is busy and one does not exist, and the leads say so.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.app.cti.outbound import DialEnded
from callcenter.bootstrap import bootstrap
from callcenter.web.app import create_app
from cctest import FAST_HASHER, Api, seed_admin
from integration.campaigns.campaign_kit import COMPLIANT, Kit
from peers import free_media_ports, free_udp_port, peer_log, start_peer
from sipkit import SCENARIOS, SIPP, carrier_trunk, sip_settings, start_baresip_phone, stop_peers

SCENARIO = SCENARIOS / "campaign_carrier.xml"
AGENTS = {"1001": "secret-1", "1002": "secret-2"}
PEOPLE = ("13800000001", "13800000002", "13800000003")
BUSY, INVALID = "13800000486", "13800000404"
NUMBERS = (PEOPLE[0], BUSY, PEOPLE[1], INVALID, PEOPLE[2])


@pytest.mark.sipp
@pytest.mark.baresip
def test_a_campaign_started_in_the_platform_dials_over_the_trunk_routing_picks(
    tmp_path: Path, sqlite_template: Path
) -> None:
    carrier_port = free_udp_port()
    mobile = carrier_trunk(carrier_port, username="trunk-user", password="trunk-secret")
    trunks = [
        {"name": "national", "host": "127.0.0.1", "port": free_udp_port(), "cost": 0.05},
        mobile | {"name": "mobile", "cost": 0.01, "carriers": ["China Mobile"]},
    ]
    settings = sip_settings(
        tmp_path,
        sqlite_template,
        trunks=trunks,
        phones=AGENTS,
        nonce_secret="campaign-platform-on-sip-nonce-secret",
    )
    platform = bootstrap(settings, password_hasher=FAST_HASHER)
    processes: list[asyncio.subprocess.Process] = []
    with TestClient(create_app(platform), client=("127.0.0.1", 50000)) as client:
        portal = client.portal
        assert portal is not None
        portal.call(seed_admin, platform)
        kit = Kit(Api(client, platform))
        telephony = platform.telephony
        assert telephony is not None and telephony.sip_switch is not None
        switch = telephony.sip_switch
        try:

            async def peers() -> None:
                processes.append(
                    await start_peer(
                        SIPP, "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(carrier_port),
                        "-mp", str(free_media_ports()), "-m", str(len(NUMBERS)), "-nostdin",
                        "-timeout", "25s", "-timeout_error", cwd=tmp_path, log="carrier.log",
                    )
                )  # fmt: skip
                for no, password in AGENTS.items():
                    await start_baresip_phone(
                        processes, tmp_path, switch, no, password=password, hz=400.0,
                        recordings=tmp_path / f"rec-{no}",
                    )  # fmt: skip

            portal.call(peers)
            group = kit.ok("POST", "/groups", 201, json={"name": "outbound"})
            for no in AGENTS:
                agent_id = kit.api.person(no, "agent")
                kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
                kit.ok("POST", "/desk/login", 204, json={"phone": no}, as_=no)
                kit.ok("POST", "/desk/ready", 204, as_=no)
            campaign_id = kit.campaign(
                "回访",
                **(
                    COMPLIANT
                    | {
                        "group_ids": [group["id"]],
                        "windows": [{"start": "00:00", "end": "23:59"}],
                        "ring_seconds": 15,
                    }
                ),
            )
            kit.add_leads(
                campaign_id, *({"phone": no, "carrier": "China Mobile"} for no in NUMBERS)
            )
            kit.approve(campaign_id)
            kit.ok("POST", f"/campaigns/{campaign_id}/start")
            ended = ended_calls(platform, campaign_id)
            leads = wait_for_outcomes(kit, campaign_id, within=20.0)
            portal.call(asyncio.wait_for, processes[0].wait(), 10)
        finally:
            portal.call(lambda: stop_peers(processes, terminate=processes[1:]))

    assert {no: lead["last_outcome"] for no, lead in leads.items()} == {
        **dict.fromkeys(PEOPLE, "answered"),
        BUSY: "busy",
        INVALID: "invalid-number",
    }, peer_log(tmp_path, "carrier.log")
    assert all(lead["attempts_lifetime"] == 1 for lead in leads.values())
    assert sorted((e.trunk or "") for e in ended) == ["mobile"] * len(NUMBERS)
    assert {e.agent_no for e in ended if e.agent_no is not None} == set(AGENTS)


def ended_calls(platform: Any, campaign_id: int, within: float = 5.0) -> list[DialEnded]:
    """The campaign's calls as they end, once its dialer is up."""
    deadline = time.monotonic() + within
    while (dialer := platform.dialing.dialer(campaign_id)) is None:
        assert time.monotonic() < deadline, "the campaign's dialer did not start"
        time.sleep(0.05)
    ended: list[DialEnded] = []
    dialer.on_end.append(ended.append)
    return ended


def wait_for_outcomes(kit: Kit, campaign_id: int, within: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        page = kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"limit": "100"})
        leads = {lead["phone"]: lead for lead in page["items"]}
        if all(lead["last_outcome"] for lead in leads.values()) or time.monotonic() > deadline:
            return leads
        time.sleep(0.25)
