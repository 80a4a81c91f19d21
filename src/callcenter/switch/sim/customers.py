"""Virtual customers: who answers, who is busy, who hangs up, which keys they press.

Theory of operation
-------------------
A :class:`CustomerProfile` describes a population: the weight of each call
:class:`Outcome` and the distributions of delays and durations. Each call to a number
draws a :class:`Fate` from a ``random.Random`` seeded with ``(seed, number, attempt)``,
all fields in a fixed order whatever the outcome. So with one seed, the third attempt to
a lead always meets the same fate, whatever order the dialer dials in and whatever
happened on other calls ("common random numbers"); comparing two dialer strategies on
the same seed compares them on the same customers.

A :class:`Customer` plays one fate on one leg of the :class:`SimSwitch`:

* outbound: ring after ``ring_after`` (or, with probability ``early_media``, send
  progress with early media instead, as carriers playing their own ringback do); then
  answer (a person, or a machine that the detector reports as ``fate.amd``), reject, or
  stay ringing until the switch's ring timeout; busy and fast failures (invalid number,
  congestion) fail after ``fail_after``;
* not talking to anyone (an inbound caller from the moment they call, an outbound
  customer from the moment they answer: in a queue, on a dialer abandon, in an IVR) the
  person hangs up after ``patience``; the patience clock restarts each time they are
  disconnected from a bridge or conference, and stops while they are connected;
* once first connected, the person talks for ``talk_time`` and then hangs up;
* a machine hangs up ``machine_time`` after answering, whatever happens;
* asked for digits (``collect``) the person presses a response drawn from ``keys`` after
  ``key_delay``; a response of "" presses nothing.

:class:`InboundCalls` makes Poisson arrivals at ``calls_per_hour`` to a DID; each caller
is a fresh number ``caller_prefix + sequence`` whose fate is drawn the same way.
"""

from __future__ import annotations

import enum
import logging
import math
import random
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol

from callcenter.clock import Clock, TimerHandle
from callcenter.switch.ports import AmdResult, HangupCause, LegId

if TYPE_CHECKING:
    from callcenter.switch.sim.network import Line, Remote

__all__ = [
    "Customer",
    "CustomerBook",
    "CustomerProfile",
    "Distribution",
    "Exponential",
    "Fate",
    "Fixed",
    "InboundCalls",
    "LogNormal",
    "Never",
    "Outcome",
    "Uniform",
    "draw_fate",
]

log = logging.getLogger(__name__)


# -- distributions ------------------------------------------------------------------


class Distribution(Protocol):
    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True, slots=True)
class Fixed:
    value: float

    def sample(self, rng: random.Random) -> float:
        rng.random()  # consume one draw so every distribution advances the stream alike
        return self.value


