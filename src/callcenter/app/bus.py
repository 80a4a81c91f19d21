"""In-process event bus: services publish after commit, WebSocket clients subscribe.

Each event names the permission a client needs to see it. A subscriber owns a bounded
queue; one that falls too far behind is cut off (``overflowed``) rather than allowed
to grow memory, and its client reconnects for a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Internal events are seen by the platform itself, never sent to clients.
INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    permission: str | None  # None: any authenticated client may see it
    data: dict[str, Any]
    at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "at": self.at.isoformat(), "data": self.data}


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Event]
    overflowed: bool = False
    _bus: EventBus | None = field(default=None, repr=False)

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        if self._bus is not None:
            self._bus.unsubscribe(self)
            self._bus = None


Listener = Callable[[Event], None]


class EventBus:
    def __init__(self, max_queue: int = 1000) -> None:
        self._listeners: list[Listener] = []
        self._subscribers: set[Subscription] = set()
        self._max_queue = max_queue
        self._seq = itertools.count(1)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        subscription = Subscription(asyncio.Queue(self._max_queue), _bus=self)
        self._subscribers.add(subscription)
        return subscription

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` synchronously for every event, before any subscriber sees it."""
        self._listeners.append(listener)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, type_: str, data: dict[str, Any], permission: str | None) -> Event:
        event = Event(next(self._seq), type_, permission, data, dt.datetime.now(dt.UTC))
        for listener in self._listeners:
            listener(event)
        for subscription in list(self._subscribers):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event subscriber fell behind by %d events; cut off", self._max_queue)
                subscription.overflowed = True
                self.unsubscribe(subscription)
        return event
