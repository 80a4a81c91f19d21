"""The media engine as a process, driven over its pipe, with Python phones on loopback.

Each test starts one engine (``python -m callcenter.media.engine``) through
:class:`EngineClient`, opens UDP "phones" on 127.0.0.1 that send and receive 20 ms
G.711 packets in real time, and checks what each phone heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio
import soundfile as sf

from callcenter.config import MediaSettings
from callcenter.media import g711
from callcenter.media.client import EngineClient, start_media
from callcenter.media.control import (
    AmdDecided,
    DtmfDetected,
    EngineError,
    MediaEvent,
    PlayFinished,
    RecordingFinished,
    RtpTimedOut,
)
from callcenter.media.dtmf import DTMF_DIGITS, TelephoneEvent, TelephoneEventSender
from callcenter.media.port import MediaAddress, MediaPort
from callcenter.media.recorder import repair
from callcenter.media.rtp import RtpPacket
from callcenter.media.tones import dtmf_sequence
from peers import tone_strength

HOST = "127.0.0.1"
FRAME = 160
Pcm = npt.NDArray[np.int16]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, phone: Phone) -> None:
        self.phone = phone

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.phone.received.append(RtpPacket.parse(data))


class Phone:
    """A UDP port on 127.0.0.1 that sends RTP to an engine endpoint and keeps what comes."""

    def __init__(self, codec: str = "PCMU", ssrc: int = 0x1234) -> None:
        self.codec = codec
        self.pt = 0 if codec == "PCMU" else 8
        self.ssrc = ssrc
        self.seq = 0
        self.ts = 0
        self.received: list[RtpPacket] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.target: tuple[str, int] = (HOST, 0)

    async def open(self) -> Phone:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(HOST, 0)
        )
        return self

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return (str(host), int(port))

    def send_raw(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.sendto(data, self.target)

    def packet(self, payload: bytes, pt: int | None = None, *, marker: bool = False) -> bytes:
        packet = RtpPacket(self.pt if pt is None else pt, self.seq, self.ts, self.ssrc, payload,
                           marker)  # fmt: skip
        self.seq = (self.seq + 1) & 0xFFFF
        return bytes(packet)

    async def talk(self, pcm: Pcm) -> None:
        """Send ``pcm`` in real time, one 20 ms packet at a time."""
        table = g711.ULAW_ENCODE if self.codec == "PCMU" else g711.ALAW_ENCODE
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, frame in enumerate(pcm.reshape(-1, FRAME)):
            self.send_raw(self.packet(table[frame.view(np.uint16)].tobytes()))
            self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))

    def heard(self) -> Pcm:
        table = g711.ULAW_DECODE if self.codec == "PCMU" else g711.ALAW_DECODE
        audio = [p.payload for p in self.received if p.payload_type == self.pt]
        return table[np.frombuffer(b"".join(audio), np.uint8)]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def tone(hz: float, seconds: float, amplitude: float = 8000) -> Pcm:
    t = np.arange(round(seconds * 8000)) / 8000
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_engine() -> AsyncIterator[EngineClient]:
    """One engine for the tests that do not kill it (starting one takes a second)."""
    client = await EngineClient(port_min=31000, port_max=31998).start()
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture(loop_scope="module")
async def engine(shared_engine: EngineClient) -> AsyncIterator[EngineClient]:
    """The shared engine, emptied of the previous test's endpoints and events."""
    await collect(shared_engine, 10_000, seconds=0.05)
    yield shared_engine
    for endpoint in sorted(shared_engine.endpoints):
        await shared_engine.delete_endpoint(endpoint)


async def phone_on(
    media: MediaPort, endpoint: str, codec: str = "PCMU", **kw: Any
) -> tuple[Phone, MediaAddress]:
    phone = await Phone(codec, ssrc=hash(endpoint) & 0xFFFFFFFF).open()
    address = await media.create_endpoint(endpoint, codec=codec, remote=phone.address, **kw)  # type: ignore[arg-type]
    phone.target = (address.host, address.port)
    return phone, address


async def collect(media: EngineClient, count: int, seconds: float = 5.0) -> list[MediaEvent]:
    events: list[MediaEvent] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for event in media.events():
                events.append(event)
                if len(events) >= count:
                    break
    return events


