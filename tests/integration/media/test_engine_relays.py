"""The engine process relays and records a call the same with either relay.

The compiled relay (the default when the package is built) and the Python one
(``--no-fastpath``) each carry one recorded call, both phones talking in real time,
the caller also sending a malformed datagram, a wrong payload type and, from another
port, a stranger's packet. Each phone hears the other's tone, the recording has the
caller on the left and the agent on the right, and the counters agree.
"""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from callcenter.media import g711
from callcenter.media.client import EngineClient
from peers import tone_strength

HOST = "127.0.0.1"
FRAME = 160
PACKETS = 20  # 0.4 s
Pcm = npt.NDArray[np.int16]


class _Heard(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets.append(data)


async def _phone() -> tuple[asyncio.DatagramTransport, _Heard]:
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(_Heard, local_addr=(HOST, 0))


def _tone(hz: float) -> Pcm:
    t = np.arange(PACKETS * FRAME) / 8000
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def _rtp(seq: int, ssrc: int, payload: bytes, pt: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, seq * FRAME, ssrc) + payload


def _decoded(packets: list[bytes]) -> Pcm:
    return g711.ULAW_DECODE[np.frombuffer(b"".join(p[12:] for p in packets), np.uint8)]


async def _call_through(extra_args: list[str], tmp_path: Path) -> dict[str, Any]:
    engine = EngineClient(port_min=32000, port_max=32998)
    engine.argv += extra_args
    await engine.start()
    phones = [await _phone(), await _phone(), await _phone()]  # caller, agent, stranger
    try:
        async with asyncio.timeout(15):
            caller, agent, stranger = (transport for transport, _ in phones)
            a = await engine.create_endpoint("caller", remote=caller.get_extra_info("sockname"))
            b = await engine.create_endpoint("agent", remote=agent.get_extra_info("sockname"))
            await engine.bridge("call", "caller", "agent")
            wav = tmp_path / "call.wav"
            await engine.record("rec", "call", str(wav))
            talk = [g711.ULAW_ENCODE[_tone(hz).view(np.uint16)].tobytes() for hz in (700, 1300)]
            loop = asyncio.get_running_loop()
            start = loop.time()
            for seq in range(PACKETS):
                chunk = slice(seq * FRAME, (seq + 1) * FRAME)
                caller.sendto(_rtp(seq, 0x11, talk[0][chunk]), (a.host, a.port))
                agent.sendto(_rtp(seq, 0x22, talk[1][chunk]), (b.host, b.port))
                if seq == 5:
                    caller.sendto(b"\x80\x00\x00", (a.host, a.port))
                    caller.sendto(_rtp(seq, 0x11, bytes(FRAME), pt=18), (a.host, a.port))
                    stranger.sendto(_rtp(seq, 0x33, bytes(FRAME)), (a.host, a.port))
                await asyncio.sleep(max(0.0, start + (seq + 1) * 0.02 - loop.time()))
            await asyncio.sleep(0.1)
            caller_stats = await engine.stats("caller")
            totals = await engine.stats()
            await engine.stop_record("rec")
    finally:
        for transport, _ in phones:
            transport.close()
        await engine.close()
    audio, rate = sf.read(wav, dtype="int16")
    return {
        "relay": totals["relay"],
        "caller": caller_stats,
        "agent_heard": _decoded(phones[1][1].packets),
        "caller_heard": _decoded(phones[0][1].packets),
        "recording": audio,
        "rate": rate,
    }


@pytest.mark.parametrize(("extra_args", "relay"), [([], "compiled"), (["--no-fastpath"], "python")])
async def test_a_recorded_call_with_bad_packets_through_each_relay(
    extra_args: list[str], relay: str, tmp_path: Path
) -> None:
    result = await _call_through(extra_args, tmp_path)
    assert result["relay"] == relay
    stats = result["caller"]
    assert (stats["short"], stats["bad_payload_type"], stats["strangers"]) == (1, 1, 1)
    assert stats["received"] == stats["forwarded"] == PACKETS and stats["dropped"] == 3
    assert tone_strength(result["agent_heard"], 700) > 0.8
    assert tone_strength(result["caller_heard"], 1300) > 0.8
    recording = result["recording"]
    assert result["rate"] == 8000 and recording.shape[1] == 2
    assert tone_strength(recording[:, 0], 700) > 0.6  # the caller, left
    assert tone_strength(recording[:, 1], 1300) > 0.6  # the agent, right
