"""The 2-second rule, the safe-harbour message, AMD and the ledger fed by the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from callcenter.app.cti.outbound import CampaignSetup, MachineAction
from callcenter.app.dialer import DialingMode
from callcenter.domain.agent import AgentState
from callcenter.domain.dialing_policy import Outcome as LeadOutcome
from callcenter.domain.dialing_policy import may_dial
from callcenter.domain.queue import AbandonReason
from callcenter.switch.ports import PlayFinished
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor

NUMBERS = tuple(f"+8613700000{i:03d}" for i in range(6))


def person(answer_after: float = 5.0, talk: float = 60.0) -> Fate:
    return Fate(Outcome.HUMAN, ring_after=1.0, answer_after=answer_after, talk_time=talk,
                patience=60.0)  # fmt: skip


def machine(amd: str = "machine") -> Fate:
    return Fate(Outcome.MACHINE, ring_after=1.0, answer_after=4.0, machine_time=30.0,
                amd=amd)  # type: ignore[arg-type]  # fmt: skip


@asynccontextmanager
async def floor(mode: DialingMode, **kwargs: Any) -> AsyncIterator[DialerFloor]:
    f = await DialerFloor.open(mode, numbers=NUMBERS, **kwargs)
    prompts: list[tuple[str, str]] = []
    f.switch.subscribe(
        lambda e: prompts.append((e.leg, e.prompt)) if isinstance(e, PlayFinished) else None
    )
    f.prompts = prompts  # type: ignore[attr-defined]
    try:
        yield f
    finally:
        await f.close()


async def test_a_person_with_no_free_agent_hears_the_safe_harbour_message_and_is_abandoned() -> (
    None
):
    """One agent, two lines (power dialing); both people answer at 5 s. One reaches the
    agent at once; the other waits 2 s, hears the safe-harbour message, and the call
    ends: dropped, in the ledger's every window and in the abandoned-call log."""
    async with floor(DialingMode.POWER, lines_per_agent=2.0) as f:
        f.book.script(NUMBERS[0], person())
        f.book.script(NUMBERS[1], person())
        assert await f.dialer.step() == 2
        await f.run(5.0)
        assert f.engine.agent("1001").state is AgentState.TALKING
        assert len(f.engine.calls()) == 2
        await f.run(1.9)
        assert len(f.engine.calls()) == 2  # still within the two seconds
        await f.run(0.2)
        await f.run(3.5)  # the message plays (3 s), then the dialer hangs up
        assert "safe-harbour" in {p for _, p in f.prompts}  # type: ignore[attr-defined]
        assert f.outcomes() == {"L1": "dropped"}
        (dropped,) = f.ended
        assert dropped.safe_harbour_played
        assert f.dialer.abandoned == 1
        report = f.dialer.ledger.report(f.clock.now())
        for window in report.windows:
            assert (window.live, window.abandoned) == (1.0, 1.0)  # L0 is still talking
        assert f.dialer.ledger.totals.abandoned_without_message == 0
        abandons = f.engine.cdr.abandoned
        assert [a.reason for a in abandons] == [AbandonReason.MAX_WAIT_OVERFLOW]
        assert f.leads.lead("L1").last_outcome is LeadOutcome.ABANDONED
        # Not called again within 72 hours of the abandoned call (Ofcom).
        decision = may_dial(f.leads.lead("L1"), f.dialer.settings.rules, f.clock.now() + 3600)
        assert not decision.allowed and decision.reason.value == "abandoned-cooloff"
        await f.run(60.0)
        report = f.dialer.ledger.report(f.clock.now())
        assert (report.calendar_day.live, report.calendar_day.abandoned) == (2.0, 1.0)


async def test_progressive_never_abandons() -> None:
    """Progressive dialing: a person who answers always finds the agent reserved."""
    async with floor(DialingMode.PROGRESSIVE, agents=("1001", "1002")) as f:
        for number in NUMBERS:
            f.book.script(number, person(answer_after=3.0, talk=20.0))
        await f.dialer.start()
        await f.run(200.0)
        assert f.dialer.connects >= 4
        assert f.dialer.abandoned == 0
        assert f.dialer.ledger.report(f.clock.now()).compliant


async def test_amd_machine_is_hung_up_and_not_a_live_answer() -> None:
    """AMD on: a machine is hung up at once; the ledger counts the verdict, not a live
    answer; the lead's outcome is machine (its own retry rule)."""
    async with floor(DialingMode.PROGRESSIVE, amd=True) as f:
        f.book.script(NUMBERS[0], machine())
        await f.dialer.step()
        await f.run(4.5)
        assert f.outcomes() == {"L0": "machine"}
        assert f.dialer.ledger.totals.amd_machine == 1
        assert f.dialer.ledger.totals.live == 0
        assert f.leads.lead("L0").last_outcome is LeadOutcome.MACHINE
        assert f.engine.agent("1001").state is AgentState.READY


async def test_amd_machine_gets_the_campaign_message_when_asked() -> None:
    """Leave-a-message: the machine hears the campaign's message, then the call ends."""
    setup = CampaignSetup(
        "c1",
        frozenset({"out"}),
        safe_harbour_prompt="safe-harbour",
        machine_action=MachineAction.LEAVE_MESSAGE,
        machine_prompt="machine-message",
    )
    async with floor(DialingMode.PROGRESSIVE, amd=True, setup=setup) as f:
        f.book.script(NUMBERS[0], machine())
        await f.dialer.step()
        await f.run(5.0)
        assert f.outcomes() == {}
        await f.run(3.0)
        assert f.outcomes() == {"L0": "machine"}
        assert "machine-message" in {p for _, p in f.prompts}  # type: ignore[attr-defined]


async def test_amd_unsure_goes_to_an_agent_like_a_person() -> None:
    """AMD unsure: better an agent hears a machine than a person hears silence."""
    async with floor(DialingMode.PROGRESSIVE, amd=True) as f:
        f.book.script(NUMBERS[0], machine(amd="unsure"))
        await f.dialer.step()
        await f.run(4.5)
        assert f.dialer.connects == 1
        assert f.dialer.ledger.totals.amd_unsure == 1


async def test_unanswered_outcomes_are_reported_for_retries() -> None:
    """Busy, no answer and an invalid number each come back with their outcome."""
    async with floor(DialingMode.POWER, lines_per_agent=3.0, ring_timeout=20.0) as f:
        f.book.script(NUMBERS[0], Fate(Outcome.BUSY, fail_after=1.0))
        f.book.script(NUMBERS[1], Fate(Outcome.NO_ANSWER, ring_after=1.0))
        f.book.script(NUMBERS[2], Fate(Outcome.INVALID_NUMBER, fail_after=0.5))
        await f.dialer.step()
        await f.run(21.0)
        assert f.outcomes() == {"L0": "busy", "L1": "no-answer", "L2": "invalid-number"}
        assert f.leads.lead("L0").last_outcome is LeadOutcome.BUSY
        assert f.leads.lead("L2").last_outcome is LeadOutcome.INVALID_NUMBER  # never again
        assert f.dialer.model.dials == 3
        assert f.dialer.ledger.totals.live == 0
