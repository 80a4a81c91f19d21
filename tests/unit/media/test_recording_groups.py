"""A slot's stereo bridge recordings are gathered per tick together and written apart.

Each tick's block holds one decoded frame per tapped endpoint; a
:class:`RecordingGroup` takes its members' two rows in one call per side, and every
recording ends up with exactly the frames of its own parties, in order, through
members joining and leaving between flushes and rows moving when the taps change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from callcenter.media.endpoint import FRAME_SAMPLES, Endpoint
from callcenter.media.room import Recording, RecordingGroup

Pcm = npt.NDArray[np.int16]


@dataclass
class Sink:
    left: list[Pcm] = field(default_factory=list)
    right: list[Pcm] = field(default_factory=list)
    flushes: int = 0

    def write(self, left: Pcm, right: Pcm | None = None) -> None:
        assert right is not None
        self.left.append(left.copy())
        self.right.append(right.copy())

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        return None

    def heard(self) -> tuple[Pcm, Pcm]:
        return np.concatenate(self.left), np.concatenate(self.right)


def _recording(name: str, a: str, b: str) -> tuple[Recording, Sink]:
    sink = Sink()
    parties = tuple(Endpoint(eid, ("127.0.0.1", 0), send=lambda d, a: None) for eid in (a, b))
    return Recording(name, f"{name}.wav", sink, parties, True, 0, 0.0), sink


def _tick(n: int, order: list[str]) -> tuple[Pcm, dict[str, int]]:
    """A block whose every sample says which endpoint and tick it is: 100 * endpoint + n."""
    block = np.array(
        [[100 * int(eid[1:]) + n] * FRAME_SAMPLES for eid in order], dtype=np.int16
    ).reshape(-1, FRAME_SAMPLES)
    return block, {eid: row for row, eid in enumerate(order)}


def _expected(party: str, ticks: range) -> Pcm:
    return np.repeat(np.array([100 * int(party[1:]) + n for n in ticks], np.int16), FRAME_SAMPLES)


def test_members_joining_leaving_and_rows_moving_keep_each_recording_its_own() -> None:
    group = RecordingGroup()
    first, first_sink = _recording("r1", "e1", "e2")
    second, second_sink = _recording("r2", "e3", "e4")
    assert RecordingGroup.takes(first)
    group.add(first)
    order = ["e1", "e2"]
    for n in range(3):
        group.add_tick(*_tick(n, order))
    group.add(second)  # joins mid-way: the first gets its three ticks first
    order = ["e3", "e1", "e4", "e2"]  # the taps changed: rows moved
    group.reindex()
    for n in range(3, 6):
        group.add_tick(*_tick(n, order))
    group.flush()
    for n in range(6, 8):
        group.add_tick(*_tick(n, order))
    group.remove(first)  # leaves with its last two ticks
    first.close()
    group.add_tick(*_tick(8, order))
    group.flush()

    left, right = first_sink.heard()
    assert np.array_equal(left, _expected("e1", range(8)))
    assert np.array_equal(right, _expected("e2", range(8)))
    left, right = second_sink.heard()
    assert np.array_equal(left, _expected("e3", range(3, 9)))
    assert np.array_equal(right, _expected("e4", range(3, 9)))
    assert (first.samples, second.samples) == (8 * FRAME_SAMPLES, 6 * FRAME_SAMPLES)
    assert second_sink.flushes == 2


def test_a_conference_recording_is_not_taken_by_a_group() -> None:
    sink = Sink()
    parties = tuple(Endpoint(e, ("127.0.0.1", 0), send=lambda d, a: None) for e in "abc")
    three = Recording("r", "r.wav", sink, parties, True, 0, 0.0)
    mono = Recording("m", "m.wav", sink, parties[:2], False, 0, 0.0)
    assert not RecordingGroup.takes(three) and not RecordingGroup.takes(mono)
