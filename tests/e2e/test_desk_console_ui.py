"""The agent desktop and the supervisor console end to end: Debian's Chromium, driven by
playwright-core (web/e2e/desk.mjs), against a real server on the simulated network with
callers arriving and one bot agent.

An agent logs in on the browser's virtual phone, goes ready, answers a simulated call and
hangs up; the supervisor sees each change live and barges in; the call is then in the
calls API. Screenshots of both screens in zh-CN and en go to test-artifacts/screens/.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from cctest import ADMIN_NO, ADMIN_PASSWORD, browser_node, run_browser_script, start_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "desk.mjs"
SCREENS = ROOT / "test-artifacts" / "screens"
SHOTS = [
    "zh-CN-desk-login",
    "zh-CN-desk-ringing",
    "zh-CN-desk-talking",
    "zh-CN-console",
    "en-desk-talking",
    "en-console",
    "en-desk-wrap-up",
]
SIMULATED_NETWORK = {
    "CALLCENTER_TELEPHONY__SWITCH": "sim",
    "CALLCENTER_TELEPHONY__SIM__BOT_AGENTS": "1",
    "CALLCENTER_TELEPHONY__SIM__CALLS_PER_HOUR": "1200",
    "CALLCENTER_TELEPHONY__ANNOUNCE_EVERY_SECONDS": "0",
}


def _admin(url: str) -> dict[str, str]:
    token = httpx2.post(
        f"{url}/api/v1/auth/token",
        json={"agent_no": ADMIN_NO, "password": ADMIN_PASSWORD},
        timeout=10,
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _post(url: str, path: str, headers: dict[str, str], body: dict[str, object]) -> int:
    response = httpx2.post(f"{url}/api/v1{path}", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    created: int = response.json()["id"]
    return created


@pytest.mark.slow
def test_an_agent_takes_a_call_in_the_browser_while_the_supervisor_watches_and_barges(
    tmp_path: Path,
) -> None:
    node = browser_node()
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'callcenter.db'}", SIMULATED_NETWORK)
    try:
        admin = _admin(server.url)
        people = {"1001": ("agent", "password-1001"), "8001": ("team_leader", "password-8001")}
        ids = {
            no: _post(server.url, "/agents", admin,
                      {"agent_no": no, "name": f"E2E {no}", "password": pw, "roles": [role]})
            for no, (role, pw) in people.items()
        }  # fmt: skip
        group = _post(server.url, "/groups", admin, {"name": "service"})
        _post(server.url, f"/groups/{group}/members", admin, {"agent_id": ids["1001"]})
        run = run_browser_script(
            node,
            SCRIPT,
            server.url,
            SCREENS,
            timeout=120,
            CC_AGENT_NO="1001",
            CC_AGENT_PASSWORD=people["1001"][1],
            CC_LEADER_NO="8001",
            CC_LEADER_PASSWORD=people["8001"][1],
        )
    finally:
        output = server.stop()
    run.check(output, SCREENS, SHOTS)
