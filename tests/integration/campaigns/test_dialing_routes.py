"""The platform's campaign dialers route their calls and present their caller IDs.

The platform runs on SimSwitch with a virtual clock (a weekday morning in Shanghai)
and two carrier trunks in its settings: ``mobile``, cheap, for China Mobile numbers
alone and one call at a time, and ``national``, dearer, for any number. What the
switch is asked to originate is recorded (destination, caller ID, trunk); the
customers' fates are scripted per number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callcenter.config import load_settings
from callcenter.switch.sim.customers import Fate, Outcome
from callcenter.telephony import SERVICE_GROUP
from integration.campaigns.campaign_kit import COMPLIANT
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_dialing import open_floor as open_sim_floor

TRUNKS = (
    {"name": "mobile", "cost": 0.02, "carriers": ["China Mobile"], "max_channels": 1},
    {"name": "national", "cost": 0.05, "setup_timeout_seconds": 4},
)
MOBILE_1, MOBILE_2 = "+8613800000001", "+8613800000002"
UNICOM = "+8613000000003"
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=10.0)
REFUSED = Fate(Outcome.CONGESTION, fail_after=0.5)  # the carrier answers 503
SILENT = Fate(Outcome.NO_ANSWER, ring_after=60.0)  # no sign of life from the trunk
ALL_DAY = [{"start": "00:00", "end": "23:59"}]
POOL = ["+861058001001", "+861058001002"]
AGENT = "1001"


@dataclass(frozen=True)
class Originated:
    dest: str
    caller_id: str
    trunk: str | None


def open_floor(tmp_path: Path, database_url: str, *, bots: int) -> Iterator[Floor]:
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp_path),
            "database": {"url": database_url},
            "telephony": {
                "switch": "sim",
                "sim": {"bot_agents": bots, "calls_per_hour": 0, "trunks": list(TRUNKS)},
            },
        },
    )
    yield from open_sim_floor(tmp_path, database_url, admin=True, settings=settings)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, bots=2)


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    """No bot agents: 1001 logs in from a browser's virtual phone that answers itself."""
    yield from open_floor(tmp_path, database_url, bots=0)


def originations(floor: Floor) -> list[Originated]:
    """Everything the switch is asked to originate from now on, in order."""
    telephony = floor.platform.telephony
    assert telephony is not None and telephony.switch is not None
    switch = telephony.switch
    seen: list[Originated] = []
    real = switch.originate

    async def originate(leg: Any, dest: str, *, caller_id: str, **kwargs: Any) -> None:
        seen.append(Originated(dest, caller_id, kwargs.get("trunk")))
        await real(leg, dest, caller_id=caller_id, **kwargs)

    switch.originate = originate  # type: ignore[method-assign]
    return seen


def campaign(floor: Floor, leads: dict[str, tuple[str, tuple[Fate, ...]]], **settings: Any) -> int:
    """An approved campaign of the service group over ``leads``: phone -> carrier, fates."""
    kit = floor.kit
    group = kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    campaign_id = kit.campaign(
        "回访", **(COMPLIANT | {"group_ids": [group["id"]], "windows": ALL_DAY} | settings)
    )
    for phone, (_, fates) in leads.items():
        floor.script(phone, *fates)
    kit.add_leads(
        campaign_id,
        *({"phone": phone, "carrier": carrier} for phone, (carrier, _) in leads.items()),
    )
    kit.approve(campaign_id)
    return campaign_id


def to_leads(seen: list[Originated], *phones: str) -> list[tuple[str, str | None]]:
    return [(o.dest, o.trunk) for o in seen if o.dest in phones]


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_each_call_takes_the_cheapest_trunk_that_serves_its_carrier_and_has_a_channel(
    floor: Floor,
) -> None:
    """Two China Mobile numbers and a China Unicom one, dialled at once by two agents'
    worth of lines: the first mobile number takes the cheap mobile trunk, whose one
    channel is then busy, so the second goes national like the Unicom number."""
    campaign_id = campaign(
        floor,
        {MOBILE_1: ("China Mobile", (TALK,)), MOBILE_2: ("China Mobile", (TALK,))},
        dialing_mode="power",
        power_ratio=1.5,
    )
    seen = originations(floor)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(2.0)
    assert sorted(to_leads(seen, MOBILE_1, MOBILE_2)) == [
        (MOBILE_1, "mobile"),
        (MOBILE_2, "national"),
    ]
    floor.run(20.0)
    leads = floor.leads(campaign_id)
    assert {phone: lead["last_outcome"] for phone, lead in leads.items()} == {
        MOBILE_1: "answered",
        MOBILE_2: "answered",
    }
    router = floor.platform.telephony.trunk_router()  # type: ignore[union-attr]
    assert router is not None and router.in_use("mobile") == router.in_use("national") == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_number_no_cheap_trunk_serves_goes_out_on_the_one_that_does(floor: Floor) -> None:
    campaign_id = campaign(floor, {UNICOM: ("China Unicom", (TALK,))})
    seen = originations(floor)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(15.0)
    assert to_leads(seen, UNICOM) == [(UNICOM, "national")]
    assert floor.leads(campaign_id)[UNICOM]["last_outcome"] == "answered"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_503_or_a_silent_trunk_fails_over_to_the_next_in_one_attempt(floor: Floor) -> None:
    """The mobile trunk refuses the first number (503) and never answers for the second
    (its 5 s setup time runs out): each goes out again on the national trunk, is
    answered, and counts one attempt."""
    campaign_id = campaign(
        floor,
        {MOBILE_1: ("China Mobile", (REFUSED, TALK)), MOBILE_2: ("China Mobile", (SILENT, TALK))},
        max_lines=1,  # one call at a time, so each of them finds the mobile trunk free
    )
    seen = originations(floor)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(60.0)
    tried = to_leads(seen, MOBILE_1, MOBILE_2)
    assert tried.count((MOBILE_1, "mobile")) == tried.count((MOBILE_1, "national")) == 1, tried
    assert tried.count((MOBILE_2, "mobile")) == tried.count((MOBILE_2, "national")) == 1, tried
    leads = floor.leads(campaign_id)
    for phone in (MOBILE_1, MOBILE_2):
        assert leads[phone]["last_outcome"] == "answered"
        assert leads[phone]["attempts_lifetime"] == 1
    view = floor.view(campaign_id)
    assert view["connects"] == 2 and view["dials"] == 4, view  # four calls, two attempts