@dataclass(frozen=True, slots=True)
class Never:
    """Forever: a talk time or patience that never runs out."""

    def sample(self, rng: random.Random) -> float:
        rng.random()
        return math.inf


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Exponential:
    mean: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Right-skewed durations (talk times, answer delays), given by median and sigma."""

    median: float
    sigma: float

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)


# -- profiles and fates -------------------------------------------------------------


class Outcome(enum.Enum):
    HUMAN = "human"
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    CONGESTION = "congestion"


_FAST_FAILURES: Final[Mapping[Outcome, HangupCause]] = {
    Outcome.BUSY: HangupCause.BUSY,
    Outcome.INVALID_NUMBER: HangupCause.INVALID_NUMBER,
    Outcome.CONGESTION: HangupCause.CONGESTION,
}

DEFAULT_OUTCOMES: Final[Mapping[Outcome, float]] = MappingProxyType(
    {
        Outcome.HUMAN: 0.35,
        Outcome.MACHINE: 0.15,
        Outcome.NO_ANSWER: 0.30,
        Outcome.BUSY: 0.08,
        Outcome.INVALID_NUMBER: 0.07,
        Outcome.CONGESTION: 0.03,
        Outcome.REJECTED: 0.02,
    }
)


@dataclass(frozen=True)
class CustomerProfile:
    """How a population of customers behaves; the defaults resemble consumer lists."""

    outcomes: Mapping[Outcome, float] = field(default_factory=lambda: dict(DEFAULT_OUTCOMES))
    ring_after: Distribution = Uniform(0.5, 2.5)
    answer_after: Distribution = LogNormal(8.0, 0.5)
    fail_after: Distribution = Uniform(0.2, 1.5)
    talk_time: Distribution = LogNormal(120.0, 0.6)
    patience: Distribution = LogNormal(30.0, 0.8)
    machine_time: Distribution = Uniform(15.0, 40.0)
    amd_error: float = 0.1
    early_media: float = 0.0
    keys: Mapping[str, float] = field(default_factory=lambda: {"1": 1.0})
    key_delay: Distribution = Uniform(1.0, 4.0)


@dataclass(frozen=True, slots=True)
class Fate:
    """Everything one call to one customer will do, drawn up front."""

    outcome: Outcome
    ring_after: float = 0.0
    answer_after: float = 0.0
    fail_after: float = 0.0
    talk_time: float = math.inf
    patience: float = math.inf
    machine_time: float = 30.0
    amd: AmdResult = "human"
    keys_seed: str = ""
    early_media: bool = False


def draw_fate(profile: CustomerProfile, rng: random.Random, keys_seed: str = "") -> Fate:
    """Draw a fate; always the same number of draws in the same order."""
    outcomes = list(profile.outcomes)
    outcome = rng.choices(outcomes, weights=[profile.outcomes[o] for o in outcomes])[0]
    ring_after = profile.ring_after.sample(rng)
    answer_after = profile.answer_after.sample(rng)
    fail_after = profile.fail_after.sample(rng)
    talk_time = profile.talk_time.sample(rng)
    patience = profile.patience.sample(rng)
    machine_time = profile.machine_time.sample(rng)
    amd_roll = rng.random()
    early_media = rng.random() < profile.early_media
    truth: AmdResult = "machine" if outcome is Outcome.MACHINE else "human"
    amd: AmdResult = truth
    if amd_roll < profile.amd_error / 2:
        amd = "unsure"
    elif amd_roll < profile.amd_error:
        amd = "human" if truth == "machine" else "machine"
    return Fate(
        outcome,
        ring_after=min(ring_after, answer_after),
        answer_after=answer_after,
        fail_after=fail_after,
        talk_time=talk_time,
        patience=patience,
        machine_time=machine_time,
        amd=amd,
        keys_seed=keys_seed,
        early_media=early_media,
    )


class CustomerBook:
    """The customers of the simulated network: a Directory for the SimSwitch.

    ``profiles`` maps a number to its profile; a key ending in ``*`` is a prefix (the
    longest prefix wins); other numbers get ``default``. ``script(number, fates...)``
    forces the fates of the next calls to a number, for tests.
    Destinations starting with ``exclude_prefix`` (bot phones) are not customers.
    """

    def __init__(
        self,
        seed: int = 0,
        default: CustomerProfile | None = None,
        profiles: Mapping[str, CustomerProfile] | None = None,
        *,
        exclude_prefix: str = "agent:",
    ) -> None:
        self.seed = seed
        self.default = default if default is not None else CustomerProfile()
        self._exact = {k: v for k, v in (profiles or {}).items() if not k.endswith("*")}
        self._prefixes = sorted(
            ((k[:-1], v) for k, v in (profiles or {}).items() if k.endswith("*")),
            key=lambda item: -len(item[0]),
        )
        self._exclude_prefix = exclude_prefix
        self._attempts: defaultdict[str, int] = defaultdict(int)
        self._scripts: defaultdict[str, deque[Fate]] = defaultdict(deque)

    def profile_for(self, number: str) -> CustomerProfile:
        if number in self._exact:
            return self._exact[number]
        for prefix, profile in self._prefixes:
            if number.startswith(prefix):
                return profile
        return self.default

    def script(self, number: str, *fates: Fate) -> None:
        self._scripts[number].extend(fates)

    def fate(self, number: str, attempt: int, profile: CustomerProfile | None = None) -> Fate:
        """The fate of call number ``attempt`` (from 0) to ``number``; pure."""
        key = f"{self.seed}/{number}/{attempt}"
        chosen = profile if profile is not None else self.profile_for(number)
        return draw_fate(chosen, random.Random(key), keys_seed=key + "/keys")

    def next_fate(self, number: str, profile: CustomerProfile | None = None) -> Fate:
        attempt = self._attempts[number]
        self._attempts[number] = attempt + 1
        script = self._scripts.get(number)
        if script:
            return script.popleft()
        return self.fate(number, attempt, profile)

    def dial(self, dest: str, line: Line, clock: Clock) -> Remote | None:
        if dest.startswith(self._exclude_prefix):
            return None
        return Customer(clock, line, self.next_fate(dest), self.profile_for(dest))


class Customer:
    """One fate played on one leg; a Remote of the SimSwitch."""

    def __init__(self, clock: Clock, line: Line, fate: Fate, profile: CustomerProfile) -> None:
        self._clock = clock
        self._line = line
        self.fate = fate
        self._profile = profile
        self._keys_rng: random.Random | None = None  # seeded on the first collect
        self._timers: list[TimerHandle] = []
        self._patience: TimerHandle | None = None
        self._talking = False
        self._ended = False

    @property
    def leg(self) -> LegId:
        return self._line.leg

    def _after(self, delay: float, callback: Callable[[], object]) -> TimerHandle | None:
        if self._ended or math.isinf(delay):
            return None
        timer = self._clock.call_at(self._clock.now() + max(0.0, delay), callback)
        self._timers.append(timer)
        return timer

    def _wait(self) -> None:
        """Not talking to anyone: start counting patience."""
        if self._patience is not None:
            self._patience.cancel()
        if self.fate.outcome is not Outcome.MACHINE:
            self._patience = self._after(self.fate.patience, self._line.hang_up)

    # Remote: outbound

    def dialled(self, ring_timeout: float, amd: bool) -> None:
        fate = self.fate
        cause = _FAST_FAILURES.get(fate.outcome)
        if cause is not None:
            self._after(fate.fail_after, lambda: self._line.fail(cause))
            return
        if fate.early_media:
            self._after(fate.ring_after, lambda: self._line.progress(early_media=True))
        else:
            self._after(fate.ring_after, self._line.ring)
        if fate.outcome is Outcome.NO_ANSWER:
            return
        if fate.outcome is Outcome.REJECTED:
            self._after(fate.answer_after, lambda: self._line.fail(HangupCause.REJECTED))
            return
        self._after(fate.answer_after, lambda: self._pick_up(amd))

    def _pick_up(self, amd: bool) -> None:
        self._line.answer(self.fate.amd if amd else None)
        if self.fate.outcome is Outcome.MACHINE:
            self._after(self.fate.machine_time, self._line.hang_up)
        elif not self._talking:
            self._wait()

    # Remote: inbound

    def offered(self) -> None:
        self._wait()

    def answered(self) -> None:
        pass  # still waiting for a person; patience keeps running

    # Remote: in the call

    def connected(self) -> None:
        if self._patience is not None:
            self._patience.cancel()
            self._patience = None
        if not self._talking and self.fate.outcome is not Outcome.MACHINE:
            self._talking = True
            self._after(self.fate.talk_time, self._line.hang_up)

    def disconnected(self) -> None:
        self._wait()

    def collecting(self, max_digits: int, timeout: float, terminator: str) -> None:
        if self.fate.outcome is Outcome.MACHINE:
            return
        if self._keys_rng is None:
            self._keys_rng = random.Random(self.fate.keys_seed)
        responses = list(self._profile.keys)
        weights = [self._profile.keys[r] for r in responses]
        keys = self._keys_rng.choices(responses, weights=weights)[0] if responses else ""
        delay = self._profile.key_delay.sample(self._keys_rng)
        if keys:
            self._after(delay, lambda: self._line.press(keys))

    def dtmf(self, digits: str) -> None:
        pass

    def ended(self) -> None:
        self._ended = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()


class _Exchange(Protocol):
    def offer_call(
        self,
        caller: str,
        dialled: str,
        trunk: str | None,
        make_remote: Callable[[Line], Remote],
    ) -> LegId: ...


class InboundCalls:
    """Poisson arrivals of customers calling ``did``; start() on a SimSwitch."""

    def __init__(
        self,
        book: CustomerBook,
        did: str,
        calls_per_hour: float,
        *,
        caller_prefix: str = "+861390000",
        trunk: str | None = None,
        profile: CustomerProfile | None = None,
        until: float = math.inf,
    ) -> None:
        if calls_per_hour <= 0:
            raise ValueError("calls_per_hour must be positive")
        self.book = book
        self.did = did
        self.calls_per_hour = calls_per_hour
        self.caller_prefix = caller_prefix
        self.trunk = trunk
        self.profile = profile
        self.until = until
        self.offered: list[LegId] = []
        self._rng = random.Random(f"{book.seed}/inbound/{did}")
        self._seq = 0
        self._timer: TimerHandle | None = None
        self._clock: Clock | None = None
        self._exchange: _Exchange | None = None

    def start(self, exchange: _Exchange, clock: Clock) -> None:
        self._exchange = exchange
        self._clock = clock
        self._schedule_next()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule_next(self) -> None:
        assert self._clock is not None
        gap = self._rng.expovariate(self.calls_per_hour / 3600.0)
        when = self._clock.now() + gap
        if when <= self.until:
            self._timer = self._clock.call_at(when, self._arrive)

    def _arrive(self) -> None:
        assert self._clock is not None and self._exchange is not None
        self._seq += 1
        caller = f"{self.caller_prefix}{self._seq:05d}"
        profile = self.profile if self.profile is not None else self.book.profile_for(caller)
        # Whoever calls in is a person: only the outbound outcome is overridden.
        fate = replace(self.book.next_fate(caller, profile), outcome=Outcome.HUMAN, amd="human")
        clock = self._clock

        def make_remote(line: Line) -> Remote:
            return Customer(clock, line, fate, profile)

        self.offered.append(self._exchange.offer_call(caller, self.did, self.trunk, make_remote))
        self._schedule_next()
