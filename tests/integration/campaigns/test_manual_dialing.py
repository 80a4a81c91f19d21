"""Manual (click-to-dial) campaigns end to end: agents at the desk take a manual
campaign's leads one at a time and dial each with one click, through the campaign's
dialer.

The platform runs on SimSwitch with a virtual clock (a weekday morning in Shanghai)
and no bot agents: 1001 and 1002 of the service group log in from browsers' virtual
phones that answer by themselves. The campaign presents its own caller ID, one call a
day; a lead passed on comes back after 20 s (the platform's skip delay) unless the
campaign sets its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcenter.store.tables import LeadRow
from callcenter.switch.sim.customers import Fate, Outcome
from integration.campaigns.campaign_kit import COMPLIANT, dispositions
from integration.campaigns.test_call_record_campaign import stored_calls
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_dialing_routes import in_service_group, originations
from integration.campaigns.test_preview_dialing import open_preview_floor

AGENT, OTHER, OUTSIDER = "1001", "1002", "1003"
SKIP_DELAY = 20.0
OWN_SKIP_DELAY = 30.0  # a campaign's own, in seconds
CALLER_ID = "+861058009999"  # the campaign's pool: not the engine's own number
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=5.0)
LEADS = {
    "+8613600000001": {"name": "王芳", "city": "杭州", "policy": "车险续保"},
    "+8613600000002": {"name": "李雷", "city": "苏州"},
    "+8613600000003": {"name": "韩梅梅"},
}
FIRST, SECOND, THIRD = LEADS
CALLBACK = "+8613600000009"


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_preview_floor(tmp_path, database_url, timeout=30.0, skip_delay=SKIP_DELAY)


def log_in(floor: Floor, agent_no: str) -> None:
    kit = floor.kit
    phone = kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=agent_no)
    kit.ok("POST", "/desk/login", 204, json={"phone": phone["phone"]}, as_=agent_no)
    kit.ok("POST", "/desk/ready", 204, as_=agent_no)


def manual_campaign(floor: Floor, *, callback_to: str | None = None, **settings: Any) -> int:
    """A running manual campaign over LEADS with 1001 and 1002 of its group logged in;
    with ``callback_to``, also CALLBACK, whose callback to that agent was due a minute ago."""
    group_id, people = in_service_group(floor, AGENT, OTHER)
    kit = floor.kit
    campaign_id = kit.campaign(
        "保单回访",
        **(
            COMPLIANT
            | {
                "group_ids": [group_id],
                "windows": [{"start": "00:00", "end": "23:59"}],
                "dialing_mode": "manual",
                "caller_ids": [CALLER_ID],
                "caller_id_daily_cap": 1,
            }
            | settings
        ),
    )
    for phone in LEADS:
        floor.script(phone, TALK)
    leads: list[dict[str, Any]] = [{"phone": p, "fields": f} for p, f in LEADS.items()]
    if callback_to is not None:
        due = dt.datetime.fromtimestamp(floor.clock.now() - 60, dt.UTC)
        agent_id = people[(AGENT, OTHER).index(callback_to)]
        callback = {"status": "callback", "callback_at": due, "callback_agent_id": agent_id}
        leads.insert(0, {"phone": CALLBACK, "fields": {"name": "回拨客户"}} | callback)
    kit.add_leads(campaign_id, *leads)
    kit.approve(campaign_id)
    for agent_no in (AGENT, OTHER):
        log_in(floor, agent_no)
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(1.0)
    return campaign_id


def take(floor: Floor, campaign_id: int, agent_no: str = AGENT) -> dict[str, Any]:
    body: dict[str, Any] = floor.kit.ok(
        "GET", "/desk/manual", params={"campaign_id": str(campaign_id)}, as_=agent_no
    )
    return body


def dial(
    floor: Floor, campaign_id: int, lead: dict[str, Any], agent_no: str = AGENT, **more: Any
) -> Any:
    body = {"number": lead["phone"], "campaign_id": campaign_id, "lead_id": lead["id"]} | more
    return floor.api.call("POST", "/desk/dial", json=body, as_=agent_no)


def lock_of(floor: Floor, lead_id: int) -> tuple[str | None, dt.datetime | None]:
    """Who holds the lead in the database, and until when."""
    platform = floor.platform

    async def read() -> tuple[str | None, dt.datetime | None]:
        async with platform.uow() as uow:
            row = await uow.session.get(LeadRow, lead_id)
            assert row is not None
            return row.locked_by, row.locked_until

    assert floor.api.client.portal is not None
    return floor.api.client.portal.call(read)


def refused(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code, answer.text


def test_an_agent_takes_a_lead_dials_it_and_its_result_reaches_the_lead(floor: Floor) -> None:
    """1001 sees the campaign, takes its first lead (the same on a second look), dials it
    with one click: the customer sees the campaign's caller ID, the call names campaign
    and lead, and the disposition 1001 records lands on the lead. The pool's one call
    of the day is then spent: the next lead's dial is refused with the reason, and that
    lead is left unlocked."""
    kit = floor.kit
    campaign_id = manual_campaign(floor)
    mine = kit.ok("GET", "/desk/manual", as_=AGENT)
    assert mine["campaigns"] == [{"id": campaign_id, "name": "保单回访"}]
    assert mine["lead"] is None and mine["campaign"] is None  # looking takes nothing
    assert floor.view(campaign_id)["dials"] == 0  # a manual campaign dials nothing itself

    shown = take(floor, campaign_id)
    lead = shown["lead"]
    assert shown["campaign"] == {"id": campaign_id, "name": "保单回访"}
    assert (lead["phone"], lead["name"]) == (FIRST, "王芳")
    assert lead["fields"] == {"city": "杭州", "policy": "车险续保"}
    assert take(floor, campaign_id)["lead"] == lead  # held: asking again shows the same
    assert kit.ok("GET", "/desk/manual", as_=AGENT)["lead"] == lead
    assert lock_of(floor, lead["id"])[0] == f"manual:{AGENT}"

    seen = originations(floor)
    placed = dial(floor, campaign_id, lead, command_id="click-1")
    assert placed.status_code == 200, placed.text
    call_id = placed.json()["call_id"]
    assert placed.json() == {"call_id": call_id, "campaign_id": campaign_id, "lead_id": lead["id"]}
    retried = dial(floor, campaign_id, lead, command_id="click-1")  # a retry: the first answer
    assert retried.status_code == 200 and retried.json() == placed.json(), retried.text
    floor.run(4.0)
    state = kit.ok("GET", "/desk/state", as_=AGENT)
    assert state["state"] == "talking", state
    call = state["call"]
    assert call["call_id"] == call_id and call["dialled"] == FIRST
    assert (call["campaign_id"], call["lead_id"]) == (str(campaign_id), str(lead["id"]))
    (customer,) = [o for o in seen if o.dest == FIRST]
    assert customer.caller_id == CALLER_ID

    codes = dispositions(kit)
    result = kit.ok(
        "POST", f"/campaigns/{campaign_id}/results", 201,
        json={"lead_id": lead["id"], "disposition_id": codes["sale"], "call_id": call_id},
        as_=AGENT,
    )  # fmt: skip
    assert result["call_id"] == call_id
    floor.run(5.0)
    stored = kit.ok("GET", f"/leads/{lead['id']}")
    assert (stored["last_disposition"], stored["status"]) == ("sale", "done")
    assert stored["attempts_lifetime"] == 1
    assert lock_of(floor, lead["id"]) == (None, None)  # the outcome came back
    (record,) = stored_calls(floor, campaign_id=str(campaign_id))
    assert (record["call_id"], record["lead_id"]) == (call_id, lead["id"])
    audit = [(r["action"], r["target_id"]) for r in floor.api.audit(actor_no=AGENT)]
    assert ("call.dial", str(lead["id"])) in audit

    kit.ok("POST", "/desk/ready", 204, as_=AGENT)  # wrap-up cut short
    following = take(floor, campaign_id)["lead"]
    assert following["phone"] == SECOND
    for language, text in (("zh-CN", "主叫号码今日外呼次数已用完"), ("en", "daily cap")):
        body = {"number": SECOND, "campaign_id": campaign_id, "lead_id": following["id"]}
        answer = floor.api.call("POST", "/desk/dial", json=body, as_=AGENT,
                                headers={"Accept-Language": language})  # fmt: skip
        refused(answer, 409, "no-route")
        assert text in answer.json()["message"]
        assert lock_of(floor, following["id"]) == (None, None)  # nothing is left locked
    assert kit.ok("GET", f"/leads/{following['id']}")["attempts_lifetime"] == 0


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_two_agents_never_share_a_lead_and_a_passed_lead_comes_back_later(
    floor: Floor,
) -> None:
    """1001 and 1002 ask at the same moment: each is handed a lead of their own. 1001
    passes on theirs and takes the last; passed on too, nothing is left until the skip
    delay brings them back."""
    kit = floor.kit
    campaign_id = manual_campaign(floor)
    dialing = floor.platform.dialing
    assert dialing is not None and floor.api.client.portal is not None

    async def both() -> list[dict[str, Any]]:
        asked = (dialing.manual(AGENT, campaign_id), dialing.manual(OTHER, campaign_id))
        return [shown["lead"] for shown in await asyncio.gather(*asked)]

    first, second = floor.api.client.portal.call(both)
    assert {first["phone"], second["phone"]} == {FIRST, SECOND}
    assert take(floor, campaign_id, AGENT)["lead"] == first
    refused(dial(floor, campaign_id, second, AGENT), 409, "lead-not-dialable")  # 1002's
    assert lock_of(floor, second["id"])[0] == f"manual:{OTHER}"  # still 1002's

    passed = kit.ok("POST", "/desk/manual/release", json={"campaign_id": campaign_id,
                    "lead_id": first["id"]}, as_=AGENT)  # fmt: skip
    assert passed["lead_id"] == first["id"]
    again = kit.api.call("POST", "/desk/manual/release", json={"campaign_id": campaign_id,
                         "lead_id": first["id"]}, as_=AGENT)  # fmt: skip
    refused(again, 409, "manual-lead-missing")
    third = take(floor, campaign_id, AGENT)
    assert third["lead"]["phone"] == THIRD
    kit.ok("POST", "/desk/manual/release", json={"campaign_id": campaign_id,
           "lead_id": third["lead"]["id"]}, as_=AGENT)  # fmt: skip
    none = take(floor, campaign_id, AGENT)
    assert none["lead"] is None and none["reason"]["code"] == "no-leads"
    floor.run(SKIP_DELAY + 1.0)
    back = take(floor, campaign_id, AGENT)["lead"]
    assert back["phone"] in (FIRST, THIRD)  # passed on, then due again
    audit = [r["action"] for r in floor.api.audit(actor_no=AGENT)]
    assert audit.count("manual.release") == 2


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_refusals_say_why_and_leave_no_lead_locked(floor: Floor) -> None:
    """An agent outside the groups, a blacklisted lead (never handed out, refused when
    dialled by id, refused when it is blacklisted while held), a lead of no such
    campaign, a campaign not running: each a clear error in Chinese and English."""
    kit, api = floor.kit, floor.api
    campaign_id = manual_campaign(floor)
    api.person(OUTSIDER, "agent")
    log_in(floor, OUTSIDER)
    assert kit.ok("GET", "/desk/manual", as_=OUTSIDER)["campaigns"] == []
    for language, text in (("zh-CN", "坐席组签入"), ("en", "not logged in to a group")):
        answer = api.call("GET", "/desk/manual", params={"campaign_id": str(campaign_id)},
                          as_=OUTSIDER, headers={"Accept-Language": language})  # fmt: skip
        refused(answer, 403, "not-campaign-agent")
        assert text in answer.json()["message"]
    ids = {lead["phone"]: lead["id"] for lead in floor.leads(campaign_id).values()}
    outsider = {"id": ids[FIRST], "phone": FIRST}
    refused(dial(floor, campaign_id, outsider, OUTSIDER), 403, "not-campaign-agent")
    refused(api.call("GET", "/desk/manual", params={"campaign_id": "999"}, as_=AGENT),
            409, "campaign-not-running")  # fmt: skip
    (group,) = kit.ok("GET", "/groups")
    previewed = kit.running("预览任务", group_ids=[group["id"]], dialing_mode="preview")
    floor.run(1.0)
    for language, text in (("zh-CN", "不是手动外呼任务"), ("en", "not dialled by hand")):
        answer = api.call("GET", "/desk/manual", params={"campaign_id": str(previewed)},
                          as_=AGENT, headers={"Accept-Language": language})  # fmt: skip
        refused(answer, 409, "campaign-not-manual")
        assert text in answer.json()["message"]

    kit.ok("POST", "/blacklist", 201, json={"phones": [FIRST], "reason": "do_not_call"})
    shown = take(floor, campaign_id)["lead"]
    assert shown["phone"] == SECOND  # the blocked number is never handed out
    for language, text in (("zh-CN", "勿扰名单"), ("en", "do-not-call list")):
        answer = api.call("POST", "/desk/dial", as_=AGENT, headers={"Accept-Language": language},
                          json={"number": FIRST, "campaign_id": campaign_id,
                                "lead_id": ids[FIRST]})  # fmt: skip
        refused(answer, 409, "lead-not-dialable")
        assert text in answer.json()["message"]
        assert answer.json()["details"]["reason"] == "do-not-call"
    typed = api.call("POST", "/desk/dial", json={"number": "13600000001"}, as_=AGENT)
    refused(typed, 409, "number-blocked")  # typed on the keypad: still refused
    free = api.call("POST", "/desk/dial", json={"number": "13900000009"}, as_=OTHER)
    assert free.status_code == 200 and free.json()["call_id"], free.text  # any other number

    kit.ok("POST", "/blacklist", 201, json={"phones": [SECOND]})  # while 1001 holds it
    refused(dial(floor, campaign_id, shown), 409, "lead-not-dialable")
    assert lock_of(floor, shown["id"]) == (None, None)
    last = take(floor, campaign_id)["lead"]
    assert last["phone"] == THIRD
    kit.ok("POST", "/blacklist", 201, json={"phones": [THIRD], "reason": "complaint"})
    after = take(floor, campaign_id)  # the lead held is looked at again: blocked, back it goes
    assert after["lead"] is None and after["reason"]["code"] == "no-leads"
    assert lock_of(floor, last["id"]) == (None, None)
    wrong = api.call("POST", "/desk/dial", json={"number": THIRD, "campaign_id": campaign_id,
                     "lead_id": 10**9}, as_=AGENT)  # fmt: skip
    refused(wrong, 404, "lead-not-in-campaign")
    half = api.call("POST", "/desk/dial", json={"number": THIRD, "campaign_id": campaign_id},
                    as_=AGENT)  # fmt: skip
    refused(half, 422, "invalid-input")
    kit.ok("POST", f"/campaigns/{campaign_id}/pause")
    floor.run(1.0)
    refused(dial(floor, campaign_id, {"id": ids[THIRD], "phone": THIRD}), 409,
            "campaign-not-running")  # fmt: skip
    assert kit.ok("GET", "/desk/manual", as_=AGENT)["campaigns"] == []
    assert floor.view(campaign_id)["dials"] == 0


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_due_callback_waits_for_its_own_agent(floor: Floor) -> None:
    """The callback 1002 scheduled is due and first in line, yet 1001 is handed the next
    lead; 1002 gets the callback, and 1001 may not dial it either."""
    campaign_id = manual_campaign(floor, callback_to=OTHER)
    mine = take(floor, campaign_id, AGENT)["lead"]
    assert mine["phone"] == FIRST
    theirs = take(floor, campaign_id, OTHER)["lead"]
    assert (theirs["phone"], theirs["name"]) == (CALLBACK, "回拨客户")
    kit = floor.kit
    kit.ok("POST", "/desk/manual/release", json={"campaign_id": campaign_id,
           "lead_id": theirs["id"]}, as_=OTHER)  # fmt: skip
    answer = floor.api.call("POST", "/desk/dial", as_=AGENT, json={"number": CALLBACK,
                            "campaign_id": campaign_id, "lead_id": theirs["id"]})  # fmt: skip
    refused(answer, 409, "lead-not-dialable")  # passed on by 1002: held back for now
    assert answer.json()["details"]["reason"] == "locked"


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_lead_passed_on_comes_back_after_the_campaigns_own_skip_delay(floor: Floor) -> None:
    """The campaign sets its own skip delay, half a minute (the platform's is 20 s): the
    leads 1001 passes on are held back that long, not handed out when the platform's
    delay is over, and handed out again once the campaign's is."""
    kit = floor.kit
    campaign_id = manual_campaign(floor, preview_skip_delay_minutes=OWN_SKIP_DELAY / 60)
    settings = kit.ok("GET", f"/campaigns/{campaign_id}")["settings"]
    assert settings["preview_skip_delay_minutes"] == OWN_SKIP_DELAY / 60  # kept for manual
    passed = []
    for _ in LEADS:
        lead = take(floor, campaign_id)["lead"]
        now = floor.clock.now()
        back = kit.ok("POST", "/desk/manual/release", json={"campaign_id": campaign_id,
                      "lead_id": lead["id"]}, as_=AGENT)  # fmt: skip
        back_at = dt.datetime.fromisoformat(back["back_at"]).timestamp()
        assert back_at == pytest.approx(now + OWN_SKIP_DELAY)
        locked_by, until = lock_of(floor, lead["id"])
        assert locked_by == "manual-skipped" and until is not None
        assert until.replace(tzinfo=dt.UTC).timestamp() == pytest.approx(back_at)
        passed.append(lead["phone"])
    assert sorted(passed) == sorted(LEADS)  # each lead once: none came back meanwhile

    floor.run(SKIP_DELAY + 1.0)  # the platform's delay is over, not the campaign's
    early = take(floor, campaign_id)
    assert early["lead"] is None and early["reason"]["code"] == "no-leads"
    floor.run(OWN_SKIP_DELAY - SKIP_DELAY)
    assert take(floor, campaign_id)["lead"]["phone"] in LEADS  # due again
