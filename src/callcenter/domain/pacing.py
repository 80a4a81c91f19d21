"""Dialer pacing (外呼节奏控制): how many new calls to launch now.

Theory of operation
-------------------
Every pacer answers one question, ``lines_to_dial(stats, now) -> int``, from a
:class:`PacingStats` snapshot: the logged-in agents (ready, talking or wrapping up, and
since when) and the calls in flight (ringing, being checked by answering-machine
detection, or answered and waiting for an agent). The dialer asks about once a second.

* :class:`ProgressivePacer`: one line per ready agent, minus the calls in flight. A
  person who answers always finds an agent; agents wait through every ring.
* :class:`FixedRatioPacer`: ``ratio`` lines per ready agent, minus the calls in flight.
* :class:`VicidialAdaptTapered`: the ADAPT_TAPERED rule as VICIdial's manual publishes
  it (written here from that description): a dial level adjusted every 15 seconds from
  the average ready agents and waiting calls, dropped to 1.0 once the day's drop rate
  passes the limit, with extra room early in the shift.
* :class:`PredictivePacer`: model-based. A :class:`PacingModel` learns, from observed
  outcomes, how likely a dial is to reach a person, when calls are answered, and how
  long talk and wrap-up last (sliding windows of recent samples blended with priors).

The predictive controller looks at checkpoints ``h`` over the next half minute. By
each ``h`` it expects some agents free (ready now, plus each busy agent's chance of
finishing by ``h`` plus the drop timeout given how long it has been busy: the
conditional survival of the talk and wrap-up laws) and some people answered (each
ringing call's chance given how long it has rung, the calls the next decisions will
launch at the recent dial rate, and ``n`` new calls). Both are sums of independent
Bernoulli variables, so the shortfall of agents at the checkpoints is close to a
Gaussian vector with known means and covariances. The calls lost over the horizon are
the worst shortfall, E[max(0, X_1, ..., X_K)], estimated with Clark's approximation
of the maximum of correlated normals. The controller launches the largest ``n`` whose
expected losses stay within the budget: the planning rate (a safety share of the 3%
target) times the expected live answers, corrected by an integral term: the room
left (or overspent) in the campaign's binding compliance window, spread over the next
hundred live answers. When even no new call fits, it falls back to progressive
dialing, which abandons nobody; it never dials fewer lines than progressive would.

A campaign may let the dialer give up ringing calls once they have rung the legal
minimum (``give_up_after`` seconds from the dial). Then :meth:`PredictivePacer.keep`
decides, as calls reach that age, how many to keep: those whose answers (if they ring
out) keep the same expected worst shortfall within ``keep_factor`` times the planning
rate; the others are hung up, not answered. Since later answers can be taken back,
lines are planned counting only ``late_weight`` of the answers young calls (and the
stream of new ones) may give after that age: what a dial commits is its first 16
seconds, and the rest is judged 16 seconds later, when the floor is better known.

The model's distributions are tabulated on a one-second grid, rebuilt at most every
few seconds; a decision is a few table look-ups per agent and call (numpy) and a few
Clark folds over six checkpoints (plain floats).
"""

from __future__ import annotations

import bisect
import enum
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from callcenter.domain.compliance import MAX_DROP_TIMEOUT, AbandonBudget

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]


class AgentActivity(enum.Enum):
    READY = "ready"  # waiting for a call
    RESERVED = "reserved"  # picked for a call that is being connected
    TALKING = "talking"
    WRAP_UP = "wrap-up"  # after-call work (话后处理)
    NOT_READY = "not-ready"  # logged in but paused (示忙)


class CallPhase(enum.Enum):
    RINGING = "ringing"  # dialled, not answered yet
    DETECTING = "detecting"  # answered; answering-machine detection is listening
    WAITING = "waiting"  # a person answered and waits for an agent (drop timer runs)


class DialOutcome(enum.Enum):
    HUMAN = "human"
    MACHINE = "machine"
    NO_ANSWER = "no-answer"  # rang until the ring timeout
    FAILED = "failed"  # busy, rejected, invalid number, congestion


@dataclass(frozen=True)
class AgentLoad:
    """One logged-in agent as the pacer sees it: what it does, and since when."""

    activity: AgentActivity
    since: float


@dataclass(frozen=True)
class CallInFlight:
    """One outbound call not yet connected to an agent, and since when it is in phase."""

    phase: CallPhase
    since: float


@dataclass(frozen=True)
class PacingStats:
    """What the dialer knows now about one campaign."""

    agents: Sequence[AgentLoad] = ()
    calls: Sequence[CallInFlight] = ()
    budget: AbandonBudget = field(default_factory=AbandonBudget)
    drop_timeout: float = MAX_DROP_TIMEOUT
    max_lines: int | None = None  # trunk channels the campaign may hold at once

    @property
    def ready(self) -> int:
        return sum(1 for a in self.agents if a.activity is AgentActivity.READY)

    @property
    def active_agents(self) -> int:
        """Logged-in agents that are not paused."""
        return sum(1 for a in self.agents if a.activity is not AgentActivity.NOT_READY)

    @property
    def on_call(self) -> int:
        """Agents talking, or reserved for a call being connected."""
        busy = (AgentActivity.TALKING, AgentActivity.RESERVED)
        return sum(1 for a in self.agents if a.activity in busy)

    @property
    def waiting(self) -> int:
        return sum(1 for c in self.calls if c.phase is CallPhase.WAITING)

    @property
    def in_flight(self) -> int:
        return len(self.calls)

    def cap(self, lines: int) -> int:
        """``lines`` limited by the free trunk channels, and never negative."""
        if self.max_lines is not None:
            lines = min(lines, self.max_lines - self.in_flight)
        return max(0, lines)


