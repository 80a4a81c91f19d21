"""Dialer pacing: the baselines, the learned model, and the predictive controller.

The last tests run a small seeded Monte-Carlo call center (20 agents, one simulated
hour) through the production pacers and the compliance ledger.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.compliance import AbandonBudget, ComplianceLedger
from callcenter.domain.pacing import (
    AdaptConfig,
    AgentActivity,
    AgentLoad,
    CallInFlight,
    CallPhase,
    DialOutcome,
    Empirical,
    FixedRatioPacer,
    LogNormal,
    Pacer,
    PacingModel,
    PacingStats,
    PointMass,
    PredictiveConfig,
    PredictivePacer,
    ProgressivePacer,
    VicidialAdaptTapered,
    expected_worst_excess,
    largest_fitting,
)

NOW = 50_000.0
READY, TALKING, WRAP_UP, PAUSED = (
    AgentActivity.READY,
    AgentActivity.TALKING,
    AgentActivity.WRAP_UP,
    AgentActivity.NOT_READY,
)


def agents(*specs: tuple[AgentActivity, float]) -> tuple[AgentLoad, ...]:
    """Agents as (activity, seconds in it)."""
    return tuple(AgentLoad(activity, NOW - seconds) for activity, seconds in specs)


def ringing(*seconds: float) -> tuple[CallInFlight, ...]:
    return tuple(CallInFlight(CallPhase.RINGING, NOW - s) for s in seconds)


def stats(
    team: tuple[AgentLoad, ...],
    calls: tuple[CallInFlight, ...] = (),
    budget: AbandonBudget | None = None,
    max_lines: int | None = None,
) -> PacingStats:
    return PacingStats(team, calls, budget or AbandonBudget(), max_lines=max_lines)


def lognormal(rng: random.Random, mean: float, cv: float) -> float:
    s2 = math.log1p(cv * cv)
    return rng.lognormvariate(math.log(mean) - s2 / 2.0, math.sqrt(s2))


# --- progressive and fixed ratio -----------------------------------------------------


def test_progressive_dials_one_line_per_ready_agent_not_yet_covered() -> None:
    """Five ready agents and two calls already ringing: three more lines."""
    team = agents(*[(READY, 3.0)] * 5, (TALKING, 40.0), (PAUSED, 100.0))
    assert ProgressivePacer().lines_to_dial(stats(team, ringing(2.0, 9.0)), NOW) == 3


def test_progressive_never_dials_a_negative_number_or_past_the_trunks() -> None:
    """More calls ringing than ready agents: nothing. Two free trunk lines: at most two."""
    team = agents((READY, 1.0))
    assert ProgressivePacer().lines_to_dial(stats(team, ringing(1.0, 2.0)), NOW) == 0
    team = agents(*[(READY, 1.0)] * 6)
    assert ProgressivePacer().lines_to_dial(stats(team, ringing(1.0), max_lines=3), NOW) == 2


def test_fixed_ratio_dials_ratio_lines_per_ready_agent() -> None:
    """Ratio 2.5 with four ready agents: ten lines, three of them already ringing."""
    team = agents(*[(READY, 1.0)] * 4, (TALKING, 10.0))
    assert FixedRatioPacer(2.5).lines_to_dial(stats(team, ringing(1.0, 2.0, 3.0)), NOW) == 7
    assert FixedRatioPacer(1.0).lines_to_dial(stats(team), NOW) == 4


def test_a_negative_ratio_is_refused() -> None:
    """A dial ratio below zero is a configuration error."""
    with pytest.raises(ValueError):
        FixedRatioPacer(-1.0)


def test_every_pacer_satisfies_the_protocol() -> None:
    """The dialer holds any of them behind one Protocol."""
    pacers: list[Pacer] = [
        ProgressivePacer(),
        FixedRatioPacer(2.0),
        VicidialAdaptTapered(),
        PredictivePacer(),
    ]
    team = agents((READY, 1.0), (TALKING, 30.0))
    for pacer in pacers:
        assert pacer.lines_to_dial(stats(team), NOW) >= 1


# --- ADAPT_TAPERED -------------------------------------------------------------------


def run_adapt(
    pacer: VicidialAdaptTapered, team: tuple[AgentLoad, ...], budget: AbandonBudget, s: float
) -> int:
    """Ask once a second for ``s`` seconds with the same picture; the last answer."""
    lines = 0
    for i in range(int(s) + 1):
        lines = pacer.lines_to_dial(stats(team, (), budget), NOW + i)
    return lines


def test_adapt_raises_the_level_while_agents_sit_idle() -> None:
    """Half the agents idle and no calls waiting: after 15 s the level goes up by half."""
    pacer = VicidialAdaptTapered()
    team = agents(*[(READY, 1.0)] * 5, *[(TALKING, 1.0)] * 5)
    assert pacer.lines_to_dial(stats(team), NOW) == 5  # level 1.0: progressive
    lines = run_adapt(pacer, team, AbandonBudget(), 15)
    assert pacer.level == pytest.approx(1.5)
    assert lines == math.floor(1.5 * 10) - 5


def test_adapt_lowers_the_level_while_calls_wait_but_not_below_one() -> None:
    """Waiting calls and no idle agents pull the level down, to 1.0 at the least."""
    pacer = VicidialAdaptTapered()
    pacer.level = 1.2
    team = agents(*[(TALKING, 1.0)] * 4)
    waiting = (CallInFlight(CallPhase.WAITING, NOW),) * 2
    for i in range(16):
        pacer.lines_to_dial(stats(team, waiting), NOW + i)
    assert pacer.level == 1.0


def test_adapt_level_is_capped_and_scaled_by_intensity() -> None:
    """All idle: the level would double every 15 s; it stops at the maximum."""
    pacer = VicidialAdaptTapered(AdaptConfig(max_level=3.0, intensity=1.0))
    team = agents(*[(READY, 1.0)] * 4)
    for i in range(100):
        pacer.lines_to_dial(stats(team), NOW + i)
    assert pacer.level == 3.0
    frozen = VicidialAdaptTapered(AdaptConfig(intensity=0.0))
    run_adapt(frozen, team, AbandonBudget(), 60)
    assert frozen.level == 1.0


def test_adapt_drops_to_one_once_the_days_drop_rate_passes_the_limit() -> None:
    """5% dropped today against a 3% limit: back to 1.0 at the next adjustment."""
    pacer = VicidialAdaptTapered()
    pacer.level = 2.5
    team = agents(*[(READY, 1.0)] * 4)
    lines = run_adapt(pacer, team, AbandonBudget(live=100, abandoned=5), 15)
    assert pacer.level == 1.0
    assert lines == 4


def test_adapt_tapered_allows_more_early_in_the_shift_and_none_after_midday() -> None:
    """A 9-to-5 shift: at 9:00 the allowance is 6%, at 11:00 4.5%, from 13:00 on 3%."""
    start = NOW
    pacer = VicidialAdaptTapered(AdaptConfig(shift_start=start, shift_end=start + 8 * 3600))
    assert pacer.drop_allowance(start) == pytest.approx(0.06)
    assert pacer.drop_allowance(start + 2 * 3600) == pytest.approx(0.045)
    assert pacer.drop_allowance(start + 4 * 3600) == pytest.approx(0.03)
    assert pacer.drop_allowance(start + 7 * 3600) == pytest.approx(0.03)
    early = VicidialAdaptTapered(AdaptConfig(shift_start=NOW, shift_end=NOW + 8 * 3600))
    early.level = 2.0
    run_adapt(early, agents((READY, 1.0)), AbandonBudget(live=100, abandoned=4), 15)
    assert early.level > 1.0  # 4% is within the early allowance


# --- the model -----------------------------------------------------------------------


def test_lognormal_is_parameterised_by_its_mean_and_cv() -> None:
    """Half the mass lies below the median mean / sqrt(1 + cv^2)."""
    law = LogNormal(90.0, 0.8)
    assert law.cdf(90.0 / math.sqrt(1 + 0.64)) == pytest.approx(0.5)
    assert law.cdf(0.0) == 0.0
    assert PointMass(30.0).cdf(29.9) == 0.0
    assert PointMass(30.0).cdf(30.0) == 1.0


def test_an_empirical_law_starts_from_its_prior_and_follows_the_data() -> None:
    """No data: the prior. A thousand samples of 10 s: nearly all mass at 10 s."""
    law = Empirical(LogNormal(120.0, 1.0), window=500, prior_weight=20.0)
    assert law.mean == pytest.approx(120.0)
    assert law.cdf(50.0) == pytest.approx(LogNormal(120.0, 1.0).cdf(50.0))
    for _ in range(1000):
        law.observe(10.0)
    assert law.count == 500  # a bounded window
    assert law.cdf(10.0) > 0.95
    assert law.mean == pytest.approx((20 * 120 + 500 * 10) / 520)
    grid = law.grid(60)
    assert grid[9] < 0.05 < 0.95 < grid[10]


def test_the_model_learns_answer_rates_from_outcomes() -> None:
    """Prior 30% humans; after 2,000 dials with 25% humans and 10% machines it says so."""
    model = PacingModel()
    assert model.human_rate == pytest.approx(0.30)
    rng = random.Random(3)
    for _ in range(3000):
        u = rng.random()
        outcome = (
            DialOutcome.HUMAN
            if u < 0.25
            else DialOutcome.MACHINE
            if u < 0.35
            else DialOutcome.NO_ANSWER
        )
        model.observe_dial(outcome, 12.0 if u < 0.35 else 30.0)
    assert model.dials == 2000
    assert model.human_rate == pytest.approx(0.25, abs=0.03)
    assert model.machine_share == pytest.approx(0.10 / 0.35, abs=0.05)
    assert model.version == 3000


# --- Clark's maximum and the search --------------------------------------------------


def test_worst_excess_of_one_checkpoint_is_the_normal_loss() -> None:
    """One checkpoint: E[max(0, X)] of a normal, 0.3989 sigma at mean 0."""
    assert expected_worst_excess([0.0], [[4.0]]) == pytest.approx(2 * 0.398942, rel=1e-4)
    assert expected_worst_excess([-10.0], [[1.0]]) == pytest.approx(0.0, abs=1e-9)
    assert expected_worst_excess([3.0], [[0.0]]) == pytest.approx(3.0)


def test_worst_excess_matches_a_monte_carlo_of_correlated_checkpoints() -> None:
    """Three correlated checkpoints: Clark's fold is within a few percent of sampling."""
    mu = [-1.0, -0.5, -1.5]
    cov = [[1.0, 0.8, 0.6], [0.8, 2.0, 1.5], [0.6, 1.5, 3.0]]
    rng = random.Random(11)
    # Cholesky by hand, three by three.
    l11 = math.sqrt(cov[0][0])
    l21 = cov[1][0] / l11
    l22 = math.sqrt(cov[1][1] - l21 * l21)
    l31 = cov[2][0] / l11
    l32 = (cov[2][1] - l31 * l21) / l22
    l33 = math.sqrt(cov[2][2] - l31 * l31 - l32 * l32)
    total = 0.0
    runs = 40_000
    for _ in range(runs):
        z1, z2, z3 = rng.gauss(0, 1), rng.gauss(0, 1), rng.gauss(0, 1)
        x1 = mu[0] + l11 * z1
        x2 = mu[1] + l21 * z1 + l22 * z2
        x3 = mu[2] + l31 * z1 + l32 * z2 + l33 * z3
        total += max(0.0, x1, x2, x3)
    assert expected_worst_excess(mu, cov) == pytest.approx(total / runs, rel=0.06)


