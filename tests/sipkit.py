"""The shared kit of the SIP and CTI peer tests: settings for ``telephony.switch =
"sip"``, the runtime on SQLite, baresip agents and a SIPp customer, and a poller.

The peers themselves (baresip's argv, the RTP tone peer, process handling) are in
:mod:`peers`; this module puts them together the way the tests on the SIP switch do.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from callcenter.app.bus import EventBus
from callcenter.config import Settings, load_settings
from callcenter.sip.auth import DigestServer
from callcenter.sip.endpoint import EndpointEvent, RequestReceived
from callcenter.sip.message import Request, Response, make_response
from callcenter.sip.transaction import ResponseReceived
from callcenter.sip.transport import UdpTransport
from callcenter.switch.ports import SwitchEvent
from callcenter.switch.sip.b2bua import SipSwitch
from callcenter.switch.sip.registrar import Ha1, Registrar
from callcenter.telephony import Telephony, build_telephony
from peers import (
    baresip_phone,
    free_media_ports,
    free_udp_port,
    start_peer,
    stop,
    write_tone_wav,
)

SCENARIOS = Path(__file__).resolve().parent / "fixtures" / "sip" / "sipp"
SIPP = "/usr/bin/sipp"
REALM = "callcenter.test"

Processes = list[asyncio.subprocess.Process]
E = TypeVar("E", bound=EndpointEvent)


def md5_registrar(passwords: dict[str, str], nonce_secret: bytes) -> Registrar:
    """The switch's registrar for ``passwords`` (extension: password) in :data:`REALM`,
    with MD5 digest only (baresip 1.0.0 gives up on SHA-256)."""
    return Registrar(
        {no: Ha1.of(no, REALM, password) for no, password in passwords.items()},
        DigestServer(nonce_secret, REALM, algorithms=("MD5",)),
        min_expires=30,
        default_expires=120,
    )


async def until(
    condition: Callable[[], bool], within: float = 10.0, *, every: float = 0.05
) -> None:
    """Polls ``condition`` every ``every`` seconds until it holds, for ``within`` at most."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(every)


