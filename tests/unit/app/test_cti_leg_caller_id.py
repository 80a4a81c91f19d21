"""Every leg to a customer or a number names the caller ID it presented (主叫号码).

The number is the one the switch was asked to present, written on the leg's record from
its first write: a campaign's dialled leads show the pool's numbers (the least used
first), a lead placed for an agent shows the pool's number although the call itself
is the agent's, and a desk call shows the platform's number, or none when the platform
has none (the engine's default: a SIP trunk then presents its own). Legs to agents'
phones and the customer's leg of an inbound call present nothing of ours and name nothing.

The switch is the simulated one; a spy around its ``originate`` keeps what each leg was
dialled with, to compare the records against.
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from callcenter.app.bus import EventBus
from callcenter.app.cti import AgentProfile, ToNumber
from callcenter.app.cti.cdr import LegRecord, MemoryCdr
from callcenter.app.cti.engine import CtiEngine
from callcenter.app.cti.simulation import QUICK_BOT, SimCenter, caller
from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.preview import PreviewDesk
from callcenter.clock import VirtualClock
from callcenter.domain.queue import QueueConfig
from callcenter.switch.ports import LegId
from callcenter.switch.sim.agents import AgentPhones
from callcenter.switch.sim.customers import CustomerBook, Fate, Outcome
from callcenter.switch.sim.network import SimSwitch
from cctest import DialerFloor

POOL = ("01058009999", "01058008888")  # a campaign's caller IDs, as its owner typed them
PLATFORM = "4008001000"  # the number desk calls present
NUMBERS = ("+8613700000001", "+8613700000002")
TALK = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=5.0)
DID = "4001"
SALES = QueueConfig("sales", frozenset({"sales"}))


def spy_on_originate(switch: Any) -> dict[LegId, str]:
    """Keep the caller ID each leg is dialled with, then let the switch dial it."""
    asked: dict[LegId, str] = {}
    originate: Callable[..., Awaitable[None]] = switch.originate

    async def spy(leg: LegId, dest: str, *, caller_id: str, **kwargs: Any) -> None:
        asked[leg] = caller_id
        await originate(leg, dest, caller_id=caller_id, **kwargs)

    switch.originate = spy
    return asked


def legs_of(cdr: MemoryCdr, call_id: str) -> dict[str, list[LegRecord]]:
    """Every record of each leg of ``call_id``, by leg id, in the order written."""
    legs: dict[str, list[LegRecord]] = {}
    for record in cdr.legs:
        if record.call_id == call_id:
            legs.setdefault(record.leg_id, []).append(record)
    return legs


def presented(records: list[LegRecord]) -> set[str | None]:
    return {r.caller_id for r in records}


@asynccontextmanager
async def campaign_floor(mode: DialingMode) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(
        mode,
        agents=("1001", "1002"),
        numbers=NUMBERS,
        wrap_up=1.0,
        caller_ids=POOL,
        caller_id_daily_cap=1,
    )
    try:
        yield f
    finally:
        await f.close()


async def test_dialled_leads_name_the_pool_numbers_they_presented_from_the_first_record() -> None:
    """Progressive dialling of two leads with a pool of two numbers capped at one call a
    day: the calls present one number each. Each customer leg's records, the first
    (written as the call is created, before the switch rings anyone) to the last, name
    the number the switch was asked to present on it; the agents' phones ringing for
    the calls name none."""
    async with campaign_floor(DialingMode.PROGRESSIVE) as f:
        asked = spy_on_originate(f.switch)
        for number in NUMBERS:
            f.book.script(number, TALK)
        assert await f.dialer.step() == 2
        calls = f.engine.calls()
        await f.run(15.0)
        cdr = f.engine.cdr
        assert isinstance(cdr, MemoryCdr)

        shown: list[str | None] = []
        for call in calls:
            legs = legs_of(cdr, call.call_id)
            customer = legs.pop(str(call.customer_leg))
            assert customer[0].purpose == "customer" and customer[-1].ended_at is not None
            assert presented(customer) == {asked[LegId(customer[0].leg_id)]}
            shown.append(customer[0].caller_id)
            offers = [r for records in legs.values() for r in records]
            assert offers and {r.purpose for r in offers} <= {"offer", "agent"}
            assert presented(offers) == {None}
        assert len(shown) == 2 and set(shown) == set(POOL)  # a cap of one: a number a call
        assert f.outcomes() == {"L0": "connected", "L1": "connected"}


async def test_a_lead_placed_for_an_agent_names_the_pool_number_not_the_agents() -> None:
    """Preview: the agent accepts the lead on offer. The call is the agent's (its record's
    caller is the agent's number, and the agent's phone rings first, showing the lead's
    number); the lead's leg, dialled once the agent answers, names the pool's number it
    presented, and the agent's leg names nothing."""
    async with campaign_floor(DialingMode.PREVIEW) as f:
        asked = spy_on_originate(f.switch)
        f.book.script(NUMBERS[0], TALK)
        desk = PreviewDesk(f.dialer, skip_delay=600.0)
        await f.dialer.step()
        call_id = await desk.accept("1001")
        await f.run(15.0)
        cdr = f.engine.cdr
        assert isinstance(cdr, MemoryCdr)

        record = cdr.call(call_id)
        assert record.caller not in POOL and record.lead_id is not None
        by_purpose = {records[0].purpose: records for records in legs_of(cdr, call_id).values()}
        assert set(by_purpose) == {"agent", "customer"}
        customer = by_purpose["customer"]
        assert customer[0].dest == record.dialled and customer[-1].answered_at is not None
        assert presented(customer) == {asked[LegId(customer[0].leg_id)]}
        assert customer[0].caller_id in POOL
        agent = by_purpose["agent"]
        assert asked[LegId(agent[0].leg_id)] == record.dialled  # what the agent's phone showed
        assert presented(agent) == {None}