class Pacer(Protocol):
    """Decides how many new calls a campaign launches now."""

    def lines_to_dial(self, stats: PacingStats, now: float) -> int: ...


# --- the baselines -------------------------------------------------------------------


class ProgressivePacer:
    """One line per ready agent, minus the calls already in flight (渐进式外呼)."""

    def lines_to_dial(self, stats: PacingStats, now: float) -> int:
        return stats.cap(stats.ready - stats.in_flight)


@dataclass(frozen=True)
class FixedRatioPacer:
    """``ratio`` lines per ready agent, minus the calls already in flight."""

    ratio: float

    def __post_init__(self) -> None:
        if not self.ratio >= 0.0:
            raise ValueError(f"a dial ratio is not negative: {self.ratio}")

    def lines_to_dial(self, stats: PacingStats, now: float) -> int:
        return stats.cap(math.ceil(self.ratio * stats.ready - 1e-9) - stats.in_flight)


@dataclass(frozen=True)
class AdaptConfig:
    """Settings of :class:`VicidialAdaptTapered`."""

    drop_limit: float = 0.03  # the day's drop rate beyond which the level falls to 1.0
    max_level: float = 4.0  # the highest dial level (lines per active agent)
    intensity: float = 1.0  # scales each adjustment: 0 freezes, 2 doubles
    diff_target: float = 0.0  # ready agents minus waiting calls to aim for
    interval: float = 15.0  # seconds between adjustments
    shift_start: float | None = None  # the shift, for the taper; None: a hard limit
    shift_end: float | None = None
    early_overage: float = 1.0  # extra drop allowance at shift start, share of the limit


class VicidialAdaptTapered:
    """The ADAPT_TAPERED dial-level rule, from its published description.

    Every ``interval`` seconds the level becomes ``level * (1 + (avg ready - avg waiting
    + diff target) / avg logged-in agents * intensity)``, capped at ``max_level`` and at
    least 1.0. Once the day's drop rate (``stats.budget``: give this pacer the calendar
    day's window) passes the limit the level is 1.0. Tapered: in
    the first half of the shift the limit is raised by ``early_overage`` (shrinking
    linearly to nothing at mid-shift); from then on it is the limit itself.
    Lines = floor(level * dialing agents) - the campaign's calls, where dialing agents
    are those ready or on a call, and the calls are those in flight plus those connected
    to an agent: at level 1.0 this is progressive dialing.
    """

    def __init__(self, config: AdaptConfig | None = None) -> None:
        self.config = config or AdaptConfig()
        self.level = 1.0
        self._next_update: float | None = None
        self._ready_sum = 0.0
        self._waiting_sum = 0.0
        self._logged_in_sum = 0.0
        self._samples = 0

    def drop_allowance(self, now: float) -> float:
        """The drop rate allowed at ``now``: above the limit early in the shift."""
        cfg = self.config
        if cfg.shift_start is None or cfg.shift_end is None or cfg.shift_end <= cfg.shift_start:
            return cfg.drop_limit
        elapsed = (now - cfg.shift_start) / (cfg.shift_end - cfg.shift_start)
        early = max(0.0, 1.0 - 2.0 * min(max(elapsed, 0.0), 1.0))
        return cfg.drop_limit * (1.0 + cfg.early_overage * early)

    def lines_to_dial(self, stats: PacingStats, now: float) -> int:
        cfg = self.config
        on_call = stats.on_call
        active = stats.ready + on_call
        self._ready_sum += stats.ready
        self._waiting_sum += stats.waiting
        self._logged_in_sum += len(stats.agents)
        self._samples += 1
        if self._next_update is None:
            self._next_update = now + cfg.interval
        elif now >= self._next_update:
            self._adjust(stats, now)
            self._next_update = now + cfg.interval
        if active == 0:
            return 0
        return stats.cap(math.floor(self.level * active + 1e-9) - stats.in_flight - on_call)

    def _adjust(self, stats: PacingStats, now: float) -> None:
        cfg = self.config
        n = self._samples
        avg_ready, avg_waiting = self._ready_sum / n, self._waiting_sum / n
        avg_logged_in = self._logged_in_sum / n
        self._ready_sum = self._waiting_sum = self._logged_in_sum = 0.0
        self._samples = 0
        old = self.level
        if stats.budget.rate > self.drop_allowance(now):
            self.level = 1.0
        elif avg_logged_in > 0:
            change = (avg_ready - avg_waiting + cfg.diff_target) / avg_logged_in * cfg.intensity
            self.level = min(cfg.max_level, max(1.0, self.level * (1.0 + change)))
        if self.level != old:
            log.debug("adapt dial level %.2f -> %.2f", old, self.level)