@settings(max_examples=200, deadline=None)
@given(
    threshold=st.integers(min_value=0, max_value=500),
    hi=st.integers(min_value=0, max_value=500),
    from_top=st.booleans(),
)
def test_the_search_finds_the_largest_fitting_count(
    threshold: int, hi: int, from_top: bool
) -> None:
    """Whatever the bracket, the search returns the boundary of a monotone test."""
    found = largest_fitting(lambda n: n <= threshold, 0, hi, from_top=from_top)
    assert found == min(threshold, hi)


# --- the predictive controller ---------------------------------------------------------


def test_checkpoints_must_be_positive_and_increasing() -> None:
    """Covariances of cumulative counts need the checkpoints in order."""
    for bad in ((), (0, 5), (10, 5), (5, 5)):
        with pytest.raises(ValueError):
            PredictiveConfig(checkpoints=bad)


def test_no_agents_means_no_calls() -> None:
    """Nobody logged in, or everybody paused: nothing to dial."""
    pacer = PredictivePacer()
    assert pacer.lines_to_dial(stats(()), NOW) == 0
    assert pacer.lines_to_dial(stats(agents((PAUSED, 5.0))), NOW) == 0


def test_idle_agents_get_several_lines_each() -> None:
    """Ten idle agents, nothing ringing: with ~30% of dials reaching people, many lines."""
    pacer = PredictivePacer()
    plan = pacer.plan(stats(agents(*[(READY, 1.0)] * 10), budget=AbandonBudget(500, 5)), NOW)
    assert 10 < plan.lines <= 80
    assert not plan.fallback
    assert plan.abandons <= plan.allowed


