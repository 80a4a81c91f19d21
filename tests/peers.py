"""Helpers for tests that run real SIP peers (SIPp, baresip) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from callcenter.media.g711 import pcm16_to_ulaw, ulaw_to_pcm16


def free_udp_port(*, also_next: bool = False) -> int:
    """A UDP port on 127.0.0.1 that is free now (and port + 1 too, for baresip)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if not also_next:
            return port
        if port >= 65534:
            continue
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp_next,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp_next,
            ):
                udp.bind(("127.0.0.1", port))
                tcp.bind(("127.0.0.1", port))
                tcp_next.bind(("127.0.0.1", port + 1))
                udp_next.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free UDP port pair on 127.0.0.1")


async def start_peer(*argv: str, cwd: Path, log: str = "peer.log") -> asyncio.subprocess.Process:
    """Start a peer with its output in ``cwd/log`` (a file: a pipe could fill up)."""
    with (cwd / log).open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file
        )


async def stop(process: asyncio.subprocess.Process) -> None:
    """Kill the peer if it still runs, and reap it."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


def peer_log(cwd: Path, log: str = "peer.log") -> str:
    return (cwd / log).read_text(errors="replace")[-3000:]


# -- audio for the peers: tones, a carrier's RTP media, baresip phones -------------------

BARESIP = "/usr/bin/baresip"
BARESIP_MODULES = "/usr/lib/baresip/modules"
AUDIO_RATE = 8000
_PCMU = 0  # RFC 3551 static payload type
_FRAME = 160  # 20 ms at 8 kHz


def write_tone_wav(path: Path, *, hz: float, seconds: float) -> None:
    """A 16-bit 8 kHz mono WAV of a pure tone (baresip's aufile plays these)."""
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    soundfile.write(path, 0.4 * np.sin(2 * np.pi * hz * t), AUDIO_RATE, subtype="PCM_16")


def tone_strength(samples: Any, hz: float) -> float:
    """Share of the signal's energy within 50 Hz of ``hz`` (0..1)."""
    data = np.asarray(samples, dtype=np.float64)
    if len(data) == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(data * np.hanning(len(data)))) ** 2
    freqs = np.fft.rfftfreq(len(data), 1 / AUDIO_RATE)
    band = (freqs > hz - 50) & (freqs < hz + 50)
    total = float(spectrum.sum())
    return float(spectrum[band].sum()) / total if total > 0 else 0.0


class _RtpProtocol(asyncio.DatagramProtocol):
    def __init__(self, peer: RtpTonePeer) -> None:
        self.peer = peer

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        self.peer.on_datagram(data, (str(addr[0]), int(addr[1])))


