"""手动外呼 / a manual campaign dialled from the agent desktop end to end: Debian's
Chromium, driven by playwright-core (web/e2e/manual.mjs), against a real server on the
simulated network with no callers and no bots.

Set up through the API: a manual campaign for the agent's group with three leads (a
name and a custom field each, all numbers whose simulated customers answer within a few
seconds and talk for minutes: the sim's seed 1), its own caller ID, the default
dispositions; submitted, approved by a second person and started. In the browser the
agent goes ready, sees the campaign and its first lead in the manual dialing panel,
passes it on (下一个), dials the next one, answers their own phone, talks to the
customer, hangs up and records the disposition in the wrap-up; the panel is then read
in English.

Through the API afterwards: the call names the campaign and the lead dialled, and was
answered, its customer's leg presenting the campaign's caller ID (found by that number);
the lead passed on is not the one dialled and is held back (the agent is handed the last
lead, then nothing); the disposition reached the lead dialled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from callcenter.switch.sim.customers import CustomerBook, Outcome
from cctest import browser_node, run_browser_script, start_server
from e2e.test_disposition_ui import CAMPAIGN, Session, import_and_start

log = logging.getLogger(__name__)
T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "manual.mjs"
SCREENS = ROOT / "test-artifacts" / "screens"
SHOTS = ["zh-CN-desk-manual", "zh-CN-desk-manual-talking", "en-desk-manual"]
SIMULATED_NETWORK = {
    "CALLCENTER_TELEPHONY__SWITCH": "sim",
    "CALLCENTER_TELEPHONY__SIM__SEED": "1",  # the customers' fates below are this seed's
    "CALLCENTER_TELEPHONY__SIM__BOT_AGENTS": "0",
    "CALLCENTER_TELEPHONY__SIM__CALLS_PER_HOUR": "0",
    "CALLCENTER_TELEPHONY__ANNOUNCE_EVERY_SECONDS": "0",
    "CALLCENTER_TELEPHONY__WRAP_UP_SECONDS": "120",  # the form is filled in the wrap-up
}
AGENT = ("1001", "password-1001")
APPROVER = ("8001", "password-8001")
CALLER_ID = "+861058009999"  # the campaign's own pool, not the engine's number
# Numbers whose first call (seed 1) a person answers within 8 s and talks on for more
# than a minute (checked below); with a name and a custom field each, in this order.
LEADS = (
    ("13900000014", "王芳", "车险续保"),
    ("13900000042", "李雷", "意外险"),
    ("13900000001", "韩梅梅", "重疾险"),
)
FIELD = "意向险种"
SETTLE = 10.0  # seconds the server has to finish what the browser started
SKIP_MINUTES = 10.0  # a lead passed on is held back this long: longer than the test


def _customers_answer() -> None:
    """The simulated customers of LEADS answer the first call at once and talk on."""
    book = CustomerBook(int(SIMULATED_NETWORK["CALLCENTER_TELEPHONY__SIM__SEED"]))
    for phone, _, _ in LEADS:
        fate = book.fate(f"+86{phone}", 0)
        assert fate.outcome is Outcome.HUMAN, (phone, fate)
        assert fate.ring_after + fate.answer_after < 8.0 < 60.0 < fate.talk_time, (phone, fate)


def _campaign(admin: Session, tmp_path: Path) -> int:
    """The manual campaign over LEADS for 1001's group, approved by 8001 and started."""
    admin.created("/roles", {"code": "approver", "name": "审批人",
                             "permissions": ["campaign.view", "campaign.approve"]})  # fmt: skip
    agent = admin.created("/agents", {"agent_no": AGENT[0], "name": "坐席 1001",
                                      "password": AGENT[1], "roles": ["agent"]})  # fmt: skip
    admin.created("/agents", {"agent_no": APPROVER[0], "name": "审批人 8001",
                              "password": APPROVER[1], "roles": ["approver"]})  # fmt: skip
    group = admin.created("/groups", {"name": "手动外呼组"})
    admin.created(f"/groups/{group}/members", {"agent_id": agent})
    dispositions = admin.call("POST", "/dispositions/defaults")
    settings = CAMPAIGN | {
        "group_ids": [group],
        "dialing_mode": "manual",
        "caller_ids": [CALLER_ID],
        "disposition_ids": [d["id"] for d in dispositions],
        "preview_skip_delay_minutes": SKIP_MINUTES,
    }
    campaign = admin.created("/campaigns", {"name": "保单回访", "settings": settings})
    leads = tmp_path / "leads.csv"
    rows = "".join(f"{phone},{name},{wish}\n" for phone, name, wish in LEADS)
    leads.write_text(f"phone,name,{FIELD}\n{rows}", encoding="utf-8")
    import_and_start(admin, campaign, leads, len(LEADS), APPROVER)
    return campaign