def test_more_ready_agents_never_mean_fewer_lines() -> None:
    """The same floor with one more idle agent: at least as many lines."""
    pacer = PredictivePacer()
    busy = [(TALKING, 30.0)] * 10
    previous = 0
    for idle in range(0, 8):
        team = agents(*[(READY, 1.0)] * idle, *busy)
        lines = pacer.plan(stats(team, ringing(5.0, 10.0)), NOW).lines
        assert lines >= previous
        previous = lines


def test_agents_about_to_finish_count_as_nearly_free() -> None:
    """Agents 8 s into a 10 s wrap-up are almost free; agents who just picked up are not."""
    model = PacingModel()
    for _ in range(500):
        model.observe_wrap(10.0)
    pacer = PredictivePacer(model)
    wrapping = pacer.plan(stats(agents(*[(WRAP_UP, 8.0)] * 5)), NOW)
    talking = pacer.plan(stats(agents(*[(TALKING, 1.0)] * 5)), NOW)
    assert wrapping.free_agents > 4.5
    assert talking.free_agents < 1.0
    assert wrapping.lines > talking.lines


def test_a_long_call_has_a_smaller_chance_of_ending_than_the_average_suggests() -> None:
    """Conditional survival: heavy-tailed talk times; 10 minutes in, ending soon is rarer."""
    model = PacingModel()
    rng = random.Random(5)
    for _ in range(1000):
        model.observe_talk(lognormal(rng, 90.0, 1.5))
    pacer = PredictivePacer(model)
    fresh = pacer.plan(stats(agents((TALKING, 60.0))), NOW).free_agents
    old = pacer.plan(stats(agents((TALKING, 900.0))), NOW).free_agents
    assert 0.0 < old < fresh < 1.0


