"""Random programs of commands keep SimSwitch's event stream coherent and reproducible."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.clock import VirtualClock
from callcenter.switch.ports import (
    BridgeId,
    ConferenceId,
    LegAnswered,
    LegBridged,
    LegHungUp,
    LegId,
    LegUnbridged,
    RecordingFinished,
    RecordingId,
    RecordingStarted,
    SwitchError,
    SwitchEvent,
    TalkListen,
)
from callcenter.switch.sim.customers import CustomerBook, Fate, Outcome
from callcenter.switch.sim.network import SimSwitch

LEGS = [LegId(f"leg-{n}") for n in range(5)]
leg_index = st.integers(0, len(LEGS) - 1)

command = st.one_of(
    st.tuples(st.just("originate"), leg_index, st.sampled_from(list(Outcome))),
    st.tuples(st.just("advance"), st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0])),
    st.tuples(st.just("hangup"), leg_index),
    st.tuples(st.just("bridge"), st.integers(0, 2), leg_index, leg_index),
    st.tuples(st.just("unbridge"), st.integers(0, 2)),
    st.tuples(st.just("hold"), leg_index),
    st.tuples(st.just("resume"), leg_index),
    st.tuples(st.just("play"), leg_index),
    st.tuples(st.just("collect"), leg_index),
    st.tuples(st.just("join"), leg_index),
    st.tuples(st.just("redirect"), leg_index),
    st.tuples(st.just("record"), st.integers(0, 2), leg_index),
    st.tuples(st.just("stop_record"), st.integers(0, 2)),
)
Command = tuple[object, ...]


async def run(program: list[Command]) -> list[SwitchEvent]:
    clock = VirtualClock()
    book = CustomerBook(seed=5)
    switch = SimSwitch(clock, [book], prompt_seconds={"p": 2.0})
    events: list[SwitchEvent] = []
    switch.subscribe(events.append)
    for step in program:
        name, *args = step
        try:
            if name == "originate":
                index, outcome = args
                assert isinstance(index, int) and isinstance(outcome, Outcome)
                number = f"n{index}"
                fate = Fate(outcome, ring_after=0.5, answer_after=1.0, talk_time=7.0)
                book.script(number, fate, fate)
                await switch.originate(LEGS[index], number, caller_id="1", ring_timeout=5)
            elif name == "advance":
                assert isinstance(args[0], float)
                clock.advance(args[0])
            elif name == "bridge":
                b, x, y = (int(str(a)) for a in args)
                await switch.bridge(BridgeId(f"br-{b}"), [LEGS[x], LEGS[y]])
            elif name == "unbridge":
                await switch.unbridge(BridgeId(f"br-{args[0]}"))
            elif name == "record":
                await switch.record(RecordingId(f"rec-{args[0]}"), LEGS[int(str(args[1]))])
            elif name == "stop_record":
                await switch.stop_record(RecordingId(f"rec-{args[0]}"))
            else:
                leg = LEGS[int(str(args[0]))]
                if name == "hangup":
                    await switch.hangup(leg)
                elif name == "hold":
                    await switch.hold(leg)
                elif name == "resume":
                    await switch.resume(leg)
                elif name == "play":
                    await switch.play(leg, "p")
                elif name == "collect":
                    await switch.collect(leg, max_digits=1, timeout=3)
                elif name == "join":
                    await switch.join(ConferenceId("conf"), leg, TalkListen())
                elif name == "redirect":
                    await switch.redirect(leg, "elsewhere")
        except SwitchError:
            pass
    clock.advance(60.0)
    return events


def check_coherent(events: list[SwitchEvent]) -> None:
    stamps = [e.at for e in events]
    assert stamps == sorted(stamps)
    per_leg: defaultdict[str, list[SwitchEvent]] = defaultdict(list)
    for event in events:
        leg = getattr(event, "leg", None)
        if leg is not None:
            per_leg[leg].append(event)
    for history in per_leg.values():
        hung_up = [i for i, e in enumerate(history) if isinstance(e, LegHungUp)]
        assert len(hung_up) <= 1
        if hung_up:
            assert hung_up[0] == len(history) - 1, history
        assert sum(isinstance(e, LegAnswered) for e in history) <= 1
        links = [type(e) for e in history if isinstance(e, LegBridged | LegUnbridged)]
        assert links == [LegBridged, LegUnbridged] * (len(links) // 2) + [LegBridged] * (
            len(links) % 2
        ), links
        if hung_up and links:
            assert links[-1] is LegUnbridged
    started = {e.recording for e in events if isinstance(e, RecordingStarted)}
    finished = [e.recording for e in events if isinstance(e, RecordingFinished)]
    assert len(finished) == len(set(finished))
    assert set(finished) <= started


@settings(max_examples=150, deadline=None)
@given(st.lists(command, max_size=40))
def test_random_programs_keep_the_event_stream_coherent(program: list[Command]) -> None:
    """Whatever the core does, time never goes back, a leg hangs up at most once and
    last, answers at most once, bridges and unbridges alternate, recordings finish
    once; and the same program replays to the same events."""
    events = asyncio.run(run(program))
    check_coherent(events)
    assert asyncio.run(run(program)) == events
