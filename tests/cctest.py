"""Helpers shared by the tests (importable as `cctest`; pytest puts tests/ on the path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from callcenter.app.audit import SYSTEM
from callcenter.bench.harness import ServerProcess
from callcenter.bootstrap import Platform, bootstrap
from callcenter.config import Settings, load_settings

# argon2 at its cheapest: the tests log in hundreds of times.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_NO = "admin"
ADMIN_PASSWORD = "admin-password"
PASSWORD = "password-123"


@dataclass
class Api:
    """A test client with helpers to act as different people."""

    client: TestClient
    platform: Platform
    _tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, agent_no: str = ADMIN_NO, password: str = PASSWORD) -> dict[str, str]:
        if agent_no not in self._tokens:
            secret = ADMIN_PASSWORD if agent_no == ADMIN_NO else password
            response = self.client.post(
                "/api/v1/auth/token", json={"agent_no": agent_no, "password": secret}
            )
            assert response.status_code == 200, response.text
            self._tokens[agent_no] = {"Authorization": f"Bearer {response.json()['token']}"}
        return self._tokens[agent_no]

    def forget(self, agent_no: str) -> None:
        self._tokens.pop(agent_no, None)

    def person(self, agent_no: str, *roles: str, name: str = "") -> int:
        """Create a person with the given roles (as admin); return their id."""
        response = self.client.post(
            "/api/v1/agents",
            json={
                "agent_no": agent_no,
                "name": name or f"Agent {agent_no}",
                "password": PASSWORD,
                "roles": list(roles),
            },
            headers=self.headers(),
        )
        assert response.status_code == 201, response.text
        agent_id: int = response.json()["id"]
        return agent_id

    def call(
        self, method: str, path: str, *, as_: str = ADMIN_NO, **kwargs: Any
    ) -> httpx2.Response:
        headers = {**self.headers(as_), **kwargs.pop("headers", {})}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def audit(self, **query: str) -> list[dict[str, Any]]:
        response = self.call("GET", "/audit", params={"limit": "500", **query})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


async def seed_admin(platform: Platform) -> None:
    async with platform.uow() as uow:
        await platform.agents.create_agent(
            uow, SYSTEM, None, agent_no=ADMIN_NO, name="管理员", password=ADMIN_PASSWORD,
            roles=["admin"],
        )  # fmt: skip


def make_platform(settings: Settings) -> Platform:
    return bootstrap(settings, password_hasher=FAST_HASHER)


def start_server(
    data_dir: Path, database_url: str, extra_env: dict[str, str] | None = None
) -> ServerProcess:
    """Migrate, create the admin, and serve in a separate process; the caller stops it."""
    return ServerProcess.start(data_dir, database_url, ADMIN_NO, ADMIN_PASSWORD, extra_env)


def sim_settings(tmp: Path, database_url: str, bots: int = 2) -> Settings:
    """The platform on the simulated network, without random callers."""
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp),
            "database": {"url": database_url},
            "telephony": {"switch": "sim", "sim": {"bot_agents": bots, "calls_per_hour": 0}},
        },
    )


# --- the dialer on SimSwitch (issue 6) -----------------------------------------------


@dataclass
class DialerFloor:
    """A campaign engine, bot agents and scripted customers on a virtual clock."""

    clock: Any
    switch: Any
    phones: Any
    book: Any
    engine: Any
    dialer: Any
    leads: Any
    ended: list[Any] = field(default_factory=list)

    @classmethod
    async def open(
        cls,
        mode: Any,
        *,
        agents: tuple[str, ...] = ("1001",),
        numbers: tuple[str, ...] = (),
        answer_delay: float = 0.0,
        wrap_up: float = 5.0,
        start: float = 1_777_856_400.0,  # 2026-05-04 09:00 Asia/Shanghai
        **settings: Any,
    ) -> DialerFloor:
        import random

        from callcenter.app.bus import EventBus
        from callcenter.app.cti.model import AgentProfile
        from callcenter.app.cti.outbound import CampaignEngine, CampaignSetup
        from callcenter.app.dialer import CampaignDialer, DialerSettings, MemoryLeads
        from callcenter.clock import VirtualClock
        from callcenter.domain.dialing_policy import Lead
        from callcenter.switch.sim.agents import AgentPhones, BotProfile
        from callcenter.switch.sim.customers import CustomerBook, Fixed
        from callcenter.switch.sim.network import SimSwitch

        clock = VirtualClock(start)
        phones = AgentPhones(1, default=BotProfile(answer_delay=Fixed(answer_delay)))
        book = CustomerBook(1)
        switch = SimSwitch(clock, [phones, book])
        profiles = {a: AgentProfile.in_groups("out", wrap_up_seconds=wrap_up) for a in agents}
        engine = CampaignEngine(
            switch,
            clock,
            EventBus(max_queue=1000),
            rng=random.Random(1),
            queues=[],
            routes={},
            profiles=profiles,
        )
        setup = settings.pop(
            "setup", CampaignSetup("c1", frozenset({"out"}), safe_harbour_prompt="safe-harbour")
        )
        pacer = settings.pop("pacer", None)
        trunks = settings.pop("trunks", None)
        leads = MemoryLeads(
            Lead(f"L{i}", number, "Asia/Shanghai") for i, number in enumerate(numbers)
        )
        dialer = CampaignDialer(
            engine,
            clock,
            DialerSettings(setup, mode, caller_id="+862000000000", **settings),
            leads,
            pacer=pacer,
            trunks=trunks,
        )
        floor = cls(clock, switch, phones, book, engine, dialer, leads)
        dialer.on_end.append(floor.ended.append)
        await engine.start()
        for agent_no in agents:
            phones.register(agent_no)
            await engine.log_in(f"in-{agent_no}", agent_no, phones.dest(agent_no))
            await engine.ready(f"ready-{agent_no}", agent_no)
        await dialer.open()
        return floor

    async def run(self, seconds: float) -> None:
        await self.clock.advance_async(seconds)

    async def close(self) -> None:
        await self.dialer.stop()
        await self.engine.stop()

    def outcomes(self) -> dict[str, str]:
        """lead id -> outcome of its last ended call."""
        return {e.lead_id: e.outcome.value for e in self.ended}


def campaign_lead_numbers(campaign: str, count: int = 6) -> tuple[str, ...]:
    """Numbers of a campaign's leads, apart from every other campaign's (ids ending in
    digits: "c1", "12")."""
    digits = int("".join(ch for ch in campaign if ch.isdigit()) or "0")
    return tuple(f"+86137{digits % 100:02d}{digits // 100 % 100:02d}{i:04d}" for i in range(count))


@dataclass
class CampaignsFloor:
    """Campaigns dialling on one engine of a :class:`DialerFloor`, sharing one count of
    every caller ID's calls per local day over ``records`` (issue 6: shared caps)."""

    base: DialerFloor
    records: Any
    shared: Any  # CallerIdDays
    dialers: dict[str, Any] = field(default_factory=dict)
    dialled: list[tuple[str, str]] = field(default_factory=list)  # (number, caller ID presented)

    @classmethod
    async def open(
        cls, records: Any, *, start: float = 1_777_856_400.0, agents: tuple[str, ...] = ("1001",)
    ) -> CampaignsFloor:
        from callcenter.app.cti.outbound import CampaignSetup
        from callcenter.app.dialer import DialingMode
        from callcenter.app.dialer.caller_id_days import CallerIdDays

        idle = CampaignSetup("0", frozenset({"out"}), safe_harbour_prompt="")  # dials nothing
        base = await DialerFloor.open(DialingMode.MANUAL, start=start, setup=idle, agents=agents)
        floor = cls(base, records, CallerIdDays(records))
        originate = base.switch.originate

        async def spy(leg: Any, dest: str, *, caller_id: str, **kwargs: Any) -> None:
            floor.dialled.append((dest, caller_id))  # what the switch is asked to present
            await originate(leg, dest, caller_id=caller_id, **kwargs)

        base.switch.originate = spy
        return floor

    async def campaign(
        self, campaign: str, pool: tuple[str, ...], cap: int, **settings: Any
    ) -> Any:
        """A running campaign's opened dialer (power mode, 6 lines per agent, Shanghai's
        calendar unless told), with six leads that do not answer."""
        from callcenter.app.cti.outbound import CampaignSetup
        from callcenter.app.dialer import CampaignDialer, DialerSettings, DialingMode, MemoryLeads
        from callcenter.domain.compliance import LedgerConfig
        from callcenter.domain.dialing_policy import Lead
        from callcenter.switch.sim.customers import Fate, Outcome

        numbers = campaign_lead_numbers(campaign)
        for number in numbers:
            self.base.book.script(number, Fate(Outcome.NO_ANSWER, ring_after=1.0))
        settings.setdefault("mode", DialingMode.POWER)
        settings.setdefault("lines_per_agent", 6.0)
        settings.setdefault("ledger", LedgerConfig(time_zone="Asia/Shanghai"))
        setup = CampaignSetup(campaign, frozenset({"out"}), safe_harbour_prompt="safe-harbour")
        dialer = CampaignDialer(
            self.base.engine,
            self.base.clock,
            DialerSettings(
                setup, caller_id="", caller_ids=pool, caller_id_daily_cap=cap, **settings
            ),
            MemoryLeads(Lead(f"{campaign}-{i}", n, "Asia/Shanghai") for i, n in enumerate(numbers)),
            records=self.records,
            caller_id_days=self.shared,
        )
        await dialer.open()
        self.dialers[campaign] = dialer
        return dialer

    def presented(self, campaign: str) -> dict[str, int]:
        """caller ID -> the campaign's leads dialled presenting it (the dialer's calls,
        and those placed for an agent once the agent answered)."""
        mine = set(campaign_lead_numbers(campaign))
        counts: dict[str, int] = {}
        for number, caller_id in self.dialled:
            if number in mine:
                counts[caller_id] = counts.get(caller_id, 0) + 1
        return counts

    async def close(self) -> None:
        """Stop every campaign (each writes what it counted), then the engine."""
        for dialer in self.dialers.values():
            await dialer.stop()
        await self.base.close()


