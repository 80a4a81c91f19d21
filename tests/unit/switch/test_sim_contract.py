"""SimSwitch passes the Switch port contract that the SIP switch will pass too."""

from __future__ import annotations

import dataclasses

import pytest

from callcenter.clock import VirtualClock
from callcenter.switch.contract import CHECKS, Check, Harness, run_contract
from callcenter.switch.sim.customers import (
    CustomerBook,
    CustomerProfile,
    Fixed,
    Never,
    Outcome,
)
from callcenter.switch.sim.network import SimSwitch

ANSWERING = CustomerProfile(
    outcomes={Outcome.HUMAN: 1.0},
    ring_after=Fixed(0.5),
    answer_after=Fixed(1.0),
    talk_time=Never(),
    patience=Never(),
    keys={"1": 1.0},
    key_delay=Fixed(0.5),
)


def only(outcome: Outcome) -> CustomerProfile:
    return CustomerProfile(outcomes={outcome: 1.0}, ring_after=Fixed(0.5), fail_after=Fixed(0.3))


async def sim_harness() -> Harness:
    """A SimSwitch on a virtual clock, with one number per behaviour the contract needs."""
    clock = VirtualClock()
    book = CustomerBook(
        seed=1,
        profiles={
            "100": ANSWERING,
            "486": only(Outcome.BUSY),
            "408": only(Outcome.NO_ANSWER),
            "404": only(Outcome.INVALID_NUMBER),
        },
    )
    switch = SimSwitch(clock, [book], prompt_seconds={"welcome": 2.0})
    return Harness(
        switch=switch,
        advance=clock.advance_async,
        now=clock.now,
        answering="100",
        busy="486",
        silent="408",
        invalid="404",
        prompt="welcome",
        keys="1",
    )


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_sim_switch_meets_the_contract(check: Check) -> None:
    """Each contract check, on a fresh SimSwitch."""
    await check(await sim_harness())


async def test_the_whole_contract_runs_in_one_go() -> None:
    """run_contract is what another implementation's test calls."""
    await run_contract(sim_harness)


async def test_the_checks_can_share_one_switch() -> None:
    """With distinct id prefixes, the checks run one after another on the same switch."""
    shared = await sim_harness()
    for n, check in enumerate(CHECKS):
        await check(dataclasses.replace(shared, prefix=f"check{n}-"))
