"""The SIP switch's blind transfers: a 302 before the answer, a hand-over after it.

Theory of operation
-------------------
:class:`TransferCommands` is the part of :class:`~callcenter.switch.sip.b2bua.SipSwitch`
that moves a call elsewhere. ``redirect`` of an offered leg answers 302 with the
destination's URI. An answered leg is *handed over*: for the core it is redirected and
has ended (LegRedirected, LegHungUp, nothing more about it), while for the far end the
call goes on: the switch dials the destination on a hidden leg of its own (no events),
relays the far end to it once it answers, and ends either half when the other ends. A
phone's REFER (``transfer``, called by the signalling) hands its bridge partner over
the same way, and the phone hears the outcome in NOTIFYs (RFC 3515).

The class is a mixin over the switch's own state, named by the :class:`_Switch`
protocol.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal, Protocol

from callcenter.switch.ports import (
    BridgeId,
    ConflictingCommand,
    HangupCause,
    InvalidArgument,
    InvalidLegState,
    LegAlreadyEnded,
    LegHungUp,
    LegId,
    LegRedirected,
    SwitchError,
    SwitchEvent,
)
from callcenter.switch.sip.b2bua_media import Bridge
from callcenter.switch.sip.destinations import Destinations
from callcenter.switch.sip.legs import LegState, SipLeg
from callcenter.switch.sip.media import SwitchMedia
from callcenter.switch.sip.signalling import Signalling

__all__ = ["TransferCommands"]

log = logging.getLogger(__name__)


class _Switch(Protocol):
    """What the transfers use of the switch."""

    media: SwitchMedia | None
    sip: Signalling
    destinations: Destinations
    _legs: dict[LegId, SipLeg]
    _bridges: dict[BridgeId, Bridge]

    def now(self) -> float: ...
    def _emit(self, event: SwitchEvent) -> None: ...
    def _leg(self, leg: LegId) -> SipLeg: ...
    def _end_here(self, record: SipLeg, cause: HangupCause) -> None: ...
    def _dissolve(self, bridge: Bridge) -> None: ...
    def ended(
        self,
        record: SipLeg,
        cause: HangupCause,
        sip_status: int | None,
        by: Literal["remote", "switch"],
    ) -> None: ...
    async def _dial(
        self,
        leg: LegId,
        dest: str,
        signature: tuple[object, ...],
        caller_id: str,
        trunk: str | None,
        ring_timeout: float,
        *,
        hidden: bool = False,
        amd: bool = False,
    ) -> SipLeg | None: ...
    async def _hand_over(self, record: SipLeg, dest: str, *, notify: SipLeg | None) -> None: ...


class TransferCommands:
    """Blind transfers and REFER (mixed into :class:`SipSwitch`)."""

    async def redirect(self: _Switch, leg: LegId, dest: str) -> None:
        """Blind transfer: an offered leg gets 302 to ``dest``; an answered one is
        handed to a new leg of the switch's own to ``dest`` (see :meth:`_hand_over`)."""
        record = self._leg(leg)
        if record.redirected_to is not None:
            if record.redirected_to != dest:
                raise ConflictingCommand(f"leg {leg} is redirected to {record.redirected_to}")
            return
        if record.state is LegState.ENDED:
            raise LegAlreadyEnded(f"leg {leg} has ended")
        if record.state is LegState.OFFERED:
            route = self.destinations.route(dest)
            if route is None:
                raise InvalidArgument(f"{dest} is not registered")
            self.sip.redirect(record, route.uri)
            self._emit(LegRedirected(self.now(), leg, dest))
            self.ended(record, HangupCause.NORMAL, 302, "switch")
            record.redirected_to = dest
            return
        if record.state is not LegState.ANSWERED:
            raise InvalidLegState(f"leg {leg} is outbound and {record.state.value}")
        self.destinations.trunk(None, dest)  # a bad destination fails the command
        await self._hand_over(record, dest, notify=None)

    def transfer(self: _Switch, record: SipLeg, dest: str) -> bool:
        """A phone REFERred its call to ``dest``: hand its bridge partner over."""
        bridge = self._bridges.get(record.bridge) if record.bridge else None
        if bridge is None:
            log.info("leg %s: REFER to %s with nobody to transfer", record.id, dest)
            return False
        other = self._legs[bridge.legs[1] if bridge.legs[0] == record.id else bridge.legs[0]]
        try:
            self.destinations.trunk(None, dest)
        except SwitchError as exc:
            log.info("leg %s: REFER to %s refused: %s", record.id, dest, exc)
            return False
        asyncio.get_running_loop().create_task(self._hand_over(other, dest, notify=record))
        return True

    async def _hand_over(
        self: _Switch, record: SipLeg, dest: str, *, notify: SipLeg | None
    ) -> None:
        """The core's answered ``record`` goes to ``dest``: for the core it is redirected
        and has ended (LegRedirected, LegHungUp); for the far end the call goes on,
        relayed to a hidden leg of the switch's own to ``dest`` once that answers. When
        either half ends, the switch ends the other."""
        if record.bridge is not None:
            self._dissolve(self._bridges[record.bridge])
        if record.want_hold:  # the core held it for the transfer: the target must hear it
            record.want_hold = False
            record.rtp.sending = record.remote_sends
            self.sip.midcall.sync(record)
            if self.media is not None:
                await self.media.resume(record.id)  # the music stops
        if self.media is not None:
            await self.media.stop_play(record.id)  # a prompt of the core's ends too
        record.redirected_to = dest
        now = self.now()
        self._emit(LegRedirected(now, record.id, dest))
        self._emit(LegHungUp(now, record.id, HangupCause.NORMAL, None, "switch"))
        hidden = LegId(f"{record.id}>transfer")
        record.handoff = hidden
        log.info("leg %s: blind transfer to %s", record.id, dest)
        try:
            far = await self._dial(
                hidden, dest, ("transfer", dest), record.caller, None, 30.0, hidden=True
            )
        except SwitchError as exc:
            log.warning("leg %s: transfer to %s failed: %s", record.id, dest, exc)
            far = None
        if far is None:
            failed = self._legs.get(hidden)
            if failed is None or failed.state is not LegState.ENDED:
                if notify is not None:
                    self.sip.midcall.notify(notify, "503 Service Unavailable", final=True)
                if record.state is not LegState.ENDED:
                    self._end_here(record, HangupCause.FAILED)
            return
        far.handoff, far.notify = record.id, notify
