"""Conference mixer with per-party routing, on 20 ms frames of int16 PCM.

Theory of operation
-------------------
Every party has a role that says whom it is heard by; everybody hears everyone
they are allowed to hear, except themselves (mix-minus):

* ``TalkListen()``  - heard by every other party (caller, agent, a barging supervisor);
* ``ListenOnly()``  - heard by nobody (a supervisor listening in);
* ``WhisperTo(p)``  - heard only by party ``p`` (a supervisor coaching the agent).

So supervisor listen is ``ListenOnly``, whisper is ``WhisperTo(agent)``, barge is
``TalkListen``, and a three-way call is three ``TalkListen`` parties.

For each tick :func:`mix_frames` takes a (parties, samples) int16 matrix and
computes, in int32, ``sum of talk_listen frames - own frame if talk_listen + frames
whispered to me``: O(parties x samples) however many parties there are, then
saturates to int16.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

FRAME_SAMPLES: Final = 160  # 20 ms at 8 kHz

PartyId = TypeVar("PartyId", bound=Hashable)


@dataclass(frozen=True, slots=True)
class TalkListen:
    """Heard by every other party; hears everyone."""


@dataclass(frozen=True, slots=True)
class ListenOnly:
    """Heard by nobody; hears everyone."""


@dataclass(frozen=True, slots=True)
class WhisperTo:
    """Heard only by ``party``; hears everyone."""

    party: Hashable


Role = TalkListen | ListenOnly | WhisperTo

NO_TARGET: Final = -1


def mix_frames(
    frames: npt.NDArray[np.int16],
    talks: npt.NDArray[np.bool_],
    whisper_target: npt.NDArray[np.intp],
) -> npt.NDArray[np.int16]:
    """Mix one tick for N parties.

    ``frames`` has shape (N, samples); ``talks[i]`` says party i is heard by all;
    ``whisper_target[i]`` is the row index of the only party who hears i, or
    ``NO_TARGET``. Returns what each party hears, shape (N, samples).
    """
    wide = frames.astype(np.int32)
    talking = wide * talks[:, np.newaxis]
    out: npt.NDArray[np.int32] = talking.sum(axis=0, dtype=np.int32)[np.newaxis, :] - talking
    whisperers = np.flatnonzero(whisper_target != NO_TARGET)
    if len(whisperers):
        targets = whisper_target[whisperers]
        keep = targets != whisperers  # nobody hears themselves, even whispering to self
        np.add.at(out, targets[keep], wide[whisperers[keep]])
    return np.clip(out, -32768, 32767).astype(np.int16)


class Conference(Generic[PartyId]):
    """The parties of one conference and their roles; :meth:`mix` runs one tick."""

    def __init__(self, frame_samples: int = FRAME_SAMPLES) -> None:
        self.frame_samples = frame_samples
        self._roles: dict[PartyId, Role] = {}

    @property
    def parties(self) -> tuple[PartyId, ...]:
        return tuple(self._roles)

    def role(self, party: PartyId) -> Role:
        return self._roles[party]

    def join(self, party: PartyId, role: Role | None = None) -> None:
        """Add a party (or change its role: barge turns a listener into a talker)."""
        role = TalkListen() if role is None else role
        if isinstance(role, WhisperTo) and role.party == party:
            raise ValueError("a party cannot whisper to itself")
        log.debug("conference party %r role %s", party, role)
        self._roles[party] = role

    set_role = join

    def leave(self, party: PartyId) -> None:
        self._roles.pop(party, None)

    def mix(
        self, frames: Mapping[PartyId, npt.NDArray[np.int16]]
    ) -> dict[PartyId, npt.NDArray[np.int16]]:
        """What each party hears this tick. A party without a frame sends silence.

        A whisper to a party that is not (or no longer) in the conference is heard
        by nobody.
        """
        parties = list(self._roles)
        if not parties:
            return {}
        index = {party: i for i, party in enumerate(parties)}
        matrix = np.zeros((len(parties), self.frame_samples), dtype=np.int16)
        for party, frame in frames.items():
            row = index.get(party)
            if row is not None:
                matrix[row] = frame
        talks = np.array([isinstance(self._roles[p], TalkListen) for p in parties])
        targets = np.full(len(parties), NO_TARGET, dtype=np.intp)
        by_id: dict[Hashable, int] = {party: i for i, party in enumerate(parties)}
        for i, party in enumerate(parties):
            role = self._roles[party]
            if isinstance(role, WhisperTo):
                targets[i] = by_id.get(role.party, NO_TARGET)
        mixed = mix_frames(matrix, talks, targets)
        return {party: mixed[i] for i, party in enumerate(parties)}
