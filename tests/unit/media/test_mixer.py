"""Conference mixing: mix-minus, supervisor listen / whisper / barge, saturation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.media.mixer import (
    NO_TARGET,
    Conference,
    ListenOnly,
    TalkListen,
    WhisperTo,
    mix_frames,
)


def const(value: int, samples: int = 160) -> npt.NDArray[np.int16]:
    return np.full(samples, value, dtype=np.int16)


def heard(out: dict[str, npt.NDArray[np.int16]]) -> dict[str, int]:
    """Each party's output is constant in these tests; reduce it to one number."""
    result = {}
    for party, frame in out.items():
        assert np.all(frame == frame[0])
        result[party] = int(frame[0])
    return result


# Distinct powers of ten make every sum readable: 1=caller, 10=agent, 100=supervisor.
VOICES = {"caller": const(1), "agent": const(10), "supervisor": const(100)}


def test_two_party_call_is_a_plain_cross_connect() -> None:
    """Caller hears the agent and the agent hears the caller, neither hears itself."""
    conf = Conference[str]()
    conf.join("caller")
    conf.join("agent")
    assert heard(conf.mix({"caller": const(1), "agent": const(10)})) == {"caller": 10, "agent": 1}


def test_three_way_call_is_mix_minus() -> None:
    """Three talkers: each hears the other two and never itself."""
    conf = Conference[str]()
    for party in VOICES:
        conf.join(party, TalkListen())
    assert heard(conf.mix(VOICES)) == {"caller": 110, "agent": 101, "supervisor": 11}


def test_supervisor_listen_hears_both_and_is_heard_by_none() -> None:
    """Silent monitoring: the supervisor hears caller + agent; they do not hear him."""
    conf = Conference[str]()
    conf.join("caller")
    conf.join("agent")
    conf.join("supervisor", ListenOnly())
    assert heard(conf.mix(VOICES)) == {"caller": 10, "agent": 1, "supervisor": 11}


def test_whisper_is_heard_only_by_the_agent() -> None:
    """Coaching: the agent hears the caller and the supervisor; the caller hears the agent."""
    conf = Conference[str]()
    conf.join("caller")
    conf.join("agent")
    conf.join("supervisor", WhisperTo("agent"))
    assert heard(conf.mix(VOICES)) == {"caller": 10, "agent": 101, "supervisor": 11}


def test_barge_turns_the_supervisor_into_a_full_party() -> None:
    """From listen to whisper to barge on the same conference, tick by tick."""
    conf = Conference[str]()
    conf.join("caller")
    conf.join("agent")
    conf.join("supervisor", ListenOnly())
    assert heard(conf.mix(VOICES))["caller"] == 10
    conf.set_role("supervisor", WhisperTo("agent"))
    assert heard(conf.mix(VOICES))["caller"] == 10
    conf.set_role("supervisor", TalkListen())
    assert heard(conf.mix(VOICES)) == {"caller": 110, "agent": 101, "supervisor": 11}
    assert conf.role("supervisor") == TalkListen()


def test_missing_frames_are_silence_and_unknown_senders_ignored() -> None:
    """A party whose packet did not arrive contributes nothing this tick."""
    conf = Conference[str]()
    conf.join("caller")
    conf.join("agent")
    out = heard(conf.mix({"agent": const(10), "stranger": const(999)}))
    assert out == {"caller": 10, "agent": 0}


def test_whisper_to_someone_who_left_is_heard_by_nobody() -> None:
    """When the agent hangs up, the whispering supervisor is not leaked to the caller."""
    conf = Conference[str]()
    conf.join("caller")
    conf.join("agent")
    conf.join("supervisor", WhisperTo("agent"))
    conf.leave("agent")
    conf.leave("nobody")  # leaving twice or unknown is harmless
    assert heard(conf.mix(VOICES)) == {"caller": 0, "supervisor": 1}
    assert conf.parties == ("caller", "supervisor")


def test_a_party_cannot_whisper_to_itself() -> None:
    """Whispering to yourself is a programming error."""
    conf = Conference[str]()
    with pytest.raises(ValueError):
        conf.join("supervisor", WhisperTo("supervisor"))


def test_empty_conference_mixes_to_nothing() -> None:
    """No parties, no output."""
    assert Conference[str]().mix({"x": const(1)}) == {}


def test_sums_saturate_at_int16_instead_of_wrapping() -> None:
    """Three loud talkers add up beyond int16: clipped to 32767 / -32768, never wrapped."""
    conf = Conference[str]()
    for party in "abc":
        conf.join(party)
    loud = heard(conf.mix({"a": const(30000), "b": const(30000), "c": const(30000)}))
    assert loud == {"a": 32767, "b": 32767, "c": 32767}
    quiet = heard(conf.mix({"a": const(-30000), "b": const(-30000), "c": const(-30000)}))
    assert quiet == {"a": -32768, "b": -32768, "c": -32768}


def test_mix_frames_matches_a_brute_force_reference_on_random_input() -> None:
    """The vectorised mix equals the obvious double loop over listener and speaker."""
    rng = np.random.default_rng(2)
    n = 12
    frames = rng.integers(-20000, 20000, (n, 160)).astype(np.int16)
    talks = rng.random(n) < 0.6
    targets = np.full(n, NO_TARGET, dtype=np.intp)
    for i in np.flatnonzero(~talks)[::2]:
        targets[i] = (i + 1) % n
    out = mix_frames(frames, talks, targets)
    for listener in range(n):
        expected = np.zeros(160, dtype=np.int64)
        for speaker in range(n):
            if speaker == listener:
                continue
            if talks[speaker] or targets[speaker] == listener:
                expected += frames[speaker]
        assert np.array_equal(out[listener], np.clip(expected, -32768, 32767))


def test_real_audio_mixes_linearly() -> None:
    """Two sine waves mixed are their sum, sample by sample, for the third listener."""
    n = np.arange(160)
    a = (8000 * np.sin(2 * np.pi * 440 * n / 8000)).astype(np.int16)
    b = (8000 * np.sin(2 * np.pi * 1000 * n / 8000)).astype(np.int16)
    conf = Conference[str]()
    conf.join("a")
    conf.join("b")
    conf.join("rec", ListenOnly())
    out = conf.mix({"a": a, "b": b})
    assert np.array_equal(out["rec"], a.astype(np.int32) + b)
    assert np.array_equal(out["a"], b) and np.array_equal(out["b"], a)
