"""A campaign call on the agent desktop end to end, and a permission taken away: Debian's
Chromium, driven by playwright-core (web/e2e/disposition.mjs), against a real server on
the simulated network with no callers and no bots.

Set up through the API: a product with one attribute, a disposition, a role for the
agent, a campaign on the agent's group with one lead, approved by a second person and
started. In the browser the agent goes ready, the campaign call arrives, the agent picks
the disposition and fills the product attribute under the campaign's script (filled in
for the lead), and the result is in the results API.
The administrator then unticks call.dial in the roles matrix: the desktop, open all
along and not reloaded, drops its dial box, and POST /desk/dial answers 403.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from cctest import ADMIN_NO, ADMIN_PASSWORD, browser_node, run_browser_script, start_server

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "disposition.mjs"
SCREENS = ROOT / "test-artifacts" / "screens"
SIMULATED_NETWORK = {
    "CALLCENTER_TELEPHONY__SWITCH": "sim",
    "CALLCENTER_TELEPHONY__SIM__BOT_AGENTS": "0",
    "CALLCENTER_TELEPHONY__SIM__CALLS_PER_HOUR": "0",
    "CALLCENTER_TELEPHONY__ANNOUNCE_EVERY_SECONDS": "0",
}
SCRIPT_BODY = "{lead.name}您好，我是星河保险的客服，想向您介绍我们的安心意外险。"
AGENT = ("1001", "password-1001")
APPROVER = ("8001", "password-8001")
ROLE = "e2e_seller"
CAMPAIGN = {
    "safe_harbour_text": "您好，这里是星河保险，稍后回电 4008001234",
    "seller_name": "星河保险",
    "callback_number": "4008001234",
    "caller_ids": ["+861058001234"],
    "ring_seconds": 25,
    "drop_timeout": 2,
    "windows": [{"start": "00:00", "end": "23:59"}],
}


class Session:
    """The API as one person: ``call`` checks the status and returns the JSON body."""

    def __init__(self, url: str, who: tuple[str, str] = (ADMIN_NO, ADMIN_PASSWORD)) -> None:
        self.url = f"{url}/api/v1"
        self.headers = {"Authorization": f"Bearer {self.token(who)}"}

    def token(self, who: tuple[str, str]) -> str:
        answer = httpx2.post(
            f"{self.url}/auth/token", json={"agent_no": who[0], "password": who[1]}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    def call(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", self.headers)
        answer = httpx2.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)
        assert answer.status_code == status, answer.text
        return answer.json() if answer.content else None

    def created(self, path: str, body: dict[str, Any]) -> int:
        created: int = self.call("POST", path, 201, json=body)["id"]
        return created


def import_and_start(
    admin: Session, campaign: int, leads: Path, count: int, approver: tuple[str, str]
) -> None:
    """Import ``leads`` (all ``count`` rows), submit, approve as ``approver``, start."""
    with leads.open("rb") as file:
        job = admin.call("POST", f"/campaigns/{campaign}/imports", 202,
                         files={"file": ("leads.csv", file, "text/csv")})  # fmt: skip
    for _ in range(100):
        job = admin.call("GET", f"/imports/{job['id']}")
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["imported"] == count, job
    admin.call("POST", f"/campaigns/{campaign}/submit")
    token = admin.token(approver)
    admin.call("POST", f"/campaigns/{campaign}/approve",
               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    admin.call("POST", f"/campaigns/{campaign}/start")


def _campaign(admin: Session, tmp_path: Path) -> tuple[int, str]:
    """A campaign for the agent's group with one lead, approved by 8001 and started."""
    roles = admin.call("GET", "/roles")
    agent_codes = next(r["permissions"] for r in roles if r["code"] == "agent")
    permissions = sorted({*agent_codes, "result.record", "disposition.view", "product.view",
                          "script.view", "call.dial"})  # fmt: skip
    admin.created("/roles", {"code": ROLE, "name": "E2E 坐席", "permissions": permissions})
    admin.created("/roles", {"code": "approver", "name": "审批人",
                             "permissions": ["campaign.view", "campaign.approve"]})  # fmt: skip
    agent = admin.created("/agents", {"agent_no": AGENT[0], "name": "坐席 1001",
                                      "password": AGENT[1], "roles": [ROLE]})  # fmt: skip
    admin.created("/agents", {"agent_no": APPROVER[0], "name": "审批人 8001",
                              "password": APPROVER[1], "roles": ["approver"]})  # fmt: skip
    group = admin.created("/groups", {"name": "电销一组"})
    admin.created(f"/groups/{group}/members", {"agent_id": agent})
    product = admin.created("/products", {"name": "安心意外险", "attributes": [
        {"key": "plan", "label": "保障计划", "type": "text", "required": True}]})  # fmt: skip
    sold = admin.created("/dispositions", {"code": "sold", "name": "成交", "outcome": "answered"})
    script = admin.created("/scripts", {"name": "意外险开场白", "body": SCRIPT_BODY})
    settings = CAMPAIGN | {"group_ids": [group], "product_ids": [product],
                           "disposition_ids": [sold], "script_id": script}  # fmt: skip
    campaign = admin.created("/campaigns", {"name": "意外险回访", "settings": settings})
    leads = tmp_path / "leads.csv"
    leads.write_text("phone,name\n13900000001,客户 一\n", encoding="utf-8")
    import_and_start(admin, campaign, leads, 1, APPROVER)
    return campaign, str(sold)


@pytest.mark.slow
def test_an_agent_records_a_campaign_result_and_loses_a_button_with_its_permission(
    tmp_path: Path,
) -> None:
    node = browser_node()
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'callcenter.db'}", SIMULATED_NETWORK)
    try:
        campaign, sold = _campaign(Session(server.url), tmp_path)
        run = run_browser_script(
            node,
            SCRIPT,
            server.url,
            SCREENS,
            timeout=120,
            CC_ADMIN_NO=ADMIN_NO,
            CC_ADMIN_PASSWORD=ADMIN_PASSWORD,
            CC_AGENT_NO=AGENT[0],
            CC_AGENT_PASSWORD=AGENT[1],
            CC_ROLE=ROLE,
            CC_CAMPAIGN_ID=str(campaign),
            CC_DISPOSITION_ID=sold,
        )
    finally:
        output = server.stop()
    log.info("%s", run.result.stdout)
    run.check(output, SCREENS, ["zh-CN-desk-disposition", "en-desk-disposition"])