async def test_bridge_relays_both_ways_and_transcodes(engine: EngineClient) -> None:
    """A PCMU caller and a PCMA agent each hear the other's tone, in their own codec."""
    caller, _ = await phone_on(engine, "caller", "PCMU")
    agent, _ = await phone_on(engine, "agent", "PCMA")
    await engine.bridge("call", "caller", "agent")
    await asyncio.gather(caller.talk(tone(500, 0.4)), agent.talk(tone(1500, 0.4)))
    await asyncio.sleep(0.1)
    assert {p.payload_type for p in caller.received} == {0}
    assert {p.payload_type for p in agent.received} == {8}
    assert tone_strength(caller.heard(), 1500) > 0.9 and tone_strength(agent.heard(), 500) > 0.9
    assert len(caller.received) == len(agent.received) == 20
    stats = await engine.stats("caller")
    assert stats["forwarded"] == 20 and stats["dropped"] == 0
    caller.close()
    agent.close()


async def test_three_way_call_and_each_supervisor_mode(engine: EngineClient) -> None:
    """Caller 500 Hz, agent 1000 Hz, supervisor 2000 Hz: who hears whom, mode by mode."""
    phones = {}
    for name in ("caller", "agent", "supervisor"):
        phones[name], _ = await phone_on(engine, name)
    voices = {"caller": 500.0, "agent": 1000.0, "supervisor": 2000.0}

    async def round_() -> dict[str, set[str]]:
        for phone in phones.values():
            phone.received.clear()
        await asyncio.gather(*(phones[n].talk(tone(hz, 0.4)) for n, hz in voices.items()))
        await asyncio.sleep(0.1)
        return {
            name: {who for who, hz in voices.items() if tone_strength(phone.heard(), hz) > 0.1}
            for name, phone in phones.items()
        }

    await engine.join("conf", "caller")
    await engine.join("conf", "agent")
    await engine.join("conf", "supervisor")
    assert await round_() == {
        "caller": {"agent", "supervisor"},
        "agent": {"caller", "supervisor"},
        "supervisor": {"caller", "agent"},
    }
    await engine.join("conf", "supervisor", "listen_only")
    heard = await round_()
    assert heard["caller"] == {"agent"} and heard["agent"] == {"caller"}
    assert heard["supervisor"] == {"caller", "agent"}
    await engine.join("conf", "supervisor", "whisper_to", whisper_to="agent")
    heard = await round_()
    assert heard["caller"] == {"agent"} and heard["agent"] == {"caller", "supervisor"}
    await engine.join("conf", "supervisor", "talk_listen")  # barge
    heard = await round_()
    assert heard["caller"] == {"agent", "supervisor"} and heard["agent"] == {"caller", "supervisor"}
    for phone in phones.values():
        phone.close()


async def test_dtmf_rfc4733_in_and_out_and_inband(engine: EngineClient) -> None:
    """All 16 digits: RFC 4733 from a phone, in-band tones, and RFC 4733 sent by us."""
    phone, _ = await phone_on(engine, "leg")
    loop = asyncio.get_running_loop()
    start = loop.time()
    for item in TelephoneEventSender(digit_duration=0.04, gap=0.04).schedule(DTMF_DIGITS, 0):
        await asyncio.sleep(max(0.0, start + item.offset - loop.time()))
        packet = RtpPacket(101, phone.seq, item.timestamp, phone.ssrc, bytes(item.event),
                           item.marker)  # fmt: skip
        phone.seq += 1
        phone.send_raw(bytes(packet))
    rfc = [e for e in await collect(engine, 16) if isinstance(e, DtmfDetected)]
    assert "".join(e.digit for e in rfc) == DTMF_DIGITS and {e.method for e in rfc} == {"rfc4733"}

    await engine.start_detection("leg", "dtmf_inband")
    audio = dtmf_sequence(DTMF_DIGITS, on=0.09, off=0.05)  # 2 Goertzel blocks, any phase
    await phone.talk(np.concatenate([audio, np.zeros(-len(audio) % FRAME, np.int16)]))
    inband = [e for e in await collect(engine, 16) if isinstance(e, DtmfDetected)]
    assert "".join(e.digit for e in inband) == DTMF_DIGITS
    assert {e.method for e in inband} == {"inband"}

    phone.received.clear()
    await engine.send_dtmf("leg", "7*")
    await asyncio.sleep(0.6)
    events = [TelephoneEvent.parse(p.payload) for p in phone.received if p.payload_type == 101]
    assert [e.digit for e in events if e.end] == ["7"] * 3 + ["*"] * 3
    phone.close()


