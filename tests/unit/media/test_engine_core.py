"""The media engine's core on a virtual clock: relay, transcoding, conferences, digits.

No sockets: every endpoint sends into a list, packets are fed in with ``now``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from callcenter.media import g711
from callcenter.media.control import (
    AmdDecided,
    DtmfDetected,
    EngineError,
    PlayFinished,
    RecordingFinished,
    RecordingStarted,
    RtpTimedOut,
)
from callcenter.media.core import TICK, MediaCore
from callcenter.media.dtmf import DTMF_DIGITS, TelephoneEvent, TelephoneEventSender
from callcenter.media.endpoint import Endpoint
from callcenter.media.recorder import Recorder
from callcenter.media.room import AudioSource, RecordingSink
from callcenter.media.rtp import RtpPacket
from callcenter.media.tones import dtmf_sequence

Address = tuple[str, int]
Pcm = npt.NDArray[np.int16]


@dataclass
class Wire:
    """What every endpoint sent, by the far-end address it went to."""

    sent: list[tuple[bytes, Address]] = field(default_factory=list)

    def send(self, data: bytes | bytearray, addr: Address) -> None:
        self.sent.append((bytes(data), addr))

    def to(self, addr: Address) -> list[RtpPacket]:
        return [RtpPacket.parse(d) for d, a in self.sent if a == addr]

    def audio_to(self, addr: Address, codec: str = "PCMU") -> Pcm:
        table = g711.ULAW_DECODE if codec == "PCMU" else g711.ALAW_DECODE
        payloads = [p.payload for p in self.to(addr) if p.payload_type in (0, 8)]
        return table[np.frombuffer(b"".join(payloads), np.uint8)]


class ToneSource:
    """A stand-in prompt: ``frames`` frames of a constant level."""

    def __init__(self, level: int, frames: int) -> None:
        self.level, self.left = level, frames

    @property
    def finished(self) -> bool:
        return self.left <= 0

    def read(self, n_samples: int) -> Pcm:
        self.left -= 1
        return np.full(n_samples, self.level, np.int16)


def make_source(args: dict[str, Any]) -> AudioSource:
    return ToneSource(int(args["level"]), int(args["frames"]))


def make_sink(path: str, fmt: str, stereo: bool) -> RecordingSink:
    return Recorder(path, fmt, stereo)


PHONES: dict[str, Address] = {f"p{i}": ("127.0.0.1", 40000 + 2 * i) for i in range(5)}


@dataclass
class Rig:
    core: MediaCore
    wire: Wire
    now: float = 100.0
    seq: dict[str, int] = field(default_factory=dict)

    def endpoint(self, eid: str, codec: str = "PCMU", **kw: Any) -> Endpoint:
        endpoint = Endpoint(eid, ("127.0.0.1", 20000 + len(self.core.endpoints) * 2),
                            self.wire.send, codec=codec, **kw)  # fmt: skip
        endpoint.set_remote(PHONES[eid])
        self.core.add_endpoint(endpoint, self.now)
        return endpoint

    def rtp(self, eid: str, payload: bytes, *, pt: int = 0, ssrc: int = 0x1000, **kw: Any) -> None:
        seq = self.seq.get(eid, 0)
        self.seq[eid] = seq + 1
        packet = RtpPacket(pt, kw.pop("seq", seq) & 0xFFFF, kw.pop("ts", seq * 160), ssrc, payload)
        self.core.endpoints[eid].receive(bytes(packet), kw.pop("source", PHONES[eid]), self.now)

    def speak(self, eid: str, pcm: Pcm, codec: str = "PCMU") -> None:
        """Send ``pcm`` as 20 ms packets, one per tick, ticking the core."""
        table = g711.ULAW_ENCODE if codec == "PCMU" else g711.ALAW_ENCODE
        for frame in pcm.reshape(-1, 160):
            self.rtp(eid, table[frame.view(np.uint16)].tobytes(), pt=0 if codec == "PCMU" else 8)
            self.tick()

    def tick(self, count: int = 1) -> None:
        for _ in range(count):
            self.now += TICK
            self.core.tick(self.now)

    def cmd(self, op: str, **args: Any) -> dict[str, Any]:
        return self.core.command(op, args, self.now)


@pytest.fixture
def rig() -> Rig:
    return Rig(MediaCore(make_source, make_sink), Wire())


def level(pcm: Pcm) -> float:
    return float(np.mean(np.abs(pcm.astype(np.int32)))) if len(pcm) else 0.0


# --- bridges ----------------------------------------------------------------------------


def test_bridge_relays_both_ways_as_packets_arrive(rig: Rig) -> None:
    """Each side's payload reaches the other at once, on the engine's own stream."""
    rig.endpoint("p0")
    rig.endpoint("p1")
    assert rig.cmd("bridge", bridge="b", a="p0", b="p1") == {"relay": True}
    for i in range(3):
        rig.rtp("p0", bytes([i]) * 160)
        rig.rtp("p1", bytes([100 + i]) * 160, ssrc=0x2000)
    to_p1, to_p0 = rig.wire.to(PHONES["p1"]), rig.wire.to(PHONES["p0"])
    assert [p.payload[0] for p in to_p1] == [0, 1, 2]
    assert [p.payload[0] for p in to_p0] == [100, 101, 102]
    assert len({p.ssrc for p in to_p1}) == 1 and to_p1[0].ssrc != 0x1000
    seqs = [p.sequence_number for p in to_p1]
    assert seqs == [(seqs[0] + i) % 65536 for i in range(3)]
    assert [(p.timestamp - to_p1[0].timestamp) % 2**32 for p in to_p1] == [0, 160, 320]
    assert rig.core.endpoints["p0"].stats.forwarded == 3


def test_transcoding_between_pcmu_and_pcma(rig: Rig) -> None:
    """Legs that disagree on the codec get each other's audio in their own codec."""
    rig.endpoint("p0", "PCMU")
    rig.endpoint("p1", "PCMA")
    assert rig.cmd("bridge", bridge="b", a="p0", b="p1") == {"relay": False}
    voice = (np.sin(np.arange(160) / 5) * 8000).astype(np.int16)
    rig.rtp("p0", g711.pcm16_to_ulaw(voice).tobytes())
    rig.rtp("p1", g711.pcm16_to_alaw(voice).tobytes(), pt=8)
    [to_p1], [to_p0] = rig.wire.to(PHONES["p1"]), rig.wire.to(PHONES["p0"])
    assert (to_p1.payload_type, to_p0.payload_type) == (8, 0)
    heard_by_p1 = g711.alaw_to_pcm16(to_p1.payload)
    heard_by_p0 = g711.ulaw_to_pcm16(to_p0.payload)
    assert np.max(np.abs(heard_by_p1.astype(np.int32) - voice)) < 400
    assert np.max(np.abs(heard_by_p0.astype(np.int32) - voice)) < 400


