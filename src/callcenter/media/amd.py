"""Answering-machine detection from the first seconds of an answered call.

Theory of operation
-------------------
A person answers with a short word or two ("喂?", "Hello?") and then waits for the
caller; a machine plays a long greeting. The detector segments the audio into
words and silences by frame energy and decides on the shape:

* speech that goes on (with pauses shorter than ``after_greeting_silence``) for
  more than ``greeting`` seconds, or ``max_words`` words: MACHINE;
* a steady pure tone for ``beep`` seconds (the "leave a message after the tone"
  beep that ends a short greeting): MACHINE;
* one or a few words followed by ``after_greeting_silence`` of quiet: HUMAN;
* nobody speaks for ``initial_silence``: ``initial_silence_result`` (UNSURE by
  default: a silent line is as often a hesitant person as a machine, and hanging up
  on a person is the costly mistake);
* no decision after ``total_analysis_time``: UNSURE.

Frames are voiced when their energy is above ``silence_threshold`` (dBFS) and
``noise_margin`` dB above the noise floor, which follows the quietest frames down at
once and up by at most ``noise_rise`` dB per second, so a long greeting does not
become the floor. Energy that stays within ``steady_range`` dB for ``steady``
seconds is line noise (a voice rises and falls with every syllable): it becomes the
floor at once, and a first "word" made only of it is taken back, so noise that
starts after the answer does not read as one endless word. A voiced run
becomes a word once it lasts ``min_word_length``; a word ends after
``between_words_silence`` of quiet. A frame is a pure tone when the main lobe of its
strongest spectral peak holds ``beep_purity`` of its power.

The defaults lean towards HUMAN: hanging up on a person (or parking them as a
machine) is the expensive error for compliance, so ``greeting`` is 2 s where the
classic choice is 1.5 s, and the word count, which a noisy line inflates
(Mandarin syllables come out as separate "words"), is only a backstop at 8. The
beep catches the short greetings the longer ``greeting`` lets through.

States (``_TRANSITIONS``): WAITING (nothing said yet) -> IN_WORD <-> BETWEEN_WORDS,
and any of them -> DECIDED. Durations are counted in audio samples, so the decision
does not depend on how the ticks fall; ``now`` stamps the decision and bounds the
total analysis time when audio stops coming.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import logging
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, get_args

import numpy as np
import numpy.typing as npt

from callcenter.switch.ports import AmdResult

log = logging.getLogger(__name__)

RATE: Final = 8000
FRAME_SAMPLES: Final = 160
RESULTS: Final[tuple[AmdResult, ...]] = get_args(AmdResult)


@dataclass(frozen=True, slots=True)
class AmdParams:
    """Every knob, in seconds unless named otherwise."""

    initial_silence: float = 2.5  # nobody speaks this long after answer
    greeting: float = 2.0  # a person's greeting is shorter than this
    after_greeting_silence: float = 0.8  # a person then waits this long
    min_word_length: float = 0.1  # shorter voiced runs are clicks or noise
    between_words_silence: float = 0.05  # quiet that ends a word
    max_words: int = 8  # this many words is a machine's greeting
    total_analysis_time: float = 5.0  # then give up: UNSURE
    silence_threshold: float = -50.0  # dBFS: quieter frames are always silence
    noise_margin: float = 5.0  # dB above the noise floor for a frame to be voiced
    noise_rise: float = 5.0  # dB per second the noise floor may climb
    steady: float = 0.3  # energy this steady for this long is noise, not a voice
    steady_range: float = 3.0  # dB: "steady" means frame energies within this range
    beep: float = 0.2  # a steady pure tone this long is a machine's beep (0: off)
    beep_purity: float = 0.8  # share of a frame's power within one tone for "pure"
    initial_silence_result: AmdResult = "unsure"

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> AmdParams:
        """Parameters from a command's JSON object; unknown names are refused."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown AMD parameters: {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            default = getattr(cls(), name)
            if isinstance(default, str):
                converted[name] = str(value)
            elif isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(f"AMD parameter {name} must be a number")
            else:
                converted[name] = type(default)(value)
        return cls(**converted)

    def __post_init__(self) -> None:
        if self.initial_silence_result not in RESULTS:
            raise ValueError(f"initial_silence_result must be one of {RESULTS}")
        if min(self.greeting, self.after_greeting_silence, self.total_analysis_time) <= 0:
            raise ValueError("greeting, after_greeting_silence and total time must be positive")
        if self.max_words < 1:
            raise ValueError("max_words must be at least 1")
        if 0 < self.steady <= self.beep:
            raise ValueError("steady must be longer than beep, or a beep becomes the floor")


