"""Campaign dialling and the agents: callbacks to their own agent, no agent ready, locks.

The callbacks run in the platform on SimSwitch with a virtual clock (a weekday morning
in Shanghai). No bot agents: the campaign's people log in from browsers' virtual
phones that answer by themselves. A callback scheduled "to me" (回访给本人) belongs to
its agent: it waits for them to be ready and then rings them first, agent's phone
then customer's; if they stay away past the campaign's wait, the customer's time
wins and anyone takes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcenter.app.cti.outbound import DialEnded
from callcenter.app.leads import LOCK_SECONDS
from callcenter.switch.sim.customers import Fate, Outcome
from integration.campaigns.campaign_kit import COMPLIANT, Kit
from integration.campaigns.test_dialer_leads import NOW, WEDNESDAY_10, run, source, why
from integration.campaigns.test_dialing import MORNING, Floor
from integration.campaigns.test_dialing_routes import (
    ALL_DAY,
    in_service_group,
    log_in,
    open_floor,
    originations,
)

TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=5.0)
FOR_1002, FOR_1003, PLAIN = "+8613800000021", "+8613800000022", "+8613800000023"


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, bots=0)


def ended_calls(floor: Floor, campaign_id: int) -> list[DialEnded]:
    dialing = floor.platform.dialing
    assert dialing is not None
    dialer = dialing.dialer(campaign_id)
    assert dialer is not None
    ended: list[DialEnded] = []
    dialer.on_end.append(ended.append)
    return ended


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_callback_waits_for_its_agent_rings_them_and_after_the_wait_goes_to_anyone(
    desk: Floor,
) -> None:
    """Two callbacks came due ten seconds ago, one scheduled to 1002, one to 1003, and
    a plain lead waits behind them; only 1001 is ready. 1001 calls the plain lead while
    the callbacks wait for their agents; 1002 gets ready and their callback rings 1002;
    1003 never comes, and once the campaign's one minute of waiting is over, 1001 calls
    that customer back."""
    group_id, (_, id_1002, id_1003) = in_service_group(desk, "1001", "1002", "1003")
    kit = desk.kit
    campaign_id = kit.campaign(
        "回访",
        **(
            COMPLIANT
            | {"group_ids": [group_id], "windows": ALL_DAY, "callback_agent_wait_minutes": 1}
        ),
    )
    due = dt.datetime.fromtimestamp(MORNING - 10, dt.UTC)
    ids: dict[str, str] = {}
    for phone, agent_id in ((FOR_1002, id_1002), (FOR_1003, id_1003)):
        (lead_id,) = kit.add_leads(
            campaign_id,
            {"phone": phone, "callback_at": due, "callback_agent_id": agent_id,
             "status": "callback"},
        )  # fmt: skip
        ids[phone] = str(lead_id)
    (plain_id,) = kit.add_leads(campaign_id, {"phone": PLAIN})
    ids[PLAIN] = str(plain_id)
    for phone in ids:
        desk.script(phone, TALK)
    kit.approve(campaign_id)
    log_in(desk, "1001")
    log_in(desk, "1002", ready=False)
    seen = originations(desk)
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    desk.run(0.5)
    ended = ended_calls(desk, campaign_id)

    desk.run(10.0)
    assert [o.dest for o in seen if o.dest in ids] == [PLAIN]  # the callbacks hold nothing up
    view = desk.view(campaign_id)
    assert view["not_dialled"]["callback-agent-not-ready"] >= 2, view
    assert view["dials"] == 1

    kit.ok("POST", "/desk/ready", 204, as_="1002")
    state = kit.ok("GET", "/desk/state", as_="1002")
    for _ in range(12):  # the dialer looks at its agents every few seconds
        desk.run(1.0)
        state = kit.ok("GET", "/desk/state", as_="1002")
        if state["state"] == "talking":
            break
    assert state["state"] == "talking", state
    assert state["call"]["lead_id"] == ids[FOR_1002]
    desk.run(10.0)
    who = {e.lead_id: (e.agent_no, e.outcome.value) for e in ended}
    assert who == {ids[PLAIN]: ("1001", "connected"), ids[FOR_1002]: ("1002", "connected")}
    assert [o for o in seen if o.dest == FOR_1003] == []  # 1003's still waits

    desk.run(40.0)  # a minute past its time: anyone may take it
    who = {e.lead_id: (e.agent_no, e.outcome.value) for e in ended}
    assert who[ids[FOR_1003]] == ("1001", "connected")
    leads = desk.leads(campaign_id)
    assert all(leads[phone]["attempts_lifetime"] == 1 for phone in ids)
    assert leads[FOR_1002]["callback_at"] is None and leads[FOR_1003]["callback_at"] is None


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_callback_booked_before_hours_waits_for_its_agent_from_the_opening(
    desk: Floor,
) -> None:
    """A callback to 1003 was booked for 09:00 and the calling window opens at 10:01
    (local). At the opening it still waits its minute for 1003, who is away: the
    minute is counted from the opening, not from 09:00, so 1001 (ready all along)
    does not take it until 10:02."""
    group_id, (_, id_1003) = in_service_group(desk, "1001", "1003")
    kit = desk.kit
    windows = [{"start": "10:01", "end": "20:00"}]
    campaign_id = kit.campaign(
        "回访",
        **(
            COMPLIANT
            | {"group_ids": [group_id], "windows": windows, "callback_agent_wait_minutes": 1}
        ),
    )
    booked = dt.datetime.fromtimestamp(MORNING - 3600, dt.UTC)  # 09:00 in Shanghai
    (lead_id,) = kit.add_leads(
        campaign_id,
        {"phone": FOR_1003, "callback_at": booked, "callback_agent_id": id_1003,
         "status": "callback"},
    )  # fmt: skip
    desk.script(FOR_1003, TALK)
    kit.approve(campaign_id)
    log_in(desk, "1001")
    seen = originations(desk)
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    desk.run(0.5)
    ended = ended_calls(desk, campaign_id)

    desk.run(90.0)  # 10:01:30: the window is open, the callback waits for 1003
    assert [o for o in seen if o.dest == FOR_1003] == []
    assert desk.view(campaign_id)["not_dialled"]["callback-agent-not-ready"] >= 1

    desk.run(60.0)  # 10:02:30: its minute is over, anyone may take it
    assert [(e.lead_id, e.agent_no, e.outcome.value) for e in ended] == [
        (str(lead_id), "1001", "connected")
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_with_no_agent_ready_the_view_says_so_for_every_dialable_lead(desk: Floor) -> None:
    """A running campaign with two dialable leads and its one agent not logged in:
    nothing is dialled, and "why is nothing dialling" answers no-agents-ready."""
    group_id, _ = in_service_group(desk, "1001")
    kit = desk.kit
    campaign_id = kit.campaign(
        "回访", **(COMPLIANT | {"group_ids": [group_id], "windows": ALL_DAY})
    )
    kit.add_leads(campaign_id, {"phone": FOR_1002}, {"phone": FOR_1003})
    kit.approve(campaign_id)
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    desk.run(3.0)
    view: dict[str, Any] = desk.view(campaign_id)
    assert view["dialing"] is True and view["dials"] == 0
    assert view["reasons"]["dialable"] == 2
    assert view["not_dialled"]["no-agents-ready"] == 2, view

    log_in(desk, "1001")
    for phone in (FOR_1002, FOR_1003):
        desk.script(phone, TALK)
    desk.run(3.0)
    assert "no-agents-ready" not in desk.view(campaign_id)["not_dialled"]


def test_a_taken_lead_is_dialable_again_once_its_lock_expires(kit: Kit) -> None:
    """A dialer took the lead and died without giving it back: the lead stays locked for
    LOCK_SECONDS, then any dialer may take it again."""
    campaign_id = kit.running(leads=({"phone": FOR_1002},))
    leads = source(kit, campaign_id)
    (taken,) = run(kit, lambda: leads.next_leads(5, NOW))
    just_before = NOW + LOCK_SECONDS - 1
    assert run(kit, lambda: leads.next_leads(5, just_before)) == []
    at = WEDNESDAY_10 + dt.timedelta(seconds=LOCK_SECONDS - 1)
    assert why(kit, campaign_id, at)["reasons"] == {"locked": 1}

    after = NOW + LOCK_SECONDS + 1
    assert [lead.lead_id for lead in run(kit, lambda: leads.next_leads(5, after))] == [
        taken.lead_id
    ]