def test_an_endpoint_cannot_be_in_two_rooms(rig: Rig) -> None:
    for eid in ("p0", "p1", "p2"):
        rig.endpoint(eid)
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    with pytest.raises(EngineError) as busy:
        rig.cmd("bridge", bridge="b2", a="p1", b="p2")
    assert busy.value.code == "endpoint-busy"
    assert "媒体端点" in busy.value.message("zh-CN") and "p1" in busy.value.message("en")
    with pytest.raises(EngineError, match="endpoint-busy"):
        rig.cmd("join", conference="c", endpoint="p0")
    rig.cmd("unbridge", bridge="b")
    rig.rtp("p0", bytes(160))
    assert rig.wire.to(PHONES["p1"]) == []
    with pytest.raises(EngineError, match="unknown-bridge"):
        rig.cmd("unbridge", bridge="b")
    with pytest.raises(EngineError, match="unknown-op"):
        rig.cmd("dance")
    with pytest.raises(EngineError, match="bad-arguments"):
        rig.cmd("join", conference="c", endpoint="p2", role="shout")


# --- conferences ------------------------------------------------------------------------

CALLER, AGENT, SUPERVISOR = 1000, 3000, 9000  # levels far enough apart after G.711


def conference_round(rig: Rig, ticks: int = 5) -> dict[str, float]:
    """Everyone speaks at their level for a few ticks; return the level each one heard."""
    rig.wire.sent.clear()
    for _ in range(ticks):
        for eid, lvl in (("p0", CALLER), ("p1", AGENT), ("p2", SUPERVISOR)):
            rig.rtp(eid, g711.pcm16_to_ulaw(np.full(160, lvl, np.int16)).tobytes())
        rig.tick()
    return {eid: level(rig.wire.audio_to(PHONES[eid])[160:]) for eid in ("p0", "p1", "p2")}


