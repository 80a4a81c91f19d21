"""`callcenter bench dialer`: pacing policies compared through the production dialer.

Every policy runs the production stack: the dialer runtime
(:class:`~callcenter.app.dialer.runtime.CampaignDialer`), the CTI engine with its
outbound flows, and SimSwitch with virtual customers and bot agents, on a
``VirtualClock``. Nothing is simulated apart from the network and the people.

Common random numbers: a seed fixes the fate of every attempt to every lead (the
customer book draws it from ``(seed, number, attempt)``), and every policy takes the
leads in the same order from the same in-memory list. Policies compared in one run:

* ``predictive``: the model-based controller (:class:`PredictivePacer`);
* ``predictive_give_up``: the same for a campaign that gives up ringing calls after
  the legal 15 s when no agent is expected for them (``give_up_ringing``);
* ``progressive``: one line per ready agent;
* ``best_ratio``: fixed lines per ready agent, the ratios swept (bisection on a 0.05
  grid to 6, then 0.25 to 25) for the highest that kept every seed's abandonment within 3%,
  in hindsight;
* ``vicidial_adapt_tapered``: the ADAPT_TAPERED dial level as published.

The model file (YAML; every key optional, a nested mapping such as ``talk`` may give
some of its keys, defaults are the reference model ``agents-20``; a key misspelt, a
value out of range or of the wrong type is refused, zh and en)::

    agents: 20                 # agents logged in
    human_answer: 0.25         # share of dials a person answers
    machine_share: 0.10        # share of dials an answering machine answers (AMD on)
    answer_delay:              # seconds from dial to answer: log-normal, clipped
      mean: 15
      sd: 5
      min: 2
      max: 29
    no_answer_timeout: 30      # seconds an unanswered call rings
    fast_failure_share: 0.15   # share of the unanswered calls failing fast (busy, invalid)
    fast_failure_delay: 3      # median seconds to such a failure (log-normal, sigma 0.5)
    talk:                      # seconds of conversation: log-normal
      mean: 90
      cv: 0.8
    wrap_up: 10                # seconds of after-call work
    shift_hours: 8
    login:                     # when agents log in
      pattern: all             # all: at the start; staggered: evenly over spread_minutes
      spread_minutes: 0        # (the dialer starts with the first; one due after the
                               # shift's end never logs in)

Figures per policy (fractions): talk utilisation (talk time / logged-in time),
occupancy ((talk + wrap-up) / logged-in time), abandonment (abandoned / live answers)
mean and worst over the seeds, the worst abandonment of any sliding hour (stepped by 5
minutes, on any seed; a shift shorter than an hour is one window), connects, dials and
ringing calls given up per agent-hour. ``--policies`` runs some of them only.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import importlib.resources
import json
import logging
import math
import os
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from callcenter.app.bus import EventBus
from callcenter.app.cti.cdr import MemoryCdr
from callcenter.app.cti.model import AgentProfile
from callcenter.app.cti.outbound import CampaignEngine, CampaignOutcome, CampaignSetup, DialEnded
from callcenter.app.dialer.leads import MemoryLeads
from callcenter.app.dialer.runtime import PREDICTIVE, PREDICTIVE_GIVING_UP, CampaignDialer
from callcenter.app.dialer.settings import DialerSettings, DialingMode
from callcenter.clock import VirtualClock
from callcenter.domain.compliance import Window
from callcenter.domain.dialing_policy import CampaignRules, Lead
from callcenter.domain.pacing import (
    AdaptConfig,
    FixedRatioPacer,
    Pacer,
    PacingModel,
    PredictivePacer,
    ProgressivePacer,
    VicidialAdaptTapered,
)
from callcenter.errors import InvalidInput
from callcenter.switch.sim.agents import AgentPhones, BotProfile
from callcenter.switch.sim.customers import (
    CustomerBook,
    CustomerProfile,
    Fixed,
    LogNormal,
    Outcome,
    Uniform,
)
from callcenter.switch.sim.network import SimSwitch

log = logging.getLogger(__name__)

SHIFT_START = 1_777_856_400.0  # 2026-05-04 09:00 Asia/Shanghai
TARGET = 0.03
# Lines per ready agent: 1.00 .. 6.00 by 0.05, then by 0.25 to 25.00. A big floor keeps few
# agents ready, so its best ratio lies far above a small floor's.
RATIO_GRID = tuple(round(1.0 + 0.05 * k, 2) for k in range(101)) + tuple(
    round(6.25 + 0.25 * k, 2) for k in range(76)
)


# --- the traffic model -----------------------------------------------------------------


@dataclass(frozen=True)
class ClippedLogNormal:
    """A log-normal law given by its mean and sd, clipped to [low, high]."""

    mean: float
    sd: float
    low: float
    high: float

    def sample(self, rng: random.Random) -> float:
        s2 = math.log1p((self.sd / self.mean) ** 2)
        value = rng.lognormvariate(math.log(self.mean) - s2 / 2, math.sqrt(s2))
        return min(self.high, max(self.low, value))


LOGIN_PATTERNS = ("all", "staggered")


class BadModel(InvalidInput, ValueError):
    """A traffic model, a model name or the seeds the benchmark cannot run."""

    code = "bad-bench-input"
    message_zh = "压测输入有误：{reason_zh}"
    message_en = "bad benchmark input: {reason_en}"

    @classmethod
    def of(cls, reason_zh: str, reason_en: str) -> BadModel:
        return cls(reason_zh=reason_zh, reason_en=reason_en)


def _nested(key: str, value: Any, default: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` (a mapping of some of ``default``'s keys) over ``default``."""
    if not isinstance(value, Mapping):
        raise BadModel.of(
            f"{key} 应为包含 {sorted(default)} 的映射，而不是 {value!r}",
            f"{key} must be a mapping of {sorted(default)}, not {value!r}",
        )
    unknown = set(value) - set(default)
    if unknown:
        raise BadModel.of(
            f"{key} 下未知的键 {sorted(unknown)}，可用的键：{sorted(default)}",
            f"unknown keys under {key}: {sorted(unknown)}; known: {sorted(default)}",
        )
    return {**default, **value}