# --- the learned model ---------------------------------------------------------------


class Distribution(Protocol):
    def cdf(self, x: float) -> float: ...

    @property
    def mean(self) -> float: ...


@dataclass(frozen=True)
class LogNormal:
    """A log-normal law given by its mean and coefficient of variation."""

    mean: float
    cv: float

    def cdf(self, x: float) -> float:
        if x <= 0.0:
            return 0.0
        s2 = math.log1p(self.cv * self.cv)
        mu = math.log(self.mean) - s2 / 2.0
        return 0.5 * (1.0 + math.erf((math.log(x) - mu) / math.sqrt(2.0 * s2)))


@dataclass(frozen=True)
class PointMass:
    """All the mass at one value (an unanswered call rings exactly the ring timeout)."""

    value: float

    def cdf(self, x: float) -> float:
        return 1.0 if x >= self.value else 0.0

    @property
    def mean(self) -> float:
        return self.value


class Empirical:
    """The most recent ``window`` samples, blended with a prior worth ``prior_weight``.

    ``F(x) = (w F_prior(x) + n F_samples(x)) / (w + n)``: before data the prior rules;
    after a few hundred samples the data do. Memory is bounded by the window.
    """

    def __init__(self, prior: Distribution, *, window: int = 500, prior_weight: float = 20.0):
        self.prior = prior
        self.prior_weight = prior_weight
        self._recent: deque[float] = deque(maxlen=window)
        self._sorted: list[float] = []
        self._sum = 0.0
        self._prior_grids: dict[int, FloatArray] = {}

    def observe(self, x: float) -> None:
        x = max(0.0, x)
        if len(self._recent) == self._recent.maxlen:
            old = self._recent[0]
            del self._sorted[bisect.bisect_left(self._sorted, old)]
            self._sum -= old
        self._recent.append(x)
        bisect.insort(self._sorted, x)
        self._sum += x

    @property
    def count(self) -> int:
        return len(self._sorted)

    @property
    def mean(self) -> float:
        n, w = len(self._sorted), self.prior_weight
        return (w * self.prior.mean + self._sum) / (w + n) if n or w else 0.0

    def cdf(self, x: float) -> float:
        n, w = len(self._sorted), self.prior_weight
        empirical = bisect.bisect_right(self._sorted, x) / n if n else 0.0
        return (w * self.prior.cdf(x) + n * empirical) / (w + n)

    def grid(self, points: int) -> FloatArray:
        """``F(k)`` for k = 0 .. points-1 seconds (the prior's part is computed once)."""
        prior = self._prior_grids.get(points)
        if prior is None:
            prior = np.array([self.prior.cdf(float(k)) for k in range(points)])
            self._prior_grids[points] = prior
        n, w = len(self._sorted), self.prior_weight
        if n == 0:
            return prior
        below = np.searchsorted(np.asarray(self._sorted), np.arange(points), side="right")
        result: FloatArray = (w * prior + below) / (w + n)
        return result


@dataclass(frozen=True)
class PacingPriors:
    """What the model assumes before it has seen calls; a little pessimistic on purpose."""

    outcome_shares: tuple[tuple[DialOutcome, float], ...] = (
        (DialOutcome.HUMAN, 0.30),
        (DialOutcome.MACHINE, 0.15),
        (DialOutcome.FAILED, 0.10),
        (DialOutcome.NO_ANSWER, 0.45),
    )
    outcome_weight: float = 40.0  # pseudo-dials behind the prior shares
    answer_time: LogNormal = LogNormal(12.0, 0.6)
    failure_time: LogNormal = LogNormal(4.0, 0.5)
    ring_timeout: float = 30.0
    talk_time: LogNormal = LogNormal(120.0, 1.0)
    wrap_time: LogNormal = LogNormal(15.0, 0.5)
    time_weight: float = 20.0  # pseudo-samples behind each time prior