def near(value: float, expected: float) -> bool:
    return abs(value - expected) <= 0.05 * max(expected, 100)


def test_three_way_call_everyone_hears_the_other_two(rig: Rig) -> None:
    for eid in ("p0", "p1", "p2"):
        rig.endpoint(eid)
        rig.cmd("join", conference="c", endpoint=eid)
    heard = conference_round(rig)
    assert near(heard["p0"], AGENT + SUPERVISOR)
    assert near(heard["p1"], CALLER + SUPERVISOR)
    assert near(heard["p2"], CALLER + AGENT)


def test_supervisor_listen_whisper_and_barge(rig: Rig) -> None:
    """Listen: heard by none. Whisper: heard by the agent only. Barge: heard by both."""
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.endpoint("p2")
    rig.cmd("join", conference="c", endpoint="p0")
    rig.cmd("join", conference="c", endpoint="p1")
    rig.cmd("join", conference="c", endpoint="p2", role="listen_only")
    listen = conference_round(rig)
    assert near(listen["p0"], AGENT) and near(listen["p1"], CALLER)
    assert near(listen["p2"], CALLER + AGENT)

    rig.cmd("join", conference="c", endpoint="p2", role="whisper_to", whisper_to="p1")
    whisper = conference_round(rig)
    assert near(whisper["p0"], AGENT)
    assert near(whisper["p1"], CALLER + SUPERVISOR)

    rig.cmd("join", conference="c", endpoint="p2", role="talk_listen")
    barge = conference_round(rig)
    assert near(barge["p0"], AGENT + SUPERVISOR) and near(barge["p1"], CALLER + SUPERVISOR)

    rig.cmd("leave", conference="c", endpoint="p2")
    assert rig.core.endpoints["p2"].tapped is False
    after = conference_round(rig)
    assert near(after["p0"], AGENT) and after["p2"] == 0.0


# --- prompts ----------------------------------------------------------------------------


