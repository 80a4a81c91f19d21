"""DTMF from real peers into an engine endpoint: SIPp's RTP and baresip's key presses.

A tiny SIP answerer in the test (``Answerer``) takes each peer's INVITE and answers
with SDP that points at an engine endpoint, so the peer's media goes straight to the
engine; the engine reports the digits it hears as events.

* SIPp plays a pcap we write of all 16 digits as RFC 4733 events
  (``play_pcap_audio``), then a mu-law WAV of all 16 as in-band tones (``rtp_stream``).
* baresip dials in and sends all 16 with ``sndcode`` over its ctrl_tcp socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf

from callcenter.media.client import EngineClient
from callcenter.media.control import DtmfDetected
from callcenter.media.dtmf import DTMF_DIGITS, TelephoneEventSender
from callcenter.media.rtp import RtpPacket
from callcenter.media.tones import dtmf_sequence
from peers import (
    BARESIP,
    BARESIP_MODULES,
    free_media_ports,
    free_udp_port,
    peer_log,
    start_peer,
    stop,
)

SIPP = "/usr/bin/sipp"
HOST = "127.0.0.1"
EVENT_PT = 101

pytestmark = pytest.mark.asyncio(loop_scope="module")


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self.answerer.answer(data.decode(errors="replace"))
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply.encode(), addr)


class Answerer:
    """Answers INVITE with 200 and our SDP, BYE with 200; ignores the rest (UDP only)."""

    def __init__(self, media_port: int) -> None:
        self.media_port = media_port
        self.port = 0
        self.invites = 0
        self.byes = 0
        self.transport: asyncio.DatagramTransport | None = None

    async def open(self) -> Answerer:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _SipProtocol(self), local_addr=(HOST, 0)
        )
        self.port = int(self.transport.get_extra_info("sockname")[1])
        return self

    def answer(self, text: str) -> str | None:
        method = text.split(" ", 1)[0]
        if method not in ("INVITE", "BYE"):
            return None
        head = text.split("\r\n\r\n", 1)[0].split("\r\n")
        keep = [
            line for line in head[1:]
            if re.match(r"(?i)(via|v|from|f|to|t|call-id|i|cseq|record-route):", line)
        ]  # fmt: skip
        if method == "INVITE":
            self.invites += 1
            keep = [line + ";tag=engine" if re.match(r"(?i)(to|t):", line) else line
                    for line in keep]  # fmt: skip
            body = (
                f"v=0\r\no=engine 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
                f"m=audio {self.media_port} RTP/AVP 0 {EVENT_PT}\r\na=rtpmap:0 PCMU/8000\r\n"
                f"a=rtpmap:{EVENT_PT} telephone-event/8000\r\na=fmtp:{EVENT_PT} 0-16\r\n"
                "a=sendrecv\r\n"
            )
            extra = [f"Contact: <sip:engine@{HOST}:{self.port}>", "Content-Type: application/sdp"]
        else:
            self.byes += 1
            body, extra = "", []
        lines = ["SIP/2.0 200 OK", *keep, *extra, f"Content-Length: {len(body)}", "", body]
        return "\r\n".join(lines)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineClient]:
    client = await EngineClient(port_min=37000, port_max=37998).start()
    try:
        yield client
    finally:
        await client.close()


async def digits_heard(engine: EngineClient, method: str, seconds: float) -> str:
    digits = ""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for event in engine.events():
                if isinstance(event, DtmfDetected) and event.method == method:
                    digits += event.digit
                    if len(digits) == len(DTMF_DIGITS):
                        break
    return digits


# --- SIPp ---------------------------------------------------------------------------------


def write_rfc4733_pcap(path: Path, digits: str) -> None:
    """A pcap (Ethernet, IPv4, UDP) of the RFC 4733 packets of ``digits``, 20 ms apart."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    schedule = TelephoneEventSender(digit_duration=0.06, gap=0.04).schedule(digits, 8000)
    for seq, item in enumerate(schedule):
        rtp = bytes(RtpPacket(EVENT_PT, seq, item.timestamp, 0x5EED, bytes(item.event),
                              item.marker))  # fmt: skip
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq, 0, 64, 17, 0,
                                   bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])))  # fmt: skip
        words = struct.unpack("!10H", ip)
        total = sum(words)
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
        ip[10:12] = struct.pack("!H", ~total & 0xFFFF)
        frame = bytes(12) + b"\x08\x00" + bytes(ip) + udp
        seconds = 1 + item.offset
        out.append(struct.pack("<IIII", int(seconds), round(seconds % 1 * 1e6), len(frame),
                               len(frame)))  # fmt: skip
        out.append(frame)
    path.write_bytes(b"".join(out))


SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller presses every key, out of band then in band">
  <send retrans="500"><![CDATA[
      INVITE sip:ivr@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:13900139000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:ivr@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:13900139000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000

    ]]></send>
  <recv response="200" rrs="true" />
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:13900139000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>
  <nop><action><exec play_pcap_audio="keys.pcap" /></action></nop>
  <pause milliseconds="1800" />
  <nop><action><exec rtp_stream="keys.wav,1,0" /></action></nop>
  <pause milliseconds="2400" />
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:13900139000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]></send>
  <recv response="200" crlf="true" />
</scenario>
"""


@pytest.mark.sipp
async def test_all_16_digits_from_sipp_rfc4733_and_in_band(
    engine: EngineClient, tmp_path: Path
) -> None:
    address = await engine.create_endpoint("sipp", codec="PCMU", event_payload_type=EVENT_PT)
    await engine.start_detection("sipp", "dtmf_inband")
    answerer = await Answerer(address.port).open()
    write_rfc4733_pcap(tmp_path / "keys.pcap", DTMF_DIGITS)
    tones = dtmf_sequence(DTMF_DIGITS, on=0.09, off=0.05)
    sf.write(tmp_path / "keys.wav", tones, 8000, subtype="ULAW")
    (tmp_path / "keys.xml").write_text(SCENARIO)
    sipp = await start_peer(
        SIPP, f"{HOST}:{answerer.port}", "-sf", "keys.xml", "-m", "1", "-i", HOST,
        "-p", str(free_udp_port()), "-mp", str(free_media_ports()), "-timeout", "20s",
        "-timeout_error", cwd=tmp_path, log="sipp.log",
    )  # fmt: skip
    try:
        rfc4733 = await digits_heard(engine, "rfc4733", 8.0)
        inband = await digits_heard(engine, "inband", 8.0)
        async with asyncio.timeout(15):
            assert await sipp.wait() == 0, peer_log(tmp_path, "sipp.log")
    finally:
        await stop(sipp)
        answerer.close()
        await engine.delete_endpoint("sipp")
    assert rfc4733 == DTMF_DIGITS
    assert inband == DTMF_DIGITS
    assert answerer.invites == 1 and answerer.byes == 1


# --- baresip ------------------------------------------------------------------------------


def netstring(message: dict[str, Any]) -> bytes:
    data = json.dumps(message).encode()
    return str(len(data)).encode() + b":" + data + b","


@pytest.mark.baresip
async def test_all_16_digits_pressed_on_baresip_arrive_as_rfc4733(
    engine: EngineClient, tmp_path: Path
) -> None:
    address = await engine.create_endpoint("phone", codec="PCMU", event_payload_type=EVENT_PT)
    answerer = await Answerer(address.port).open()
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(8000 * 30, np.int16), 8000, subtype="PCM_16")
    sip_port, ctrl_port = free_udp_port(also_next=True), free_udp_port()
    home = tmp_path / "baresip"
    home.mkdir()
    (home / "config").write_text(
        "\n".join([
            "poll_method epoll", f"sip_listen {HOST}:{sip_port}", "net_interface 127.0.0.1",
            f"module_path {BARESIP_MODULES}", "module g711.so", "module aufile.so",
            "module_app account.so", "module_app menu.so", "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen {HOST}:{ctrl_port}", f"audio_source aufile,{silence}",
            "audio_player null", "audio_alert null", "",
        ])
    )  # fmt: skip
    (home / "accounts").write_text(f"<sip:agent@{HOST}:{sip_port}>;regint=0;audio_codecs=PCMU\n")
    (home / "contacts").write_text("")
    phone = await start_peer(BARESIP, "-f", str(home), cwd=tmp_path, log="baresip.log")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    reader, writer = await asyncio.open_connection(HOST, ctrl_port)
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            writer.write(netstring({"command": "dial", "params": f"sip:ivr@{HOST}:{answerer.port}",
                                    "token": "dial"}))  # fmt: skip
            while b"CALL_ESTABLISHED" not in await reader.read(65536):
                pass
        writer.write(netstring({"command": "sndcode", "params": DTMF_DIGITS, "token": "keys"}))
        digits = await digits_heard(engine, "rfc4733", 10.0)
        writer.write(netstring({"command": "hangup", "token": "bye"}))
    finally:
        if writer is not None:
            writer.close()
        await stop(phone)
        answerer.close()
        await engine.delete_endpoint("phone")
    assert digits == DTMF_DIGITS, peer_log(tmp_path, "baresip.log")
