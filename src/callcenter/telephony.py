"""The telephony runtime: the CTI engine on the configured switch, with its CDR sink.

Theory of operation: :func:`build_telephony` reads ``settings.telephony`` and returns
``None`` when the platform runs without telephony (administration only), or a
:class:`Telephony` that is started with the platform: it closes the calls a crash left
open in the call records, starts the engine on the switch, and, on the simulated
network, registers the bot agents' phones, logs them in and starts the callers. The
queues and routes are the site's (for now one inbound queue, 客服, fed by one DID);
an agent's routing profile comes from the agent groups they belong to. With
``sip.media_engine`` the SIP switch's calls go through media engine processes started
here (``media`` section) and stopped after the switch.

The configured trunks (``sip.trunks``, or ``sim.trunks`` on the simulated network)
with their costs, the carriers, regions and prefixes they serve and their channel and
CPS limits make one :class:`~callcenter.domain.trunk_routing.TrunkRouter`
(:meth:`Telephony.trunk_router`), shared by every campaign's dialer so the limits hold
across campaigns; with no trunks configured calls are not routed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.app.bus import EventBus
from callcenter.app.cti import AgentProfile, CtiEngine
from callcenter.app.cti.desk import desk_hints
from callcenter.app.cti.outbound import CampaignEngine
from callcenter.app.dialing import EpochClock
from callcenter.clock import Clock
from callcenter.config import MediaSettings, TelephonySettings, TrunkRouteSettings
from callcenter.domain.queue import QueueConfig
from callcenter.domain.trunk_routing import Trunk, TrunkRouter
from callcenter.errors import TelephonyOff
from callcenter.media.client import EnginePool, start_media
from callcenter.store.cdr import SqlCdrSink, wall_clock_for
from callcenter.switch.sim.agents import AUTO_ANSWER, AgentPhones, BotProfile
from callcenter.switch.sim.customers import CustomerBook, InboundCalls, Uniform
from callcenter.switch.sim.network import SimSwitch
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.configured import sip_switch_from

log = logging.getLogger(__name__)

SERVICE_GROUP = "service"
SERVICE_QUEUE = "service"


def routed_trunk(settings: TrunkRouteSettings) -> Trunk:
    """A configured trunk as least-cost routing sees it (0 limits: none)."""
    return Trunk(
        settings.name,
        settings.cost,
        prefixes=frozenset(settings.prefixes),
        carriers=frozenset(settings.carriers),
        regions=frozenset(settings.regions),
        max_channels=settings.max_channels or None,
        max_cps=settings.max_cps or None,
        cps_burst=max(1.0, settings.max_cps),
        setup_timeout=settings.setup_timeout_seconds,
    )


def bot_numbers(settings: TelephonySettings) -> list[str]:
    """The agent numbers of the simulated network's bot agents."""
    sim = settings.sim
    return [str(sim.first_agent_no + n) for n in range(sim.bot_agents)]


