"""Clocks: the one place that knows what time it is.

Theory of operation
-------------------
Adapters that need time (the simulated switch, timers in the SIP transport adapter, the
dialer's pacing loop) take a :class:`Clock` instead of calling ``time`` or the event loop
directly. A clock offers three things:

* ``now()``: seconds on a monotonic time line (the origin is arbitrary);
* ``call_at(when, callback)``: run ``callback()`` once when the time line reaches ``when``,
  returning a handle whose ``cancel()`` stops it (cancelling twice, or after the callback
  ran, is harmless);
* ``await sleep(seconds)``: suspend the calling task for that long.

:class:`RealClock` maps all three onto the running asyncio loop (``loop.time()``,
``loop.call_at``, ``asyncio.sleep``). It is used by the demo and in production.

:class:`VirtualClock` keeps a heap of timers ordered by ``(when, sequence)`` where the
sequence number is taken when the timer is created, so timers due at the same instant run
in the order they were scheduled. Time stands still until someone drives it:

* ``advance(seconds)`` / ``run_until(t)`` pop every timer due at or before the target,
  set ``now()`` to that timer's time, run its callback (which may schedule more timers,
  also run if due), and finally leave ``now()`` at the target;
* ``run_until_idle()`` runs timers until none remain.

These are synchronous and deterministic: the same schedule always runs in the same order.

Asyncio code that awaits ``clock.sleep(x)`` gets a future that a timer resolves. A
synchronous ``advance`` only resolves those futures; the tasks waiting on them run when
the caller next yields to the loop. To let tasks progress *between* timers, drive the
clock from a coroutine with ``await advance_async(seconds)`` / ``await
run_until_async(t)``: before each timer fires, and once at the end, the clock "settles" the
loop, yielding until no callback is ready to run (bounded by ``max_settle_yields``), so a
task woken at t=5 has done its work, and perhaps scheduled its next sleep, before the
timer at t=6 fires. ``await settle()`` does just the settling. Only tasks are driven this
way; real I/O and real-time loop timers are not waited for. Settling watches the stock
asyncio loop's ready queue (a private attribute, read defensively); on other loops it
yields a fixed number of times, enough for short chains of tasks.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "RealClock", "TimerHandle", "VirtualClock", "VirtualTimer"]

log = logging.getLogger(__name__)


class TimerHandle(Protocol):
    """What ``call_at`` returns: something that can be cancelled."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The time port: read the time, schedule a callback, sleep."""

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The asyncio loop's monotonic clock.

    With ``loop=None`` every call uses the loop running at that moment, so a RealClock can
    be built before the loop starts (in the composition root).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def now(self) -> float:
        return self._get_loop().time()

    def call_at(self, when: float, callback: Callable[[], object]) -> TimerHandle:
        return self._get_loop().call_at(when, callback)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualTimer:
    """A timer on a :class:`VirtualClock`."""

    __slots__ = ("_callback", "_clock", "_done", "seq", "when")

    def __init__(
        self, clock: VirtualClock, when: float, seq: int, callback: Callable[[], object]
    ) -> None:
        self._clock = clock
        self.when = when
        self.seq = seq
        self._callback: Callable[[], object] | None = callback
        self._done = False

    @property
    def done(self) -> bool:
        """True once the timer fired or was cancelled."""
        return self._done

    def cancel(self) -> None:
        if not self._done:
            self._done = True
            self._callback = None
            self._clock._timer_cancelled()

    def _run(self) -> None:
        callback = self._callback
        self._callback = None
        self._done = True  # cancel() after firing is a no-op
        if callback is not None:
            callback()