def test_calls_that_rang_long_are_less_likely_to_be_answered() -> None:
    """A call ringing 25 s of a 30 s timeout adds less expected demand than a fresh one."""
    pacer = PredictivePacer()
    team = agents(*[(READY, 1.0)] * 3)
    fresh = pacer.plan(stats(team, ringing(*[1.0] * 6)), NOW)
    stale = pacer.plan(stats(team, ringing(*[25.0] * 6)), NOW)
    assert stale.answers < fresh.answers
    assert stale.lines >= fresh.lines


def test_waiting_people_use_up_the_free_agents() -> None:
    """Three people already waiting for an agent count as certain demand."""
    pacer = PredictivePacer()
    team = agents(*[(READY, 1.0)] * 4, *[(TALKING, 20.0)] * 6)
    waiting = tuple(CallInFlight(CallPhase.WAITING, NOW - 0.5) for _ in range(3))
    calm = pacer.plan(stats(team), NOW).lines
    busy = pacer.plan(stats(team, waiting), NOW).lines
    assert busy < calm


def test_over_budget_the_controller_falls_back_to_progressive() -> None:
    """8 abandoned in 100 live answers: dial one line per uncovered ready agent only."""
    pacer = PredictivePacer()
    team = agents(*[(READY, 1.0)] * 6, *[(TALKING, 30.0)] * 4)
    plan = pacer.plan(stats(team, ringing(3.0), AbandonBudget(100, 8)), NOW)
    assert plan.fallback
    assert plan.lines == 5


def test_room_in_the_budget_allows_more_lines_than_a_tight_one() -> None:
    """The same floor: with abandons to spare the controller dials more."""
    pacer = PredictivePacer()
    team = agents(*[(READY, 1.0)] * 5, *[(TALKING, 40.0)] * 15)
    tight = pacer.plan(stats(team, budget=AbandonBudget(1000, 25)), NOW).lines
    loose = pacer.plan(stats(team, budget=AbandonBudget(1000, 0)), NOW).lines
    assert loose > tight


def test_trunk_capacity_caps_the_lines() -> None:
    """Plenty of idle agents but three free trunk channels: three lines."""
    pacer = PredictivePacer()
    team = agents(*[(READY, 1.0)] * 20)
    assert pacer.lines_to_dial(stats(team, ringing(1.0), max_lines=4), NOW) == 3