class PacingModel:
    """An online estimator of the campaign's call outcomes and their timing."""

    def __init__(self, priors: PacingPriors | None = None, *, window: int = 2000) -> None:
        self.priors = priors or PacingPriors()
        p = self.priors
        self._outcomes: deque[DialOutcome] = deque(maxlen=window)
        self._counts = dict.fromkeys(DialOutcome, 0)
        self._prior_share = dict(p.outcome_shares)
        ring_priors: dict[DialOutcome, Distribution] = {
            DialOutcome.HUMAN: p.answer_time,
            DialOutcome.MACHINE: p.answer_time,
            DialOutcome.FAILED: p.failure_time,
            DialOutcome.NO_ANSWER: PointMass(p.ring_timeout),
        }
        self.ring_time = {
            o: Empirical(prior, prior_weight=p.time_weight) for o, prior in ring_priors.items()
        }
        self.talk_time = Empirical(p.talk_time, window=1000, prior_weight=p.time_weight)
        self.wrap_time = Empirical(p.wrap_time, window=1000, prior_weight=p.time_weight)
        self.version = 0  # bumped by every observation: tables built from it go stale

    def observe_dial(self, outcome: DialOutcome, ring_seconds: float) -> None:
        """A dial ended ringing after ``ring_seconds`` with ``outcome``."""
        if len(self._outcomes) == self._outcomes.maxlen:
            self._counts[self._outcomes[0]] -= 1
        self._outcomes.append(outcome)
        self._counts[outcome] += 1
        self.ring_time[outcome].observe(ring_seconds)
        self.version += 1

    def observe_talk(self, seconds: float) -> None:
        self.talk_time.observe(seconds)
        self.version += 1

    def observe_wrap(self, seconds: float) -> None:
        self.wrap_time.observe(seconds)
        self.version += 1

    @property
    def dials(self) -> int:
        return len(self._outcomes)

    def share(self, outcome: DialOutcome) -> float:
        """The probability that a dial ends with ``outcome``."""
        w = self.priors.outcome_weight
        prior = self._prior_share.get(outcome, 0.0)
        return (self._counts[outcome] + w * prior) / (len(self._outcomes) + w)

    @property
    def human_rate(self) -> float:
        """The share of dials a person answers."""
        return self.share(DialOutcome.HUMAN)

    @property
    def machine_share(self) -> float:
        """The share of answered dials that reach a machine."""
        human, machine = self.human_rate, self.share(DialOutcome.MACHINE)
        return machine / (human + machine) if human + machine > 0 else 0.0


# --- the predictive controller -----------------------------------------------------


@dataclass(frozen=True)
class PredictiveConfig:
    """Settings of :class:`PredictivePacer`."""

    checkpoints: tuple[int, ...] = (3, 7, 12, 17, 23, 30)  # seconds ahead
    safety: float = 0.85  # plan for this share of the target abandonment rate
    max_ratio: float = 8.0  # calls in flight per active agent, at most
    max_plan_factor: float = 2.0  # with room to spare, plan for at most this x target
    min_plan_factor: float = 0.0  # plan for at least this x target, unless over it
    recovery_answers: float = 100.0  # live answers over which budget slack is evened out
    recovery_horizons: float = 10.0  # ... or this many horizons' answers, if more
    rate_window: float = 30.0  # seconds over which the recent dial rate is measured
    stream_weight: float = 1.0  # share of the recent dial rate assumed to go on
    # Marginal rule (see :meth:`PredictivePacer._marginal_lines`): launch each call whose
    # own expected abandons per expected live answer stay below a price that an integral
    # controller on the binding window moves. None: the average rule above.
    marginal_price: float | None = None  # the price at budget, in multiples of the target
    marginal_scale: float = 4.0  # abandoned calls of slack that scale the price by e
    # Giving up ringing calls (see :meth:`PredictivePacer.keep`): a call still ringing
    # ``give_up_after`` seconds after its dial may be given up. New and young calls'
    # answers past that age count ``late_weight`` of themselves when lines are planned
    # (they can still be given up); calls reaching it are kept while the abandons they
    # add stay within ``keep_factor`` x the planning rate. None: calls ring out.
    give_up_after: float | None = None
    late_weight: float = 0.5
    keep_factor: float = 2.0
    refresh_interval: float = 5.0  # seconds between rebuilds of the model's tables
    ring_grid: int = 121  # seconds tabulated for ringing calls (then the last value)
    talk_grid: int = 3601  # seconds tabulated for talk and wrap-up

    def __post_init__(self) -> None:
        points = self.checkpoints
        if not points or points[0] <= 0 or any(a >= b for a, b in itertools.pairwise(points)):
            raise ValueError(f"checkpoints are positive and increasing: {points}")
        after = self.give_up_after
        if after is not None and not 0 < after < self.ring_grid:
            raise ValueError(f"give_up_after is within the ring grid: {after}")


@dataclass(frozen=True)
class PacingPlan:
    """One decision and the figures behind it (at the last checkpoint)."""

    lines: int
    free_agents: float  # agents expected free within the horizon
    answers: float  # people expected to answer within the horizon, new dials included
    abandons: float  # expected abandoned calls
    allowed: float  # abandoned calls the budget allows
    fallback: bool  # over budget: dialling progressively


@dataclass(frozen=True)
class _Tables:
    version: int
    built_at: float
    human_by: FloatArray  # [checkpoint, elapsed ring s]: P(a person answers by then)
    # ... if the call rings out (human_by counts answers past give_up_after at late_weight)
    human_by_full: FloatArray
    human_if_answered: float  # P(person | answered), for calls AMD is listening to
    talk: FloatArray  # CDF of talk time on a one-second grid
    wrap: FloatArray  # CDF of wrap-up time
    talk_mean: float
    wrap_mean: float
    both: FloatArray  # talk then wrap-up, one array for one look-up
    stream: list[float]  # [checkpoint]: people answering by then, per dial per second
    stream_covariance: FloatArray  # of a Poisson stream: the mean at the earlier one
    new_call: list[float]  # [checkpoint]: P(a call launched now is answered by a person)
    new_call_covariance: list[list[float]]  # p_min (1 - p_max)
    no_covariance: FloatArray


