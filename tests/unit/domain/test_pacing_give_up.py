"""The predictive controller of a campaign that gives up ringing calls: which calls past
the give-up age it keeps, and how it counts young calls' later answers when it plans."""

from __future__ import annotations

import pytest

from callcenter.domain.compliance import AbandonBudget
from callcenter.domain.pacing import (
    AgentActivity,
    AgentLoad,
    CallInFlight,
    CallPhase,
    PacingStats,
    PredictiveConfig,
    PredictivePacer,
)

NOW = 50_000.0
CHECKPOINTS = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23, 26, 30)
GIVING_UP = PredictiveConfig(checkpoints=CHECKPOINTS, give_up_after=16.0)


def floor(*activities: tuple[AgentActivity, float], ringing: tuple[float, ...] = ()) -> PacingStats:
    team = tuple(AgentLoad(activity, NOW - seconds) for activity, seconds in activities)
    calls = tuple(CallInFlight(CallPhase.RINGING, NOW - age) for age in ringing)
    return PacingStats(team, calls, AbandonBudget())


def test_the_give_up_age_lies_within_the_ring_table() -> None:
    for bad in (0.0, -1.0, 500.0):
        with pytest.raises(ValueError, match="give_up_after"):
            PredictiveConfig(give_up_after=bad)


def test_free_agents_keep_every_call() -> None:
    """Five agents ready, three calls reaching 16 s: each answer would find an agent."""
    pacer = PredictivePacer(config=GIVING_UP)
    ready = floor(*[(AgentActivity.READY, 5.0)] * 5)
    assert pacer.keep(ready, [16.2, 16.5, 16.9], NOW) == 3


def test_no_agent_active_keeps_none() -> None:
    pacer = PredictivePacer(config=GIVING_UP)
    assert pacer.keep(floor((AgentActivity.NOT_READY, 60.0)), [16.0, 16.0], NOW) == 0


def test_what_is_kept_follows_the_agents_and_the_calls_behind() -> None:
    """Twelve calls reach 16 s. Eight agents ready keep them all, even with twelve
    younger calls ringing; with 24 behind them only some. Eight agents who have just
    begun talking (a 90 s call) keep none: no answer in the next 14 s would find one."""
    pacer = PredictivePacer(config=GIVING_UP)
    ages = [16.0] * 12

    def kept(activity: AgentActivity, younger: int) -> int:
        young = tuple(float(2 + i % 12) for i in range(younger))
        return pacer.keep(floor(*[(activity, 2.0)] * 8, ringing=young), ages, NOW)

    assert kept(AgentActivity.READY, 12) == 12
    assert 0 < kept(AgentActivity.READY, 24) < 12
    assert kept(AgentActivity.TALKING, 0) == 0


def test_planning_counts_part_of_a_young_calls_later_answers() -> None:
    """A new call's answers after the give-up age count ``late_weight`` of themselves,
    so it adds fewer expected answers to the horizon and more lines fit; calls past that
    age count in full."""
    ringing_out = PredictivePacer(config=PredictiveConfig(checkpoints=CHECKPOINTS))
    giving_up = PredictivePacer(config=GIVING_UP)
    full, cut = ringing_out.tables(NOW), giving_up.tables(NOW)
    assert cut.new_call[-1] < full.new_call[-1]
    assert cut.new_call[:7] == pytest.approx(full.new_call[:7])  # answers by 14 s: all count
    assert (cut.human_by[:, 16:] == full.human_by[:, 16:]).all()
    assert (cut.human_by_full == full.human_by).all()
    team = floor(*[(AgentActivity.READY, 5.0)] * 10, *[(AgentActivity.TALKING, 60.0)] * 10)
    assert giving_up.plan(team, NOW).lines > ringing_out.plan(team, NOW).lines