def log_in(floor: Floor, agent_no: str, *, ready: bool = True) -> None:
    kit = floor.kit
    phone = kit.ok("POST", "/desk/virtual-phone", json={"auto_answer": True}, as_=agent_no)
    kit.ok("POST", "/desk/login", 204, json={"phone": phone["phone"]}, as_=agent_no)
    if ready:
        kit.ok("POST", "/desk/ready", 204, as_=agent_no)


def in_service_group(floor: Floor, *agent_nos: str) -> tuple[int, list[int]]:
    """The service group (created here) and the ids of its people with these numbers."""
    kit = floor.kit
    group = kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
    ids = []
    for agent_no in agent_nos:
        agent_id = floor.api.person(agent_no, "agent")
        kit.ok("POST", f"/groups/{group['id']}/members", 201, json={"agent_id": agent_id})
        ids.append(agent_id)
    return group["id"], ids


@pytest.mark.parametrize("backend", ["sqlite"])
def test_preview_calls_present_the_pools_caller_ids_and_stop_at_the_daily_cap(desk: Floor) -> None:
    """A preview campaign with two caller IDs of one call a day each: the agent's two
    calls present one number each on the trunk routing picks; then the pool is spent,
    nothing more is offered, and the view says why."""
    group_id, _ = in_service_group(desk, AGENT)
    kit = desk.kit
    leads = {MOBILE_1: "China Mobile", UNICOM: "China Unicom", MOBILE_2: "China Mobile"}
    campaign_id = kit.campaign(
        "车险续保回访",
        **(
            COMPLIANT
            | {
                "group_ids": [group_id],
                "windows": ALL_DAY,
                "dialing_mode": "preview",
                "caller_ids": POOL,
                "caller_id_daily_cap": 1,
            }
        ),
    )
    for phone in leads:
        desk.script(phone, Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=3.0))
    kit.add_leads(campaign_id, *({"phone": p, "carrier": c} for p, c in leads.items()))
    kit.approve(campaign_id)
    log_in(desk, AGENT)
    seen = originations(desk)
    kit.ok("POST", f"/campaigns/{campaign_id}/start")
    called = []
    for _ in range(2):
        offered = next_offer(desk, within=30)
        assert offered is not None
        called.append(offered["lead"]["phone"])
        kit.ok("POST", "/desk/preview/accept", as_=AGENT)
        desk.run(16.0)  # 3 s of talk and the 10 s wrap-up: ready again
    customers = [o for o in seen if o.dest in leads]
    assert [o.dest for o in customers] == called
    assert sorted(o.caller_id for o in customers) == POOL  # one call each, not the engine's
    assert [o.trunk for o in customers] == [
        "mobile" if leads[phone] == "China Mobile" else "national" for phone in called
    ]

    assert next_offer(desk, within=5) is None  # both numbers are spent for today
    view = desk.view(campaign_id)
    assert view["caller_ids"]["today"] == {POOL[0]: 1, POOL[1]: 1}
    assert view["caller_ids"]["spent"] is True
    assert view["not_dialled"]["caller-id-cap"] >= 1
    assert view["dials"] == 2


def next_offer(floor: Floor, within: float) -> dict[str, Any] | None:
    """Move the clock a second at a time until the agent has a lead on preview."""
    for _ in range(int(within)):
        floor.run(1.0)
        shown: dict[str, Any] | None = floor.kit.ok("GET", "/desk/preview", as_=AGENT)
        if shown is not None:
            return shown
    return None
