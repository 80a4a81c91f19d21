"""The clocks: a virtual clock that runs timers deterministically, and the real one."""

from __future__ import annotations

import asyncio
import functools

import pytest

from callcenter.clock import Clock, RealClock, VirtualClock


def test_virtual_clock_starts_where_told_and_stands_still() -> None:
    """Nothing moves a virtual clock except the code driving it."""
    clock = VirtualClock(start=100.0)
    assert clock.now() == 100.0
    assert clock.now() == 100.0


def test_timers_run_in_time_order_with_now_set_to_their_time() -> None:
    """Three timers scheduled out of order fire in time order, each seeing its own now."""
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []
    clock.call_at(3.0, lambda: seen.append(("c", clock.now())))
    clock.call_at(1.0, lambda: seen.append(("a", clock.now())))
    clock.call_at(2.0, lambda: seen.append(("b", clock.now())))
    clock.advance(10.0)
    assert seen == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    assert clock.now() == 10.0


def test_timers_due_at_the_same_instant_run_in_insertion_order() -> None:
    """Ties are broken by the order the timers were scheduled."""
    clock = VirtualClock()
    seen: list[int] = []
    for n in range(5):
        clock.call_at(1.0, functools.partial(seen.append, n))
    clock.advance(1.0)
    assert seen == [0, 1, 2, 3, 4]


def test_advance_stops_at_the_target_and_leaves_later_timers() -> None:
    """A timer due after the target stays pending until a later advance."""
    clock = VirtualClock()
    seen: list[float] = []
    clock.call_at(5.0, lambda: seen.append(clock.now()))
    clock.advance(4.999)
    assert seen == []
    assert clock.pending == 1
    assert clock.next_deadline() == 5.0
    clock.advance(0.001)
    assert seen == [5.0]
    assert clock.pending == 0


def test_a_timer_at_exactly_the_target_fires() -> None:
    """run_until(t) includes timers due at t."""
    clock = VirtualClock()
    fired: list[bool] = []
    clock.call_at(2.0, lambda: fired.append(True))
    clock.run_until(2.0)
    assert fired == [True]


def test_callbacks_scheduling_timers_within_the_window_run_too() -> None:
    """A callback that schedules another timer before the target sees it run in the same
    advance, at its own time."""
    clock = VirtualClock()
    seen: list[float] = []

    def tick() -> None:
        seen.append(clock.now())
        if clock.now() < 5:
            clock.call_at(clock.now() + 1, tick)

    clock.call_at(1.0, tick)
    clock.advance(10)
    assert seen == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_cancelled_timers_never_fire_and_cancel_is_idempotent() -> None:
    """Cancelling twice, or after firing, does nothing harmful."""
    clock = VirtualClock()
    seen: list[str] = []
    keep = clock.call_at(1.0, lambda: seen.append("keep"))
    drop = clock.call_at(1.0, lambda: seen.append("drop"))
    drop.cancel()
    drop.cancel()
    assert clock.pending == 1
    clock.advance(1.0)
    keep.cancel()
    assert seen == ["keep"]
    assert clock.pending == 0
    assert keep.done and drop.done


def test_a_timer_in_the_past_fires_at_the_next_step_without_moving_time_back() -> None:
    """call_at with a past time runs at the current time."""
    clock = VirtualClock(start=10.0)
    seen: list[float] = []
    clock.call_at(3.0, lambda: seen.append(clock.now()))
    clock.advance(0)
    assert seen == [10.0]


def test_run_until_idle_runs_everything_and_stops_at_the_last_timer() -> None:
    """run_until_idle leaves now() at the time of the last timer that ran."""
    clock = VirtualClock()
    clock.call_at(7.5, lambda: None)
    clock.call_at(2.0, lambda: None)
    clock.run_until_idle()
    assert clock.now() == 7.5
    assert clock.pending == 0


def test_run_until_idle_refuses_to_spin_forever() -> None:
    """A timer that always reschedules itself trips the guard instead of hanging."""
    clock = VirtualClock()

    def forever() -> None:
        clock.call_later(1.0, forever)

    clock.call_later(1.0, forever)
    with pytest.raises(RuntimeError, match="not idle"):
        clock.run_until_idle(max_timers=100)


def test_the_clock_cannot_go_backwards() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


async def test_tasks_sleeping_on_the_virtual_clock_wake_in_order() -> None:
    """Two tasks sleep on the virtual clock; advance_async lets each run at its time,
    and a task's follow-up sleep is honoured within the same advance."""
    clock = VirtualClock()
    log: list[tuple[str, float]] = []

    async def worker(name: str, first: float, second: float) -> None:
        await clock.sleep(first)
        log.append((name, clock.now()))
        await clock.sleep(second)
        log.append((name, clock.now()))

    tasks = [
        asyncio.create_task(worker("a", 2.0, 5.0)),
        asyncio.create_task(worker("b", 3.0, 1.0)),
    ]
    await clock.advance_async(10.0)
    assert log == [("a", 2.0), ("b", 3.0), ("b", 4.0), ("a", 7.0)]
    assert all(task.done() for task in tasks)
    assert clock.now() == 10.0


async def test_synchronous_advance_only_resolves_the_sleep() -> None:
    """A plain advance fires the timer; the sleeping task runs when the caller yields."""
    clock = VirtualClock()
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep(1.0)
        woke.append(clock.now())

    task = asyncio.create_task(sleeper())
    await clock.settle()
    clock.advance(5.0)
    assert woke == []
    await task
    assert woke == [5.0]


async def test_a_cancelled_sleep_removes_its_timer() -> None:
    """Cancelling a task that sleeps on the virtual clock cancels its timer."""
    clock = VirtualClock()
    task = asyncio.create_task(clock.sleep(30.0))
    await clock.settle()
    assert clock.pending == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.pending == 0


async def test_a_chain_of_tasks_settles_between_timers() -> None:
    """A producer woken by the clock hands work through a queue to a consumer; both run
    before the next timer fires, so the consumer sees the right virtual time."""
    clock = VirtualClock()
    queue: asyncio.Queue[float] = asyncio.Queue()
    seen: list[tuple[float, float]] = []

    async def producer() -> None:
        for _ in range(3):
            await clock.sleep(1.0)
            await queue.put(clock.now())

    async def consumer() -> None:
        for _ in range(3):
            produced = await queue.get()
            seen.append((produced, clock.now()))

    tasks = [asyncio.create_task(producer()), asyncio.create_task(consumer())]
    await clock.advance_async(3.0)
    assert seen == [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]
    await asyncio.gather(*tasks)


async def test_real_clock_follows_the_running_loop() -> None:
    """RealClock reads loop.time(), schedules on the loop and sleeps for real."""
    clock: Clock = RealClock()
    loop = asyncio.get_running_loop()
    before = clock.now()
    assert abs(before - loop.time()) < 0.5
    fired = asyncio.Event()
    handle = clock.call_at(clock.now() + 0.01, fired.set)
    await asyncio.wait_for(fired.wait(), timeout=2.0)
    handle.cancel()
    await clock.sleep(0.01)
    assert clock.now() >= before + 0.01


def test_virtual_clock_is_a_clock() -> None:
    """VirtualClock satisfies the Clock port (checked by mypy through this assignment)."""
    clock: Clock = VirtualClock()
    assert clock.now() == 0.0