def _number(
    key: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    open_low: bool = False,
    open_high: bool = False,
) -> None:
    """Refuse ``value`` unless it is a finite number within the bounds."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    within = (
        is_number
        and math.isfinite(value)
        and (value > low if open_low else value >= low)
        and (value < high if open_high else value <= high)
    )
    if not within:
        left, right = "(" if open_low else "[", ")" if open_high else "]"
        bounds = f"{left}{low:g}, {high:g}{right}"
        raise BadModel.of(
            f"{key} 应为 {bounds} 内的数，而不是 {value!r}",
            f"{key} must be a number in {bounds}, not {value!r}",
        )


@dataclass(frozen=True)
class TrafficModel:
    """A dialer benchmark's population and floor; see the module docstring for keys."""

    name: str = "agents-20"
    agents: int = 20
    human_answer: float = 0.25
    machine_share: float = 0.10
    answer_delay: Mapping[str, float] = field(
        default_factory=lambda: {"mean": 15.0, "sd": 5.0, "min": 2.0, "max": 29.0}
    )
    no_answer_timeout: float = 30.0
    fast_failure_share: float = 0.15
    fast_failure_delay: float = 3.0
    talk: Mapping[str, float] = field(default_factory=lambda: {"mean": 90.0, "cv": 0.8})
    wrap_up: float = 10.0
    shift_hours: float = 8.0
    login: Mapping[str, Any] = field(
        default_factory=lambda: {"pattern": "all", "spread_minutes": 0}
    )

    @classmethod
    def from_mapping(cls, name: str, data: Mapping[str, Any]) -> TrafficModel:
        """The model ``data`` describes, over the defaults (a nested mapping such as
        ``talk`` may give some of its keys only); :class:`BadModel` names what is wrong."""
        base = cls()
        known = set(cls.__dataclass_fields__) - {"name"}
        unknown = set(data) - known
        if unknown:
            raise BadModel.of(
                f"未知的键 {sorted(unknown)}，可用的键：{sorted(known)}",
                f"unknown model keys: {sorted(unknown)}; known: {sorted(known)}",
            )
        values = dict(data)
        for key in ("answer_delay", "talk", "login"):
            if key in values:
                values[key] = _nested(key, values[key], getattr(base, key))
        model = cls(name=name, **values)
        model.check()
        return model

    def check(self) -> None:
        """Refuse a model that cannot run or means nothing, naming the key."""
        if isinstance(self.agents, bool) or not isinstance(self.agents, int) or self.agents < 1:
            raise BadModel.of(
                f"agents 应为至少 1 的整数，而不是 {self.agents!r}",
                f"agents must be a whole number of at least 1, not {self.agents!r}",
            )
        delay, talk, login = self.answer_delay, self.talk, self.login
        _number("human_answer", self.human_answer, low=0.0, high=1.0, open_low=True)
        _number("machine_share", self.machine_share, low=0.0, high=1.0)
        _number("answer_delay.mean", delay["mean"], low=0.0, open_low=True)
        _number("answer_delay.sd", delay["sd"], low=0.0)
        _number("answer_delay.min", delay["min"], low=0.0)
        _number("answer_delay.max", delay["max"], low=delay["min"])
        _number("no_answer_timeout", self.no_answer_timeout, low=0.0, open_low=True)
        _number("fast_failure_share", self.fast_failure_share, low=0.0, high=1.0)
        _number("fast_failure_delay", self.fast_failure_delay, low=0.0, open_low=True)
        _number("talk.mean", talk["mean"], low=0.0, open_low=True)
        _number("talk.cv", talk["cv"], low=0.0)
        _number("wrap_up", self.wrap_up, low=0.0)
        _number("shift_hours", self.shift_hours, low=0.0, open_low=True)
        if self.human_answer + self.machine_share > 1.0:
            raise BadModel.of(
                f"human_answer + machine_share 不能超过 1"
                f"（{self.human_answer} + {self.machine_share}）",
                f"human_answer + machine_share must not exceed 1"
                f" ({self.human_answer} + {self.machine_share})",
            )
        if login["pattern"] not in LOGIN_PATTERNS:
            raise BadModel.of(
                f"login.pattern 应为 {' 或 '.join(LOGIN_PATTERNS)}，而不是 {login['pattern']!r}",
                f"login.pattern must be {' or '.join(LOGIN_PATTERNS)}, not {login['pattern']!r}",
            )
        _number("login.spread_minutes", login["spread_minutes"], low=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "agents": self.agents,
            "human_answer": self.human_answer,
            "machine_share": self.machine_share,
            "answer_delay": dict(self.answer_delay),
            "no_answer_timeout": self.no_answer_timeout,
            "fast_failure_share": self.fast_failure_share,
            "fast_failure_delay": self.fast_failure_delay,
            "talk": dict(self.talk),
            "wrap_up": self.wrap_up,
            "shift_hours": self.shift_hours,
            "login": dict(self.login),
        }

    def customers(self) -> CustomerProfile:
        unanswered = max(0.0, 1.0 - self.human_answer - self.machine_share)
        fast = unanswered * self.fast_failure_share
        delay = self.answer_delay
        cv = self.talk["cv"]
        s2 = math.log1p(cv * cv)
        return CustomerProfile(
            outcomes={
                Outcome.HUMAN: self.human_answer,
                Outcome.MACHINE: self.machine_share,
                Outcome.NO_ANSWER: unanswered - fast,
                Outcome.BUSY: fast / 2,
                Outcome.INVALID_NUMBER: fast / 2,
            },
            ring_after=Uniform(0.5, 1.5),
            answer_after=ClippedLogNormal(delay["mean"], delay["sd"], delay["min"], delay["max"]),
            fail_after=LogNormal(self.fast_failure_delay, 0.5),
            talk_time=LogNormal(self.talk["mean"] / math.sqrt(1 + cv * cv), math.sqrt(s2)),
            patience=Fixed(60.0),
            machine_time=Fixed(20.0),
            amd_error=0.0,
        )

    def login_offsets(self) -> list[float]:
        spread = float(self.login.get("spread_minutes", 0)) * 60.0
        if self.login.get("pattern", "all") == "all" or spread <= 0:
            return [0.0] * self.agents
        return [spread * i / self.agents for i in range(self.agents)]


