"""The Switch port's vocabulary: events, causes and errors are stable API."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import typing

import pytest

from callcenter.clock import RealClock, VirtualClock
from callcenter.switch import ports
from callcenter.switch.ports import (
    SIP_STATUS_FOR_CAUSE,
    EventStream,
    HangupCause,
    LegAnswered,
    LegHungUp,
    LegId,
    LegRinging,
    SwitchError,
    SwitchEvent,
)
from callcenter.switch.sim.customers import CustomerBook, Fate, Outcome
from callcenter.switch.sim.network import SimSwitch

EVENT_TYPES = typing.get_args(SwitchEvent)


def all_errors() -> list[type[SwitchError]]:
    found: list[type[SwitchError]] = []
    pending: list[type[SwitchError]] = [SwitchError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_kebab_case_code() -> None:
    """Codes travel to the web layer and logs; they must be distinct and stable."""
    errors = [cls for cls in all_errors() if cls.__module__ == ports.__name__]
    codes = [cls.code for cls in errors]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", code) for code in codes)
    assert {"unknown-leg", "leg-not-answered", "conflicting-command"} <= set(codes)


def test_every_cause_has_a_sip_status_entry() -> None:
    assert set(SIP_STATUS_FOR_CAUSE) == set(HangupCause)
    assert SIP_STATUS_FOR_CAUSE[HangupCause.BUSY] == 486
    assert SIP_STATUS_FOR_CAUSE[HangupCause.NORMAL] is None


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.__name__)
def test_events_are_frozen_and_stamped(event_type: type) -> None:
    """Each event is a frozen dataclass whose first field is the switch's time ``at``."""
    fields = dataclasses.fields(event_type)
    assert fields[0].name == "at"
    assert event_type.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_an_event_cannot_be_changed() -> None:
    event = LegHungUp(1.0, LegId("a"), HangupCause.BUSY, 486)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.cause = HangupCause.NORMAL  # type: ignore[misc]
    assert event.by == "remote"


async def test_a_core_task_follows_the_switch_on_the_virtual_clock() -> None:
    """An asyncio task reads events with EventStream and sleeps on the virtual clock,
    as the core would: advance_async drives both, with no real waiting."""
    clock = VirtualClock()
    book = CustomerBook()
    book.script("555", Fate(Outcome.HUMAN, ring_after=1.0, answer_after=4.0))
    switch = SimSwitch(clock, [book])
    stream = EventStream(switch)
    seen: list[tuple[str, float]] = []

    async def core() -> None:
        await switch.originate(LegId("a"), "555", caller_id="1")
        async for event in stream:
            seen.append((type(event).__name__, clock.now()))
            if isinstance(event, LegAnswered):
                await clock.sleep(10.0)  # talk for ten seconds, then hang up
                await switch.hangup(event.leg)
            if isinstance(event, LegHungUp):
                return

    task = asyncio.create_task(core())
    await clock.advance_async(60)
    await task
    stream.close()
    assert seen == [("LegRinging", 1.0), ("LegAnswered", 4.0), ("LegHungUp", 14.0)]


async def test_sim_switch_runs_on_the_real_clock_for_the_demo() -> None:
    """The same SimSwitch on the loop's clock: a customer answering after 50 ms."""
    book = CustomerBook()
    book.script("555", Fate(Outcome.HUMAN, ring_after=0.01, answer_after=0.05))
    switch = SimSwitch(RealClock(), [book])
    stream = EventStream(switch)
    await switch.originate(LegId("a"), "555", caller_id="1")
    first = await asyncio.wait_for(anext(stream), timeout=2)
    second = await asyncio.wait_for(anext(stream), timeout=2)
    assert isinstance(first, LegRinging)
    assert isinstance(second, LegAnswered)
    assert 0.03 <= second.at - first.at < 1.0  # real timers may be late, never early
    await switch.hangup(LegId("a"))
    stream.close()