class RtpTonePeer:
    """A carrier's media gateway in miniature: on one UDP port of 127.0.0.1 it sends a
    PCMU tone (20 ms packets) to ``send_to`` when told, and keeps the audio of every
    PCMU packet it receives, in arrival order (``received``, 16-bit samples)."""

    def __init__(self) -> None:
        self.port = 0
        self.received: list[bytes] = []
        self.sources: set[tuple[str, int]] = set()
        self._transport: asyncio.DatagramTransport | None = None
        self._sender: asyncio.Task[None] | None = None

    async def open(self) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _RtpProtocol(self), local_addr=("127.0.0.1", 0)
        )
        self._transport = transport
        self.port = int(transport.get_extra_info("sockname")[1])
        return self.port

    def on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        if len(data) > 12 and data[0] >> 6 == 2 and data[1] & 0x7F == _PCMU:
            self.sources.add(source)
            self.received.append(data[12:])

    def play(self, send_to: tuple[str, int], *, hz: float, seconds: float) -> None:
        """Start sending the tone (in the background) for ``seconds``."""
        self._sender = asyncio.create_task(self._play(send_to, hz, seconds))

    async def _play(self, send_to: tuple[str, int], hz: float, seconds: float) -> None:
        t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
        pcm = (12000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
        ssrc = 0x5EED0001
        for n, start in enumerate(range(0, len(pcm) - _FRAME + 1, _FRAME)):
            header = struct.pack("!BBHII", 0x80, _PCMU, n & 0xFFFF, start, ssrc)
            payload = bytes(pcm16_to_ulaw(pcm[start : start + _FRAME]))
            if self._transport is None:
                return
            self._transport.sendto(header + payload, send_to)
            await asyncio.sleep(_FRAME / AUDIO_RATE)

    def stop_playing(self) -> None:
        if self._sender is not None:
            self._sender.cancel()

    def audio(self) -> Any:
        """What it received, decoded to 16-bit samples."""
        return ulaw_to_pcm16(b"".join(self.received)) if self.received else np.zeros(0)

    async def aclose(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._transport is not None:
            self._transport.close()
            self._transport = None


def baresip_phone(
    directory: Path,
    *,
    sip_port: int,
    registrar: tuple[str, int],
    extension: str,
    password: str,
    source: Path,
    recordings: Path,
    control_port: int | None = None,
) -> list[str]:
    """A headless baresip agent phone that registers ``extension`` (digest) at
    ``registrar``, answers every call at once, plays ``source`` as its microphone and
    writes each call's audio (sndfile: *dec* what it heard, *enc* what it sent) in
    ``recordings``. With ``control_port`` it takes commands (:func:`baresip_command`)
    there. Returns the command line (run it with :func:`start_peer`)."""
    directory.mkdir()
    recordings.mkdir(exist_ok=True)
    (directory / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                f"sip_listen 127.0.0.1:{sip_port}",
                "net_interface 127.0.0.1",
                f"module_path {BARESIP_MODULES}",
                "module g711.so",
                "module aufile.so",
                "module sndfile.so",
                "module_app account.so",
                f"audio_source aufile,{source}",
                "audio_player null",
                "audio_alert null",
                f"snd_path {recordings}",
                *(
                    [
                        "module_app menu.so",
                        "module_app ctrl_tcp.so",
                        f"ctrl_tcp_listen 127.0.0.1:{control_port}",
                    ]
                    if control_port is not None
                    else []
                ),
                "",
            ]
        )
    )
    host, port = registrar
    (directory / "accounts").write_text(
        f"<sip:{extension}@{host}:{port}>;auth_pass={password};regint=60;"
        "answermode=auto;audio_codecs=PCMU\n"
    )
    (directory / "contacts").write_text("")
    return [BARESIP, "-f", str(directory)]


async def baresip_command(control_port: int, command: str, params: str = "") -> dict[str, Any]:
    """Send one menu command to baresip's ctrl_tcp (a JSON netstring) and return its
    answer (``{"response": true, "ok": ..., "data": ...}``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", control_port)
    try:
        body = json.dumps({"command": command, "params": params, "token": "test"}).encode()
        writer.write(str(len(body)).encode() + b":" + body + b",")
        await writer.drain()
        while True:
            size = int((await reader.readuntil(b":"))[:-1])
            message = json.loads((await reader.readexactly(size + 1))[:-1])
            if isinstance(message, dict) and message.get("response"):
                return message
    finally:
        writer.close()
        await writer.wait_closed()


def free_media_ports() -> int:
    """A port N on 127.0.0.1 with N to N + 3 free now, for SIPp's ``-mp N``: SIPp binds
    the audio RTP port and the video one two above it, and fails if either is taken."""
    for _ in range(50):
        base = free_udp_port()
        if base > 65531:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for offset in range(4):
                    probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no four free UDP ports in a row on 127.0.0.1")


def write_rfc4733_pcap(path: Path, digits: str, *, payload_type: int = 101) -> None:
    """A pcap (Ethernet, IPv4, UDP) of the RFC 4733 packets of ``digits``, 20 ms apart,
    for SIPp's ``play_pcap_audio`` (it sends the UDP payloads to the call's media)."""
    from callcenter.media.dtmf import TelephoneEventSender
    from callcenter.media.rtp import RtpPacket

    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    schedule = TelephoneEventSender(digit_duration=0.06, gap=0.04).schedule(digits, AUDIO_RATE)
    for seq, item in enumerate(schedule):
        rtp = bytes(
            RtpPacket(payload_type, seq, item.timestamp, 0x5EED, bytes(item.event), item.marker)
        )
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        source, dest = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
        ip = bytearray(
            struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq, 0, 64, 17, 0, source, dest)
        )
        total = sum(struct.unpack("!10H", ip))
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        ip[10:12] = struct.pack("!H", ~total & 0xFFFF)
        frame = bytes(12) + b"\x08\x00" + bytes(ip) + udp
        seconds = 1 + item.offset
        stamp = (int(seconds), round(seconds % 1 * 1e6), len(frame), len(frame))
        out.append(struct.pack("<IIII", *stamp))
        out.append(frame)
    path.write_bytes(b"".join(out))
