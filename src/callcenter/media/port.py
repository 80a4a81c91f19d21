"""The Media port: what the B2BUA asks of the media, whoever provides it.

Implemented by :class:`~callcenter.media.client.EngineClient` (one engine process) and
:class:`~callcenter.media.client.EnginePool` (several, one per core). An rtpengine
adapter could sit behind the same port when a site outgrows one machine.

Ids are chosen by the caller (endpoint per leg, bridge, conference, play, recording),
so a command retried after a timeout names the same thing. ``affinity`` groups the
endpoints of one call on one engine: audio never crosses processes, so everything
bridged, mixed or recorded together must live on the same engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from callcenter.media.control import MediaEvent

Codec = Literal["PCMU", "PCMA"]
Role = Literal["talk_listen", "listen_only", "whisper_to"]
Detection = Literal["dtmf_inband", "amd"]
RecordingFormat = Literal["pcm16", "alaw", "ulaw", "gsm"]


@dataclass(frozen=True, slots=True)
class MediaAddress:
    """Where an endpoint receives RTP: goes into the leg's SDP."""

    host: str
    port: int


class MediaPort(Protocol):
    async def create_endpoint(
        self,
        endpoint: str,
        *,
        codec: Codec = "PCMU",
        event_payload_type: int | None = 101,
        remote: tuple[str, int] | None = None,
        inactivity_timeout: float = 0.0,
        affinity: str | None = None,
    ) -> MediaAddress: ...

    async def set_remote(
        self,
        endpoint: str,
        remote: tuple[str, int] | None = None,
        *,
        codec: Codec | None = None,
        event_payload_type: int | None = 101,
        inactivity_timeout: float | None = None,
    ) -> None: ...

    async def delete_endpoint(self, endpoint: str) -> dict[str, Any]: ...

    async def bridge(self, bridge: str, a: str, b: str) -> None: ...

    async def unbridge(self, bridge: str) -> None: ...

    async def join(
        self,
        conference: str,
        endpoint: str,
        role: Role = "talk_listen",
        whisper_to: str | None = None,
    ) -> None: ...

    async def leave(self, conference: str, endpoint: str) -> None: ...

    async def play(self, endpoint: str, play: str, **source: Any) -> None: ...

    async def stop_play(self, endpoint: str) -> bool: ...

    async def record(
        self, recording: str, target: str, path: str, *, fmt: RecordingFormat = "pcm16",
        stereo: bool = True,
    ) -> None: ...  # fmt: skip

    async def stop_record(self, recording: str) -> None: ...

    async def send_dtmf(self, endpoint: str, digits: str) -> None: ...

    async def start_detection(
        self, endpoint: str, kind: Detection, params: dict[str, Any] | None = None
    ) -> None: ...

    async def stop_detection(self, endpoint: str, kind: Detection) -> None: ...

    async def stats(self, endpoint: str | None = None) -> dict[str, Any]: ...

    def events(self) -> AsyncIterator[MediaEvent]: ...

    async def close(self) -> None: ...