agent_specs = st.lists(
    st.tuples(
        st.sampled_from([READY, TALKING, WRAP_UP, PAUSED, AgentActivity.RESERVED]),
        st.floats(min_value=-5.0, max_value=4000.0),  # a little clock skew included
    ),
    max_size=40,
)
call_specs = st.lists(
    st.tuples(
        st.sampled_from(list(CallPhase)),
        st.floats(min_value=-5.0, max_value=200.0),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    team=agent_specs,
    calls=call_specs,
    live=st.integers(min_value=0, max_value=2000),
    abandoned=st.integers(min_value=0, max_value=100),
)
def test_the_controller_always_answers_within_bounds(
    team: list[tuple[AgentActivity, float]],
    calls: list[tuple[CallPhase, float]],
    live: int,
    abandoned: int,
) -> None:
    """Any floor: between 0 and the ratio cap, never below progressive, plan consistent."""
    pacer = PredictivePacer()
    s = stats(
        agents(*team),
        tuple(CallInFlight(phase, NOW - sec) for phase, sec in calls),
        AbandonBudget(live, abandoned),
    )
    plan = pacer.plan(s, NOW)
    cap = max(0, math.floor(pacer.config.max_ratio * s.active_agents) - s.in_flight)
    assert 0 <= plan.lines <= cap
    assert plan.lines >= ProgressivePacer().lines_to_dial(s, NOW)
    assert math.isfinite(plan.abandons)
    assert math.isfinite(plan.free_agents)
    if not plan.fallback and plan.lines > max(0, s.ready - s.in_flight):
        assert plan.abandons <= plan.allowed + 1e-9


def test_a_decision_for_a_hundred_agents_is_fast() -> None:
    """100 agents, 120 calls ringing: the median decision takes well under 5 ms."""
    rng = random.Random(1)
    team = tuple(
        AgentLoad(
            rng.choice([READY, TALKING, TALKING, TALKING, WRAP_UP]), NOW - rng.uniform(0, 300)
        )
        for _ in range(100)
    )
    calls = tuple(CallInFlight(CallPhase.RINGING, NOW - rng.uniform(0, 30)) for _ in range(120))
    s = stats(team, calls, AbandonBudget(1000, 20))
    pacer = PredictivePacer()
    pacer.plan(s, NOW)
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        pacer.plan(s, NOW)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.005


# --- a simulated hour ------------------------------------------------------------------


@dataclass
class Floor:
    """What a simulated hour produced."""

    agents: int
    seconds: float
    dials: int = 0
    live: int = 0
    abandoned: int = 0
    talk: float = 0.0
    ledger: ComplianceLedger = field(default_factory=lambda: ComplianceLedger("sim"))

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.live if self.live else 0.0

    @property
    def utilisation(self) -> float:
        return self.talk / (self.agents * self.seconds)


def simulate(
    pacer: Pacer, model: PacingModel | None, *, seed: int, n_agents: int = 20, hours: float = 1.0
) -> Floor:
    """A seeded call center on a virtual clock, asking the pacer once a second.

    Customers: 25% answer in person, 10% are answering machines (detected at once),
    10% fail fast (busy, invalid), the rest ring out at 30 s. Answer delay log-normal,
    mean 15 s; talk log-normal, mean 90 s, CV 0.8; wrap-up 10 s. A person who answers
    takes the longest-idle agent; with none free, waits 2 s and is abandoned.
    """
    rng = random.Random(seed)
    start = 1_777_885_200.0
    end = start + hours * 3600.0
    floor = Floor(n_agents, hours * 3600.0)
    state = {a: (READY, start) for a in range(n_agents)}
    calls: dict[int, tuple[CallPhase, float]] = {}
    waiting: list[int] = []
    events: list[tuple[float, int, str, tuple[object, ...]]] = []
    seq = 0

    def push(at: float, kind: str, *data: object) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, data))

    def connect(call: int, now: float, agent: int) -> None:
        answered = calls.pop(call)[1]
        floor.ledger.record_live_answer(answered, now)
        floor.live += 1
        talk = lognormal(rng, 90.0, 0.8)
        state[agent] = (TALKING, now)
        push(now + talk, "talk-end", agent, talk)

    def longest_idle() -> int | None:
        idle = [(since, a) for a, (activity, since) in state.items() if activity is READY]
        return min(idle)[1] if idle else None

    push(start, "tick")
    while events:
        now, _, kind, data = heapq.heappop(events)
        if now > end:
            break
        if kind == "tick":
            snapshot = PacingStats(
                tuple(AgentLoad(activity, since) for activity, since in state.values()),
                tuple(CallInFlight(phase, since) for phase, since in calls.values()),
                floor.ledger.budget(now),
            )
            for _ in range(pacer.lines_to_dial(snapshot, now)):
                floor.dials += 1
                u = rng.random()
                if u < 0.35:
                    outcome = DialOutcome.HUMAN if u < 0.25 else DialOutcome.MACHINE
                    delay = lognormal(rng, 15.0, 0.5)
                    if delay > 30.0:
                        outcome, delay = DialOutcome.NO_ANSWER, 30.0
                elif u < 0.45:
                    outcome, delay = DialOutcome.FAILED, lognormal(rng, 4.0, 0.5)
                else:
                    outcome, delay = DialOutcome.NO_ANSWER, 30.0
                calls[floor.dials] = (CallPhase.RINGING, now)
                push(now + delay, "ring-end", floor.dials, outcome, delay)
            push(now + 1.0, "tick")
        elif kind == "ring-end":
            call, ended, rang = data
            assert isinstance(call, int) and isinstance(ended, DialOutcome)
            assert isinstance(rang, float)
            if model is not None:
                model.observe_dial(ended, rang)
            if ended is not DialOutcome.HUMAN:
                del calls[call]
                continue
            calls[call] = (CallPhase.WAITING, now)
            free = longest_idle()
            if free is not None:
                connect(call, now, free)
            else:
                waiting.append(call)
                push(now + 2.0, "drop", call)
        elif kind == "drop":
            (call,) = data
            assert isinstance(call, int)
            if call in calls:
                waiting.remove(call)
                answered = calls.pop(call)[1]
                floor.ledger.record_live_answer(answered, None, safe_harbour_played=True)
                floor.live += 1
                floor.abandoned += 1
        elif kind == "talk-end":
            done, talk = data
            assert isinstance(done, int) and isinstance(talk, float)
            floor.talk += talk
            if model is not None:
                model.observe_talk(talk)
            state[done] = (WRAP_UP, now)
            push(now + 10.0, "wrap-end", done)
        elif kind == "wrap-end":
            (back,) = data
            assert isinstance(back, int)
            if model is not None:
                model.observe_wrap(10.0)
            state[back] = (READY, now)
            if waiting:
                connect(waiting.pop(0), now, back)
    for activity, since in state.values():
        if activity is TALKING:
            floor.talk += end - since  # calls still going at the end: the part in the hour
    return floor