def test_a_prompt_replaces_the_partners_audio_until_it_ends(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    rig.cmd("play", endpoint="p0", play="hold", level=2000, frames=3)
    for _ in range(5):
        rig.rtp("p1", g711.pcm16_to_ulaw(np.full(160, 500, np.int16)).tobytes(), ssrc=2)
        rig.tick()
    levels = [level(g711.ulaw_to_pcm16(p.payload)) for p in rig.wire.to(PHONES["p0"])]
    assert [round(v, -2) for v in levels] == [2000, 2000, 2000, 500, 500]
    [finished] = rig.core.take_events()
    assert isinstance(finished, PlayFinished)
    assert (finished.play, finished.stopped, round(finished.at, 2)) == ("hold", False, 100.06)


def test_stopping_a_prompt_reports_it_stopped(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.cmd("play", endpoint="p0", play="moh", level=1, frames=1000)
    rig.tick(2)
    assert rig.cmd("stop_play", endpoint="p0") == {"stopped": True}
    assert rig.cmd("stop_play", endpoint="p0") == {"stopped": False}
    [event] = rig.core.take_events()
    assert isinstance(event, PlayFinished) and event.stopped


# --- DTMF -------------------------------------------------------------------------------


def test_all_16_rfc4733_digits_are_reported_once(rig: Rig) -> None:
    rig.endpoint("p0")
    schedule = TelephoneEventSender().schedule(DTMF_DIGITS, 5000)
    start = rig.now
    for i, item in enumerate(schedule):
        rig.now = start + item.offset
        packet = RtpPacket(101, i, item.timestamp, 7, bytes(item.event), item.marker)
        rig.core.endpoints["p0"].receive(bytes(packet), PHONES["p0"], rig.now)
        rig.core.tick(rig.now)
    digits = [e.digit for e in rig.core.take_events() if isinstance(e, DtmfDetected)]
    assert "".join(digits) == DTMF_DIGITS


def test_rfc4733_digit_whose_end_packets_are_lost_is_still_reported(rig: Rig) -> None:
    rig.endpoint("p0")
    payload = bytes(TelephoneEvent(event=9, end=False, duration=160))
    rig.rtp("p0", payload, pt=101, ts=800)
    rig.tick(20)
    [digit] = rig.core.take_events()
    assert isinstance(digit, DtmfDetected) and (digit.digit, digit.method) == ("9", "rfc4733")


def test_all_16_inband_digits_are_detected_when_asked(rig: Rig) -> None:
    rig.endpoint("p0", "PCMA")
    rig.cmd("start_detection", endpoint="p0", kind="dtmf_inband")
    assert rig.core.endpoints["p0"].tapped
    audio = dtmf_sequence(DTMF_DIGITS, on=0.08, off=0.06)
    audio = np.concatenate([audio, np.zeros(-len(audio) % 160, np.int16)])
    rig.speak("p0", audio, codec="PCMA")
    digits = [e for e in rig.core.take_events() if isinstance(e, DtmfDetected)]
    assert "".join(e.digit for e in digits) == DTMF_DIGITS
    assert {e.method for e in digits} == {"inband"}
    rig.cmd("stop_detection", endpoint="p0", kind="dtmf_inband")
    assert not rig.core.endpoints["p0"].tapped


def test_send_dtmf_injects_rfc4733_and_mutes_the_relay_meanwhile(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    rig.cmd("send_dtmf", endpoint="p0", digits="1#")
    for _ in range(30):
        rig.rtp("p1", bytes(160), ssrc=2)
        rig.tick()
    packets = rig.wire.to(PHONES["p0"])
    events = [p for p in packets if p.payload_type == 101]
    parsed = [TelephoneEvent.parse(p.payload) for p in events]
    assert {e.digit for e in parsed} == {"1", "#"}
    assert sum(1 for e in parsed if e.end) == 6  # three end packets per digit
    assert [p.marker for p in events].count(True) == 2
    first_event = packets.index(events[0])
    last_event = packets.index(events[-1])
    assert all(p.payload_type == 101 for p in packets[first_event : last_event + 1])
    assert packets[-1].payload_type == 0  # the relay resumes afterwards
    with pytest.raises(EngineError, match="bad-arguments"):
        rig.cmd("send_dtmf", endpoint="p0", digits="1x")


# --- bad input --------------------------------------------------------------------------


def test_bad_packets_are_dropped_and_counted_and_never_reach_the_partner(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    p0 = rig.core.endpoints["p0"]
    rig.rtp("p0", b"\x01" * 160, seq=10)  # latches and locks
    p0.receive(b"\x80\x00\x00", PHONES["p0"], rig.now)  # short
    p0.receive(b"\x40" + bytes(171), PHONES["p0"], rig.now)  # version 1
    p0.receive(bytes([0x80]) + bytes(2000), PHONES["p0"], rig.now)  # oversized
    rig.rtp("p0", b"\x02" * 160, seq=11, source=("127.0.0.1", 9))  # stranger
    rig.rtp("p0", b"\x03" * 160, seq=11, pt=18)  # G.729: not agreed
    rig.rtp("p0", b"\x04" * 160, seq=11, ssrc=0xBAD)  # one packet of another SSRC
    rig.rtp("p0", b"\x05" * 160, seq=10)  # duplicate
    rig.rtp("p0", b"\x06" * 160, seq=30000)  # a jump, not confirmed
    bad_padding = bytearray(bytes(RtpPacket(0, 11, 1760, 0x1000, b"\x07" * 160)))
    bad_padding[0] |= 0x20
    bad_padding[-1] = 200
    p0.receive(bytes(bad_padding), PHONES["p0"], rig.now)
    rig.rtp("p0", b"\x08" * 160, seq=11)  # good again
    stats = p0.stats
    assert (stats.short, stats.bad_version, stats.oversized, stats.strangers) == (1, 1, 1, 1)
    assert (stats.bad_payload_type, stats.wrong_ssrc, stats.duplicates) == (1, 1, 1)
    assert (stats.sequence_jumps, stats.malformed) == (1, 1)
    assert stats.dropped == 9 and stats.received == 2
    assert [p.payload[0] for p in rig.wire.to(PHONES["p1"])] == [1, 8]


def test_sequence_wrap_timestamp_jump_and_clean_ssrc_change_are_accepted(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    for i, seq in enumerate((65534, 65535, 0, 1)):
        rig.rtp("p0", bytes([seq & 0x7F]) * 160, seq=seq, ts=i * 160)
    rig.rtp("p0", b"\x09" * 160, seq=2, ts=10_000_000)  # the timestamp leaps
    for seq in (500, 501, 502, 503):  # a new source after a transfer
        rig.rtp("p0", b"\x0a" * 160, seq=seq, ssrc=0x3000)
    big_jump = (40000, 40001)  # a restart: confirmed by the packet after it
    for seq in big_jump:
        rig.rtp("p0", b"\x0b" * 160, seq=seq, ssrc=0x3000)
    stats = rig.core.endpoints["p0"].stats
    assert stats.sequence_wraps == 1 and stats.timestamp_jumps == 1
    assert stats.wrong_ssrc == 2 and stats.ssrc_changes == 1
    assert stats.sequence_jumps == 1
    assert len(rig.wire.to(PHONES["p1"])) == 4 + 1 + 2 + 1


def test_rtp_inactivity_is_reported_once_per_silence(rig: Rig) -> None:
    rig.endpoint("p0", inactivity_timeout=2.0)
    rig.rtp("p0", bytes(160))
    rig.tick(150)
    events = [e for e in rig.core.take_events() if isinstance(e, RtpTimedOut)]
    assert len(events) == 1 and events[0].endpoint == "p0" and events[0].seconds >= 2.0
    for _ in range(50):  # media flows again for a second ...
        rig.rtp("p0", bytes(160))
        rig.tick()
    assert rig.core.endpoints["p0"].timed_out is False and rig.core.take_events() == []
    rig.tick(150)  # ... then stops again
    assert [type(e) for e in rig.core.take_events()] == [RtpTimedOut]


# --- recordings -------------------------------------------------------------------------


def test_stereo_recording_puts_each_leg_on_its_channel_despite_bad_packets(
    rig: Rig, tmp_path: Path
) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    path = tmp_path / "call.wav"
    assert rig.cmd("record", recording="r", target="b", path=str(path)) == {"parties": ["p0", "p1"]}
    customer = g711.pcm16_to_ulaw(np.full(160, 1000, np.int16)).tobytes()
    agent = g711.pcm16_to_ulaw(np.full(160, -3000, np.int16)).tobytes()
    for _ in range(100):
        rig.rtp("p0", customer)
        rig.rtp("p1", agent, ssrc=2)
        rig.core.endpoints["p0"].receive(b"\x80\x00" + bytes(5), PHONES["p0"], rig.now)
        rig.core.endpoints["p1"].receive(bytes(172), PHONES["p1"], rig.now)
        rig.tick()
    rig.cmd("stop_record", recording="r")
    events = rig.core.take_events()
    assert isinstance(events[0], RecordingStarted)
    finished = events[-1]
    assert isinstance(finished, RecordingFinished)
    assert finished.seconds == pytest.approx(2.0) and finished.bytes == path.stat().st_size
    audio, rate = sf.read(path, dtype="int16")
    assert rate == 8000 and audio.shape == (16000, 2)
    assert np.all(np.abs(audio[:, 0] - 1000) < 40) and np.all(np.abs(audio[:, 1] + 3000) < 100)


def test_recordings_are_flushed_in_staggered_slots(rig: Rig, tmp_path: Path) -> None:
    """With many recordings, each tick writes only its share of them."""
    flushes: list[int] = []

    class CountingSink:
        def __init__(self) -> None:
            self.frames = 0

        def write(self, left: Pcm, right: Pcm | None = None) -> None:
            self.frames += len(left)

        def flush(self) -> None:
            flushes.append(rig.core.ticks)

        def close(self) -> None:
            Path(tmp_path / "x").touch()

    rig.core.make_sink = lambda path, fmt, stereo: CountingSink()
    for i in range(5):
        rig.endpoint(f"p{i}")
        rig.cmd("record", recording=f"r{i}", target=f"p{i}", path=str(tmp_path / "x"))
    rig.tick(50)
    assert len(flushes) == 5 and len(set(flushes)) == 5


def test_deleting_an_endpoint_finishes_its_recording_and_bridge(rig: Rig, tmp_path: Path) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    rig.cmd("record", recording="r", target="b", path=str(tmp_path / "r.wav"), stereo=False)
    rig.tick(3)
    rig.core.remove_endpoint("p0", rig.now)
    assert rig.core.bridges == {} and rig.core.recordings == {}
    assert rig.core.endpoints["p1"].partner is None
    finished = rig.core.take_events()[-1]
    assert isinstance(finished, RecordingFinished) and finished.parties == ("p0", "p1")
    assert sf.info(str(tmp_path / "r.wav")).channels == 1


def test_stats_per_endpoint_and_in_total(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.rtp("p0", bytes(160))
    rig.core.endpoints["p0"].receive(b"x", PHONES["p0"], rig.now)
    one = rig.cmd("stats", endpoint="p0")
    assert one["received"] == 1 and one["dropped"] == 1 and one["local_port"] == 20000
    total = rig.cmd("stats")
    assert total["endpoints"] == 1 and total["totals"]["short"] == 1
    with pytest.raises(EngineError, match="unknown-endpoint"):
        rig.cmd("stats", endpoint="nope")


def test_header_with_csrcs_is_parsed_the_slow_way(rig: Rig) -> None:
    rig.endpoint("p0")
    rig.endpoint("p1")
    rig.cmd("bridge", bridge="b", a="p0", b="p1")
    packet = RtpPacket(0, 1, 160, 0x1000, b"\x2a" * 160, csrcs=(1, 2))
    rig.core.endpoints["p0"].receive(bytes(packet), PHONES["p0"], rig.now)
    [out] = rig.wire.to(PHONES["p1"])
    assert out.payload == b"\x2a" * 160 and out.csrcs == ()
    assert struct.unpack("!B", bytes(out)[:1])[0] == 0x80


# --- answering-machine detection ----------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    result: str
    reason: str
    elapsed: float


class FrameCountingAmd:
    """Decides "machine" once it has heard 10 frames louder than 1000."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.loud = 0
        self.needed = int(params.get("frames", 10))

    def feed(self, frame: Pcm, now: float) -> Verdict | None:
        self.loud += int(level(frame) > 1000)
        return Verdict("machine", "long greeting", 0.2) if self.loud >= self.needed else None


def test_amd_is_fed_the_answered_audio_and_reports_once(rig: Rig) -> None:
    rig.core.make_amd = FrameCountingAmd
    rig.endpoint("p0")
    rig.cmd("start_detection", endpoint="p0", kind="amd", params={"frames": 5})
    assert rig.core.endpoints["p0"].tapped
    rig.speak("p0", np.full(160 * 8, 4000, np.int16))
    [decided] = rig.core.take_events()
    assert isinstance(decided, AmdDecided)
    assert (decided.endpoint, decided.result, decided.reason) == ("p0", "machine", "long greeting")
    assert not rig.core.endpoints["p0"].tapped  # detection over: back to relay only


def test_amd_without_a_detector_is_not_supported(rig: Rig) -> None:
    rig.endpoint("p0")
    with pytest.raises(EngineError, match="not-supported"):
        rig.cmd("start_detection", endpoint="p0", kind="amd")
    with pytest.raises(EngineError, match="bad-arguments"):
        rig.cmd("start_detection", endpoint="p0", kind="telepathy")