# --- browser screenshots (issue 7) ---------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCREENSHOT_MIN_BYTES = 10_000  # a blank 1366-pixel-wide page is a few KB; every screen is more


def assert_screenshots(screens: Path, names: list[str], *, since: float) -> None:
    """Each screenshot a browser script promises (``<name>.png`` in ``screens``) was written
    by this run (not left from an earlier one, ``since``: the run's start, time.time()) and
    is a PNG with something on it."""
    wrong: dict[str, str] = {}
    for name in names:
        path = screens / f"{name}.png"
        if not path.is_file():
            wrong[name] = "missing"
            continue
        stat = path.stat()
        with path.open("rb") as file:
            head = file.read(len(PNG_SIGNATURE))
        if head != PNG_SIGNATURE:
            wrong[name] = "not a PNG"
        elif stat.st_size < SCREENSHOT_MIN_BYTES:
            wrong[name] = f"{stat.st_size} bytes"
        elif stat.st_mtime < since - 1.0:  # file times may be coarser than time.time()
            wrong[name] = "left from an earlier run"
    assert not wrong, wrong


@dataclass(frozen=True)
class BrowserRun:
    """One run of a browser script (``web/e2e/*.mjs``) against a platform."""

    result: subprocess.CompletedProcess[str]
    started: float  # time.time() when the script started

    def check(self, server_output: str, screens: Path, shots: list[str]) -> None:
        """The script passed, the server logged no traceback, every screenshot was taken."""
        result = self.result
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "Traceback" not in server_output, server_output[-4000:]
        assert_screenshots(screens, shots, since=self.started)


def browser_node() -> str:
    """Node.js for a browser script, once the UI it drives is built (both `make test` sets up)."""
    from callcenter.web.app import UI_DIST

    assert (UI_DIST / "index.html").is_file(), "the UI is not built: run `make ui`"
    node = shutil.which("node")
    assert node is not None, "Node.js is missing: `make test` installs it"
    return node


def run_browser_script(
    node: str, script: Path, url: str, screens: Path, *, timeout: float, **env: str
) -> BrowserRun:
    """Run ``script`` with node from the web project, told the platform's URL, where to
    put its screenshots and ``env`` (CC_* variables)."""
    environ = {**os.environ, "CC_URL": url, "CC_SCREENS_DIR": str(screens), **env}
    started = time.time()
    result = subprocess.run(
        [node, str(script)],
        cwd=script.parents[1],  # web/, where node_modules is
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return BrowserRun(result, started)
