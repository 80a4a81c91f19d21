"""A call center on the simulated network: the CTI engine wired to a SimSwitch.

:class:`SimCenter` builds the engine with the simulated switch, bot agents' phones,
virtual customers, an event bus (with every event kept in ``events``) and an in-memory
CDR sink, all on a ``VirtualClock``: tests and benchmarks drive time with
:meth:`SimCenter.run`, so hours of traffic run through the production code in seconds.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from callcenter.app.bus import Event, EventBus
from callcenter.app.cti.cdr import MemoryCdr
from callcenter.app.cti.core import Planner
from callcenter.app.cti.engine import CtiEngine
from callcenter.app.cti.model import AgentProfile, CustomerInfo
from callcenter.clock import VirtualClock
from callcenter.domain.acd import plan_assignments
from callcenter.domain.queue import QueueConfig
from callcenter.switch.ports import LegId
from callcenter.switch.sim.agents import AgentPhones, BotPhone, BotProfile
from callcenter.switch.sim.customers import (
    Customer,
    CustomerBook,
    CustomerProfile,
    Fate,
    Fixed,
    Outcome,
)
from callcenter.switch.sim.network import Line, Remote, SimSwitch

QUICK_BOT = BotProfile(answer_delay=Fixed(2.0))
"""A bot agent who answers after 2 s and leaves the hanging up to others."""


def caller(talk_time: float = 60.0, patience: float = math.inf) -> Fate:
    """An inbound caller who talks ``talk_time`` once connected and waits ``patience``."""
    return Fate(Outcome.HUMAN, talk_time=talk_time, patience=patience)


@dataclass
class SimCenter:
    clock: VirtualClock
    switch: SimSwitch
    phones: AgentPhones
    book: CustomerBook
    bus: EventBus
    cdr: MemoryCdr
    engine: CtiEngine
    events: list[Event] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def build(
        cls,
        queues: Sequence[QueueConfig],
        routes: Mapping[str, str],
        profiles: Mapping[str, AgentProfile],
        *,
        seed: int = 0,
        customers: Callable[[str], CustomerInfo | None] | None = None,
        customer_profile: CustomerProfile | None = None,
        announce_every: float | None = None,
        planner: Planner = plan_assignments,
    ) -> SimCenter:
        clock = VirtualClock()
        phones = AgentPhones(seed, default=QUICK_BOT)
        book = CustomerBook(seed, default=customer_profile)
        switch = SimSwitch(clock, [phones, book])
        bus = EventBus(max_queue=100_000)
        cdr = MemoryCdr()
        engine = CtiEngine(
            switch,
            clock,
            bus,
            rng=random.Random(seed),
            queues=queues,
            routes=routes,
            profiles=profiles,
            cdr=cdr,
            customers=customers,
            announce_every=announce_every,
            planner=planner,
        )
        center = cls(clock, switch, phones, book, bus, cdr, engine)
        bus.listen(center.events.append)
        return center

    def next_id(self) -> str:
        """A fresh command id."""
        return f"cmd-{next(self._ids)}"

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run(self, seconds: float = 0.0) -> None:
        """Let ``seconds`` of virtual time pass, tasks running between timers."""
        await self.clock.advance_async(seconds)

    async def log_in(
        self, agent_no: str, *, ready: bool = True, bot: BotProfile | None = None
    ) -> BotPhone:
        """Register a bot phone ``agent:NNNN``, log the agent in on it, make it ready."""
        phone = self.phones.register(agent_no, bot)
        await self.engine.log_in(self.next_id(), agent_no, self.phones.dest(agent_no))
        if ready:
            await self.engine.ready(self.next_id(), agent_no)
        return phone

    def call_in(self, number: str, did: str, fate: Fate | None = None) -> LegId:
        """A customer calls ``did`` from ``number``; returns the switch's leg id."""
        chosen = fate if fate is not None else caller()
        profile = self.book.profile_for(number)
        clock = self.clock

        def make_remote(line: Line) -> Remote:
            return Customer(clock, line, chosen, profile)

        return self.switch.offer_call(number, did, None, make_remote)

    def published(self, type_: str) -> list[dict[str, Any]]:
        """The data of every bus event of ``type_`` so far."""
        return [e.data for e in self.events if e.type == type_]
