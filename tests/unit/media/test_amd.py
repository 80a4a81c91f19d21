"""Answering-machine detection: the rules on made-up signals, then a labelled set.

The labelled set is spoken by espeak-ng at test time (it is fast) into a temporary
directory as 8 kHz WAVs whose names carry the truth, so a failing run leaves
something to listen to. 16 utterances (8 machine greetings, 8 human answers, half
Mandarin, half English) x 4 variants of speaking rate, pitch, level, leading
silence and white noise (none, 25, 15 and 10 dB SNR) make 64 samples, 32 each.
Machines end their greeting with a 1 kHz beep, as they do; people then wait in
silence.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from callcenter.media.amd import (
    AmdDecision,
    AmdDetector,
    AmdParams,
    detect,
    evaluate,
    frame_dbfs,
    tone_peak,
)
from callcenter.switch.ports import AmdResult

log = logging.getLogger(__name__)

RATE = 8000
FRAME = 160


# --- made-up signals --------------------------------------------------------------------


def quiet(seconds: float) -> npt.NDArray[np.float64]:
    return np.zeros(round(seconds * RATE))


def hiss(seconds: float, level_dbfs: float = -20.0) -> npt.NDArray[np.float64]:
    """Steady noise in the voice band, like a bad line."""
    noise = np.random.default_rng(round(seconds * 1000)).normal(0, 1, round(seconds * RATE))
    shaped = np.convolve(noise, np.ones(4) / 4, mode="same")
    scaled: npt.NDArray[np.float64] = shaped / np.sqrt(np.mean(shaped**2))
    return scaled * 32768 * 10 ** (level_dbfs / 20)


def babble(seconds: float, level_dbfs: float = -20.0) -> npt.NDArray[np.float64]:
    """Speech-like: voice-band noise rising and falling 20 dB with 4 syllables a second."""
    t = np.arange(round(seconds * RATE)) / RATE
    syllables = 0.55 - 0.45 * np.cos(2 * np.pi * 4 * t)
    voiced = hiss(seconds) * syllables
    scaled: npt.NDArray[np.float64] = voiced / np.sqrt(np.mean(voiced**2))
    return scaled * 32768 * 10 ** (level_dbfs / 20)


def beep(seconds: float, freq: float = 1000.0) -> npt.NDArray[np.float64]:
    n = np.arange(round(seconds * RATE))
    return 8000 * np.sin(2 * np.pi * freq * n / RATE)


def pcm(*parts: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    return np.clip(np.rint(np.concatenate(parts)), -32768, 32767).astype(np.int16)


def test_a_short_hello_then_waiting_is_a_human() -> None:
    """0.5 s of quiet, a 0.4 s word, then silence: HUMAN once 0.8 s of it has passed."""
    decision = detect(pcm(quiet(0.5), babble(0.4), quiet(3)))
    assert (decision.result, decision.reason) == ("human", "silence-after-greeting")
    assert decision.words == 1
    assert decision.greeting == pytest.approx(0.4, abs=0.04)
    assert decision.elapsed == pytest.approx(0.5 + 0.4 + 0.8, abs=0.04)


def test_a_greeting_longer_than_two_seconds_is_a_machine() -> None:
    """Words with short pauses, going on: MACHINE when the greeting reaches 2 s."""
    words = [part for _ in range(8) for part in (babble(0.45), quiet(0.1))]
    decision = detect(pcm(quiet(0.3), *words))
    assert (decision.result, decision.reason) == ("machine", "long-greeting")
    assert decision.words == 4
    assert decision.elapsed == pytest.approx(0.3 + 2.0, abs=0.04)


def test_many_quick_words_are_a_machine_before_the_greeting_is_long() -> None:
    words = [part for _ in range(10) for part in (babble(0.12), quiet(0.08))]
    decision = detect(pcm(*words), AmdParams(max_words=6))
    assert (decision.result, decision.reason) == ("machine", "too-many-words")
    assert decision.words == 6


def test_the_beep_after_a_short_greeting_gives_the_machine_away() -> None:
    """ "请留言" is too short to be called a machine by length; its beep is not."""
    decision = detect(pcm(quiet(0.3), babble(0.8), quiet(0.3), beep(0.5), quiet(2)))
    assert (decision.result, decision.reason) == ("machine", "beep")
    assert decision.elapsed == pytest.approx(0.3 + 0.8 + 0.3 + 0.2, abs=0.04)


def test_a_dtmf_digit_is_not_a_beep() -> None:
    """Two tones at once (a key pressed) are not one pure tone."""
    n = np.arange(round(0.25 * RATE))
    digit = 6000 * (np.sin(2 * np.pi * 770 * n / RATE) + np.sin(2 * np.pi * 1336 * n / RATE))
    assert detect(pcm(quiet(0.3), digit, quiet(2))).result == "human"
    assert tone_peak(pcm(digit[:FRAME]), 0.8) == -1
    assert tone_peak(pcm(beep(0.02)), 0.8) == 20  # 1 kHz is bin 20 of a 160-point FFT


def test_nobody_speaking_is_unsure_by_default_or_what_the_operator_chose() -> None:
    silent = pcm(quiet(6))
    first = detect(silent)
    assert (first.result, first.reason, first.elapsed) == ("unsure", "initial-silence", 2.5)
    chosen = detect(silent, AmdParams(initial_silence=1.0, initial_silence_result="machine"))
    assert (chosen.result, chosen.elapsed) == ("machine", 1.0)


def test_no_decision_within_the_analysis_time_is_unsure() -> None:
    """Words with long pauses: neither a long greeting nor a waiting person."""
    params = AmdParams(total_analysis_time=3.0, after_greeting_silence=1.0, greeting=5.0)
    words = [part for _ in range(6) for part in (babble(0.2), quiet(0.7))]
    decision = detect(pcm(*words), params)
    assert (decision.result, decision.reason, decision.elapsed) == ("unsure", "analysis-time", 3.0)


def test_clicks_shorter_than_a_word_are_not_words() -> None:
    clicks = [part for _ in range(20) for part in (babble(0.04, -10), quiet(0.06))]
    decision = detect(pcm(*clicks, quiet(3)))
    assert decision.words == 0
    assert decision.reason == "initial-silence"


def test_a_noisy_line_is_not_one_endless_word() -> None:
    """Loud line noise at -30 dBFS throughout; a word 15 dB above it still stands out."""
    line = hiss(4, -30)
    line[4000:7200] += babble(0.4, -15)
    decision = detect(pcm(line))
    assert decision.result == "human"
    assert decision.greeting <= 0.4
    assert decision.elapsed == pytest.approx(0.5 + 0.4 + 0.8, abs=0.1)


def test_line_noise_starting_after_the_answer_is_not_taken_for_a_greeting() -> None:
    """Quiet, then hiss for good: the hiss becomes the floor and its "word" is withdrawn."""
    decision = detect(pcm(quiet(0.3), hiss(5, -35)))
    assert (decision.result, decision.reason, decision.words) == ("unsure", "initial-silence", 0)
    line = np.concatenate([quiet(0.3), hiss(5, -35)])
    line[6400:9600] += babble(0.4, -15)  # "喂?" 0.5 s into the hiss
    decision = detect(pcm(line))
    assert (decision.result, decision.words) == ("human", 1)


def test_a_drawn_out_steady_vowel_is_at_worst_unsure() -> None:
    """ "喂——" held level for a second looks like noise: never a machine."""
    decision = detect(pcm(quiet(0.3), hiss(1.0, -15), quiet(4)))
    assert decision.result != "machine"


def test_the_decision_comes_once_stamped_with_the_callers_clock() -> None:
    detector = AmdDetector()
    audio = pcm(quiet(0.2), babble(0.3), quiet(2))
    decisions: list[AmdDecision] = []
    for i in range(len(audio) // FRAME):
        result = detector.feed(audio[i * FRAME : (i + 1) * FRAME], now=1000.0 + (i + 1) * 0.02)
        if result is not None:
            decisions.append(result)
    assert len(decisions) == 1
    assert detector.finished
    assert detector.decision is decisions[0]
    assert decisions[0].at == pytest.approx(1000.0 + decisions[0].elapsed)


def test_when_audio_stops_coming_the_analysis_time_is_kept_by_the_clock() -> None:
    """Half a second of audio, then the next frame arrives 5 s after the answer."""
    detector = AmdDetector()
    for i in range(25):
        assert detector.feed(np.zeros(FRAME, dtype=np.int16), now=(i + 1) * 0.02) is None
    decision = detector.feed(np.zeros(FRAME, dtype=np.int16), now=5.0)
    assert decision is not None
    assert (decision.result, decision.reason, decision.at) == ("unsure", "analysis-time", 5.0)
    assert decision.elapsed == pytest.approx(0.52)


def test_ten_millisecond_frames_decide_the_same() -> None:
    audio = pcm(quiet(0.4), babble(0.5), quiet(2))
    detector = AmdDetector()
    decision = None
    for start in range(0, len(audio), 80):
        decision = detector.feed(audio[start : start + 80], now=start / RATE)
        if decision is not None:
            break
    assert decision is not None
    reference = detect(audio)
    assert decision.result == reference.result == "human"
    assert decision.elapsed == pytest.approx(reference.elapsed, abs=0.02)


def test_frame_energy_is_measured_against_full_scale() -> None:
    assert frame_dbfs(np.full(FRAME, 32767, dtype=np.int16)) == pytest.approx(0.0, abs=0.01)
    assert frame_dbfs(pcm(beep(0.02) / 8000 * 32767)) == pytest.approx(-3.0, abs=0.1)
    assert frame_dbfs(np.zeros(FRAME, dtype=np.int16)) == -math.inf


@pytest.mark.parametrize(
    "bad",
    [
        {"greeting": 0},
        {"max_words": 0},
        {"initial_silence_result": "robot"},
        {"steady": 0.2, "beep": 0.2},
    ],
)
def test_nonsense_parameters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AmdParams(**bad)  # type: ignore[arg-type]


def test_parameters_come_from_a_commands_json_object() -> None:
    params = AmdParams.from_mapping(
        {"greeting": 1.5, "max_words": 4, "initial_silence_result": "machine"}
    )
    assert params == AmdParams(greeting=1.5, max_words=4, initial_silence_result="machine")
    assert AmdParams.from_mapping({"max_words": "3"}).max_words == 3
    with pytest.raises(ValueError, match="unknown AMD parameters: greting"):
        AmdParams.from_mapping({"greting": 1.5})
    with pytest.raises(ValueError, match="must be a number"):
        AmdParams.from_mapping({"greeting": [1]})
    with pytest.raises(ValueError, match="must be a number"):
        AmdParams.from_mapping({"greeting": True})
    with pytest.raises(ValueError):
        AmdParams.from_mapping({"greeting": "long"})


def test_evaluate_counts_verdicts_against_the_truth() -> None:
    labelled: list[tuple[AmdResult, npt.NDArray[np.int16]]] = [
        ("human", pcm(quiet(0.2), babble(0.4), quiet(2))),
        ("human", pcm(quiet(0.2), babble(3))),  # a talkative person: taken for a machine
        ("machine", pcm(quiet(0.2), babble(3))),
        ("machine", pcm(quiet(3))),
    ]
    result = evaluate(labelled)
    assert dict(result.confusion) == {
        ("human", "human"): 1,
        ("human", "machine"): 1,
        ("machine", "machine"): 1,
        ("machine", "unsure"): 1,
    }
    assert result.accuracy == 0.5
    assert result.rate("human", "machine") == 0.5
    assert result.reasons == {
        "silence-after-greeting": 1,
        "long-greeting": 2,
        "initial-silence": 1,
    }
    assert result.table().splitlines()[1].split() == ["human", "1", "1", "0"]


# --- the labelled set -------------------------------------------------------------------

MACHINE_GREETINGS = [
    ("cmn", "您好，您拨打的用户暂时无法接通，请在提示音后留言"),
    ("cmn", "您好，我现在不方便接听电话，请留言，我会尽快回复您"),
    ("cmn", "欢迎致电王先生的语音信箱，请在嘀声后留下您的姓名和电话"),
    ("cmn", "请留言"),
    (
        "en",
        "Hi, you've reached John, I can't take your call, please leave a message after the tone",
    ),
    ("en", "Hello, this is Mary. I'm not available right now. Please leave your name and number"),
    ("en", "The person you are calling is not available. Please leave a message"),
    ("en", "Leave a message."),
]
HUMAN_ANSWERS = [
    ("cmn", "喂?"),
    ("cmn", "喂，你好"),
    ("cmn", "哎，哪位?"),
    ("cmn", "喂，您好，请问您找谁?"),  # a talkative person: over 2 s as espeak-ng says it
    ("en", "Hello?"),
    ("en", "Yes?"),
    ("en", "Hello, yes?"),
    ("en", "Hello, this is David speaking."),
]
RATES = (160, 190, 220)  # espeak-ng words per minute
PITCHES = (35, 50, 70)
LEADS = (0.3, 0.7, 1.2, 1.8)  # seconds of line silence before the voice
SNRS = (None, 25.0, 15.0, 10.0)  # dB of speech over white noise; None: clean
LEVELS = (-14.0, -20.0, -26.0)  # dBFS of the voice
VARIANTS = 4


@dataclass(frozen=True)
class Sample:
    truth: AmdResult
    voice: str
    text: str
    rate: int
    pitch: int
    lead: float
    snr: float | None
    level: float
    seed: int

    @property
    def name(self) -> str:
        snr = "clean" if self.snr is None else f"snr{self.snr:.0f}"
        return f"{self.truth}-{self.seed:02d}-{self.voice}-r{self.rate}-p{self.pitch}-{snr}.wav"


def to_8k(samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.float64]:
    """Band-limited FFT resampling (fast enough for 64 clips; the player's resampler is
    the windowed-sinc one in media/resample.py)."""
    up, down = RATE // math.gcd(rate, RATE), rate // math.gcd(rate, RATE)
    padded = down * 2 ** math.ceil(math.log2(max(1.0, len(samples) / down)))
    out = padded * up // down
    spectrum = np.fft.rfft(samples.astype(np.float64), padded)
    y: npt.NDArray[np.float64] = np.fft.irfft(spectrum[: out // 2 + 1], out) * out / padded
    return y[: round(len(samples) * up / down)]


def speak(sample: Sample) -> npt.NDArray[np.float64]:
    argv = ["espeak-ng", "-v", sample.voice, "-s", str(sample.rate), "-p", str(sample.pitch)]
    wav = subprocess.run(
        [*argv, "-b", "1", "--stdout"],
        input=sample.text.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    with sf.SoundFile(io.BytesIO(wav)) as f:
        data = f.read(dtype="int16")
        rate = f.samplerate
    voice = to_8k(data, rate)
    heard = np.flatnonzero(np.abs(voice) > 300)
    return voice[heard[0] : heard[-1] + 1]  # espeak-ng's own silence trimmed


def render(sample: Sample, voice: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    scale = 32768 * 10 ** (sample.level / 20)
    parts = [quiet(sample.lead), voice * scale / np.sqrt(np.mean(voice**2))]
    if sample.truth == "machine":
        parts += [quiet(0.4), beep(0.4) / 8000 * scale * math.sqrt(2), quiet(1.0)]
    else:
        parts.append(quiet(4.0))  # the person waits for the caller to speak
    audio = np.concatenate(parts)
    if sample.snr is not None:
        noise = np.random.default_rng(sample.seed).normal(0, 1, len(audio))
        audio += noise * scale * 10 ** (-sample.snr / 20)
    return pcm(audio)


def labelled_samples() -> list[Sample]:
    samples = []
    tables: tuple[tuple[AmdResult, list[tuple[str, str]]], ...] = (
        ("machine", MACHINE_GREETINGS),
        ("human", HUMAN_ANSWERS),
    )
    for truth, table in tables:
        for i, (voice, text) in enumerate(table):
            for k in range(VARIANTS):
                samples.append(
                    Sample(
                        truth=truth,
                        voice=voice,
                        text=text,
                        rate=RATES[(i + k) % 3],
                        pitch=PITCHES[(i + 2 * k) % 3],
                        lead=LEADS[(i + k) % 4],
                        snr=SNRS[k],
                        level=LEVELS[(i + k) % 3],
                        seed=i * VARIANTS + k,
                    )
                )
    return samples


@pytest.fixture(scope="module")
def labelled_set(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Sample, Path]]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng")
    directory = tmp_path_factory.mktemp("amd-set")
    samples = labelled_samples()
    with ThreadPoolExecutor(max_workers=4) as pool:
        voices = list(pool.map(speak, samples))
    written = []
    for sample, voice in zip(samples, voices, strict=True):
        path = directory / sample.name
        sf.write(path, render(sample, voice), RATE, subtype="PCM_16")
        written.append((sample, path))
    return written


def test_the_labelled_set_is_balanced_and_large_enough(
    labelled_set: list[tuple[Sample, Path]],
) -> None:
    truths = [sample.truth for sample, _ in labelled_set]
    assert truths.count("human") == truths.count("machine") == 32
    assert {sample.snr for sample, _ in labelled_set} == set(SNRS)
    assert {sample.voice for sample, _ in labelled_set} == {"cmn", "en"}


def test_accuracy_on_the_labelled_set(labelled_set: list[tuple[Sample, Path]]) -> None:
    """At least 90% right, at most 1 person in 8 taken for a machine, decided in 3.5 s.

    Why these bounds: a person taken for a machine is hung up on (an abandoned call
    for the regulator), so that error is bounded on its own. One of the eight human
    answers of each language is deliberately talkative: "喂，您好，请问您找谁?"
    lasts over 2 s as espeak-ng speaks it, which no energy-based detector can tell
    from a greeting, so 4 of 32 (12.5%) is the floor this set allows; anything more
    means the detector lost a person it should have kept. 90% overall then leaves
    room for at most two machines taken for people (a machine reaching an agent
    costs an agent a few seconds, nothing more). The mean decision time includes
    the leading silence (1 s on average); a person is recognised 0.8 s after they
    stop speaking, which leaves 1.2 s of the 2 s the FTC allows between the end of
    their greeting and an agent (16 CFR 310.4(b)(1)(iv)).
    """
    loaded: list[tuple[AmdResult, npt.NDArray[np.int16]]] = []
    for sample, path in labelled_set:
        audio, _ = sf.read(path, dtype="int16")
        loaded.append((sample.truth, np.asarray(audio, dtype=np.int16)))
    result = evaluate(loaded)
    log.info("AMD on the espeak-ng labelled set:\n%s\nreasons %s", result.table(), result.reasons)

    def misjudged() -> list[str]:
        """For the failure message: which files to listen to."""
        verdicts = [
            (sample, detect(audio))
            for (sample, _), (_, audio) in zip(labelled_set, loaded, strict=True)
        ]
        return [
            f"{s.name} ({s.text}): {d.result}, {d.reason}"
            for s, d in verdicts
            if d.result != s.truth
        ]

    assert result.total == 64
    assert result.accuracy >= 0.90, misjudged()
    assert result.rate("human", "machine") <= 0.125, misjudged()
    assert result.rate("machine", "human") <= 0.0625, misjudged()
    assert result.mean_decision_seconds <= 3.5