async def test_malformed_packets_are_counted_and_the_call_goes_on(engine: EngineClient) -> None:
    caller, _ = await phone_on(engine, "caller")
    agent, _ = await phone_on(engine, "agent")
    await engine.bridge("call", "caller", "agent")
    caller.send_raw(caller.packet(bytes(FRAME)))  # latches the caller's address
    await asyncio.sleep(0.05)
    caller.send_raw(b"\x80")
    caller.send_raw(b"\x00" * 172)
    caller.send_raw(caller.packet(bytes(FRAME), pt=18))
    stranger = await Phone().open()
    stranger.target = caller.target
    stranger.send_raw(stranger.packet(bytes(FRAME)))
    await caller.talk(tone(700, 0.2))
    await asyncio.sleep(0.1)
    stats = await engine.stats("caller")
    assert (stats["short"], stats["bad_version"], stats["bad_payload_type"]) == (1, 1, 1)
    assert stats["strangers"] == 1 and stats["forwarded"] == 11
    assert len(agent.received) == 11
    for phone in (caller, agent, stranger):
        phone.close()


async def test_prompt_plays_then_reports_finished(engine: EngineClient, tmp_path: Path) -> None:
    prompt = tmp_path / "welcome.wav"
    t = np.arange(round(0.3 * 16000)) / 16000
    sf.write(prompt, 0.4 * np.sin(2 * np.pi * 1000 * t), 16000)  # resampled once to 8 kHz
    phone, _ = await phone_on(engine, "leg")
    await engine.play("leg", "welcome", prompt=str(prompt))
    [finished] = await collect(engine, 1)
    assert isinstance(finished, PlayFinished) and (finished.play, finished.stopped) == (
        "welcome",
        False,
    )
    await asyncio.sleep(0.05)
    assert tone_strength(phone.heard(), 1000) > 0.8
    with pytest.raises(EngineError) as missing:
        await engine.play("leg", "x", prompt=str(tmp_path / "missing.wav"))
    assert missing.value.code == "bad-arguments"
    phone.close()


async def test_rtp_inactivity_is_reported(engine: EngineClient) -> None:
    phone, _ = await phone_on(engine, "leg", inactivity_timeout=0.5)
    phone.send_raw(phone.packet(bytes(FRAME)))
    events = await collect(engine, 1, seconds=3.0)
    assert len(events) == 1 and isinstance(events[0], RtpTimedOut)
    assert events[0].endpoint == "leg" and events[0].seconds >= 0.5
    phone.close()


async def test_amd_runs_in_the_engine_with_the_parameters_given(engine: EngineClient) -> None:
    """A line that stays silent: the detector's initial-silence rule, as configured."""
    phone, _ = await phone_on(engine, "answered")
    params = {"initial_silence": 0.3, "initial_silence_result": "machine"}
    await engine.start_detection("answered", "amd", params)
    await phone.talk(np.zeros(FRAME * 30, np.int16))
    [decided] = await collect(engine, 1, seconds=3.0)
    assert isinstance(decided, AmdDecided)
    assert (decided.endpoint, decided.result) == ("answered", "machine")
    assert 0.3 <= decided.elapsed < 0.6
    with pytest.raises(EngineError, match="bad-arguments"):
        await engine.start_detection("answered", "amd", {"patience": 3})
    phone.close()


async def test_recording_through_the_engine_is_stereo_and_readable(
    engine: EngineClient, tmp_path: Path
) -> None:
    caller, _ = await phone_on(engine, "caller")
    agent, _ = await phone_on(engine, "agent")
    await engine.bridge("call", "caller", "agent")
    path = tmp_path / "call.wav"
    await engine.record("rec", "call", str(path), fmt="alaw")
    await asyncio.gather(caller.talk(tone(600, 0.6)), agent.talk(tone(1800, 0.6)))
    await engine.stop_record("rec")
    events = await collect(engine, 2)
    finished = events[-1]
    assert isinstance(finished, RecordingFinished) and finished.parties == ("caller", "agent")
    assert finished.bytes == path.stat().st_size and 0.5 <= finished.seconds <= 0.8
    audio, rate = sf.read(path, dtype="int16")
    assert rate == 8000 and audio.shape[1] == 2 and sf.info(str(path)).subtype == "ALAW"
    assert tone_strength(audio[:, 0], 600) > 0.8 and tone_strength(audio[:, 1], 1800) > 0.8
    caller.close()
    agent.close()


