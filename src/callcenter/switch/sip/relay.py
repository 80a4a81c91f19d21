"""RTP relay of the SIP switch: one local UDP port per leg, packets forwarded as they are.

Theory of operation
-------------------
Each leg gets an :class:`RtpPort` bound on the media address (port 0: the kernel picks
a free one), whose number goes into the leg's SDP. The far end's address from its SDP
is only a first guess: the port latches onto the source of the first RTP datagram it
receives (symmetric RTP, RFC 4961, :class:`SymmetricRtpLatch`) and sends there after.

:func:`connect` joins two ports: a datagram arriving on one leaves the other towards
that leg's far end, byte for byte (payload, SSRC, sequence numbers and timestamps pass
through: the relay decodes nothing; the media engine comes later). Until two ports are
connected, their media is received (and latched) but dropped. A port whose far end
must not get media (on hold: our SDP said inactive or recvonly) has ``sending`` off and
drops what its partner relays to it. Datagrams that cannot be
RTP (too short, version not 2) are dropped and counted; RTCP is not relayed yet.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final, cast

from callcenter.media.rtp import RTP_HEADER_SIZE, RTP_VERSION, SymmetricRtpLatch
from callcenter.sip.sdp import Direction

__all__ = ["RelayStats", "RtpPort", "connect", "disconnect"]

log = logging.getLogger(__name__)

Address = tuple[str, int]
_VERSION_SHIFT: Final = 6  # RFC 3550 5.1: V is the top two bits of the first byte


@dataclass
class RelayStats:
    received: int = 0
    forwarded: int = 0
    dropped: int = 0
    sent: int = 0


def looks_like_rtp(data: bytes) -> bool:
    """Cheap check on the fixed header (RFC 3550 5.1): size and version."""
    return len(data) >= RTP_HEADER_SIZE and data[0] >> _VERSION_SHIFT == RTP_VERSION


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, port: RtpPort) -> None:
        self._port = port

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._port._received(data, (str(addr[0]), int(cast(int, addr[1]))))

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP port %s: %s", self._port.local_address, exc)


class RtpPort:
    """One leg's media socket; ``partner`` is the port its media is relayed to."""

    hold_direction = Direction.INACTIVE  # what our SDP says while the switch holds the leg

    def __init__(self) -> None:
        self.latch = SymmetricRtpLatch()
        self.stats = RelayStats()
        self.partner: RtpPort | None = None
        self.sending = True
        self.local_address: Address = ("", 0)
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self, host: str) -> Address:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(host, 0)
        )
        self._transport = transport
        sockname = transport.get_extra_info("sockname")
        self.local_address = (str(sockname[0]), int(sockname[1]))
        return self.local_address

    def close(self) -> None:
        disconnect(self)
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    def set_remote(self, address: Address) -> None:
        """The far end's media address from its SDP (until a packet latches another)."""
        self.latch.signalled = address

    def relatch(self, address: Address) -> None:
        """The far end moved (a new SDP): forget the latched source, expect ``address``."""
        self.latch.unlatch(address)

    def use_format(self, codec: str, event_payload_type: int | None) -> None:
        """The codec the SDP agreed: nothing to do for a relay, which decodes nothing."""

    def send(self, data: bytes) -> None:
        target = self.latch.send_to
        if self._transport is None or target is None or not self.sending:
            self.stats.dropped += 1
            return
        self._transport.sendto(data, target)
        self.stats.sent += 1

    def _received(self, data: bytes, source: Address) -> None:
        if not looks_like_rtp(data) or not self.latch.admit(source):
            self.stats.dropped += 1
            return
        self.stats.received += 1
        partner = self.partner
        if partner is None:
            return
        partner.send(data)
        self.stats.forwarded += 1


def connect(a: RtpPort, b: RtpPort) -> None:
    """Relay a <-> b (each must not be connected to a third port)."""
    if (a.partner not in (None, b)) or (b.partner not in (None, a)):
        raise ValueError("an RTP port is already connected elsewhere")
    a.partner, b.partner = b, a


def disconnect(port: RtpPort) -> None:
    """Stop relaying between ``port`` and its partner, if any."""
    partner = port.partner
    port.partner = None
    if partner is not None and partner.partner is port:
        partner.partner = None