def load_model(spec: str) -> TrafficModel:
    """``agents-20`` / ``agents-5`` / ``agents-100`` (shipped) or a YAML file."""
    path = Path(spec)
    resource = importlib.resources.files("callcenter.bench") / "models" / f"{spec}.yaml"
    if path.is_file():
        try:
            text, name = path.read_text(encoding="utf-8"), path.stem
        except (OSError, UnicodeDecodeError) as exc:
            raise BadModel.of(
                f"无法读取模型文件 {spec}：{exc}", f"cannot read the model file {spec}: {exc}"
            ) from exc
    elif "/" not in spec and os.sep not in spec and resource.is_file():
        text, name = resource.read_text(encoding="utf-8"), spec
    else:
        raise BadModel.of(
            f"没有模型或文件 {spec!r}：请给出 agents-20、agents-5、agents-100 或一个 YAML 文件",
            f"no model or file {spec!r}: give agents-20, agents-5, agents-100 or a YAML file",
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = f"{where}{getattr(exc, 'problem', None) or exc}"
        raise BadModel.of(
            f"模型 {spec} 不是有效的 YAML（{problem}）",
            f"model {spec} is not valid YAML ({problem})",
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadModel.of(
            f"模型 {spec} 应为键值映射（如 agents: 20）",
            f"model {spec} must be a mapping of keys (such as agents: 20)",
        )
    return TrafficModel.from_mapping(name, data)


def parse_seeds(text: str) -> list[int]:
    """``1,2,3`` as distinct whole numbers."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds):
        raise BadModel.of(
            f"--seeds 应为以逗号分隔的不重复整数（如 1,2,3），而不是 {text!r}",
            f"--seeds must be distinct whole numbers separated by commas (like 1,2,3), "
            f"not {text!r}",
        )
    return seeds


# --- one shift -------------------------------------------------------------------------


@dataclass
class Shift:
    """What one policy did on one seed."""

    agent_seconds: float
    seed: int = 0
    talk: float = 0.0
    wrap: float = 0.0
    dials: int = 0
    given_up: int = 0  # ringing calls the dialer gave up after the legal ring time
    connects: int = 0
    live: int = 0
    abandoned: int = 0
    answers: list[tuple[float, bool]] = field(default_factory=list)  # (at, abandoned)

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    def worst_hour(self, start: float, end: float) -> float:
        times = [at for at, _ in self.answers]
        hour = min(3600.0, end - start)  # a shift shorter than an hour is one window
        worst = 0.0
        t = start
        while t + hour <= end + 1e-9:
            lo, hi = bisect.bisect_left(times, t), bisect.bisect_left(times, t + hour)
            window = self.answers[lo:hi]
            if window:
                worst = max(worst, sum(1 for _, a in window if a) / len(window))
            t += 300.0
        return worst


PacerFactory = Callable[[PacingModel, float, float], tuple[Pacer, Window | None]]


async def run_shift(model: TrafficModel, seed: int, make_pacer: PacerFactory) -> Shift:
    """One shift of ``model`` on ``seed`` with the pacer ``make_pacer`` builds."""
    start = SHIFT_START
    end = start + model.shift_hours * 3600.0
    clock = VirtualClock(start)
    phones = AgentPhones(seed, default=BotProfile(answer_delay=Fixed(0.0)))
    book = CustomerBook(seed, default=model.customers())
    switch = SimSwitch(clock, [phones, book])
    profiles = {
        f"{1000 + i}": AgentProfile.in_groups("dialer", wrap_up_seconds=model.wrap_up)
        for i in range(model.agents)
    }
    engine = CampaignEngine(
        switch,
        clock,
        EventBus(max_queue=16),
        rng=random.Random(seed),
        queues=[],
        routes={},
        profiles=profiles,
        cdr=_NullCdr(),
    )
    pacing = PacingModel()
    pacer, window = make_pacer(pacing, start, end)
    settings = DialerSettings(
        setup=CampaignSetup("bench", frozenset({"dialer"}), safe_harbour_prompt="safe-harbour"),
        mode=DialingMode.PREDICTIVE,
        caller_id="+862000000000",
        rules=CampaignRules(max_per_day=3),
        ring_timeout=model.no_answer_timeout,
        amd=True,
        budget_window=window,
        give_up_ringing=isinstance(pacer, PredictivePacer)
        and pacer.config.give_up_after is not None,
    )
    leads = MemoryLeads(
        Lead(f"L{i}", f"+86139{i:08d}", "Asia/Shanghai")
        for i in range(int(model.agents * model.shift_hours * 400) + 1000)
    )
    dialer = CampaignDialer(engine, clock, settings, leads, pacer=pacer, model=pacing)
    shift = Shift(agent_seconds=0.0, seed=seed)

    def ended(event: DialEnded) -> None:
        human = event.connected_at is not None or event.outcome is CampaignOutcome.DROPPED
        if event.answered_at is not None and event.at <= end and human:
            late = event.connected_at is None or (
                event.connected_at - event.answered_at > settings.setup.drop_timeout
            )
            shift.answers.append((event.answered_at, late))

    dialer.on_end.append(ended)
    offsets = model.login_offsets()
    async with engine:
        for (agent_no, _), offset in sorted(
            zip(profiles.items(), offsets, strict=True), key=lambda p: p[1]
        ):
            if start + offset >= end:  # due after the shift: never logs in
                continue
            if offset > 0:  # those already in take calls while the others log in
                await dialer.start()
            await clock.run_until_async(start + offset)
            phones.register(agent_no)
            await engine.log_in(f"in-{agent_no}", agent_no, phones.dest(agent_no))
            await engine.ready(f"ready-{agent_no}", agent_no)
            shift.agent_seconds += end - (start + offset)
        await dialer.start()
        await clock.run_until_async(end)
        await dialer.stop()
        for agent in dialer.agents():
            talk = agent.stats.talk_seconds
            if agent.stats.talk_started_at is not None and agent.state.value == "talking":
                talk += end - agent.stats.talk_started_at
            shift.talk += talk
    shift.answers.sort()
    shift.dials = dialer.dials
    shift.given_up = dialer.given_up
    shift.connects = dialer.connects
    shift.live = sum(1 for _ in shift.answers)
    shift.abandoned = sum(1 for _, a in shift.answers if a)
    shift.wrap = min(shift.connects * model.wrap_up, shift.agent_seconds - shift.talk)
    return shift


class _NullCdr(MemoryCdr):
    """Call records are not what a pacing benchmark measures: keep none."""

    def record_call(self, record: Any) -> None:
        pass

    def record_leg(self, record: Any) -> None:
        pass

    def record_agent_state(self, record: Any) -> None:
        pass

    def record_abandon(self, record: Any) -> None:
        pass


# --- the policies ----------------------------------------------------------------------

POLICIES: Final = (
    "predictive",
    "predictive_give_up",
    "progressive",
    "best_ratio",
    "vicidial_adapt_tapered",
)
"""Compared in this order; ``predictive_give_up`` is the predictive controller of a
campaign that gives up ringing calls after the legal ring time (``give_up_ringing``)."""


def make_pacer(spec: str) -> PacerFactory:
    """A policy by name: predictive, predictive_give_up, progressive,
    vicidial_adapt_tapered, ratio:R."""

    def make(model: PacingModel, start: float, end: float) -> tuple[Pacer, Window | None]:
        if spec == "predictive":
            return PredictivePacer(model, PREDICTIVE), None
        if spec == "predictive_give_up":
            return PredictivePacer(model, PREDICTIVE_GIVING_UP), None
        if spec == "progressive":
            return ProgressivePacer(), None
        if spec == "vicidial_adapt_tapered":
            adapt = VicidialAdaptTapered(AdaptConfig(shift_start=start, shift_end=end))
            return adapt, Window.CALENDAR_DAY
        if spec.startswith("ratio:"):
            return FixedRatioPacer(float(spec.removeprefix("ratio:"))), None
        raise ValueError(f"no policy {spec!r}")

    return make


def summarise(model: TrafficModel, shifts: Sequence[Shift]) -> dict[str, float]:
    agent_seconds = sum(s.agent_seconds for s in shifts)
    agent_hours = agent_seconds / 3600.0
    start, end = SHIFT_START, SHIFT_START + model.shift_hours * 3600.0
    rates = [s.abandon_rate for s in shifts]
    return {
        "talk_utilisation": round(sum(s.talk for s in shifts) / agent_seconds, 4),
        "occupancy": round(sum(s.talk + s.wrap for s in shifts) / agent_seconds, 4),
        "abandon_mean": round(sum(rates) / len(rates), 4),
        "abandon_max": round(max(rates), 4),
        "abandon_worst_window": round(max(s.worst_hour(start, end) for s in shifts), 4),
        "connects_per_agent_hour": round(sum(s.connects for s in shifts) / agent_hours, 2),
        "dials_per_agent_hour": round(sum(s.dials for s in shifts) / agent_hours, 2),
        "given_up_per_agent_hour": round(sum(s.given_up for s in shifts) / agent_hours, 2),
    }


def _shift_job(job: tuple[TrafficModel, int, str]) -> Shift:
    model, seed, spec = job
    logging.getLogger("callcenter").setLevel(logging.WARNING)
    return asyncio.run(run_shift(model, seed, make_pacer(spec)))


@dataclass
class Runner:
    """Runs shifts, in ``jobs`` processes (each seed of a policy is independent)."""

    model: TrafficModel
    seeds: Sequence[int]
    jobs: int = 1

    def policy(
        self,
        spec: str,
        *,
        give_up: Callable[[Shift], bool] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[Shift]:
        """Every seed's shift under ``spec`` (in the order of ``seeds``, by default the
        runner's); with ``give_up``, stop at the first shift it rejects (the shifts not yet
        started are not run) and return what ran."""
        work = [(self.model, seed, spec) for seed in (seeds or self.seeds)]
        if self.jobs <= 1 or len(work) == 1:
            shifts = []
            for job in work:
                shifts.append(_shift_job(job))
                if give_up is not None and give_up(shifts[-1]):
                    break
            return shifts
        with ProcessPoolExecutor(min(self.jobs, len(work))) as pool:
            futures = [pool.submit(_shift_job, job) for job in work]
            shifts = []
            for future in as_completed(futures):
                shifts.append(future.result())
                if give_up is not None and give_up(shifts[-1]):
                    for other in futures:
                        other.cancel()
                    break
            return shifts

    def best_ratio(self) -> tuple[float, list[Shift]]:
        """The highest grid ratio whose every seed stayed within 3%, in hindsight.

        A seed's abandonment grows with the ratio, so the answer is the lowest of the
        seeds' own highest ratios. A few seeds lead (as many as run at once): a
        bisection on them alone finds their highest ratio; the other seeds then run at
        that ratio only. One that goes over leads the next bisection, below it. With
        common random numbers the seeds' limits are close, so the search costs about one
        bisection of a few shifts plus one shift per other seed, where a bisection of
        every seed at every probe would cost five shifts a probe.
        """
        cache: dict[tuple[int, int], Shift] = {}

        def run(k: int, seeds: Sequence[int], *, stop_over: bool = False) -> list[Shift]:
            missing = [seed for seed in seeds if (k, seed) not in cache]
            if missing:
                give_up = (lambda s: s.abandon_rate > TARGET) if stop_over else None
                for shift in self.policy(f"ratio:{RATIO_GRID[k]}", give_up=give_up, seeds=missing):
                    cache[k, shift.seed] = shift
            return [cache[k, seed] for seed in seeds if (k, seed) in cache]

        def kept(k: int, seeds: Sequence[int]) -> bool:
            return all(s.abandon_rate <= TARGET for s in run(k, seeds))

        order = list(self.seeds)
        leads = order[: max(1, self.jobs)]
        top, bad = len(RATIO_GRID) - 1, None  # bad: a ratio the leads are known to break
        while True:
            if bad is not None or not kept(top, leads):
                lo, bad = -1, top if bad is None else bad
                while bad - lo > 1:
                    mid = (lo + bad) // 2
                    if kept(mid, leads):
                        lo = mid
                    else:
                        bad = mid
                top = max(lo, 0)
            rest = [seed for seed in order if seed not in leads]
            over = [s.seed for s in run(top, rest, stop_over=True) if s.abandon_rate > TARGET]
            if not over or top == 0:  # even 1.0 abandoned more than 3% somewhere: report it
                return RATIO_GRID[top], run(top, order)
            leads, bad = over, top

    def compare(self, names: Sequence[str] = POLICIES) -> dict[str, Any]:
        model = self.model
        policies: dict[str, dict[str, float]] = {}
        about = model.as_dict() | {"seeds": list(self.seeds)}
        for name in names:
            if name == "best_ratio":
                ratio, shifts = self.best_ratio()
                about["best_ratio"] = ratio
            else:
                shifts = self.policy(name)
            policies[name] = summarise(model, shifts)
        return {"model": about, "policies": policies}


def run(
    model: TrafficModel, seeds: Sequence[int], jobs: int = 1, names: Sequence[str] = POLICIES
) -> dict[str, Any]:
    return Runner(model, seeds, jobs).compare(names)


def parse_policies(text: str | None) -> tuple[str, ...]:
    """``predictive,progressive`` as policy names, in :data:`POLICIES` order; None: all."""
    if text is None:
        return POLICIES
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - set(POLICIES))
    if not names or unknown:
        raise BadModel.of(
            f"--policies 应为以逗号分隔的策略名（{'、'.join(POLICIES)}），而不是 {text!r}",
            f"--policies must be policy names separated by commas ({', '.join(POLICIES)}), "
            f"not {text!r}",
        )
    return tuple(name for name in POLICIES if name in names)


def _table(result: Mapping[str, Any]) -> str:
    model = result["model"]
    lines = [
        f"model {model['name']}: {model['agents']} agents, {model['shift_hours']} h, "
        f"seeds {','.join(map(str, model['seeds']))}",
        f"{'policy':<24}{'talk':>7}{'occup':>7}{'aband':>7}{'worst':>7}{'window':>8}"
        f"{'conn/ah':>9}{'dial/ah':>9}{'gaveup/ah':>10}",
    ]
    for name, p in result["policies"].items():
        lines.append(
            f"{name:<24}{p['talk_utilisation']:>7.1%}{p['occupancy']:>7.1%}"
            f"{p['abandon_mean']:>7.2%}{p['abandon_max']:>7.2%}{p['abandon_worst_window']:>8.2%}"
            f"{p['connects_per_agent_hour']:>9.1f}{p['dials_per_agent_hour']:>9.1f}"
            f"{p['given_up_per_agent_hour']:>10.1f}"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    logging.getLogger("callcenter").setLevel(logging.WARNING)  # a line per call costs time
    model = load_model(getattr(args, "model", None) or "agents-20")
    seeds = parse_seeds(str(getattr(args, "seeds", None) or "1,2,3,4,5"))
    jobs = int(getattr(args, "jobs", None) or min(2, os.cpu_count() or 1))
    names = parse_policies(getattr(args, "policies", None))
    result = run(model, seeds, jobs, names)
    if args.json:
        print(json.dumps(result))  # noqa: T201
    else:
        print(_table(result))  # noqa: T201
    return 0