class _State(enum.Enum):
    WAITING = "waiting"
    IN_WORD = "in-word"
    BETWEEN_WORDS = "between-words"
    DECIDED = "decided"


_TRANSITIONS: Final[Mapping[_State, frozenset[_State]]] = {
    _State.WAITING: frozenset({_State.IN_WORD, _State.DECIDED}),
    _State.IN_WORD: frozenset({_State.BETWEEN_WORDS, _State.WAITING, _State.DECIDED}),
    _State.BETWEEN_WORDS: frozenset({_State.IN_WORD, _State.WAITING, _State.DECIDED}),
    _State.DECIDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class AmdDecision:
    """The verdict, why, and when: ``elapsed`` seconds of audio after the answer."""

    result: AmdResult
    reason: str
    elapsed: float
    at: float
    words: int
    greeting: float


def frame_dbfs(frame: npt.NDArray[np.int16]) -> float:
    """Mean power of a frame relative to a full-scale square wave, in dB."""
    if len(frame) == 0:
        return -math.inf
    x = frame.astype(np.float64)
    power = float(np.dot(x, x)) / len(x) / (32768.0 * 32768.0)
    return 10.0 * math.log10(power) if power > 0 else -math.inf


@functools.cache
def _hann(n: int) -> npt.NDArray[np.float64]:
    window = np.hanning(n)
    window.flags.writeable = False
    return window


def tone_peak(frame: npt.NDArray[np.int16], purity: float) -> int:
    """The FFT bin of a frame's single pure tone, or -1 when it is not one tone."""
    if len(frame) < 16:
        return -1
    spectrum = np.abs(np.fft.rfft(frame.astype(np.float64) * _hann(len(frame)))) ** 2
    peak = int(np.argmax(spectrum))
    total = float(spectrum.sum())
    if total <= 0:
        return -1
    around = float(spectrum[max(0, peak - 1) : peak + 2].sum())  # the Hann main lobe
    return peak if around >= purity * total else -1


class AmdDetector:
    """Feed the answered leg's audio; get one decision (then the detector is done)."""

    def __init__(self, params: AmdParams | None = None, *, rate: int = RATE) -> None:
        self.params = params or AmdParams()
        self.rate = rate
        self._state = _State.WAITING
        self._samples = 0  # audio seen so far
        self._started: float | None = None
        self._floor: float | None = None  # dBFS, set by the first frame
        self._recent: deque[float] = deque()  # energies of the last ``steady`` seconds
        self._recent_samples = 0
        self._run_peak = -math.inf  # loudest frame of the current voiced run, dBFS
        self._greeting_peak = -math.inf  # loudest frame since the first word began
        self._voiced_run = 0  # samples of the current voiced run
        self._quiet_run = 0  # samples of the current quiet run
        self._greeting_start = 0  # sample where the first word began
        self._speech_end = 0  # sample where the last voiced frame ended
        self._tone_run = 0  # samples of steady pure tone
        self._tone_bin = -1
        self.words = 0
        self.decision: AmdDecision | None = None

    @property
    def finished(self) -> bool:
        return self.decision is not None

    def _seconds(self, samples: int) -> float:
        return samples / self.rate

    def _set_state(self, new: _State) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise RuntimeError(f"amd cannot go from {self._state.value} to {new.value}")
        log.debug("amd %s -> %s at %.2f s", self._state.value, new.value, self._elapsed)
        self._state = new

    @property
    def _elapsed(self) -> float:
        return self._seconds(self._samples)

    def _voiced(self, frame: npt.NDArray[np.int16]) -> bool:
        """Above the absolute threshold and ``noise_margin`` over the tracked floor.

        The floor falls at once to any quieter frame and climbs at most
        ``noise_rise`` dB/s, so speech (louder, and never for long without a pause)
        does not drag it up, while a line that gets noisier is followed.
        """
        p = self.params
        energy = frame_dbfs(frame)
        lowest = p.silence_threshold - p.noise_margin
        if self._floor is None:
            self._floor = max(lowest, energy)
        else:
            climbed = self._floor + p.noise_rise * self._seconds(len(frame))
            self._floor = max(lowest, min(energy, climbed))
        if self._steady(energy, len(frame)):
            self._floor = max(lowest, min(self._recent))
            self._forget_noise_word()
        voiced = energy > p.silence_threshold and energy > self._floor + p.noise_margin
        self._run_peak = max(self._run_peak, energy) if voiced else -math.inf
        self._greeting_peak = max(self._greeting_peak, energy)
        return voiced

    def _steady(self, energy: float, samples: int) -> bool:
        """The last ``steady`` seconds stayed within ``steady_range`` dB: line noise
        (a voice rises and falls with every syllable), so it becomes the floor at once.
        """
        p = self.params
        if p.steady <= 0:
            return False
        self._recent.append(energy)
        self._recent_samples += samples
        window = round(p.steady * self.rate)
        while self._recent_samples - samples >= window and len(self._recent) > 1:
            self._recent.popleft()
            self._recent_samples -= samples
        if self._recent_samples < window or not math.isfinite(min(self._recent)):
            return False
        return max(self._recent) - min(self._recent) <= p.steady_range

    def _forget_noise_word(self) -> None:
        """The first "word" was the noise that just became the floor: take it back."""
        assert self._floor is not None
        if self.words == 1 and self._greeting_peak <= self._floor + self.params.steady_range:
            self.words = 0
            self._voiced_run = 0
            self._greeting_peak = -math.inf
            self._set_state(_State.WAITING)

    def _beeping(self, frame: npt.NDArray[np.int16], voiced: bool) -> bool:
        """A steady pure tone (one spectral peak, same pitch) for ``beep`` seconds."""
        tone_bin = tone_peak(frame, self.params.beep_purity) if voiced else -1
        if tone_bin >= 0 and (self._tone_run == 0 or abs(tone_bin - self._tone_bin) <= 1):
            self._tone_run += len(frame)
        else:
            self._tone_run = len(frame) if tone_bin >= 0 else 0
        self._tone_bin = tone_bin
        return self._seconds(self._tone_run) >= self.params.beep

    def feed(self, frame: npt.NDArray[np.int16], now: float) -> AmdDecision | None:
        """One frame (normally 20 ms) ending at ``now``; returns the decision once.

        Durations are measured in audio, except that ``total_analysis_time`` is
        also kept by ``now``: a leg whose audio stops still gets its UNSURE in time.
        """
        if self.decision is not None:
            return None
        if self._started is None:
            self._started = now - self._seconds(len(frame))  # ``now`` ends the frame
        p = self.params
        voiced = self._voiced(frame)
        self._samples += len(frame)
        if p.beep > 0 and self._beeping(frame, voiced):
            return self._decide("machine", "beep", now)
        if voiced:
            self._voiced_run += len(frame)
            self._quiet_run = 0
        else:
            self._voiced_run = 0
            self._quiet_run += len(frame)
        min_word = self._seconds(self._voiced_run) >= p.min_word_length
        quiet = self._seconds(self._quiet_run)

        if self._state is _State.WAITING:
            if min_word:
                self._greeting_start = self._samples - self._voiced_run
                self._greeting_peak = self._run_peak
                self._start_word()
            elif self._elapsed >= p.initial_silence:
                return self._decide(p.initial_silence_result, "initial-silence", now)
        elif self._state is _State.IN_WORD:
            if voiced:
                self._speech_end = self._samples
            elif quiet >= p.between_words_silence:
                self._set_state(_State.BETWEEN_WORDS)
        elif self._state is _State.BETWEEN_WORDS:
            if min_word:
                self._start_word()
            elif quiet >= p.after_greeting_silence:
                return self._decide("human", "silence-after-greeting", now)

        if self.words >= p.max_words:
            return self._decide("machine", "too-many-words", now)
        if self.words and self._greeting() >= p.greeting:
            return self._decide("machine", "long-greeting", now)
        if max(self._elapsed, now - self._started) >= p.total_analysis_time:
            return self._decide("unsure", "analysis-time", now)
        return None

    def _start_word(self) -> None:
        self.words += 1
        self._speech_end = self._samples
        self._set_state(_State.IN_WORD)

    def _greeting(self) -> float:
        return self._seconds(self._speech_end - self._greeting_start)

    def _decide(self, result: AmdResult, reason: str, now: float) -> AmdDecision:
        self.decision = AmdDecision(
            result=result,
            reason=reason,
            elapsed=self._elapsed,
            at=now,
            words=self.words,
            greeting=self._greeting() if self.words else 0.0,
        )
        self._set_state(_State.DECIDED)
        log.info(
            "amd decided %s (%s) after %.2f s, %d words",
            result,
            reason,
            self.decision.elapsed,
            self.words,
        )
        return self.decision


def detect(
    audio: npt.NDArray[np.int16], params: AmdParams | None = None, *, rate: int = RATE
) -> AmdDecision:
    """Run a whole recording through a detector in 20 ms frames (line silence after it)."""
    detector = AmdDetector(params, rate=rate)
    frame = max(1, rate // 50)
    position = 0
    while True:
        chunk = audio[position : position + frame]
        if len(chunk) < frame:
            chunk = np.concatenate([chunk, np.zeros(frame - len(chunk), dtype=np.int16)])
        position += frame
        decision = detector.feed(chunk, now=position / rate)
        if decision is not None:
            return decision


@dataclass(frozen=True)
class AmdEvaluation:
    """How the detector did on a labelled set: confusion matrix (truth, said) -> count."""

    confusion: Mapping[tuple[AmdResult, AmdResult], int]
    decision_seconds: tuple[float, ...]
    reasons: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.confusion.values())

    @property
    def accuracy(self) -> float:
        correct = sum(n for (truth, said), n in self.confusion.items() if truth == said)
        return correct / self.total if self.total else 0.0

    def rate(self, truth: AmdResult, said: AmdResult) -> float:
        """Share of the ``truth`` samples the detector called ``said``."""
        of_truth = sum(n for (t, _), n in self.confusion.items() if t == truth)
        return self.confusion.get((truth, said), 0) / of_truth if of_truth else 0.0

    @property
    def mean_decision_seconds(self) -> float:
        return sum(self.decision_seconds) / len(self.decision_seconds) if self.total else 0.0

    def table(self) -> str:
        """The confusion matrix as text, truth down, verdict across."""
        lines = ["truth \\ said  " + "".join(f"{r:>9}" for r in RESULTS)]
        for truth in ("human", "machine"):
            counts = "".join(f"{self.confusion.get((truth, r), 0):>9}" for r in RESULTS)
            lines.append(f"{truth:<14}{counts}")
        lines.append(
            f"accuracy {self.accuracy:.1%}, human taken for machine "
            f"{self.rate('human', 'machine'):.1%}, mean decision "
            f"{self.mean_decision_seconds:.2f} s over {self.total} samples"
        )
        return "\n".join(lines)


def evaluate(
    samples: Iterable[tuple[AmdResult, npt.NDArray[np.int16]]], params: AmdParams | None = None
) -> AmdEvaluation:
    """Detect every labelled sample and count what was said against the truth."""
    confusion: dict[tuple[AmdResult, AmdResult], int] = {}
    reasons: dict[str, int] = {}
    seconds: list[float] = []
    for truth, audio in samples:
        decision = detect(audio, params)
        confusion[truth, decision.result] = confusion.get((truth, decision.result), 0) + 1
        reasons[decision.reason] = reasons.get(decision.reason, 0) + 1
        seconds.append(decision.elapsed)
    return AmdEvaluation(confusion, tuple(seconds), reasons)
