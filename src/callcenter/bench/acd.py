"""`callcenter bench acd`: routing speed of the CTI core with 500 agents on SimSwitch.

The production engine (CTI core, domain ACD) runs on the simulated network with a
virtual clock, so simulated time is free and what is measured is our own processing:

1. load: 500 agents log in (each serving two of 10 queues) and 700 callers arrive, so
   500 are talking and 200 wait;
2. steady state: callers keep arriving as fast as agents finish (talk time lognormal,
   mean 180 s); every routing decision (``plan_assignments`` over all queues, agents and
   waiting calls) is timed;
3. queue to ring: the queues drain, then callers arrive one at a time while agents are
   ready; the wall time from the call being offered to the switch being told to ring
   the chosen agent's phone is timed.

Figures: decisions per second of routing work, the p99 decision time, and the p99
queue-to-ring time. The 2-second rule leaves the network most of its budget when the
last is a few milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from callcenter.app.cti import AgentProfile
from callcenter.app.cti.simulation import SimCenter
from callcenter.domain.acd import plan_assignments
from callcenter.domain.queue import QueueConfig
from callcenter.switch.sim.agents import BotProfile
from callcenter.switch.sim.customers import Fate, Fixed, Outcome

AGENTS = 500
QUEUES = 10
WAITING = 200
MEAN_TALK = 180.0


class _Timed:
    """Wraps the core's routing function and keeps how long each call took."""

    def __init__(self, wrapped: Callable[..., Any]) -> None:
        self.wrapped = wrapped
        self.seconds: list[float] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.wrapped(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - started)


def _talk(rng: random.Random) -> float:
    sigma = math.sqrt(math.log(1 + 0.8**2))
    return rng.lognormvariate(math.log(MEAN_TALK) - sigma**2 / 2, sigma)


async def _run(steady_seconds: float, seed: int) -> dict[str, float]:
    queues = [QueueConfig(queue_id=f"q{q}", groups=frozenset({f"g{q}"})) for q in range(QUEUES)]
    routes = {f"400{q}": f"q{q}" for q in range(QUEUES)}
    profiles = {
        str(10_000 + n): AgentProfile.in_groups(
            f"g{n % QUEUES}", f"g{(n + 3) % QUEUES}", wrap_up_seconds=5.0
        )
        for n in range(AGENTS)
    }
    timed = _Timed(plan_assignments)  # the very function the engine routes with
    center = SimCenter.build(queues, routes, profiles, seed=seed, planner=timed)
    rng = random.Random(seed)
    callers = iter(range(10**9))
    rings: dict[str, float] = {}
    offered: dict[str, float] = {}
    original_originate = center.switch.originate

    async def originate(leg: Any, dest: str, **kwargs: Any) -> None:
        if dest.startswith("agent:") and kwargs.get("caller_id") in offered:
            rings.setdefault(kwargs["caller_id"], time.perf_counter())
        await original_originate(leg, dest, **kwargs)

    center.switch.originate = originate  # type: ignore[method-assign]

    def call_in(talk: float) -> str:
        number = f"+8613{next(callers):09d}"
        center.call_in(number, f"400{rng.randrange(QUEUES)}", Fate(Outcome.HUMAN, talk_time=talk))
        return number

    async with center:
        for agent_no in profiles:
            await center.log_in(agent_no, bot=BotProfile(answer_delay=Fixed(1.0)))
        for _ in range(AGENTS + WAITING):
            call_in(_talk(rng))
        await center.run(10)

        timed.seconds.clear()  # count the steady state only
        rate = AGENTS / (MEAN_TALK + 6.0)  # arrivals keep the queue near 200
        elapsed = 0.0
        while elapsed < steady_seconds:
            gap = rng.expovariate(rate)
            await center.run(gap)
            elapsed += gap
            call_in(_talk(rng))
        steady = list(timed.seconds)

        # Drain the queues, then callers who find ready agents.
        await center.run(3 * MEAN_TALK + 600)
        for _ in range(200):
            number = f"+8613{next(callers):09d}"
            offered[number] = time.perf_counter()
            center.call_in(number, f"400{rng.randrange(QUEUES)}", Fate(Outcome.HUMAN, talk_time=30))
            await center.run(0.0)
            await center.run(2.0)

    decisions = np.array(steady)
    to_ring = np.array([rings[n] - offered[n] for n in offered if n in rings])
    if len(to_ring) < len(offered) * 0.9:
        raise RuntimeError(f"only {len(to_ring)} of {len(offered)} callers reached an agent")
    return {
        "decisions_per_s": round(len(decisions) / float(decisions.sum()), 1),
        "decision_p99_ms": round(float(np.percentile(decisions, 99)) * 1000, 3),
        "queue_to_ring_p99_ms": round(float(np.percentile(to_ring, 99)) * 1000, 3),
        "decisions": len(decisions),
    }


def run(steady_seconds: float = 600.0, seed: int = 1) -> dict[str, float]:
    return asyncio.run(_run(steady_seconds, seed))


def main(args: argparse.Namespace) -> int:
    logging.getLogger("callcenter").setLevel(logging.WARNING)  # a line per call costs time
    results = run(steady_seconds=max(60.0, args.seconds * 120), seed=1)
    if args.json:
        print(json.dumps(results))  # noqa: T201
        return 0
    print(  # noqa: T201
        f"{AGENTS} agents, {QUEUES} queues, {WAITING} waiting calls on SimSwitch (virtual clock)\n"
        f"routing decisions per second: {results['decisions_per_s']:.0f} "
        f"({results['decisions']} decisions)\n"
        f"p99 decision time: {results['decision_p99_ms']:.2f} ms\n"
        f"p99 queue to ring: {results['queue_to_ring_p99_ms']:.2f} ms"
    )
    return 0