@dataclass(eq=False)
class Telephony:
    settings: TelephonySettings
    bus: EventBus
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock | None = None  # None: the real clock, chosen at start
    profiles: dict[str, AgentProfile] = field(default_factory=dict)
    switch: SimSwitch | None = None
    book: CustomerBook | None = None
    _engine: CtiEngine | None = None
    _cdr: SqlCdrSink | None = None
    _inbound: InboundCalls | None = None
    phones: AgentPhones | None = None
    sip_switch: SipSwitch | None = None
    media: MediaSettings | None = None  # the media engines' settings (sip.media_engine)
    recordings_dir: Path = Path("recordings")
    media_pool: EnginePool | None = None
    _router: TrunkRouter | None = None

    def trunk_router(self) -> TrunkRouter | None:
        """The platform's least-cost router over its configured trunks (None: none)."""
        configured: tuple[TrunkRouteSettings, ...] = ()
        if self.settings.switch == "sip":
            configured = self.settings.sip.trunks
        if self.settings.switch == "sim":
            configured = self.settings.sim.trunks
        if not configured:
            return None
        if self._router is None:
            self._router = TrunkRouter([routed_trunk(t) for t in configured])
        return self._router

    @property
    def engine(self) -> CtiEngine:
        if self._engine is None:
            raise TelephonyOff()
        return self._engine

    @property
    def bot_agents(self) -> list[str]:
        return bot_numbers(self.settings)

    def queues(self) -> list[QueueConfig]:
        return [
            QueueConfig(
                queue_id=SERVICE_QUEUE,
                groups=frozenset({SERVICE_GROUP}),
                ring_timeout=self.settings.ring_timeout_seconds,
            )
        ]

    def set_profile(self, agent_no: str, groups: Iterable[str]) -> None:
        """The agent's routing profile from the groups they belong to (at log-in)."""
        self.profiles[agent_no] = AgentProfile.in_groups(
            *sorted(set(groups)), wrap_up_seconds=self.settings.wrap_up_seconds
        )

    async def start(self) -> None:
        clock = self.clock = self.clock or EpochClock()
        cdr = SqlCdrSink(self.sessions, wall_clock_for(clock))
        closed = await cdr.reconcile(dt.datetime.now(dt.UTC))
        if closed:
            log.warning("closed %d calls left open by the last run", closed)
        if self.settings.switch == "sip":
            await self._start_sip(clock, cdr)
            return
        sim = self.settings.sim
        phones = AgentPhones(sim.seed, default=BotProfile(answer_delay=Uniform(1.0, 3.0)))
        book = CustomerBook(sim.seed)
        switch = SimSwitch(clock, [phones, book])
        engine = CampaignEngine(
            switch,
            clock,
            self.bus,
            rng=random.Random(sim.seed),
            queues=self.queues(),
            routes={sim.did: SERVICE_QUEUE},
            profiles=self.profiles,
            cdr=cdr,
            announce_every=self.settings.announce_every_seconds or None,
            outbound_caller_id=self.settings.caller_id,
            phones=phones,
        )
        await engine.start()
        self.bus.listen(desk_hints(self.bus))
        self._engine, self._cdr, self.phones = engine, cdr, phones
        self.switch, self.book = switch, book
        for agent_no in self.bot_agents:
            phones.register(agent_no)
            self.set_profile(agent_no, [SERVICE_GROUP])
            await engine.log_in(f"boot-login-{agent_no}", agent_no, phones.dest(agent_no))
            await engine.ready(f"boot-ready-{agent_no}", agent_no)
        if sim.calls_per_hour > 0:
            self._inbound = InboundCalls(book, sim.did, sim.calls_per_hour)
            self._inbound.start(switch, clock)
        log.info(
            "simulated network: %d bot agents, %g calls/hour to %s",
            sim.bot_agents,
            sim.calls_per_hour,
            sim.did,
        )

    def headsets(self, agent_nos: Iterable[str]) -> None:
        """Campaign agents answer at once, as on auto-answer headsets: the simulated
        network's bots among them pick up in a fraction of a second from now on."""
        if self.phones is None:
            return
        bots = set(self.bot_agents)
        for agent_no in agent_nos:
            if agent_no in bots:
                self.phones.register(agent_no, AUTO_ANSWER)

    def virtual_phone(self, owner: str, *, auto_answer: bool = False) -> str:
        """A browser user's phone on the simulated network (see ``AgentPhones.virtual``)."""
        if self.phones is None:
            raise TelephonyOff()
        return self.phones.virtual(owner, auto_answer=auto_answer)

    async def _start_sip(self, clock: Clock, cdr: SqlCdrSink) -> None:
        """The engine on the SIP switch: carriers call the DIDs, agents log in with
        their phones' extensions (registered at the switch) through the API."""
        sip = self.settings.sip
        media = self.media or MediaSettings()
        if sip.media_engine:
            self.media_pool = await start_media(media)
        switch = self.sip_switch = sip_switch_from(
            sip, media=self.media_pool, media_settings=media, recordings_dir=self.recordings_dir
        )
        address = await switch.start()
        engine = CampaignEngine(
            switch,
            clock,
            self.bus,
            rng=random.Random(),
            queues=self.queues(),
            routes={did: SERVICE_QUEUE for did in sip.dids},
            profiles=self.profiles,
            cdr=cdr,
            announce_every=self.settings.announce_every_seconds or None,
            outbound_caller_id=self.settings.caller_id,
        )
        await engine.start()
        self._engine, self._cdr = engine, cdr
        log.info(
            "SIP switch on %s:%d: %d trunks, DIDs %s, %d phones, media %s",
            *address,
            len(sip.trunks),
            ",".join(sip.dids) or "none",
            len(sip.phones),
            f"on {media.engines} engines" if self.media_pool is not None else "relayed",
        )

    async def drain(self) -> None:
        """Wait until every call record so far is in the database."""
        if self._cdr is not None:
            await self._cdr.drain()

    async def stop(self) -> None:
        if self._inbound is not None:
            self._inbound.stop()
        if self._engine is not None:
            await self._engine.stop()
        if self.sip_switch is not None:
            await self.sip_switch.aclose()
            self.sip_switch = None
        if self.media_pool is not None:
            await self.media_pool.close()
            self.media_pool = None
        if self._cdr is not None:
            await asyncio.wait_for(self._cdr.drain(), timeout=10)
        self._engine = None


def build_telephony(
    settings: TelephonySettings,
    bus: EventBus,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    *,
    media: MediaSettings | None = None,
    recordings_dir: Path | None = None,
) -> Telephony | None:
    """The runtime the settings ask for; ``media`` and ``recordings_dir`` (the
    platform's ``media`` section and recordings path) serve ``sip.media_engine``."""
    if settings.switch == "none":
        return None
    return Telephony(
        settings,
        bus,
        sessions,
        clock,
        media=media,
        recordings_dir=recordings_dir or Path("recordings"),
    )