async def wait_for(seen: list[object], match: Callable[[object], bool], within: float) -> object:
    """The first event in ``seen`` that ``match`` accepts, polled for ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            for event in seen:
                if match(event):
                    return event
            await asyncio.sleep(0.02)


def sip_settings(
    tmp_path: Path,
    sqlite_template: Path,
    *,
    trunks: Sequence[dict[str, Any]],
    phones: dict[str, str],
    nonce_secret: str,
    dids: Sequence[str] = (),
    ring_timeout_seconds: int | None = None,
    media: dict[str, Any] | None = None,
    media_engine: bool = False,
) -> Settings:
    """Settings for the SIP switch on an ephemeral port, with call records in a copy of
    the SQLite template, a one-second wrap-up and no queue announcements."""
    shutil.copyfile(sqlite_template, tmp_path / "cc.db")
    sip: dict[str, Any] = {"port": 0, "trunks": list(trunks)}
    if dids:
        sip["dids"] = list(dids)
    sip |= {"phones": phones, "nonce_secret": nonce_secret}
    if media_engine:
        sip["media_engine"] = True
    telephony: dict[str, Any] = {
        "switch": "sip",
        "wrap_up_seconds": 1,
        "announce_every_seconds": 0,
    }
    if ring_timeout_seconds is not None:
        telephony["ring_timeout_seconds"] = ring_timeout_seconds
    telephony["sip"] = sip
    overrides: dict[str, Any] = {
        "data_dir": str(tmp_path),
        "database": {"url": f"sqlite:///{tmp_path / 'cc.db'}"},
    }
    if media is not None:
        overrides["media"] = media
    overrides["telephony"] = telephony
    return load_settings(environ={}, overrides=overrides)


def carrier_trunk(port: int, **credentials: str) -> dict[str, Any]:
    """The trunk named ``carrier`` at 127.0.0.1:``port`` (with digest credentials if given)."""
    return {"name": "carrier", "host": "127.0.0.1", "port": port, **credentials}


def sip_telephony(settings: Settings, db: AsyncEngine, *, with_media: bool = False) -> Telephony:
    """The runtime the settings ask for, on ``db``; ``with_media`` hands it the media
    settings and the recordings path (for ``sip.media_engine``)."""
    sessions = async_sessionmaker(db, expire_on_commit=False)
    if with_media:
        telephony = build_telephony(
            settings.telephony,
            EventBus(),
            sessions,
            media=settings.media,
            recordings_dir=settings.recordings_path,
        )
    else:
        telephony = build_telephony(settings.telephony, EventBus(), sessions)
    assert telephony is not None
    return telephony


async def start_baresip_phone(
    processes: Processes,
    tmp_path: Path,
    switch: SipSwitch,
    extension: str,
    *,
    password: str,
    hz: float,
    recordings: Path,
) -> None:
    """A baresip registering ``extension`` at the switch, playing a ``hz`` tone and
    recording what it hears in ``recordings``; returns once it is registered. Its
    process goes into ``processes`` (to be stopped by the caller) before the wait."""
    assert switch.phones is not None
    write_tone_wav(tmp_path / f"{extension}.wav", hz=hz, seconds=20)
    argv = baresip_phone(
        tmp_path / f"baresip-{extension}",
        sip_port=free_udp_port(also_next=True),
        registrar=switch.address,
        extension=extension,
        password=password,
        source=tmp_path / f"{extension}.wav",
        recordings=recordings,
    )
    processes.append(await start_peer(*argv, cwd=tmp_path, log=f"baresip-{extension}.log"))
    await switch.phones.wait_for(extension, timeout=10)


async def sipp_calls_did(
    cwd: Path,
    switch: tuple[str, int],
    scenario: Path,
    *,
    did: str,
    media_port: int,
    carrier_port: int,
    timeout: str,
    log: str,
) -> asyncio.subprocess.Process:
    """SIPp, as the carrier at ``carrier_port``, calls ``did`` at the switch once with
    ``scenario``; its SDP points at ``media_port`` (an :class:`peers.RtpTonePeer`)."""
    return await start_peer(
        SIPP,
        "{}:{}".format(*switch),
        "-sf",
        str(scenario),
        "-s",
        did,
        "-key",
        "peer_media_port",
        str(media_port),
        "-i",
        "127.0.0.1",
        "-mp",
        str(free_media_ports()),
        "-p",
        str(carrier_port),
        "-m",
        "1",
        "-nostdin",
        "-timeout",
        timeout,
        "-timeout_error",
        cwd=cwd,
        log=log,
    )


async def stop_peers(
    processes: Processes, *, terminate: Sequence[asyncio.subprocess.Process] = ()
) -> None:
    """Asks the peers in ``terminate`` (still running) to end, then kills whichever of
    ``processes`` still runs and reaps them all."""
    for process in terminate:
        if process.returncode is None:
            process.terminate()
    for process in processes:
        await stop(process)


# -- scripted peers: our own UdpTransport endpoints, driven by hand ---------------------


def collect(switch: SipSwitch) -> list[SwitchEvent]:
    """A list the switch's events are appended to as they happen."""
    seen: list[SwitchEvent] = []
    switch.subscribe(seen.append)
    return seen


async def next_event(peer: UdpTransport, kind: type[E], method: str = "") -> E:
    """The next endpoint event of ``kind`` (and request ``method``), skipping others;
    each event is waited for 5 s at most."""
    while True:
        event = await asyncio.wait_for(peer.events.get(), 5.0)
        if not isinstance(event, kind):
            continue
        if method and isinstance(event, RequestReceived) and event.request.method != method:
            continue
        return event


async def request_at(peer: UdpTransport, method: str) -> Request:
    """The next ``method`` request the peer receives."""
    event = await next_event(peer, RequestReceived, method)
    return event.request


async def final_response(peer: UdpTransport) -> Response:
    """The next final response the peer receives."""
    while True:
        event = await next_event(peer, ResponseReceived)
        if event.response.is_final:
            return event.response


def ok(peer: UdpTransport, request: Request, body: bytes = b"") -> Response:
    """The peer's 200 to ``request`` (with an SDP ``body`` if given)."""
    host, port = peer.local_address
    headers = [("Contact", f"<sip:peer@{host}:{port}>")]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(request, 200, to_tag="peer", headers=headers, body=body)
