"""/api/v1/events: the live event stream, filtered by what each client may see.

A client authenticates with its session cookie, a bearer header, or ``?token=``
(browsers cannot set headers on a WebSocket); without one the handshake is refused.
It first receives ``hello`` with its permissions, then every event whose permission it
holds. When roles or tokens change the connection re-checks its principal, narrowing
what it sees or closing with 4401 when the session is gone. A client that falls
behind is closed with 4008 and reconnects for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.encoders import jsonable_encoder

from callcenter.app.auth import Principal
from callcenter.app.bus import INTERNAL, Event, Subscription
from callcenter.errors import AppError
from callcenter.web.security import authenticate, platform_of

log = logging.getLogger(__name__)

router = APIRouter()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4008
PONG = "pong"


def visible(event: Event, principal: Principal) -> bool:
    if event.permission == INTERNAL:
        return False
    return event.permission is None or principal.can(event.permission)


@router.websocket("/events")
async def events(websocket: WebSocket) -> None:
    try:
        principal = await authenticate(websocket)
    except AppError:
        await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="unauthenticated")
        return
    await websocket.accept()
    subscription = platform_of(websocket).bus.subscribe()
    try:
        await websocket.send_json(
            {
                "type": "hello",
                "data": {
                    "agent_no": principal.agent_no,
                    "permissions": sorted(principal.permissions),
                },
            }
        )
        telephony = platform_of(websocket).telephony
        if principal.can("supervisor.monitor") and telephony is not None:
            # The server is the truth: a (re)connecting console starts from the whole
            # picture, then follows the deltas queued since it subscribed.
            snapshot = jsonable_encoder(telephony.engine.snapshot())
            await websocket.send_json({"type": "snapshot", "data": snapshot})
        await _pump(websocket, subscription, principal)
    except WebSocketDisconnect:
        pass
    finally:
        subscription.close()


async def _pump(websocket: WebSocket, subscription: Subscription, principal: Principal) -> None:
    reader = asyncio.ensure_future(_read(websocket, subscription))
    try:
        while True:
            getter = asyncio.ensure_future(subscription.get())
            done, _ = await asyncio.wait({reader, getter}, return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                getter.cancel()
                reader.result()  # re-raise a disconnect
                return
            event = getter.result()
            if event.type == PONG:
                await websocket.send_json({"type": PONG})
                continue
            if event.type == "auth.changed":
                try:
                    principal = await authenticate(websocket)
                except AppError:
                    await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="session ended")
                    return
                continue
            if visible(event, principal):
                await websocket.send_json(event.to_json())
            if subscription.overflowed and subscription.queue.empty():
                await websocket.close(code=CLOSE_TOO_SLOW, reason="fell behind")
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await reader


async def _read(websocket: WebSocket, subscription: Subscription) -> None:
    """Answer pings; ignore anything else a client sends (commands go through REST).

    The pong is queued behind the events already waiting, so a client that receives it
    knows it has seen everything published before its ping.
    """
    while True:
        text = await websocket.receive_text()
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "ping":
            pong = Event(0, PONG, INTERNAL, {}, dt.datetime.now(dt.UTC))
            with contextlib.suppress(asyncio.QueueFull):
                subscription.queue.put_nowait(pong)
