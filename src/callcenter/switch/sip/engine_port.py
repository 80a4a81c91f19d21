"""A leg's media on the media engine: the engine endpoint in place of the relay port.

Theory of operation
-------------------
With a :class:`~callcenter.media.port.MediaPort`, each leg's ``rtp`` is an
:class:`EngineRtpPort` instead of a relay :class:`RtpPort`: ``open`` creates the leg's
endpoint in the engine (its address goes into our SDP), what the SDP says of the far end
(address, codec, telephone-event payload type) goes to the engine with ``set_remote``,
and ``close`` deletes the endpoint. Once the leg is answered the engine watches it for
RTP inactivity (``arm_inactivity``). The signalling calls these synchronously, the engine
answers asynchronously: the commands of one leg go out in the order they were given, one
after another, on a chain of tasks (:meth:`EngineRtpPort.later`), and :meth:`settled`
waits for the chain, so a bridge or a recording never reaches the engine before the
endpoints it names. The engine latches onto the far end by itself (symmetric RTP); the
``latch`` here only keeps the address the SDP gave, as the relay's does.

While the switch holds a leg its SDP says ``sendonly`` (the engine plays music on hold
to it), where the relay's says ``inactive``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from callcenter.media.control import EngineError
from callcenter.media.port import Codec, MediaPort
from callcenter.sip.errors import SipError
from callcenter.sip.sdp import Direction, SessionDescription
from callcenter.switch.ports import SwitchError
from callcenter.switch.sip.relay import Address, RtpPort

__all__ = ["ENGINE_CODECS", "EngineRtpPort", "MediaFailed", "answer_format"]

log = logging.getLogger(__name__)

ENGINE_CODECS: Final[dict[str, Codec]] = {"PCMU": "PCMU", "PCMA": "PCMA"}
# Every leg's endpoint on one engine of a pool: any two legs may be bridged or put in
# one conference, and audio never crosses engines. The core does not say which legs
# make one call, so spreading calls over a pool's engines waits for that.
CALLS_AFFINITY: Final = "sip-switch"


class MediaFailed(SwitchError):
    """The media engine refused the command or is gone (its reason in the message)."""

    code = "media-failed"


def answer_format(body: bytes) -> tuple[Codec, int | None] | None:
    """The codec and telephone-event payload type an SDP answer chose (its first audio
    stream's first format we know), or None when it names none of ours."""
    try:
        sdp = SessionDescription.parse(body)
    except SipError:
        return None
    for media in sdp.media:
        if media.media != "audio" or media.port == 0:
            continue
        codecs = media.codecs()
        chosen = next(
            (ENGINE_CODECS[c.name.upper()] for c in codecs if c.name.upper() in ENGINE_CODECS), None
        )
        if chosen is None:
            return None
        event = next((c.payload_type for c in codecs if c.name.lower() == "telephone-event"), None)
        return chosen, event
    return None


class EngineRtpPort(RtpPort):
    """One leg's endpoint in the media engine, named by the leg's id."""

    hold_direction = Direction.SENDONLY

    def __init__(self, media: MediaPort, endpoint: str, *, inactivity_timeout: float = 0.0) -> None:
        super().__init__()
        self.media = media
        self.endpoint = endpoint
        self.inactivity_timeout = inactivity_timeout
        self.codec: Codec = "PCMU"
        self.event_payload_type: int | None = 101
        self._open = False
        self._chain: asyncio.Future[None] | None = None

    async def open(self, host: str) -> Address:
        try:
            address = await self.media.create_endpoint(self.endpoint, affinity=CALLS_AFFINITY)
        except EngineError as exc:
            raise MediaFailed(f"no media endpoint for {self.endpoint}: {exc}") from exc
        self._open = True
        self.local_address = (address.host, address.port)
        return self.local_address

    @property
    def is_open(self) -> bool:
        return self._open

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        self.later(lambda: self.media.delete_endpoint(self.endpoint))

    def set_remote(self, address: Address) -> None:
        self.latch.signalled = address
        self._push()

    def relatch(self, address: Address) -> None:
        self.latch.unlatch(address)
        self._push()

    def use_format(self, codec: str, event_payload_type: int | None) -> None:
        known = ENGINE_CODECS.get(codec.upper())
        if known is None:
            log.warning(
                "endpoint %s: codec %s is not the engine's, kept %s",
                self.endpoint,
                codec,
                self.codec,
            )
            return
        self.codec, self.event_payload_type = known, event_payload_type
        self._push()

    def arm_inactivity(self) -> None:
        """The call is up: the engine reports the far end's silence from now on (not
        while it rang, when no media is due)."""
        if self._open and self.inactivity_timeout:
            timeout = self.inactivity_timeout
            self.later(lambda: self.media.set_remote(self.endpoint, inactivity_timeout=timeout))

    def _push(self) -> None:
        if not self._open:
            return
        remote = self.latch.signalled
        codec, event = self.codec, self.event_payload_type
        self.later(
            lambda: self.media.set_remote(
                self.endpoint, remote, codec=codec, event_payload_type=event
            )
        )

    def later(self, command: Callable[[], Awaitable[object]]) -> None:
        """Send ``command`` to the engine after every command given before it."""
        previous = self._chain
        self._chain = asyncio.ensure_future(self._after(previous, command))

    async def _after(
        self, previous: asyncio.Future[None] | None, command: Callable[[], Awaitable[object]]
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await command()
        except EngineError as exc:
            log.warning("endpoint %s: engine refused: %s", self.endpoint, exc)

    def after(self, other: EngineRtpPort) -> None:
        """This port's next commands wait for those given to ``other`` so far."""
        current = other._chain
        if current is not None and not current.done():
            self.later(lambda: asyncio.wait([current]))

    async def settled(self) -> None:
        """Wait until every command given so far has been answered."""
        while self._chain is not None and not self._chain.done():
            await asyncio.wait([self._chain])