@dataclass(frozen=True)
class _Frame:
    """The floor as one decision sees it, before new calls: per checkpoint."""

    mu0: list[float]  # expected answers - free agents (continuity-corrected)
    cov: FloatArray  # their covariance
    covariance: list[list[float]]  # the same, as lists (Clark's fold reads them one by one)
    answers0: float  # people expected to answer within the horizon
    free_last: float  # agents expected free within the horizon
    rate: float  # abandons allowed per expected answer (the integral's planning rate)
    cap: int  # new calls allowed at most
    progressive: int  # one line per ready agent not yet covered


def expected_worst_excess(mu: Sequence[float], cov: Sequence[Sequence[float]]) -> float:
    """E[max(0, X_1, ..., X_K)] for a Gaussian vector X with means ``mu``, covariance ``cov``.

    Clark's approximation (Operations Research 9(2), 1961): the maximum of two
    correlated normals has known first two moments and covariances with any third;
    folding the checkpoints in one at a time, starting from the constant 0, gives the
    expected worst shortfall of agents over the horizon: the expected abandons.
    """
    m = v = 0.0
    c = [0.0] * len(mu)  # cov(M, X_i)
    for k, mk in enumerate(mu):
        row = cov[k]
        vk = row[k]
        theta = math.sqrt(max(v + vk - 2.0 * c[k], 1e-12))
        a = (m - mk) / theta
        first = 0.5 * math.erfc(-a / _SQRT2)
        second = 1.0 - first
        density = math.exp(-0.5 * a * a) / _SQRT2PI
        mean = mk + (m - mk) * first + theta * density
        square = (m * m + v) * first + (mk * mk + vk) * second + (m + mk) * theta * density
        c = [ci * first + ri * second for ci, ri in zip(c, row, strict=True)]
        m, v = mean, max(square - mean * mean, 0.0)
    return max(m, 0.0)


_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _loss(mu: float, var: float) -> float:
    """E[max(X, 0)] for X ~ N(mu, var): the normal loss function."""
    if var <= 1e-12:
        return max(mu, 0.0)
    sd = math.sqrt(var)
    z = mu / sd
    return sd * math.exp(-0.5 * z * z) / _SQRT2PI + mu * 0.5 * math.erfc(-z / _SQRT2)


def _normal_loss(mu: FloatArray, var: FloatArray) -> FloatArray:
    """E[max(X, 0)] for X ~ N(mu, var), elementwise.

    Phi by Abramowitz and Stegun 7.1.26 (error below 2e-7): numpy has no erf.
    """
    sd = np.sqrt(np.maximum(var, 1e-12))
    z = mu / sd
    x = np.abs(z) / _SQRT2
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    density = np.exp(-0.5 * z * z)
    cdf = 0.5 * (1.0 + np.sign(z) * (1.0 - poly * density))
    result: FloatArray = np.maximum(sd * density / _SQRT2PI + mu * cdf, 0.0)
    return result


def _last_true(ok: npt.NDArray[np.bool_]) -> int:
    """The index before the first False (the last of the leading run of True), or -1."""
    misses = np.flatnonzero(~ok)
    return int(misses[0]) - 1 if misses.size else len(ok) - 1


def largest_fitting(
    fits: Callable[[int], bool], lo: int, hi: int, *, from_top: bool = False
) -> int:
    """The largest n in [lo, hi] that fits, given that ``lo`` fits and fitting is monotone.

    From the bottom: gallop up, then bisect. From the top (the answer is expected near
    ``hi``): gallop down, then bisect.
    """
    if hi <= lo:
        return lo
    if from_top:
        step, probe = 1, hi
        while probe > lo and not fits(probe):
            hi = probe - 1
            probe = max(lo, hi - step + 1)
            step *= 2
        if probe > lo:
            lo = probe
        bad = hi + 1
    else:
        step, bad = 1, hi + 1
        while lo < hi:
            probe = min(hi, lo + step)
            if not fits(probe):
                bad = probe
                break
            lo, step = probe, step * 2
    while bad - lo > 1:
        mid = (lo + bad) // 2
        if fits(mid):
            lo = mid
        else:
            bad = mid
    return lo


