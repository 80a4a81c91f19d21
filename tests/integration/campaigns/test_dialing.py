"""Campaigns dial in the running platform: start, results on the leads, pause, restart.

The platform runs its CTI engine on SimSwitch with a virtual clock that reads Unix
seconds (a weekday morning in Shanghai, inside the calling window); two bot agents of
the 客服 group take the campaign's calls; the customers' fates are scripted per number.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter import cli
from callcenter.app.bus import Event
from callcenter.app.campaigns import ApprovedVersion
from callcenter.app.cti.outbound import MachineAction
from callcenter.app.dialer import DialingMode, PreviewDesk
from callcenter.app.dialing import STATUS_EVENT, EpochClock, dialer_settings
from callcenter.bootstrap import Platform, bootstrap
from callcenter.cli import DEMO_CAMPAIGN, DEMO_LEADS, _demo_people
from callcenter.clock import VirtualClock
from callcenter.config import Settings, load_settings
from callcenter.domain.campaign import CampaignSettings
from callcenter.switch.sim.customers import Fate, Outcome
from callcenter.telephony import SERVICE_GROUP
from callcenter.web.app import create_app
from cctest import FAST_HASHER, Api, seed_admin, sim_settings
from integration.campaigns.campaign_kit import COMPLIANT, Kit

# Wednesday 25 November 2026, 10:00 in Shanghai
MORNING = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC).timestamp()
HUMAN = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=3.0, talk_time=20.0)
BUSY = Fate(Outcome.BUSY, fail_after=1.0)
NO_ANSWER = Fate(Outcome.NO_ANSWER, ring_after=1.0)


class Floor:
    """The platform on a virtual clock, and a kit to take campaigns through approval."""

    def __init__(self, api: Api, clock: VirtualClock) -> None:
        self.api = api
        self.kit = Kit(api)
        self.clock = clock
        self.events: list[Event] = []
        api.platform.bus.listen(self.events.append)

    @property
    def platform(self) -> Platform:
        return self.api.platform

    def run(self, seconds: float) -> None:
        """Move the virtual clock in half seconds, letting the database work finish."""
        portal = self.api.client.portal
        assert portal is not None
        portal.call(self._run, seconds)

    async def _run(self, seconds: float) -> None:
        dialing = self.platform.dialing
        assert dialing is not None
        end = self.clock.now() + seconds
        async with asyncio.timeout(30):
            while True:
                while dialing.busy:
                    await asyncio.sleep(0.001)
                await self.clock.settle()
                if dialing.busy:
                    continue
                if self.clock.now() >= end:
                    return
                await self.clock.advance_async(min(0.5, end - self.clock.now()))

    def script(self, number: str, *fates: Fate) -> None:
        telephony = self.platform.telephony
        assert telephony is not None and telephony.book is not None
        telephony.book.script(number, *fates)

    def campaign(self, leads: Mapping[str, tuple[Fate, ...]], **settings: Any) -> int:
        group = self.kit.ok("POST", "/groups", 201, json={"name": SERVICE_GROUP})
        all_day = [{"start": "00:00", "end": "23:59"}]
        campaign_id = self.kit.campaign(
            "回访", **(COMPLIANT | {"group_ids": [group["id"]], "windows": all_day} | settings)
        )
        for phone, fates in leads.items():
            self.script(phone, *fates)
        self.kit.add_leads(campaign_id, *({"phone": phone} for phone in leads))
        self.kit.approve(campaign_id)
        return campaign_id

    def view(self, campaign_id: int) -> dict[str, Any]:
        body: dict[str, Any] = self.kit.ok("GET", f"/campaigns/{campaign_id}/dialer")
        return body

    def leads(self, campaign_id: int) -> dict[str, dict[str, Any]]:
        page = self.kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"limit": "100"})
        return {lead["phone"]: lead for lead in page["items"]}


def open_floor(
    tmp_path: Path,
    database_url: str,
    *,
    start: float = MORNING,
    bots: int = 2,
    admin: bool = False,
    settings: Settings | None = None,
) -> Iterator[Floor]:
    """The platform on SimSwitch (``bots`` bot agents, or ``settings``) and a virtual
    clock from ``start``, with the administrator seeded if ``admin``, until the generator
    ends."""
    clock = VirtualClock(start)
    settings = settings or sim_settings(tmp_path, database_url, bots=bots)
    platform = bootstrap(settings, password_hasher=FAST_HASHER, clock=clock)
    with TestClient(create_app(platform), client=("127.0.0.1", 50000)) as client:
        if admin:
            assert client.portal is not None
            client.portal.call(seed_admin, platform)
        yield Floor(Api(client, platform), clock)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_floor(tmp_path, database_url, admin=True)


LEADS = {
    "+8613800000001": (HUMAN,),
    "+8613800000002": (BUSY, HUMAN),
    "+8613800000003": (NO_ANSWER,),
    "+8613800000004": (HUMAN,),
}


def test_a_started_campaign_dials_its_leads_and_their_results_come_back(floor: Floor) -> None:
    campaign_id = floor.campaign(LEADS, retry={"busy": {"delay": 20}})
    before = floor.view(campaign_id)
    assert before["dialing"] is False and before["reasons"]["leads"] == {"campaign-not-running": 4}
    assert before["given_up"] == 0

    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(30)

    view = floor.view(campaign_id)
    assert view["dialing"] is True and view["mode"] == "progressive", view
    assert view["dials"] == 4 and view["connects"] == 2, view
    assert view["abandoned"] == 0  # the campaign's agents answer on auto-answer headsets
    assert view["given_up"] == 0  # it did not choose to give up ringing calls
    assert {w["window"] for w in view["abandonment"]} == {
        "campaign",
        "rolling-30-days",
        "calendar-day",
    }
    assert all(w["limit"] == 0.03 and not w["over"] for w in view["abandonment"])
    leads = floor.leads(campaign_id)
    assert leads["+8613800000001"]["last_outcome"] == "answered"
    assert leads["+8613800000002"]["last_outcome"] == "busy"
    assert leads["+8613800000003"]["last_outcome"] == "no-answer"
    assert all(lead["attempts_lifetime"] == 1 for lead in leads.values())
    assert view["reasons"]["leads"].get("retry-delay", 0) >= 1  # the busy one waits

    floor.run(50)  # the busy lead's retry is due: the second attempt is answered
    leads = floor.leads(campaign_id)
    assert leads["+8613800000002"]["attempts_lifetime"] == 2
    assert leads["+8613800000002"]["last_outcome"] == "answered"
    assert floor.view(campaign_id)["connects"] == 3

    pushed = [e for e in floor.events if e.type == STATUS_EVENT]
    assert pushed and pushed[-1].permission == "campaign.view"
    assert pushed[-1].data["campaign_id"] == campaign_id


def test_pausing_stops_the_dialer_and_resuming_goes_on(floor: Floor) -> None:
    leads = {f"+86139000000{n:02d}": (BUSY, BUSY, BUSY) for n in range(4)}
    campaign_id = floor.campaign(leads, retry={"busy": {"delay": 5}})
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(5)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/pause")
    floor.run(1)
    paused = floor.view(campaign_id)
    assert paused["dialing"] is False and paused["state"] == "paused"
    floor.run(20)
    assert floor.view(campaign_id)["dials"] == paused["dials"]

    floor.kit.ok("POST", f"/campaigns/{campaign_id}/resume")
    floor.run(10)
    resumed = floor.view(campaign_id)
    assert resumed["dialing"] is True and resumed["dials"] > paused["dials"]


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_revision_approved_while_running_dials_on_with_the_same_ledger(floor: Floor) -> None:
    leads = {f"+86135000000{n:02d}": (BUSY, BUSY) for n in range(3)}
    campaign_id = floor.campaign(leads, retry={"busy": {"delay": 600}})
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(5)
    dialing = floor.platform.dialing
    assert dialing is not None
    first = dialing.dialer(campaign_id)
    assert first is not None and first.dials == 3
    settings = floor.kit.ok("GET", f"/campaigns/{campaign_id}")["settings"]
    changed = settings | {"ring_seconds": 20}
    floor.kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"settings": changed})
    floor.kit.approve(campaign_id)
    floor.run(1)
    second = dialing.dialer(campaign_id)
    assert second is not None and second is not first
    assert second.settings.ring_timeout == 20 and second.status().running
    assert second.ledger is first.ledger and floor.view(campaign_id)["dials"] == 3


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_running_campaign_without_agent_groups_says_why_it_does_not_dial(
    floor: Floor,
) -> None:
    campaign_id = floor.kit.campaign("无坐席组", **COMPLIANT)
    floor.kit.add_leads(campaign_id, {"phone": "+8613400000001"})
    floor.kit.approve(campaign_id)
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(2)
    view = floor.view(campaign_id)
    assert view["state"] == "running" and view["dialing"] is False
    assert view["not_dialled"] == {"no-agent-groups": view["reasons"]["dialable"]}


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_a_preview_campaign_offers_its_leads_to_ready_agents_before_dialling(
    floor: Floor,
) -> None:
    leads = {"+8613600000001": (HUMAN,), "+8613600000002": (HUMAN,)}
    campaign_id = floor.campaign(leads, dialing_mode="preview")
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(3)
    dialing = floor.platform.dialing
    assert dialing is not None
    dialer = dialing.dialer(campaign_id)
    assert dialer is not None and isinstance(dialer.preview, PreviewDesk)
    assert len(dialer.preview.offers()) == 2  # one lead shown to each ready bot
    assert floor.view(campaign_id)["dials"] == 0


def test_a_restarted_platform_resumes_its_running_campaigns(
    tmp_path: Path, database_url: str
) -> None:
    floors = open_floor(tmp_path, database_url, admin=True)
    floor = next(floors)
    campaign_id = floor.campaign({"+8613700000001": (NO_ANSWER,)})
    floor.kit.ok("POST", f"/campaigns/{campaign_id}/start")
    floor.run(2)
    next(floors, None)  # the platform stops

    restarted = open_floor(tmp_path, database_url)
    again = next(restarted)
    dialing = again.platform.dialing
    assert dialing is not None
    dialer = dialing.dialer(campaign_id)
    assert dialer is not None and dialer.status().running
    next(restarted, None)


def test_the_approved_version_maps_to_the_dialer_settings() -> None:
    settings = CampaignSettings.parse(
        COMPLIANT
        | {
            "dialing_mode": "power",
            "power_ratio": 2.5,
            "max_lines": 12,
            "ring_seconds": 20,
            "drop_timeout": 1.5,
            "amd_enabled": True,
            "amd_action": "leave_message",
            "abandon_target": 0.02,
        }
    )
    version = ApprovedVersion(7, 2, settings, (1,), "您好", running=True)
    mapped = dialer_settings(7, version, frozenset({"sales"}))
    assert mapped.campaign_id == "7" and mapped.mode is DialingMode.POWER
    assert mapped.lines_per_agent == 2.5 and mapped.max_lines == 12
    assert mapped.ring_timeout == 20 and mapped.amd
    assert mapped.caller_id == "+861058001234"
    assert mapped.setup.groups == {"sales"} and mapped.setup.drop_timeout == 1.5
    assert mapped.setup.machine_action is MachineAction.LEAVE_MESSAGE
    assert mapped.setup.safe_harbour_prompt == COMPLIANT["safe_harbour_text"]
    assert mapped.ledger.target == 0.02 and mapped.ledger.time_zone == "Asia/Shanghai"
    assert mapped.rules.running


def test_the_epoch_clock_reads_unix_seconds_over_another_clock() -> None:
    inner = VirtualClock(100.0)
    clock = EpochClock(inner, offset=1_000.0)
    fired: list[float] = []
    clock.call_at(1_105.0, lambda: fired.append(clock.now()))
    inner.advance(10)
    assert clock.now() == 1_110.0 and fired == [1_105.0]


def test_without_telephony_the_live_view_is_unavailable(api: Api) -> None:
    kit = Kit(api)
    campaign_id = kit.campaign()
    response = api.call("GET", f"/campaigns/{campaign_id}/dialer")
    assert response.status_code == 503 and response.json()["error"] == "telephony-off"


@pytest.mark.parametrize("backend", ["sqlite"])  # the store is not what this is about
def test_the_demo_offers_a_sample_campaign_awaiting_approval(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "bootstrap", lambda s: bootstrap(s, password_hasher=FAST_HASHER))
    settings = load_settings(
        environ={}, overrides={"data_dir": str(tmp_path), "database": {"url": database_url}}
    )

    async def demo_twice() -> tuple[list[Any], int]:
        await _demo_people(settings, [])
        await _demo_people(settings, [])  # a second start adds nothing
        platform = bootstrap(settings, password_hasher=FAST_HASHER)
        try:
            async with platform.uow() as uow:
                campaigns = await platform.outbound.campaigns.list_campaigns(uow)
                leads = await platform.outbound.leads.search(
                    uow, campaigns[0].id, status=None, phone=None, list_id=None, limit=1, offset=0
                )
            return campaigns, leads.total
        finally:
            await platform.close()

    campaigns, leads = asyncio.run(demo_twice())
    assert [c.name for c in campaigns] == [DEMO_CAMPAIGN]
    assert campaigns[0].state == "submitted"  # the operator approves and starts it
    assert leads == DEMO_LEADS
