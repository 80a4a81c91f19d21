"""Campaigns end to end in the browser: Debian's Chromium, driven by playwright-core
(web/e2e/campaigns.mjs), against a real server on the simulated network with four bot
agents and no inbound callers.

The administrator creates a campaign in the form, imports a lead file (with bad and
duplicate rows, so there is an error report), and submits it; a second person approves
it; the administrator starts it and the live view's connects rise. Screenshots of the
campaign screens in zh-CN and en go to test-artifacts/screens/.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from callcenter.telephony import SERVICE_GROUP
from cctest import ADMIN_NO, ADMIN_PASSWORD, browser_node, run_browser_script, start_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "campaigns.mjs"
SCREENS = ROOT / "test-artifacts" / "screens"
# What the script promises: the campaign screens in both languages (the import and the
# submitted list in Chinese only), the console naming the campaign's queue, and the
# administration screens the campaign uses.
SHOTS = [
    "zh-CN-campaign-import",
    "zh-CN-campaigns-submitted",
    *(f"{locale}-{screen}" for locale in ("zh-CN", "en")
      for screen in ("campaigns", "campaign-form", "campaign-live", "campaign-live-reasons",
                     "console-campaign", "products", "scripts", "dispositions")),
]  # fmt: skip
SIMULATED_NETWORK = {
    "CALLCENTER_TELEPHONY__SWITCH": "sim",
    "CALLCENTER_TELEPHONY__SIM__BOT_AGENTS": "4",
    "CALLCENTER_TELEPHONY__SIM__CALLS_PER_HOUR": "0",
    "CALLCENTER_TELEPHONY__ANNOUNCE_EVERY_SECONDS": "0",
}
APPROVER = ("8001", "password-8001")


def _created(response: httpx2.Response) -> int:
    assert response.status_code == 201, response.text
    created: int = response.json()["id"]
    return created


def _lead_file(path: Path) -> Path:
    """80 good mobile numbers, two that are not numbers and one duplicate."""
    rows = [f"139{n:08d},客户 {n}" for n in range(1, 81)]
    rows += ["12345,坏号码", "not-a-number,坏号码", "13900000001,重复"]
    path.write_text("phone,name\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_campaign_is_created_imported_approved_started_and_dials_in_the_browser(
    tmp_path: Path,
) -> None:
    node = browser_node()
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'callcenter.db'}", SIMULATED_NETWORK)
    try:
        url = f"{server.url}/api/v1"
        token = httpx2.post(
            f"{url}/auth/token",
            json={"agent_no": ADMIN_NO, "password": ADMIN_PASSWORD},
            timeout=10,
        ).json()["token"]
        admin = {"Authorization": f"Bearer {token}"}
        _created(httpx2.post(f"{url}/groups", json={"name": SERVICE_GROUP}, headers=admin))
        role = {"code": "approver", "name": "审批人", "permissions": ["campaign.view",
                "campaign.approve"]}  # fmt: skip
        _created(httpx2.post(f"{url}/roles", json=role, headers=admin, timeout=10))
        person = {"agent_no": APPROVER[0], "name": "审批人 8001", "password": APPROVER[1],
                  "roles": ["approver"]}  # fmt: skip
        _created(httpx2.post(f"{url}/agents", json=person, headers=admin, timeout=10))
        run = run_browser_script(
            node,
            SCRIPT,
            server.url,
            SCREENS,
            timeout=240,
            CC_ADMIN_NO=ADMIN_NO,
            CC_ADMIN_PASSWORD=ADMIN_PASSWORD,
            CC_APPROVER_NO=APPROVER[0],
            CC_APPROVER_PASSWORD=APPROVER[1],
            CC_LEADS_FILE=str(_lead_file(tmp_path / "leads.csv")),
            CC_GROUP=SERVICE_GROUP,
        )
    finally:
        output = server.stop()
    run.check(output, SCREENS, SHOTS)
