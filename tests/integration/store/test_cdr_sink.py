from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.app.cti.cdr import AbandonRecord, CallRecord, LegRecord, StateRecord
from callcenter.clock import VirtualClock
from callcenter.domain.agent import AgentState
from callcenter.domain.queue import AbandonReason
from callcenter.store.cdr import SqlCdrSink, wall_clock_for
from callcenter.store.db import make_async_engine
from callcenter.store.tables import AbandonRow, AgentStateRow, CallRow, LegRow

EPOCH = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


async def test_a_call_is_written_at_every_milestone_and_the_latest_wins(database_url: str) -> None:
    """Queued, answered, ended: the row always holds the call as it last stood."""
    engine = make_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sink = SqlCdrSink(sessions, wall_clock_for(VirtualClock(), at=EPOCH.timestamp()))
    queued = CallRecord(
        call_id="c1", direction="inbound", state="queued", caller="13800138000",
        dialled="4008", created_at=0.0, queue_id="sales", queued_at=0.5,
    )  # fmt: skip
    sink.record_call(queued)
    await sink.drain()
    async with sessions() as session:
        row = await session.get(CallRow, "c1")
        assert row is not None and row.state == "queued" and row.ended_at is None

    answered = dataclasses.replace(
        queued, state="connected", answered_at=12.0, bridged_at=12.1, agent_no="1001",
        agents=("1001",),
    )  # fmt: skip
    sink.record_call(answered)
    sink.record_leg(LegRecord("l1", "c1", "customer", "13800138000", 0.0, answered_at=0.2))
    sink.record_leg(LegRecord("l2", "c1", "agent", "agent:1001", 10.0, "1001", 12.0))
    sink.record_agent_state(
        StateRecord(10.0, "1001", AgentState.READY, AgentState.RESERVED, "offered", "c1")
    )
    sink.record_call(dataclasses.replace(answered, state="ended", ended_at=70.0, cause="normal"))
    sink.record_abandon(AbandonRecord("sales", "c2", 1.0, 31.0, 30.0, AbandonReason.CALLER_HUNG_UP))
    await sink.drain()

    async with sessions() as session:
        row = await session.get(CallRow, "c1")
        assert row is not None
        assert (row.state, row.agent_no, row.agents, row.cause) == (
            "ended", "1001", ["1001"], "normal",
        )  # fmt: skip
        assert row.answered_at == EPOCH + dt.timedelta(seconds=12)
        assert row.ended_at == EPOCH + dt.timedelta(seconds=70)
        legs = (await session.scalars(select(LegRow).order_by(LegRow.leg_id))).all()
        assert [(leg.leg_id, leg.purpose, leg.agent_no) for leg in legs] == [
            ("l1", "customer", None),
            ("l2", "agent", "1001"),
        ]
        (state,) = (await session.scalars(select(AgentStateRow))).all()
        assert (state.agent_no, state.from_state, state.to_state, state.call_id) == (
            "1001", "ready", "reserved", "c1",
        )  # fmt: skip
        (abandoned,) = (await session.scalars(select(AbandonRow))).all()
        assert (abandoned.call_id, abandoned.reason, abandoned.waited_seconds) == (
            "c2", "caller-hung-up", 30.0,
        )  # fmt: skip
    assert sink.failures == 0
    await engine.dispose()


async def test_start_up_closes_what_a_crash_left_open(database_url: str) -> None:
    """A call still ringing when the process died is closed as interrupted, not lost."""
    engine = make_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sink = SqlCdrSink(sessions, wall_clock_for(VirtualClock(), at=EPOCH.timestamp()))
    sink.record_call(CallRecord("open", "inbound", "queued", "1", "2", 0.0))
    sink.record_call(CallRecord("done", "inbound", "ended", "1", "2", 0.0, ended_at=5.0))
    sink.record_leg(LegRecord("l-open", "open", "customer", "1", 0.0))
    await sink.drain()
    await engine.dispose()

    # A new process: a fresh engine on the same database.
    engine = make_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    restarted = SqlCdrSink(sessions, wall_clock_for(VirtualClock(), at=EPOCH.timestamp()))
    later = EPOCH + dt.timedelta(hours=1)
    assert await restarted.reconcile(later) == 1
    async with sessions() as session:
        closed = await session.get(CallRow, "open")
        done = await session.get(CallRow, "done")
        leg = await session.get(LegRow, "l-open")
        assert closed is not None and done is not None and leg is not None
        assert (closed.ended_at, closed.end_reason) == (later, "interrupted")
        assert done.end_reason is None and done.ended_at == EPOCH + dt.timedelta(seconds=5)
        assert leg.ended_at == later
    assert await restarted.reconcile(later) == 0
    await engine.dispose()