def test_a_simulated_hour_predictive_stays_compliant_and_beats_progressive() -> None:
    """20 agents for an hour: predictive keeps abandonment under 3% and talks far more.

    Progressive dialing makes agents wait through every ring and unanswered call; the
    predictive controller dials ahead of agents finishing their calls, keeping the
    people it cannot serve within the budget the ledger reports.
    """
    progressive = simulate(ProgressivePacer(), None, seed=2026)
    model = PacingModel()
    predictive = simulate(PredictivePacer(model), model, seed=2026)

    assert progressive.abandoned == 0
    assert predictive.abandon_rate <= 0.03
    assert predictive.ledger.report(1_777_885_200.0 + 3600).compliant
    assert predictive.utilisation >= progressive.utilisation + 0.15
    assert predictive.live > progressive.live * 1.3


# --- the marginal-price rule ---------------------------------------------------------------


def test_the_marginal_rule_dials_more_with_room_in_the_budget() -> None:
    """Each call's own expected abandons are priced; with slack the price falls (more
    lines), overspent it rises (fewer), over the legal rate only progressive remains."""
    pacer = PredictivePacer(config=PredictiveConfig(marginal_price=3.0))
    team = agents(*[(READY, 1.0)] * 5, *[(TALKING, 40.0)] * 15)
    loose = pacer.plan(stats(team, budget=AbandonBudget(1000, 10)), NOW).lines
    tight = pacer.plan(stats(team, budget=AbandonBudget(1000, 27)), NOW).lines
    over = pacer.plan(stats(team, ringing(2.0), AbandonBudget(1000, 40)), NOW)
    assert loose > tight >= 5
    assert over.lines == 4  # one line per ready agent not already covered


def test_the_marginal_rule_stays_compliant_in_a_simulated_hour() -> None:
    """The domain's hour of 20 agents: within 3%, and well above progressive."""
    model = PacingModel()
    floor = simulate(PredictivePacer(model, PredictiveConfig(marginal_price=3.0)), model, seed=7)
    progressive = simulate(ProgressivePacer(), None, seed=7)
    assert floor.abandon_rate <= 0.03
    assert floor.utilisation >= progressive.utilisation + 0.15
