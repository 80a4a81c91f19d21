"""SipSwitch: the Switch port over SIP, as a back-to-back user agent (B2BUA).

Theory of operation
-------------------
Every leg is its own SIP dialog with one far end and its own :class:`RtpPort`; the
core joins two legs with ``bridge``. The switch keeps the legs and their states
(``legs.LEG_TRANSITIONS``), checks the commands, emits the port's events, and leaves
the wire to :class:`Signalling`, which tells it what the far ends do (offered,
alerting, connected, ended).

Outbound (``originate``): an INVITE offering PCMU, PCMA and telephone-event on the
leg's RTP port, through a :class:`Trunk` (``dest`` a number) or straight to a ``sip:``
URI. 180 -> LegRinging, 183 -> LegProgressed, 2xx -> LegAnswered, failure ->
LegHungUp with the cause for its status (``trunks.cause_for_status``). The ring
timeout and ``hangup`` before the answer CANCEL and report at once (``no_answer``
and ``cancelled``, by the switch, no status).

Agents' phones: with a :class:`Registrar`, phones REGISTER at the switch's own
host:port (one socket: :class:`RegistrarService` in shared mode) and ``dest``
``agent:1001`` (or a bare known extension) rings the phone where extension 1001 is
registered now (:mod:`destinations` says where each ``dest`` goes). With no binding
the leg ends at once: no_answer, 480. A trunk over its ``max_channels`` or ``max_cps`` ends the
leg at once too: congestion, 503.

Inbound: LegOffered(caller = From user, dialled = Request-URI user, trunk = the trunk
whose host sent it); ``answer`` opens the RTP port and answers 200 with SDP;
``hangup`` of an offered leg answers the status for the cause (480 for ``normal``).

Bridges (B2BUA semantics of the port): ``bridge`` connects the two legs' RTP ports
(:mod:`relay`, no decoding, or the engine's bridge); a bridged leg that ends dissolves the bridge
(LegUnbridged for both) before its LegHungUp, and the other leg stays up.

Hold and resume: the leg's port stops (starts) relaying at once and the far end is
re-INVITEd ``inactive`` (``sendrecv``); LegHeld (LegResumed) when it agrees
(:mod:`midcall`, which also answers the far end's own re-INVITEs, UPDATEs and REFERs
and runs RFC 4028 session timers).

Redirect (blind transfer, :mod:`b2bua_transfer`, mixed in): an offered leg gets 302 to
``dest``; an answered one is *handed over* to a hidden leg of the switch's own, and a
phone's REFER hands its bridge partner over the same way.

RTP inactivity: with ``rtp_timeout``, a relayed leg that is not held and has received
no RTP for that long is hung up (BYE, LegHungUp failed, by the switch).

Media (:mod:`b2bua_media`, mixed in): without a media engine each leg's port is a relay
port (:mod:`relay`) and the commands that need the engine (play, collect, DTMF, recording,
conferences, AMD) raise :class:`NotSupported` once the leg checks out. With a
:class:`~callcenter.media.port.MediaPort` each leg's port is its endpoint in the engine,
``bridge`` is the engine's bridge, RTP inactivity is the engine's report, and on start the
recordings a crash left unfinished are repaired. Ended legs keep their
records, so ids stay idempotent, for as long as the signalling knows their Call-IDs
(``ack_wait``); then they and dissolved bridges are forgotten, so the switch does not
grow with every call.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from callcenter.media.port import MediaPort
from callcenter.media.recorder import repair_all
from callcenter.sip.endpoint import DEFAULT_MAX_TRANSACTIONS, Address
from callcenter.sip.message import Request
from callcenter.sip.sdp import build_offer
from callcenter.sip.uri import NameAddr, SipUri
from callcenter.switch.ports import (
    SIP_STATUS_FOR_CAUSE,
    BridgeId,
    ConflictingCommand,
    HangupCause,
    InvalidArgument,
    InvalidLegState,
    LegAlreadyEnded,
    LegAnswered,
    LegBridged,
    LegHeld,
    LegHungUp,
    LegId,
    LegInUse,
    LegNotAnswered,
    LegOffered,
    LegProgressed,
    LegResumed,
    LegRinging,
    LegUnbridged,
    Subscription,
    SwitchEvent,
    UnknownBridge,
    UnknownLeg,
)
from callcenter.switch.sip.b2bua_media import Bridge, MediaCommands, NotSupported
from callcenter.switch.sip.b2bua_transfer import TransferCommands
from callcenter.switch.sip.destinations import AGENT_PREFIX, Destinations
from callcenter.switch.sip.engine_port import EngineRtpPort
from callcenter.switch.sip.legs import (
    UNANSWERED,
    LegState,
    SipLeg,
    build_invite,
    next_hop,
    set_state,
    silent_legs,
)
from callcenter.switch.sip.media import MediaOptions, SwitchMedia
from callcenter.switch.sip.registrar import Registrar
from callcenter.switch.sip.registrar_service import RegistrarService
from callcenter.switch.sip.relay import RtpPort, disconnect
from callcenter.switch.sip.signalling import ACK_WAIT, Signalling
from callcenter.switch.sip.trunks import Trunk, TrunkGate, is_dialable

__all__ = ["AGENT_PREFIX", "NotSupported", "SipSwitch"]

log = logging.getLogger(__name__)

NO_ANSWER_STATUS: Final = 480  # what an offered call the core hangs up "normal" gets
UNREGISTERED: Final = 480  # RFC 3261 10.3: no binding, Temporarily Unavailable
OVER_CAPACITY: Final = 503  # the trunk's channels or calls per second are used up


@dataclass
class _Subscription:
    switch: SipSwitch
    handler: Callable[[SwitchEvent], None]

    def close(self) -> None:
        self.switch._unsubscribe(self)


class SipSwitch(MediaCommands, TransferCommands):
    """The B2BUA; implements :class:`callcenter.switch.ports.Switch` (calls and bridges)."""

    def __init__(
        self,
        trunks: Sequence[Trunk] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        media_host: str = "127.0.0.1",
        token: Callable[[], str] = lambda: secrets.token_hex(8),
        ack_wait: float = ACK_WAIT,
        max_transactions: int = DEFAULT_MAX_TRANSACTIONS,
        registrar: Registrar | None = None,
        session_expires: int | None = None,
        rtp_timeout: float | None = None,
        media: MediaPort | None = None,
        media_options: MediaOptions | None = None,
    ) -> None:
        self.trunks: dict[str, Trunk] = {t.name: t for t in trunks}
        self._host = host
        self._port = port
        self.media_host = media_host
        self._token = token
        self.sip = Signalling(
            self,
            self.trunks,
            media_host=media_host,
            token=token,
            ack_wait=ack_wait,
            max_transactions=max_transactions,
        )
        self._subscriptions: list[_Subscription] = []
        self._legs: dict[LegId, SipLeg] = {}
        self._bridges: dict[BridgeId, Bridge] = {}
        self._inbound_seq = 0
        self._ended: deque[tuple[float, LegId]] = deque()  # forget at, in that order
        self._dissolved: deque[tuple[float, BridgeId]] = deque()
        self._gate = TrunkGate()
        self.phones: RegistrarService | None = None
        if registrar is not None:
            self.phones = RegistrarService(registrar, shared=self.sip.transport)
            self.sip.registrar_events = self.phones.handle
        self.destinations = Destinations(self.trunks, self.phones)
        self.sip.session_expires = session_expires
        self.rtp_timeout = rtp_timeout
        self._watchdog: asyncio.TimerHandle | None = None
        self.media: SwitchMedia | None = None
        if media is not None:
            self.media = SwitchMedia(
                media,
                media_options or MediaOptions(Path("recordings")),
                emit=self._emit,
                now=self.now,
                amd_decided=self._amd_decided,
                timed_out=self._rtp_timed_out,
            )

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> Address:
        if self.media is not None:
            directory = self.media.options.recordings_dir
            repaired = await asyncio.to_thread(repair_all, directory) if directory.is_dir() else []
            if repaired:
                log.warning("repaired %d recordings left unfinished", len(repaired))
        address = await self.sip.transport.start(self._host, self._port)
        if self.phones is not None:
            await self.phones.start()
        if self.media is not None:
            self.media.start()
        elif self.rtp_timeout:
            self._arm_watchdog()
        return address

    @property
    def address(self) -> Address:
        return self.sip.address

    async def aclose(self) -> None:
        """Hang up every live leg (BYE, CANCEL, or 480 to an offered call, each with its
        LegHungUp), then close the SIP socket and every RTP port."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.sip.transport.is_open:
            for record in list(self._legs.values()):
                if record.state is not LegState.ENDED:
                    self._end_here(record, HangupCause.NORMAL)
        for record in self._legs.values():
            record.cancel_timers()
            record.rtp.close()
        if self.media is not None:
            for record in self._legs.values():
                if isinstance(record.rtp, EngineRtpPort):
                    await record.rtp.settled()
            await self.media.aclose()
        if self.phones is not None:
            await self.phones.aclose()
        await self.sip.aclose()

    async def __aenter__(self) -> SipSwitch:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def now(self) -> float:
        return self.sip.transport.now()

    # -- events -----------------------------------------------------------------------

    def subscribe(self, handler: Callable[[SwitchEvent], None]) -> Subscription:
        subscription = _Subscription(self, handler)
        self._subscriptions.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: _Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def _emit(self, event: SwitchEvent) -> None:
        record = self._legs.get(getattr(event, "leg", LegId("")))
        if record is not None and record.hidden:
            return  # a leg of the switch's own (a transfer's far side): the core never sees it
        for subscription in list(self._subscriptions):
            try:
                subscription.handler(event)
            except Exception:
                log.exception("switch event handler failed on %s", type(event).__name__)

    # -- inspection -------------------------------------------------------------------

    def leg_state(self, leg: LegId) -> LegState:
        return self._leg(leg).state

    def rtp_port(self, leg: LegId) -> RtpPort:
        return self._leg(leg).rtp

    @property
    def leg_count(self) -> int:
        """Leg records kept, live and recently ended."""
        return len(self._legs)

    # -- commands: calls --------------------------------------------------------------

    async def originate(
        self,
        leg: LegId,
        dest: str,
        *,
        caller_id: str,
        trunk: str | None = None,
        ring_timeout: float = 30.0,
        amd: bool = False,
        vars: Mapping[str, str] | None = None,
    ) -> str | None:
        options = tuple(sorted((vars or {}).items()))
        signature: tuple[object, ...] = (dest, caller_id, trunk, ring_timeout, amd, options)
        existing = self._legs.get(leg)
        if existing is not None:
            if existing.signature != signature:
                raise ConflictingCommand(f"leg {leg} exists with other arguments")
            return existing.trunk.name if existing.trunk is not None else None
        if ring_timeout <= 0:
            raise InvalidArgument(f"ring_timeout must be positive, not {ring_timeout}")
        if amd and self.media is None:
            raise NotSupported("answering-machine detection needs the media engine")
        await self._dial(leg, dest, signature, caller_id, trunk, ring_timeout, amd=amd)
        record = self._legs.get(leg)  # the trunk it went out on, or was refused by
        return record.trunk.name if record is not None and record.trunk is not None else None

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
    ) -> SipLeg | None:
        """Send the INVITE of a new outbound leg; None if it ended at once (or raced)."""
        route = self.destinations.route(dest, trunk)
        chosen = route.trunk if route is not None else None
        caller = caller_id or (chosen.caller_id if chosen and chosen.caller_id else "")
        if caller and not is_dialable(caller):
            raise InvalidArgument(f"bad caller id {caller!r}")
        if route is None:
            self._refused(leg, signature, dest, caller, HangupCause.NO_ANSWER, UNREGISTERED)
            return None
        gate = self._gate
        if chosen is not None and not gate.admits(chosen, busy=self._busy(chosen), now=self.now()):
            self._refused(
                leg, signature, dest, caller, HangupCause.CONGESTION, OVER_CAPACITY, chosen
            )
            return None
        dest, uri = route.dest, route.uri
        rtp = self._new_port(leg)
        media = await rtp.open(self.media_host)
        if leg in self._legs:  # the same originate won the race while the port opened
            rtp.close()
            if self._legs[leg].signature != signature:
                raise ConflictingCommand(f"leg {leg} exists with other arguments")
            return None
        record = SipLeg(
            leg,
            "outbound",
            LegState.DIALLING,
            signature,
            caller=caller,
            dest=dest,
            call_id=f"{self._token()}@{self.address[0]}",
            local_tag=self._token(),
            rtp=rtp,
            trunk=chosen,
            session_id=secrets.randbelow(2**31),
            hidden=hidden,
            amd=amd,
        )
        self._legs[leg] = record
        self.sip.register(record)
        invite = build_invite(
            uri=uri,
            via=self.sip.via(),
            caller_id=caller,
            local=self.address,
            call_id=record.call_id,
            tag=record.local_tag,
            sdp=build_offer(
                address=media[0], port=media[1], session_id=record.session_id, version=1
            ),
            session_expires=self.sip.session_expires,
        )
        record.target = route.target or next_hop(invite)
        log.info("leg %s: INVITE %s (%s)", leg, uri, record.call_id)
        loop = asyncio.get_running_loop()
        record.timers["ring"] = loop.call_later(ring_timeout, self._ring_timeout, record)
        self.sip.send_invite(record, invite)
        return record

    async def answer(self, leg: LegId) -> None:
        record = self._leg(leg)
        if record.state is LegState.ANSWERED or record.answering:
            return
        if record.state is LegState.ENDED:
            raise LegAlreadyEnded(f"leg {leg} has ended")
        if record.state is not LegState.OFFERED:
            raise InvalidLegState(f"leg {leg} is outbound and {record.state.value}")
        record.answering = True
        try:
            media = await record.rtp.open(self.media_host)
        finally:
            record.answering = False
        if record.state is not LegState.OFFERED:  # the caller gave up meanwhile
            record.rtp.close()
            raise LegAlreadyEnded(f"leg {leg} has ended")
        self.sip.answer(record, media)
        set_state(record, LegState.ANSWERED)
        if isinstance(record.rtp, EngineRtpPort):
            record.rtp.arm_inactivity()
        self._emit(LegAnswered(self.now(), leg, None))
        if record.session_expires is not None:
            self.sip.midcall.start_session(
                record, record.session_expires, we_refresh=record.we_refresh
            )

    async def hangup(self, leg: LegId, cause: HangupCause = HangupCause.NORMAL) -> None:
        record = self._leg(leg)
        if record.state is LegState.ENDED or record.redirected_to is not None:
            return  # a redirected leg ended for the core when it was handed over
        self._end_here(record, cause)

    def _end_here(self, record: SipLeg, cause: HangupCause) -> None:
        """End a live leg from our side: 4xx/6xx, CANCEL or BYE as its state asks."""
        if record.state is LegState.OFFERED:
            status = SIP_STATUS_FOR_CAUSE[cause] or NO_ANSWER_STATUS
            self.sip.reject(record, status)
            self.ended(record, cause, status, "switch")
        elif record.state in UNANSWERED:
            self.sip.cancel(record)
            self.ended(record, HangupCause.CANCELLED, None, "switch")
        else:
            self.sip.send_bye(record)
            self.ended(record, cause, None, "switch")

    # -- commands: bridges ------------------------------------------------------------

    async def bridge(self, bridge: BridgeId, legs: Sequence[LegId]) -> None:
        pair = tuple(legs)
        existing = self._bridges.get(bridge)
        if existing is not None:
            if existing.legs != pair:
                raise ConflictingCommand(f"bridge {bridge} exists with legs {existing.legs}")
            return
        if len(pair) != 2 or pair[0] == pair[1]:
            raise InvalidArgument(f"a bridge joins two distinct legs, not {pair}")
        first, second = (self._answered(leg) for leg in pair)
        for record in (first, second):
            if record.bridge is not None:
                raise LegInUse(f"leg {record.id} is in {record.bridge}")
        if self.media is not None:
            for record in (first, second):
                if self.media.conference_of(record.id) is not None:
                    raise LegInUse(f"leg {record.id} is in a conference")
        self._bridges[bridge] = Bridge(bridge, (first.id, second.id))
        await self._connect(first, second, bridge)
        now = self.now()
        for record, peer in ((first, second), (second, first)):
            record.bridge = bridge
            self._reset_rtp_watch(record)
            self._emit(LegBridged(now, record.id, bridge, peer.id))
        log.info("bridge %s: %s <-> %s", bridge, first.id, second.id)

    async def unbridge(self, bridge: BridgeId) -> None:
        record = self._bridges.get(bridge)
        if record is None:
            raise UnknownBridge(f"no bridge {bridge}")
        self._dissolve(record)

    # -- what the signalling reports (signalling.LegOwner) ----------------------------

    def offered(self, invite: Request, tag: str, trunk: str | None) -> SipLeg:
        self._inbound_seq += 1
        leg = LegId(f"sip-in-{self._inbound_seq}")
        while leg in self._legs:  # never take an id the core already used
            self._inbound_seq += 1
            leg = LegId(f"sip-in-{self._inbound_seq}")
        uri = invite.uri
        dialled = (uri.user or str(uri)) if isinstance(uri, SipUri) else str(uri)
        caller = _user_or_uri(invite.from_addr)
        record = SipLeg(
            leg,
            "inbound",
            LegState.OFFERED,
            ("inbound",),
            caller=caller,
            dest=dialled,
            call_id=invite.call_id,
            local_tag=tag,
            rtp=self._new_port(leg),
            invite=invite,
            session_id=secrets.randbelow(2**31),
        )
        self._legs[leg] = record
        log.info("leg %s: offered from %s to %s (%s)", leg, caller, dialled, record.call_id)
        self._emit(LegOffered(self.now(), leg, caller, dialled, trunk))
        return record

    def alerting(self, record: SipLeg, status: int, early_media: bool) -> None:
        if record.state is not LegState.DIALLING:
            return
        set_state(record, LegState.RINGING)
        if status == 180:
            self._emit(LegRinging(self.now(), record.id))
        else:
            self._emit(LegProgressed(self.now(), record.id, early_media))

    def connected(self, record: SipLeg) -> None:
        record.cancel_timer("ring")
        set_state(record, LegState.ANSWERED)
        if isinstance(record.rtp, EngineRtpPort):
            record.rtp.arm_inactivity()
        if record.amd and self.media is not None and isinstance(record.rtp, EngineRtpPort):
            port, media = record.rtp, self.media.port
            self.media.start_amd(
                record.id, lambda: port.later(lambda: media.start_detection(port.endpoint, "amd"))
            )
        else:
            self._emit(LegAnswered(self.now(), record.id, None))
        caller = self._legs.get(record.handoff) if record.handoff else None
        if record.hidden and caller is not None and caller.state is LegState.ANSWERED:
            self._handoff_media(caller, record)
            self._reset_rtp_watch(caller)
            self._reset_rtp_watch(record)
            log.info("leg %s: handed over to %s", caller.id, record.dest)
            if record.notify is not None:
                self.sip.midcall.notify(record.notify, "200 OK", final=True)

    def hold_confirmed(self, record: SipLeg) -> None:
        if record.redirected_to is not None:
            return  # handed over: the core is done with it
        self._reset_rtp_watch(record)  # silence on hold does not count
        if record.held:
            self._emit(LegHeld(self.now(), record.id, record.music))
        else:
            self._emit(LegResumed(self.now(), record.id))

    def ended(
        self,
        record: SipLeg,
        cause: HangupCause,
        sip_status: int | None,
        by: Literal["remote", "switch"],
    ) -> None:
        record.cancel_timers()
        was_answered = record.state is LegState.ANSWERED
        if record.bridge is not None:
            self._dissolve(self._bridges[record.bridge])
        if record.handoff_bridge:
            self._engine_unbridge(record, record.handoff_bridge)
        record.rtp.close()
        if self.media is not None:
            self.media.leg_ended(record.id)
        set_state(record, LegState.ENDED)
        self.sip.retire(record)
        self._ended.append((self.now() + self.sip.ack_wait, record.id))
        self._forget_ended()
        partner = self._legs.get(record.handoff) if record.handoff else None
        if record.hidden and record.notify is not None and not was_answered:
            failed = f"{sip_status or 487} Transfer Failed"
            self.sip.midcall.notify(record.notify, failed, final=True)
        if partner is not None and partner.state is not LegState.ENDED:
            self._end_here(partner, HangupCause.NORMAL)  # the other half of a transfer
        if record.redirected_to is None:
            self._emit(LegHungUp(self.now(), record.id, cause, sip_status, by))

    def _forget_ended(self) -> None:
        """Drop the legs that ended and the bridges dissolved ``ack_wait`` ago."""
        now = self.now()
        while self._ended and self._ended[0][0] <= now:
            record = self._legs.get(self._ended.popleft()[1])
            if record is not None and record.state is LegState.ENDED:
                del self._legs[record.id]
        while self._dissolved and self._dissolved[0][0] <= now:
            bridge = self._bridges.get(self._dissolved.popleft()[1])
            if bridge is not None and not bridge.active:
                del self._bridges[bridge.id]

    # -- internals --------------------------------------------------------------------

    def _ring_timeout(self, record: SipLeg) -> None:
        record.timers.pop("ring", None)
        if record.state in (LegState.DIALLING, LegState.RINGING):
            self.sip.cancel(record)
            self.ended(record, HangupCause.NO_ANSWER, None, "switch")

    def _busy(self, trunk: Trunk) -> int:
        """The calls ``trunk`` carries now (counted only for a trunk with a limit)."""
        if not trunk.max_channels:
            return 0
        return sum(
            1 for r in self._legs.values() if r.trunk is trunk and r.state is not LegState.ENDED
        )

    def _refused(
        self,
        leg: LegId,
        signature: tuple[object, ...],
        dest: str,
        caller: str,
        cause: HangupCause,
        status: int,
        trunk: Trunk | None = None,
    ) -> None:
        """A leg that cannot be dialled (no binding, no room on ``trunk``): it ends at once."""
        record = SipLeg(
            leg,
            "outbound",
            LegState.DIALLING,
            signature,
            caller=caller,
            dest=dest,
            call_id=f"{self._token()}@{self.address[0]}",
            local_tag=self._token(),
            rtp=RtpPort(),
            trunk=trunk,
        )
        self._legs[leg] = record
        log.info("leg %s: %s refused here (%d)", leg, dest, status)
        self.ended(record, cause, status, "switch")

    def _reset_rtp_watch(self, record: SipLeg) -> None:
        record.rtp_seen = (record.rtp.stats.received, self.now())

    def _arm_watchdog(self) -> None:
        assert self.rtp_timeout
        loop = asyncio.get_running_loop()
        self._watchdog = loop.call_later(min(1.0, self.rtp_timeout / 4), self._watch_rtp)

    def _watch_rtp(self) -> None:
        """End the relayed, not held legs whose far end sent no RTP for ``rtp_timeout``."""
        assert self.rtp_timeout
        for record in silent_legs(list(self._legs.values()), self.now(), self.rtp_timeout):
            log.warning("leg %s: no RTP for %.1f s, hanging up", record.id, self.rtp_timeout)
            self._end_here(record, HangupCause.FAILED)
        self._arm_watchdog()

    def _dissolve(self, bridge: Bridge) -> None:
        if not bridge.active:
            return
        bridge.active = False
        now = self.now()
        self._dissolved.append((now + self.sip.ack_wait, bridge.id))
        first, second = (self._legs[leg] for leg in bridge.legs)
        self._engine_unbridge(first, bridge.id)
        if isinstance(first.rtp, EngineRtpPort) and isinstance(second.rtp, EngineRtpPort):
            second.rtp.after(first.rtp)  # its next command waits for the unbridge
        for leg in bridge.legs:
            record = self._legs[leg]
            record.bridge = None
            disconnect(record.rtp)
            self._emit(LegUnbridged(now, leg, bridge.id))
        log.info("bridge %s: dissolved", bridge.id)

    def _leg(self, leg: LegId) -> SipLeg:
        record = self._legs.get(leg)
        if record is None:
            raise UnknownLeg(f"no leg {leg}")
        return record

    def _answered(self, leg: LegId) -> SipLeg:
        record = self._leg(leg)
        if record.state is LegState.ENDED or record.redirected_to is not None:
            raise LegAlreadyEnded(f"leg {leg} has ended")
        if record.state is not LegState.ANSWERED:
            raise LegNotAnswered(f"leg {leg} is {record.state.value}")
        return record


def _user_or_uri(addr: NameAddr) -> str:
    uri = addr.uri
    if isinstance(uri, SipUri) and uri.user:
        return uri.user
    return str(uri)