@asynccontextmanager
async def desk_center(presenting: str | None = PLATFORM) -> AsyncIterator[SimCenter]:
    """One queue, one agent, and the engine presenting ``presenting`` on desk calls
    (None: the engine is given no number, and presents its default)."""
    clock = VirtualClock()
    phones = AgentPhones(0, default=QUICK_BOT)
    book = CustomerBook(0)
    switch = SimSwitch(clock, [phones, book])
    bus = EventBus(max_queue=10_000)
    cdr = MemoryCdr()
    profiles = {"1001": AgentProfile.in_groups("sales", wrap_up_seconds=1.0)}
    make = functools.partial(
        CtiEngine,
        switch,
        clock,
        bus,
        rng=random.Random(0),
        queues=[SALES],
        routes={DID: "sales"},
        profiles=profiles,
        cdr=cdr,
    )
    engine = make() if presenting is None else make(outbound_caller_id=presenting)
    async with SimCenter(clock, switch, phones, book, bus, cdr, engine) as center:
        yield center


async def test_a_desk_call_names_the_platforms_number_and_an_inbound_call_names_none() -> None:
    """An agent dials a customer from the desk: the customer's leg names the platform's
    caller ID. Later a customer calls in and the agent consults an outside number: the
    caller's own leg and the agent's phone name nothing, the consulted number's leg
    names what the switch was asked to show it."""
    async with desk_center() as c:
        asked = spy_on_originate(c.switch)
        await c.log_in("1001")
        c.book.script(NUMBERS[0], TALK)
        dialled = await c.engine.dial(c.next_id(), "1001", NUMBERS[0])
        await c.run(20.0)
        by_purpose = {r[0].purpose: r for r in legs_of(c.cdr, dialled).values()}
        assert presented(by_purpose["customer"]) == {PLATFORM}
        assert asked[LegId(by_purpose["customer"][0].leg_id)] == PLATFORM
        assert presented(by_purpose["agent"]) == {None}

        await c.run(2.0)  # the wrap-up ends
        c.book.script("13900000009", TALK)
        c.call_in("13900000001", DID, caller(talk_time=60.0))
        await c.run(3.0)
        inbound = c.engine.agent("1001").call_id
        assert inbound is not None and inbound != dialled
        await c.engine.consult(c.next_id(), "1001", ToNumber("13900000009"))
        await c.run(60.0)
        legs = [records for records in legs_of(c.cdr, inbound).values()]
        by_purpose = {r[0].purpose: r for r in legs}  # as first written: an offer, answered,
        assert set(by_purpose) == {"customer", "offer", "consult"}  # becomes the agent's leg
        assert presented(by_purpose["customer"]) == {None}
        assert presented(by_purpose["offer"]) == {None}
        (consult,) = [r for r in legs if r[0].dest == "13900000009"]
        # a number consulted sees the platform's number, as a desk call's customer does
        assert presented(consult) == {asked[LegId(consult[0].leg_id)]} == {PLATFORM}


@pytest.mark.parametrize("presenting", [None, ""], ids=["engine-default", "empty"])
async def test_a_leg_dialled_presenting_nothing_names_nothing(presenting: str | None) -> None:
    """An engine given no number of its own (by default, or the platform's empty
    ``telephony.caller_id``) asks the switch to present none, never "anonymous" (a SIP
    trunk then shows its own): the desk call's customer leg names nothing, not an empty
    number a search could not tell from a real one."""
    async with desk_center(presenting=presenting) as c:
        asked = spy_on_originate(c.switch)
        await c.log_in("1001")
        c.book.script(NUMBERS[0], TALK)
        call_id = await c.engine.dial(c.next_id(), "1001", NUMBERS[0])
        await c.run(20.0)
        (customer,) = [r for r in legs_of(c.cdr, call_id).values() if r[0].purpose == "customer"]
        assert asked[LegId(customer[0].leg_id)] == ""
        assert presented(customer) == {None} and customer[-1].answered_at is not None