async def test_kill_9_mid_call_leaves_a_recording_that_plays_after_repair(
    tmp_path: Path,
) -> None:
    client = await EngineClient(port_min=32000, port_max=32998).start()
    try:
        caller, _ = await phone_on(client, "caller")
        agent, _ = await phone_on(client, "agent")
        await client.bridge("call", "caller", "agent")
        path = tmp_path / "killed.wav"
        await client.record("rec", "call", str(path))
        await asyncio.gather(caller.talk(tone(600, 1.5)), agent.talk(tone(1800, 1.5)))
        assert client.pid is not None
        os.kill(client.pid, signal.SIGKILL)
        with pytest.raises(EngineError) as gone:
            async with asyncio.timeout(5):
                while True:
                    await client.stats()
                    await asyncio.sleep(0.01)
        assert gone.value.code == "engine-gone"
        assert "媒体引擎" in gone.value.message("zh-CN")
        async with asyncio.timeout(5):
            events = [e async for e in client.events()]
        assert all(not isinstance(e, RecordingFinished) for e in events)  # it had no time
    finally:
        await client.close()
    info = repair(path)
    audio, rate = sf.read(path, dtype="int16")
    assert info.seconds >= 0.5 and len(audio) == info.frames and rate == 8000
    assert tone_strength(audio[:, 0], 600) > 0.8 and tone_strength(audio[:, 1], 1800) > 0.8
    caller.close()
    agent.close()


async def test_a_waiting_command_fails_at_once_when_the_engine_dies() -> None:
    client = await EngineClient(port_min=33000, port_max=33998).start()
    try:
        assert client.process is not None and client.process.stdin is not None
        client.process.send_signal(signal.SIGSTOP)  # it will never answer ...
        waiting = asyncio.create_task(client.stats())
        await asyncio.sleep(0.1)
        client.process.kill()  # ... and then it dies
        async with asyncio.timeout(5):
            with pytest.raises(EngineError, match="engine-gone"):
                await waiting
            assert [event async for event in client.events()] == []
        assert not client.alive
        with pytest.raises(EngineError, match="engine-gone"):
            await client.create_endpoint("late")
    finally:
        await client.close()


async def test_a_pool_keeps_each_call_on_one_engine() -> None:
    pool: MediaPort = await start_media(MediaSettings(engines=2, port_min=34000,
                                                       port_max=34998))  # fmt: skip
    try:
        await pool.create_endpoint("a1", affinity="call-a")
        await pool.create_endpoint("b1", affinity="call-b")
        await pool.create_endpoint("a2", affinity="call-a")
        await pool.create_endpoint("b2", affinity="call-b")
        await pool.bridge("bridge-a", "a1", "a2")
        await pool.bridge("bridge-b", "b1", "b2")
        engines = (await pool.stats())["engines"]  # the pool answers for each engine
        assert [e["endpoints"] for e in engines] == [2, 2]
        assert [e["bridges"] for e in engines] == [1, 1]
        with pytest.raises(EngineError, match="unknown-endpoint"):
            await pool.bridge("cross", "a1", "nowhere")
        assert (await pool.delete_endpoint("a1"))["received"] == 0
    finally:
        await pool.close()


async def test_the_engine_speaks_the_protocol_documented_in_control() -> None:
    """A raw line in, a raw line out: the pipe needs no client library."""
    lines = b'{"id": 1, "op": "ping", "args": {}}\n{"id": 2, "op": "nope"}\nnot json\n'
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.media.engine", "--port-min", "35000",
        "--port-max", "35100", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(20):
        out, _ = await process.communicate(lines)
    replies = [line for line in out.splitlines() if line]
    assert process.returncode == 0
    assert b'"id":1,"ok":true' in replies[0]
    assert b'"id":2,"ok":false,"error":"unknown-op"' in replies[1]
    assert b'"ok":false,"error":"bad-arguments"' in replies[2]
