"""The benchmark's hindsight search for the best fixed dial ratio.

A fake runner stands in for the shifts: each seed keeps 3% up to its own ratio limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from callcenter.bench.dialer import RATIO_GRID, Runner, Shift, TrafficModel

LIMITS = {1: 3.0, 2: 3.2, 3: 3.1, 4: 2.5, 5: 3.4}  # the highest ratio each seed keeps 3% at


class FakeRunner(Runner):
    """Shifts made up from ``LIMITS``: 2% abandoned within a seed's limit, 5% past it."""

    def __init__(self) -> None:
        super().__init__(TrafficModel(), seeds=list(LIMITS))
        self.runs: list[tuple[float, int]] = []  # (ratio, seed), in the order they ran

    def policy(
        self,
        spec: str,
        *,
        give_up: Callable[[Shift], bool] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> list[Shift]:
        ratio = float(spec.removeprefix("ratio:"))
        shifts = []
        for seed in seeds or self.seeds:
            self.runs.append((ratio, seed))
            abandoned = 2 if ratio <= LIMITS[seed] else 5
            shifts.append(Shift(agent_seconds=3600.0, seed=seed, live=100, abandoned=abandoned))
            if give_up is not None and give_up(shifts[-1]):
                break
        return shifts


def test_the_best_ratio_is_the_highest_that_every_seed_kept() -> None:
    runner = FakeRunner()
    ratio, shifts = runner.best_ratio()
    assert ratio == 2.5
    assert sorted(s.seed for s in shifts) == [1, 2, 3, 4, 5]
    assert all(s.abandon_rate <= 0.03 for s in shifts)


def test_the_seed_that_went_over_is_tried_first_at_the_next_ratio() -> None:
    """Seed 4 is the first over 3% at some ratio; from then on every probe starts with
    it, so each ratio above 2.5 is rejected after a single shift."""
    runner = FakeRunner()
    runner.best_ratio()
    runs = runner.runs
    over_4 = next(i for i, (r, s) in enumerate(runs) if s == 4 and r > LIMITS[4])
    later = runs[over_4 + 1 :]
    starts = [run for i, run in enumerate(later) if i == 0 or later[i - 1][0] != run[0]]
    assert starts and all(seed == 4 for _, seed in starts)
    rejected = [ratio for ratio, _ in later if ratio > LIMITS[4]]
    assert len(rejected) == len(set(rejected))  # one shift each
    assert len(runs) < len(RATIO_GRID).bit_length() * len(LIMITS)
