"""`callcenter bench media` at a tiny scale, so the harness cannot rot unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.bench import media
from callcenter.bench.media import RTPENGINE, Timing, bdecode, bencode, sdp, sdp_media_address

CALLS = 4
TIMING = Timing(measure=0.6, warmup=0.2, drain=0.2)


def test_bencode_round_trip_as_rtpengine_speaks_it() -> None:
    message = {"command": "offer", "call-id": "c1", "flags": ["trust-address"], "n": 3}
    data = bencode(message)
    assert data == b"d7:call-id2:c17:command5:offer5:flagsl13:trust-addresse1:ni3ee"
    assert bdecode(data) == {"call-id": b"c1", "command": b"offer", "flags": [b"trust-address"],
                             "n": 3}  # fmt: skip
    assert sdp_media_address(sdp(("127.0.0.1", 40002))) == ("127.0.0.1", 40002)
    with pytest.raises(ValueError, match="trailing"):
        bdecode(b"i1ei2e")


@pytest.mark.slow  # three relays, each started, driven for a second and stopped
async def test_every_relay_carries_a_few_calls_without_loss() -> None:
    modes: tuple[media.Mode, ...] = ("relay", "recorded")
    if Path(RTPENGINE).exists():
        modes += ("rtpengine",)
    results = await media.run(TIMING, steps=(CALLS,), modes=modes, budget=60, refine=False)
    assert set(results.ladders) == set(modes)
    expected = CALLS * 2 * TIMING.measure / media.PTIME
    for mode, ladder in results.ladders.items():
        [step] = ladder.steps
        assert step.problem is None or "behind" in step.problem, (mode, step.problem)
        assert abs(step.sent - expected) <= 4, (mode, step.sent)
        assert step.lost == 0 and step.relay_dropped == 0, (mode, step)
        assert step.cpu_seconds >= 0 and step.p50_ms > 0
    figures = results.figures()
    assert set(figures) >= {"relay_calls", "recorded_calls", "rtpengine_relay_calls", "ratio"}
    assert figures["relay_calls"] in (0, CALLS)
