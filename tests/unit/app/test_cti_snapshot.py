"""CTI core: the snapshot a reconnecting client loads, and a busy hour on the SimSwitch."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import pytest

from callcenter.app.cti import AgentProfile, ToAgent, ToNumber, ToQueue
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.agent import ON_CALL_STATES, AgentState
from callcenter.domain.errors import DomainError
from callcenter.domain.queue import QueueConfig
from callcenter.switch.sim.agents import BotProfile
from callcenter.switch.sim.customers import (
    CustomerProfile,
    Fate,
    Fixed,
    InboundCalls,
    LogNormal,
    Outcome,
    Uniform,
)

DID = "4001"
EXPERT = "13600000000"
Button = tuple[int, Callable[[], Awaitable[object]]]
SALES = QueueConfig("sales", frozenset({"sales"}), ring_timeout=12.0)


async def test_snapshot_after_activity() -> None:
    """Two agents, two calls: one talking with 1001, one waiting (1002 is on a break);
    a third caller gave up. The snapshot has the agents, the live calls and the queue,
    in the shapes of the bus events."""
    profiles = {no: AgentProfile.in_groups("sales") for no in ("1001", "1002", "1003")}
    async with SimCenter.build([SALES], {DID: "sales"}, profiles) as c:
        await c.log_in("1001")
        await c.log_in("1002", ready=False)
        await c.engine.not_ready(c.next_id(), "1002", "lunch")
        c.call_in("13900000001", DID, caller(talk_time=100.0))
        await c.run(3.0)
        c.call_in("13900000002", DID)
        c.call_in("13900000003", DID, caller(patience=2.0))
        await c.run(7.0)
        snapshot = c.engine.snapshot()
        assert snapshot["at"] == 10.0
        agents = {a["agent_no"]: a for a in snapshot["agents"]}
        assert set(agents) == {"1001", "1002"}
        assert agents["1001"]["state"] == "talking"
        assert agents["1001"]["call_id"] is not None
        assert (agents["1002"]["state"], agents["1002"]["reason"]) == ("not-ready", "lunch")
        assert agents["1002"]["phone"] == "agent:1002"
        calls = {call["caller"]: call for call in snapshot["calls"]}
        assert set(calls) == {"13900000001", "13900000002"}
        assert calls["13900000001"]["state"] == "connected"
        assert calls["13900000001"]["agent_no"] == "1001"
        assert calls["13900000002"]["state"] == "queued"
        (queue,) = snapshot["queues"]
        assert queue == {
            "queue_id": "sales",
            "waiting": 1,
            "longest_wait": 7.0,
            "oldest_entered_at": 3.0,
            "ringing": 0,
            "agents_ready": 0,
            "answered": 1,
        }
        assert set(agents["1001"]) == set(c.published("agent.state")[-1]) - {"at"}
        assert set(calls["13900000001"]) == set(c.published("call.updated")[-1]) - {"at"}


async def test_a_busy_hour_leaves_nothing_behind() -> None:
    """Eight bot agents (one never answers, some hang up themselves) take an hour of
    Poisson arrivals at 300 calls per hour from impatient callers. Afterwards every
    call has ended, no leg is left up on the switch, every agent is ready or not
    ready, and the books balance: each call is answered or abandoned."""
    profiles = {
        f"10{i:02d}": AgentProfile.in_groups("sales", wrap_up_seconds=5.0, max_missed_offers=2)
        for i in range(8)
    }
    people = CustomerProfile(talk_time=LogNormal(60.0, 0.5), patience=Uniform(5.0, 60.0))
    async with SimCenter.build([SALES], {DID: "sales"}, profiles, seed=3) as c:
        for i, no in enumerate(profiles):
            bot = BotProfile(
                answer_delay=Uniform(0.5, 4.0),
                talk_time=Fixed(90.0) if i % 3 == 0 else None,
                answers=i != 7,
            )
            await c.log_in(no, bot=bot)
        arrivals = InboundCalls(c.book, DID, 300.0, profile=people, until=3600.0)
        arrivals.start(c.switch, c.clock)
        await c.run(3600.0 + 600.0)
        assert c.engine.calls() == []
        assert c.switch.active_legs() == []
        states = {c.engine.agent(no).state for no in profiles}
        assert states <= {AgentState.READY, AgentState.NOT_READY}
        assert not states & ON_CALL_STATES
        assert c.engine.agent("1007").stats.calls_answered == 0
        ended = {r.call_id: r for r in c.cdr.calls if r.state == "ended"}
        assert len(ended) == len(arrivals.offered)
        answered = [r for r in ended.values() if r.answered_at is not None]
        abandoned = {a.call_id for a in c.cdr.abandoned}
        assert len(answered) + len(abandoned) == len(ended)
        assert len(answered) > len(ended) / 2
        assert len(ended) > 250


def check_consistent(c: SimCenter) -> None:
    """The engine's model agrees with itself: every agent on a call has a live leg in a
    live call, and every live call still has its customer (or is still dialling)."""
    live = {call.call_id: call for call in c.engine.calls()}
    for row in c.engine.snapshot()["agents"]:
        agent = c.engine.agent(row["agent_no"])
        if agent.state in ON_CALL_STATES:
            call = live[str(agent.call_id)]
            legs = [c.engine.leg(leg) for leg in call.legs]
            assert any(leg.agent_no == agent.agent_id and not leg.ended for leg in legs)
    for call in live.values():
        customer = call.customer_leg
        if customer is None:
            assert call.state.value == "dialling"
        else:
            assert not c.engine.leg(customer).ended


async def test_an_hour_of_random_commands_never_breaks_the_engine(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While calls flow, agents and a supervisor press random buttons every few seconds:
    hold, resume, transfers, consultations, conferences, monitoring, take-overs, forced
    hang-ups and state changes; the bot phones hang up by themselves and one never
    answers. Refusals are DomainErrors; nothing else is raised, the engine logs nothing
    worse than INFO and its model stays consistent; at the end nothing is left over."""
    caplog.set_level(logging.WARNING)
    agents = [f"10{i:02d}" for i in range(6)]
    profiles = {no: AgentProfile.in_groups("sales", wrap_up_seconds=3.0) for no in agents}
    people = CustomerProfile(talk_time=LogNormal(40.0, 0.5), patience=Uniform(10.0, 60.0))
    rng = random.Random(11)
    async with SimCenter.build([SALES], {DID: "sales"}, profiles, seed=5) as c:
        c.phones.register("9001")
        c.book.script(EXPERT, *[Fate(Outcome.HUMAN, answer_after=2.0, talk_time=120.0)] * 500)
        for no in agents:
            bot = BotProfile(
                answer_delay=Uniform(0.5, 3.0),
                talk_time=Uniform(5.0, 60.0),
                answers=no != "1005",
            )
            await c.log_in(no, bot=bot)
        arrivals = InboundCalls(c.book, DID, 400.0, profile=people, until=1800.0)
        arrivals.start(c.switch, c.clock)
        engine = c.engine
        refused: list[str] = []
        done: list[object] = []

        def buttons(agent_no: str, call_id: str | None) -> list[Button]:
            other = rng.choice(agents)
            cmd = c.next_id
            pressed: list[Button] = [
                (5, lambda: engine.hold(cmd(), agent_no)),
                (5, lambda: engine.resume(cmd(), agent_no)),
                (3, lambda: engine.hang_up(cmd(), agent_no)),
                (2, lambda: engine.ready(cmd(), agent_no)),
                (2, lambda: engine.not_ready(cmd(), agent_no, "break")),
                (2, lambda: engine.blind_transfer(cmd(), agent_no, ToAgent(other))),
                (2, lambda: engine.blind_transfer(cmd(), agent_no, ToQueue("sales"))),
                (4, lambda: engine.consult(cmd(), agent_no, ToAgent(other))),
                (4, lambda: engine.consult(cmd(), agent_no, ToNumber(EXPERT))),
                (4, lambda: engine.complete_transfer(cmd(), agent_no)),
                (4, lambda: engine.cancel_consult(cmd(), agent_no)),
                (4, lambda: engine.conference(cmd(), agent_no)),
                (1, lambda: engine.send_dtmf(cmd(), agent_no, "1")),
                (1, lambda: engine.dial(cmd(), agent_no, "13700000000")),
                (1, lambda: engine.force_ready(cmd(), "boss", agent_no)),
                (1, lambda: engine.force_log_out(cmd(), "boss", agent_no)),
            ]
            if call_id is not None:
                pressed += [
                    (2, lambda: engine.listen(cmd(), "boss", call_id, "agent:9001")),
                    (2, lambda: engine.whisper(cmd(), "boss", call_id, "agent:9001")),
                    (2, lambda: engine.barge(cmd(), "boss", call_id, "agent:9001")),
                    (2, lambda: engine.take_over(cmd(), "boss", call_id)),
                    (1, lambda: engine.stop_monitoring(cmd(), "boss", call_id)),
                    (1, lambda: engine.force_hang_up(cmd(), "boss", call_id)),
                ]
            return pressed

        async def operator() -> None:
            while c.clock.now() < 1795.0:
                await c.clock.sleep(rng.uniform(0.5, 3.0))
                for no in agents:
                    if engine.agent(no).state is AgentState.LOGGED_OUT and rng.random() < 0.3:
                        await engine.log_in(c.next_id(), no, c.phones.dest(no))
                busy = [no for no in agents if engine.agent(no).state in ON_CALL_STATES]
                agent_no = rng.choice(busy if busy and rng.random() < 0.8 else agents)
                calls = engine.calls()
                call_id = rng.choice(calls).call_id if calls else None
                pressed = buttons(agent_no, call_id)
                (press,) = rng.choices([b for _, b in pressed], [w for w, _ in pressed])
                try:
                    await press()
                    done.append(press)
                except DomainError as error:
                    refused.append(error.code)
                check_consistent(c)

        task = asyncio.create_task(operator())
        await c.run(1800.0)
        assert task.done()
        await task
        for no in agents:
            if engine.agent(no).state is AgentState.LOGGED_OUT:
                await engine.log_in(c.next_id(), no, c.phones.dest(no))
        for call in engine.calls():
            await engine.force_hang_up(c.next_id(), "boss", call.call_id)
        await c.run(600.0)
        assert engine.calls() == []
        assert c.switch.active_legs() == []
        assert {engine.agent(no).state for no in agents} <= {
            AgentState.READY,
            AgentState.NOT_READY,
        }
        assert len(refused) > 50
        assert len(done) > 200
        assert [r.getMessage() for r in caplog.records] == []
