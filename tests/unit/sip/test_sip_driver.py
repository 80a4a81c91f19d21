"""The in-process call driver of `bench sip`: SipSwitch between a scripted caller and
a scripted carrier on a virtual clock, the scenario SIPp plays in the benchmark."""

from __future__ import annotations

import time

from callcenter.bench.sip_driver import run
from callcenter.switch.sip.signalling import ACK_WAIT


def test_calls_go_through_and_the_switch_keeps_nothing_of_old_calls() -> None:
    """Every call is answered, held and hung up; once their timers have run out no
    transaction and no Call-ID is left, and the leg records of calls that ended more
    than the ACK wait ago are gone while calls go on (so memory does not grow with
    the number of calls). 40 virtual seconds take about a second."""
    rate, hold, calls = 5.0, 1.0, 200
    started = time.monotonic()
    result = run(calls, rate=rate, hold=hold)
    assert (result.succeeded, result.failed) == (calls, 0)
    assert (result.transactions, result.known_calls) == (0, 0)
    assert result.legs <= 2 * rate * (ACK_WAIT + hold + 1) < 2 * calls
    assert result.cpu_ms_per_call > 0
    assert time.monotonic() - started < 20
