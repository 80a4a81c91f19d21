"""The browser UI end to end: Debian's Chromium, driven by playwright-core, against a real
server process serving the built UI (`make test` builds it first).

The script (web/e2e/smoke.mjs) logs in as the administrator, opens every administration
screen in both languages and saves screenshots under test-artifacts/screens/, creates a
role, ticks one box of the permission matrix and checks through the API that the role
holds exactly that code, and logs out.
"""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from cctest import ADMIN_NO, ADMIN_PASSWORD, browser_node, run_browser_script, start_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "smoke.mjs"
SCREENS = ROOT / "test-artifacts" / "screens"
# What the script promises: the log-in, each administration screen in both languages, and
# the steps it takes on them.
SHOTS = [
    "zh-CN-login",
    "zh-CN-login-error",
    *(f"{locale}-{screen}" for locale in ("zh-CN", "en")
      for screen in ("home", "agents", "groups", "roles", "audit")),
    "zh-CN-roles-ticked",
    "zh-CN-group-members",
    "zh-CN-agent-locked",
    "zh-CN-agent-create-dialog",
]  # fmt: skip


@pytest.mark.slow
def test_the_administration_screens_work_in_a_real_browser(tmp_path: Path) -> None:
    node = browser_node()
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'callcenter.db'}")
    try:
        token = httpx2.post(
            f"{server.url}/api/v1/auth/token",
            json={"agent_no": ADMIN_NO, "password": ADMIN_PASSWORD},
            timeout=10,
        ).json()["token"]
        created = httpx2.post(  # the agent the script puts into a group
            f"{server.url}/api/v1/agents",
            json={"agent_no": "1001", "name": "坐席 1001", "password": "password-1001"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        run = run_browser_script(
            node,
            SCRIPT,
            server.url,
            SCREENS,
            timeout=240,
            CC_ADMIN_NO=ADMIN_NO,
            CC_ADMIN_PASSWORD=ADMIN_PASSWORD,
        )
    finally:
        output = server.stop()
    run.check(output, SCREENS, SHOTS)