class PredictivePacer:
    """Model-based predictive pacing within the abandonment budget (预测式外呼)."""

    def __init__(
        self, model: PacingModel | None = None, config: PredictiveConfig | None = None
    ) -> None:
        self.model = model or PacingModel()
        self.config = config or PredictiveConfig()
        self._tables: _Tables | None = None
        self._checkpoints = np.asarray(self.config.checkpoints, dtype=np.float64)
        k = np.arange(len(self._checkpoints))
        self._lo, self._hi = np.minimum.outer(k, k), np.maximum.outer(k, k)
        self._launched: deque[tuple[float, int]] = deque()  # (when, lines), recent

    def dial_rate(self, now: float) -> float:
        """Lines launched per second over the last ``rate_window`` seconds."""
        window = self.config.rate_window
        while self._launched and self._launched[0][0] <= now - window:
            self._launched.popleft()
        return sum(lines for _, lines in self._launched) / window

    def lines_to_dial(self, stats: PacingStats, now: float) -> int:
        lines = self.plan(stats, now).lines
        if lines:
            self._launched.append((now, lines))
        return lines

    # --- tables ------------------------------------------------------------------

    def tables(self, now: float) -> _Tables:
        """The model tabulated; rebuilt when it changed and the last build is old."""
        t = self._tables
        if t is None or (
            t.version != self.model.version and now - t.built_at >= self.config.refresh_interval
        ):
            t = self._tables = self._build(now)
        return t

    def _build(self, now: float) -> _Tables:
        cfg, model = self.config, self.model
        ring = cfg.ring_grid
        span = ring + max(cfg.checkpoints) + 1
        alive = np.zeros(ring)
        human = np.zeros(span)
        for outcome in DialOutcome:
            cdf = model.ring_time[outcome].grid(span)
            share = model.share(outcome)
            alive += share * (1.0 - cdf[:ring])
            if outcome is DialOutcome.HUMAN:
                human = share * cdf
        elapsed = np.arange(ring)
        end = elapsed[None, :] + np.asarray(cfg.checkpoints)[:, None]
        full = np.clip((human[end] - human[:ring]) / np.maximum(alive, 1e-9), 0.0, 1.0)
        human_by, reach = full, np.arange(span)
        if cfg.give_up_after is not None:
            # Answers after the age a call may be given up at count late_weight of
            # themselves for calls not yet that old (and for the stream of new calls).
            cut = int(cfg.give_up_after)
            mid = np.minimum(end, np.maximum(elapsed, cut)[None, :])
            late = cfg.late_weight * (human[end] - human[mid])
            young = (human[mid] - human[:ring] + late) / np.maximum(alive, 1e-9)
            human_by = np.where(elapsed[None, :] < cut, np.clip(young, 0.0, 1.0), full)
            reach = np.minimum(reach, cut)
        seen = human[reach] + cfg.late_weight * (human - human[reach])
        talk = model.talk_time.grid(cfg.talk_grid)
        wrap = model.wrap_time.grid(cfg.talk_grid)
        stream = np.array([seen[:h].sum() for h in cfg.checkpoints])
        new_call = human_by[:, 0]
        return _Tables(
            version=model.version,
            built_at=now,
            human_by=human_by,
            human_by_full=full,
            human_if_answered=1.0 - model.machine_share,
            talk=talk,
            wrap=wrap,
            talk_mean=model.talk_time.mean,
            wrap_mean=model.wrap_time.mean,
            both=np.concatenate((talk, wrap)),
            stream=stream.tolist(),
            stream_covariance=np.minimum.outer(stream, stream),
            new_call=new_call.tolist(),
            new_call_covariance=(
                np.minimum.outer(new_call, new_call) - np.outer(new_call, new_call)
            ).tolist(),
            no_covariance=np.zeros((len(stream), len(stream))),
        )

    # --- the decision ------------------------------------------------------------

    def plan(self, stats: PacingStats, now: float) -> PacingPlan:
        """The number of new calls to launch now, with the expectations behind it."""
        cfg = self.config
        t = self.tables(now)
        f = self._frame(stats, now, t)
        if f is None:
            return PacingPlan(0, 0.0, 0.0, 0.0, 0.0, False)
        rate, cap, progressive = f.rate, f.cap, f.progressive
        cov, mu0, answers0 = f.cov, f.mu0, f.answers0
        q = t.new_call  # a new call: a person answers by each checkpoint
        per_call = t.new_call_covariance
        q_last = q[-1]

        def allowed(n: int) -> float:  # (plus a hair: no expected abandons fit in none)
            return rate * (answers0 + n * q_last) + 1e-6

        memo: dict[int, float] = {}

        def abandons(n: int) -> float:
            if n not in memo:
                memo[n] = self._abandons(f, [n * qk for qk in q], per_call, n)
            return memo[n]

        def fits(n: int) -> bool:
            return abandons(n) <= allowed(n)

        # Clark's fold costs tens of microseconds a time. The worst single checkpoint
        # (E[max] >= max E) is cheap for every n at once: its answer bounds the result;
        # scaled to agree with Clark there it gives a close guess, which one more fold
        # checks (and, when the guess is too high, a short search down).
        # E[X+] >= E[X] as well: past the n whose mean shortfall at some checkpoint
        # passes the allowance, nothing fits; that bounds the candidates.
        if cfg.marginal_price is not None:
            lines = self._marginal_lines(abandons, stats.budget, q_last, cap, progressive)
            fallback = lines == progressive and lines > 0
        else:
            bound = cap
            for m, qk in zip(mu0, q, strict=True):
                slope = qk - rate * q_last
                if slope > 0.0:
                    bound = min(bound, max(0, math.floor((rate * answers0 + 1e-6 - m) / slope) + 1))
            n = np.arange(bound + 1, dtype=np.float64)[:, None]
            q_row = np.asarray(q)
            worst = _normal_loss(
                np.asarray(mu0) + n * q_row, cov.diagonal() + n * (q_row * (1.0 - q_row))
            ).max(axis=1)
            limit = rate * (answers0 + n[:, 0] * q_last) + 1e-6
            top = _last_true(worst <= limit)
            if rate <= 0.0 or top < 0:
                lines, fallback = progressive, True
            elif fits(top):
                lines, fallback = top, False
            else:
                scale = abandons(top) / max(float(worst[top]), 1e-12)
                guess = _last_true(scale * worst[:top] <= limit[:top])
                if guess >= 0 and fits(guess):  # close enough: not worth more folds up
                    lines, fallback = guess, False
                elif fits(0):
                    lines, fallback = (
                        largest_fitting(fits, 0, max(0, guess - 1), from_top=True),
                        False,
                    )
                else:
                    lines, fallback = progressive, True
            if not fallback:
                lines = max(lines, progressive)
        return PacingPlan(
            lines=lines,
            free_agents=f.free_last,
            answers=answers0 + lines * q_last,
            abandons=abandons(lines),
            allowed=allowed(lines),
            fallback=fallback,
        )

    def _frame(self, stats: PacingStats, now: float, t: _Tables) -> _Frame | None:
        """The expectations of one decision without new calls (None: no agent active)."""
        cfg = self.config
        ready = 0
        busy: list[float] = []  # seconds each busy agent has been busy
        wrapping: list[bool] = []  # whether it is in wrap-up (else talking or reserved)
        for agent in stats.agents:
            activity = agent.activity
            if activity is _READY:
                ready += 1
            elif activity is _WRAP_UP:
                busy.append(max(0.0, now - agent.since))
                wrapping.append(True)
            elif activity is not _NOT_READY:
                busy.append(max(0.0, now - agent.since))
                wrapping.append(False)
        active = ready + len(busy)
        if active == 0:
            return None

        # Per checkpoint (plain lists: K is small, numpy only pays per agent and call).
        k_count = len(cfg.checkpoints)
        free = [float(ready)] * k_count  # expected free agents by each checkpoint
        cov = t.no_covariance  # of (answers - free agents) between checkpoints
        if busy:
            ahead = self._checkpoints + stats.drop_timeout
            p = self._free_by(t, np.asarray(busy), np.asarray(wrapping), ahead).T
            free = [ready + x for x in p.sum(axis=1).tolist()]
            cov = cov + self._nested(p)

        ringing: list[float] = []
        certain = detecting = 0
        for call in stats.calls:
            if call.phase is CallPhase.RINGING:
                ringing.append(now - call.since)
            elif call.phase is CallPhase.WAITING:
                certain += 1
            else:
                detecting += 1
        h = t.human_if_answered
        # The calls the next decisions will launch answer within this horizon too: at
        # the recent dial rate, a Poisson stream (its counts' covariance is the mean at
        # the earlier checkpoint).
        rate_now = self.dial_rate(now) * cfg.stream_weight
        base = certain + detecting * h
        demand = [base + rate_now * x for x in t.stream]
        cov = cov + (rate_now * t.stream_covariance + detecting * h * (1.0 - h))
        if ringing:
            rows = np.minimum(np.asarray(ringing, dtype=np.intp), cfg.ring_grid - 1)
            p = t.human_by[:, np.maximum(rows, 0)]
            demand = [d + x for d, x in zip(demand, p.sum(axis=1).tolist(), strict=True)]
            cov = cov + self._nested(p)

        budget = stats.budget
        # An integral controller on the binding window: the room left (or overspent) at
        # the planning rate is spread over the next live answers (``recovery_answers``,
        # or ``recovery_horizons`` horizons' worth on a big floor). It plans for at
        # least ``min_plan_factor`` of the target unless the window is over the legal
        # rate: then it may stop predicting altogether.
        recovery = max(cfg.recovery_answers, cfg.recovery_horizons * demand[-1])
        slack = cfg.safety * budget.target * budget.live - budget.abandoned
        rate = min(
            cfg.max_plan_factor * budget.target,
            cfg.safety * budget.target + slack / recovery,
        )
        if not budget.exceeded:
            rate = max(rate, cfg.min_plan_factor * budget.target)

        in_flight = len(stats.calls)
        cap = stats.cap(math.floor(cfg.max_ratio * active) - in_flight)
        progressive = min(cap, stats.cap(ready - in_flight))
        return _Frame(
            mu0=[d - f - 0.5 for d, f in zip(demand, free, strict=True)],  # 0.5: continuity
            cov=cov,
            covariance=cov.tolist(),
            answers0=demand[-1],
            free_last=free[-1],
            rate=rate,
            cap=cap,
            progressive=progressive,
        )

    @staticmethod
    def _abandons(
        f: _Frame, add: Sequence[float], per_call: Sequence[Sequence[float]], n: int
    ) -> float:
        """Expected abandons with ``n`` more calls adding ``add`` to the answers expected
        by each checkpoint (``per_call``: one call's covariance)."""
        mu = [m + a for m, a in zip(f.mu0, add, strict=True)]
        covariance = f.covariance
        # A checkpoint whose shortfall is below 0 six standard deviations deep never
        # holds the maximum: leave it out of the fold.
        keep = [
            k
            for k, m in enumerate(mu)
            if m + 6.0 * math.sqrt(covariance[k][k] + n * per_call[k][k]) > 0.0
        ]
        cv = [[covariance[i][j] + n * per_call[i][j] for j in keep] for i in keep]
        return expected_worst_excess([mu[k] for k in keep], cv)

    def keep(self, stats: PacingStats, ages: Sequence[float], now: float) -> int:
        """How many of the ringing calls aged ``ages`` (seconds since their dial, at least
        ``give_up_after``) to keep ringing; the others are given up.

        ``stats`` holds the other calls in flight. The calls kept are those whose
        answers, if they ring out, keep the horizon's expected abandons within
        ``keep_factor`` x the planning rate of its expected answers: the lines were
        planned counting only ``late_weight`` of these answers, so the room for them is
        judged now, when the floor is 15 seconds better known. No agent logged in: none.
        """
        t = self.tables(now)
        f = self._frame(stats, now, t)
        if f is None or not ages:
            return 0
        rows = np.minimum(np.asarray(ages).astype(np.intp), self.config.ring_grid - 1)
        p = t.human_by_full[:, rows].mean(axis=1)  # ages within a second: one law
        per_call: list[list[float]] = (np.minimum.outer(p, p) - np.outer(p, p)).tolist()
        q: list[float] = p.tolist()
        rate = f.rate * self.config.keep_factor

        def fits(n: int) -> bool:
            added = [n * x for x in q]
            allowed = rate * (f.answers0 + n * q[-1]) + 1e-6
            return self._abandons(f, added, per_call, n) <= allowed

        if rate <= 0.0 or not fits(0):
            return 0
        return largest_fitting(fits, 0, len(ages))

    def _marginal_lines(
        self,
        abandons: Callable[[int], float],
        budget: AbandonBudget,
        q_last: float,
        cap: int,
        progressive: int,
    ) -> int:
        """The largest n whose last call adds at most ``price`` abandons per live answer.

        Every call is worth its expected live answer ``q`` and costs the expected
        abandons it adds; the price of an abandon falls as the binding window's slack
        (at the planning rate) grows and rises as it is overspent, exponentially with
        ``marginal_scale`` abandoned calls. Calls launched at low marginal risk keep
        the average well under the price, so the price sits above the target.
        Over the legal rate, nothing beyond progressive dialing is launched.
        """
        cfg = self.config
        assert cfg.marginal_price is not None
        if budget.exceeded and budget.live >= 1.0:
            return progressive
        slack = cfg.safety * budget.target * budget.live - budget.abandoned
        exponent = max(-6.0, min(3.0, slack / cfg.marginal_scale))
        price = cfg.marginal_price * budget.target * math.exp(exponent)
        limit = price * q_last + 1e-9

        def fits(n: int) -> bool:
            return n == 0 or abandons(n) - abandons(n - 1) <= limit

        return max(progressive, largest_fitting(fits, 0, cap))

    def _nested(self, p: FloatArray) -> FloatArray:
        """Covariances of cumulative indicators ``1[T_i <= h_k]``, summed over items i.

        ``p`` is [checkpoint, item], non-decreasing along checkpoints, so
        ``cov(1[T <= h_j], 1[T <= h_k]) = p_j (1 - p_k)`` for j <= k: the upper triangle
        of ``p @ (1 - p).T``, mirrored.
        """
        product = p @ (1.0 - p).T
        result: FloatArray = product[self._lo, self._hi]
        return result

    @staticmethod
    def _free_by(
        t: _Tables, elapsed: FloatArray, wrapping: npt.NDArray[np.bool_], ahead: FloatArray
    ) -> FloatArray:
        """P(busy for ``elapsed`` s, free within ``ahead`` s more): [agent, checkpoint].

        A talking agent is free once the talk ends and the wrap-up (its mean) is done; a
        wrapping agent once the wrap-up ends. Both use the conditional survival
        ``(F(e + a) - F(e)) / (1 - F(e))`` of the tabulated law, looked up in one table
        (talk, then wrap-up); past a table's end, or where the law has no mass left, a
        constant hazard at the mean.
        """
        size = len(t.talk)
        last = size - 1
        cdf = t.both
        offset = wrapping * size
        lag = np.where(wrapping, 0.0, t.wrap_mean)
        e = np.minimum(elapsed, last).astype(np.intp)
        base = cdf[offset + e]
        left = 1.0 - base
        # Whole seconds (truncated); an end before ``e`` (wrap-up still to come) is no end.
        until = (elapsed[:, None] + (ahead - lag[:, None])).astype(np.intp)
        idx = offset[:, None] + np.minimum(np.maximum(until, e[:, None]), last)
        p = (cdf[idx] - base[:, None]) / np.maximum(left, 1e-12)[:, None]
        tail = (elapsed >= last) | (left < 1e-6)
        if tail.any():
            mean = np.where(wrapping, t.wrap_mean, t.talk_mean)[tail]
            more = np.maximum(ahead - lag[tail][:, None], 0.0)
            p[tail] = 1.0 - np.exp(-more / np.maximum(mean, 1e-9)[:, None])
        result: FloatArray = p
        return result


_READY, _WRAP_UP, _NOT_READY = AgentActivity.READY, AgentActivity.WRAP_UP, AgentActivity.NOT_READY
