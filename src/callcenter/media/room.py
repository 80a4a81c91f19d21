"""Rooms of the media engine: bridges, conferences and the recordings made of them.

Theory of operation
-------------------
A :class:`Bridge` joins two endpoints as partners: each forwards what it receives to
the other as it arrives (relay, transcoding by table when the codecs differ). A
:class:`ConferenceRoom` mixes its members every 20 ms tick with
:class:`~callcenter.media.mixer.Conference` (talk_listen, listen_only, whisper_to),
and sends each member what it may hear.

A :class:`Recording` taps a bridge, a conference or a single endpoint: each tick the
engine hands it the decoded frames of its parties, and it keeps them until its flush
slot comes round. Recordings are spread over ``FLUSH_TICKS`` slots (slot = creation
order modulo ``FLUSH_TICKS``), so with 800 recordings about 16 are written per tick
instead of 800 every second. A stereo recording puts the first party (the customer)
on the left and everyone else, mixed, on the right.

The common recording, a bridge in stereo, is kept by its slot's
:class:`RecordingGroup` instead: each tick gathers the left and the right frames of
all the slot's recordings with one ``np.take`` each from the tick's decoded block, and
the flush splits the stacked ticks per recording, so a tick costs a hundred numpy calls
whatever the number of calls. Before its members change, a group hands each member
the frames gathered so far (:meth:`RecordingGroup.settle`).

The player and the recorder are separate modules; the engine sees them through the
:class:`AudioSource` and :class:`RecordingSink` ports defined here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from callcenter.media.endpoint import FRAME_SAMPLES, Endpoint
from callcenter.media.mixer import Conference, ListenOnly, Role, TalkListen, WhisperTo

log = logging.getLogger(__name__)

FLUSH_TICKS: Final = 50  # each recording is written once a second, in its own tick
Pcm = npt.NDArray[np.int16]


class AudioSource(Protocol):
    """What the engine plays: 8 kHz int16 samples until ``finished``."""

    @property
    def finished(self) -> bool: ...

    def read(self, n_samples: int) -> Pcm: ...


class RecordingSink(Protocol):
    """Where a recording's audio goes: 8 kHz int16, one or two channels.

    ``write`` may buffer; ``flush`` hands what is buffered to the operating system
    (so it survives the engine's death); ``close`` finishes the file.
    """

    def write(self, left: Pcm, right: Pcm | None = None) -> None: ...

    def flush(self) -> object: ...

    def close(self) -> object: ...


@dataclass(slots=True, eq=False)
class Bridge:
    bridge_id: str
    a: Endpoint
    b: Endpoint

    @property
    def parties(self) -> tuple[Endpoint, Endpoint]:
        return (self.a, self.b)

    def connect(self) -> None:
        self.a.partner, self.b.partner = self.b, self.a
        log.debug("bridge %s: %s <-> %s", self.bridge_id, self.a.endpoint_id, self.b.endpoint_id)

    def disconnect(self) -> None:
        for endpoint in self.parties:
            endpoint.partner = None


def parse_role(role: str, whisper_to: str | None) -> Role:
    if role == "talk_listen":
        return TalkListen()
    if role == "listen_only":
        return ListenOnly()
    if role == "whisper_to" and whisper_to:
        return WhisperTo(whisper_to)
    raise ValueError(f"unknown role {role!r}")


@dataclass(slots=True, eq=False)
class ConferenceRoom:
    conference_id: str
    members: dict[str, Endpoint] = field(default_factory=dict)
    mixer: Conference[str] = field(default_factory=Conference)

    def join(self, endpoint: Endpoint, role: Role) -> None:
        self.members[endpoint.endpoint_id] = endpoint
        self.mixer.join(endpoint.endpoint_id, role)

    def leave(self, endpoint_id: str) -> None:
        self.members.pop(endpoint_id, None)
        self.mixer.leave(endpoint_id)

    def mix(self, frames: dict[str, Pcm]) -> None:
        """Send each member what it hears this tick (members playing a prompt excepted)."""
        heard = self.mixer.mix(frames)
        for endpoint_id, pcm in heard.items():
            endpoint = self.members[endpoint_id]
            if not endpoint.muted:
                endpoint.send_pcm(pcm)


@dataclass(slots=True, eq=False)
class Recording:
    recording_id: str
    path: str
    sink: RecordingSink
    parties: tuple[Endpoint, ...]
    stereo: bool
    slot: int
    started_at: float
    samples: int = 0
    _left: list[Pcm] = field(default_factory=list)
    _right: list[Pcm] = field(default_factory=list)
    _ids: tuple[str, ...] = field(default=(), init=False)
    _pair: bool = field(default=False, init=False)  # stereo, two parties: the common case

    def __post_init__(self) -> None:
        self._ids = tuple(p.endpoint_id for p in self.parties)
        self._pair = self.stereo and len(self._ids) == 2

    @property
    def party_ids(self) -> tuple[str, ...]:
        return self._ids

    def add_tick(self, frames: Mapping[str, Pcm]) -> None:
        """This tick's frames of the parties, looked up in the engine's decoded frames.

        A stereo recording of a bridge (most of them) only appends the two rows: the
        frames are the tick's own arrays, never written to again.
        """
        if self._pair:
            left, right = self._ids
            self._left.append(frames[left])
            self._right.append(frames[right])
            self.samples += FRAME_SAMPLES
        else:
            self.add([frames[eid] for eid in self._ids])

    @property
    def seconds(self) -> float:
        return self.samples / 8000

    def add(self, frames: Sequence[Pcm]) -> None:
        """One tick of the parties' audio, in party order."""
        first = frames[0]
        rest: Pcm | None = None
        if len(frames) == 2:
            rest = frames[1]
        elif len(frames) > 2:
            wide = np.sum(np.stack(frames[1:]).astype(np.int32), axis=0)
            rest = np.clip(wide, -32768, 32767).astype(np.int16)
        if self.stereo:
            self._left.append(first)
            self._right.append(rest if rest is not None else np.zeros(FRAME_SAMPLES, np.int16))
        elif rest is None:
            self._left.append(first)
        else:
            wide = first.astype(np.int32) + rest
            self._left.append(np.clip(wide, -32768, 32767).astype(np.int16))
        self.samples += FRAME_SAMPLES

    def append(self, left: Pcm, right: Pcm) -> None:
        """Several ticks of a stereo recording at once (from its group)."""
        self._left.append(left)
        self._right.append(right)
        self.samples += len(left)

    def flush(self) -> None:
        if not self._left:
            return
        left = np.concatenate(self._left)
        right = np.concatenate(self._right) if self.stereo else None
        self._left.clear()
        self._right.clear()
        self.sink.write(left, right)
        self.sink.flush()

    def close(self) -> None:
        if self._left:
            left = np.concatenate(self._left)
            self.sink.write(left, np.concatenate(self._right) if self.stereo else None)
        self.sink.close()


@dataclass(slots=True, eq=False)
class RecordingGroup:
    """The stereo bridge recordings of one flush slot, gathered per tick in two calls."""

    members: list[Recording] = field(default_factory=list)
    _left: list[Pcm] = field(default_factory=list)  # per tick: members x FRAME_SAMPLES
    _right: list[Pcm] = field(default_factory=list)
    _rows: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None = None

    @staticmethod
    def takes(rec: Recording) -> bool:
        return rec.stereo and len(rec.party_ids) == 2

    def add(self, rec: Recording) -> None:
        self.settle()
        self.members.append(rec)
        self._rows = None

    def remove(self, rec: Recording) -> None:
        self.settle()
        self.members.remove(rec)
        self._rows = None

    def reindex(self) -> None:
        """The tick's rows moved (the taps changed): look the parties up again."""
        self._rows = None

    def add_tick(self, block: Pcm, rows: Mapping[str, int]) -> None:
        """This tick's frames of every member, from the tick's block of decoded frames."""
        members = self.members
        if not members:
            return
        if self._rows is None:
            self._rows = (
                np.array([rows[rec.party_ids[0]] for rec in members], np.intp),
                np.array([rows[rec.party_ids[1]] for rec in members], np.intp),
            )
        left, right = self._rows
        self._left.append(block.take(left, axis=0))
        self._right.append(block.take(right, axis=0))

    def settle(self) -> None:
        """Hand each member its frames gathered so far, in its own buffers."""
        if not self._left:
            return
        left = np.stack(self._left, axis=1)  # members x ticks x samples
        right = np.stack(self._right, axis=1)
        self._left.clear()
        self._right.clear()
        for i, rec in enumerate(self.members):
            rec.append(left[i].reshape(-1), right[i].reshape(-1))

    def flush(self) -> None:
        self.settle()
        for rec in self.members:
            rec.flush()