def _eventually(read: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """``read()`` until ``done(value)``, for at most :data:`SETTLE` seconds."""
    deadline = time.monotonic() + SETTLE
    value = read()
    while not done(value):
        assert time.monotonic() < deadline, f"{what}: {value}"
        time.sleep(0.2)
        value = read()
    return value


def _check(url: str, admin: Session, campaign: int) -> None:
    """What the browser did, as the API tells it."""
    listed = admin.call("GET", f"/campaigns/{campaign}/leads", params={"limit": "50"})
    leads = {lead["id"]: lead for lead in listed["items"]}
    assert len(leads) == len(LEADS)
    calls = _eventually(
        lambda: admin.call("GET", "/calls", params={"campaign_id": str(campaign)})["items"],
        lambda items: len(items) == 1 and items[0]["ended_at"] is not None,
        "one ended call of the campaign",
    )
    (call,) = calls
    dialled = call["lead_id"]
    assert dialled in leads and call["campaign_id"] == campaign, call
    assert call["answered_at"] is not None and AGENT[0] in call["agents"], call
    customer = [leg for leg in call["legs"] if leg["dest"] == leads[dialled]["phone"]]
    assert customer and customer[0]["answered_at"] is not None, call["legs"]
    assert customer[0]["caller_id"] == CALLER_ID, customer  # the pool's, not the engine's
    presented = admin.call("GET", "/calls", params={"caller_id": CALLER_ID})["items"]
    assert [c["call_id"] for c in presented] == [call["call_id"]], presented

    audit = admin.call("GET", "/audit", params={"actor_no": AGENT[0], "action": "manual.release"})
    released = [entry["target_id"] for entry in audit["items"]]
    assert len(released) == 1, released
    passed = int(released[0])
    assert passed != dialled and passed in leads
    (last,) = set(leads) - {passed, dialled}
    agent = Session(url, AGENT)
    held = agent.call("GET", "/desk/manual", params={"campaign_id": str(campaign)})
    assert held["lead"]["id"] == last, held  # the lead passed on is not handed out again
    agent.call("POST", "/desk/manual/release", json={"campaign_id": campaign, "lead_id": last})
    none = agent.call("GET", "/desk/manual", params={"campaign_id": str(campaign)})
    assert none["lead"] is None and none["reason"]["code"] == "no-leads", none
    assert leads[passed]["locked"] and leads[passed]["attempts_lifetime"] == 0

    lead = _eventually(
        lambda: admin.call("GET", f"/leads/{dialled}"),
        lambda lead: lead["status"] == "done",
        "the disposition on the lead",
    )
    assert (lead["last_disposition"], lead["attempts_lifetime"]) == ("sale", 1), lead
    results = admin.call("GET", f"/leads/{dialled}/results")
    assert [(r["call_id"], r["disposition_code"]) for r in results] == [
        (call["call_id"], "sale")
    ], results


@pytest.mark.slow
def test_an_agent_passes_on_a_manual_lead_dials_the_next_and_records_its_result(
    tmp_path: Path,
) -> None:
    node = browser_node()
    _customers_answer()
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'callcenter.db'}", SIMULATED_NETWORK)
    try:
        admin = Session(server.url)
        campaign = _campaign(admin, tmp_path)
        run = run_browser_script(
            node,
            SCRIPT,
            server.url,
            SCREENS,
            timeout=60,
            CC_AGENT_NO=AGENT[0],
            CC_AGENT_PASSWORD=AGENT[1],
            CC_CAMPAIGN_NAME="保单回访",
            CC_FIELD=FIELD,
        )
        log.info("%s", run.result.stdout)
        if run.result.returncode == 0:
            _check(server.url, admin, campaign)
    finally:
        output = server.stop()
    run.check(output, SCREENS, SHOTS)