class VirtualClock:
    """A clock that moves only when driven; see the module docstring.

    ``max_settle_yields`` bounds how many times the async drivers yield to the loop while
    waiting for ready tasks to finish their step (a loop that never becomes idle, e.g. a
    task spinning on ``asyncio.sleep(0)``, would otherwise hang the driver);
    ``fallback_settle_yields`` is the fixed number of yields on loops whose ready queue
    cannot be inspected.
    """

    def __init__(
        self,
        start: float = 0.0,
        *,
        max_settle_yields: int = 1000,
        fallback_settle_yields: int = 20,
    ) -> None:
        self._now = float(start)
        self._fallback_settle_yields = fallback_settle_yields
        self._heap: list[tuple[float, int, VirtualTimer]] = []  # (when, seq, timer)
        self._seq = 0
        self._live = 0
        self._max_settle_yields = max_settle_yields

    # -- the Clock port --------------------------------------------------------------

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> VirtualTimer:
        """Schedule ``callback`` at ``when``; a time in the past means "at the next step"."""
        timer = VirtualTimer(self, max(float(when), self._now), self._seq, callback)
        self._seq += 1
        self._live += 1
        heapq.heappush(self._heap, (timer.when, timer.seq, timer))
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> VirtualTimer:
        return self.call_at(self._now + max(0.0, delay), callback)

    async def sleep(self, seconds: float) -> None:
        """Suspend the calling task until the clock is driven ``seconds`` further."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(self._now + max(0.0, seconds), wake)
        try:
            await future
        finally:
            timer.cancel()

    # -- inspection ------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many timers are scheduled and not cancelled."""
        return self._live

    def next_deadline(self) -> float | None:
        """When the earliest live timer is due, or None."""
        self._drop_cancelled_head()
        return self._heap[0][0] if self._heap else None

    # -- synchronous drivers ---------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Run every timer due within ``seconds`` from now, then move now() there."""
        if seconds < 0:
            raise ValueError(f"cannot advance a clock backwards ({seconds} s)")
        self.run_until(self._now + seconds)

    def run_until(self, t: float) -> None:
        """Run every timer due at or before ``t`` in time order, then set now() to ``t``."""
        while self._step(t):
            pass
        self._now = max(self._now, t)

    def run_until_idle(self, max_timers: int = 1_000_000) -> None:
        """Run timers until none remain; raise if more than ``max_timers`` fire."""
        for _ in range(max_timers):
            if not self._step(None):
                return
        raise RuntimeError(f"clock not idle after {max_timers} timers")

    # -- asynchronous drivers --------------------------------------------------------

    async def settle(self) -> None:
        """Yield to the loop until no callback is ready (tasks have done their step).

        On the stock asyncio loop this watches the loop's ready queue; on loops without
        one (uvloop) it yields a fixed ``fallback_settle_yields`` times.
        """
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)  # the stock loop's queue of ready callbacks
        if ready is None:
            for _ in range(self._fallback_settle_yields):
                await asyncio.sleep(0)
            return
        for _ in range(self._max_settle_yields):
            await asyncio.sleep(0)
            if not ready:
                return

    async def advance_async(self, seconds: float) -> None:
        """Like advance(), letting woken tasks run between timers."""
        if seconds < 0:
            raise ValueError(f"cannot advance a clock backwards ({seconds} s)")
        await self.run_until_async(self._now + seconds)

    async def run_until_async(self, t: float) -> None:
        """Like run_until(), letting woken tasks run between timers."""
        await self.settle()
        while self._step(t):
            await self.settle()
        self._now = max(self._now, t)
        await self.settle()

    # -- internals -------------------------------------------------------------------

    def _timer_cancelled(self) -> None:
        self._live -= 1

    def _drop_cancelled_head(self) -> None:
        while self._heap and self._heap[0][2].done:
            heapq.heappop(self._heap)

    def _step(self, limit: float | None) -> bool:
        """Fire the earliest live timer if it is due by ``limit``; report whether one ran."""
        self._drop_cancelled_head()
        if not self._heap or (limit is not None and self._heap[0][0] > limit):
            return False
        timer = heapq.heappop(self._heap)[2]
        self._now = max(self._now, timer.when)
        self._live -= 1
        timer._run()
        return True
