"""The CTI core's live state: calls, their legs, agent sessions, and the inputs they use.

A :class:`Call` is what a customer (or an agent dialling out) experiences: one customer
leg plus the legs of the agents, consulted parties and supervisors that join it. The
media topology is either a two-party *bridge* (``Call.bridge``) or, once a third party
must hear the call (a 3-way conference, a supervisor listening), a *conference*
(``Call.conference``) that the call keeps until it ends.

These are plain mutable records owned by the engine; every change happens inside its
serialised section. The frozen dataclasses at the end are inputs from outside.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.domain.agent import Agent, Membership
from callcenter.switch.ports import BridgeId, ConferenceId, HangupCause, LegId, Role


class Direction(enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallState(enum.Enum):
    NEW = "new"  # inbound leg offered, not routed yet
    QUEUED = "queued"  # waiting in a queue (perhaps ringing agents)
    DIALLING = "dialling"  # manual call: the agent's or the customer's phone rings
    TRANSFERRING = "transferring"  # blind transfer ringing an agent, customer on hold
    CONNECTED = "connected"  # the customer talks with someone
    ENDED = "ended"


class LegPurpose(enum.Enum):
    CUSTOMER = "customer"
    OFFER = "offer"  # an agent's phone ringing for a waiting or transferred call
    AGENT = "agent"  # an agent's leg in the call
    CONSULT = "consult"  # the party an agent consults before a transfer or conference
    PARTY = "party"  # a third party (a number) talking with the customer
    SUPERVISOR = "supervisor"


class LegStatus(enum.Enum):
    RINGING = "ringing"  # offered inbound, or dialling/ringing outbound
    UP = "up"
    ENDED = "ended"


class SupervisorMode(enum.Enum):
    LISTEN = "listen"  # 监听
    WHISPER = "whisper"  # 密语
    BARGE = "barge"  # 强插


@dataclass
class Leg:
    leg_id: LegId
    call_id: str
    purpose: LegPurpose
    dest: str
    created_at: float
    agent_no: str | None = None
    status: LegStatus = LegStatus.RINGING
    answered_at: float | None = None
    ended_at: float | None = None
    cause: HangupCause | None = None
    caller_id: str | None = None  # a leg to a number: the caller ID it was dialled with
    trunk: str | None = None  # a leg to a number: the trunk it went out on, if any

    @property
    def up(self) -> bool:
        return self.status is LegStatus.UP

    @property
    def to_number(self) -> bool:
        """A leg to a customer or a number, whose caller ID the called party sees (not a
        leg to an agent's or a supervisor's phone)."""
        if self.purpose is LegPurpose.CONSULT:
            return self.agent_no is None
        return self.purpose in (LegPurpose.CUSTOMER, LegPurpose.PARTY)

    @property
    def ended(self) -> bool:
        return self.status is LegStatus.ENDED


@dataclass
class Consult:
    """An agent's consultation: the customer waits on hold while the agent talks to X."""

    leg: LegId
    agent_no: str | None  # the consulted agent, or None for a number
    dest: str
    bridge: BridgeId | None = None  # agent <-> consulted party, once answered

    @property
    def answered(self) -> bool:
        return self.bridge is not None


@dataclass
class Monitor:
    """A supervisor on a call: their leg and how they take part."""

    supervisor_id: str
    leg: LegId
    mode: SupervisorMode
    role: Role | None = None  # the role joined with, once the leg is up


@dataclass
class Call:
    call_id: str
    direction: Direction
    caller: str
    dialled: str
    created_at: float
    customer_leg: LegId | None = None
    state: CallState = CallState.NEW
    customer_id: str | None = None
    queue_id: str | None = None
    queued_at: float | None = None
    offered_at: float | None = None
    answered_at: float | None = None
    bridged_at: float | None = None
    ended_at: float | None = None
    agent_no: str | None = None  # the agent talking with the customer
    agent_leg: LegId | None = None
    party_leg: LegId | None = None  # a number talking with the customer (transfer out)
    agents: list[str] = field(default_factory=list)
    offers: dict[LegId, str] = field(default_factory=dict)  # ringing leg -> agent
    missed: set[str] = field(default_factory=set)  # agents who missed this round
    bridge: BridgeId | None = None
    conference: ConferenceId | None = None
    parties: dict[LegId, str | None] = field(default_factory=dict)  # conference talkers
    held: bool = False
    consult: Consult | None = None
    monitors: dict[str, Monitor] = field(default_factory=dict)
    legs: list[LegId] = field(default_factory=list)
    cause: HangupCause | None = None
    end_reason: str | None = None
    dial_dest: str | None = None  # manual call: the customer's number
    info: CustomerInfo | None = None
    taken_over_by: str | None = None
    announce_at: float | None = None  # next position/wait announcement while queued
    announcing: str | None = None  # the announcement playing instead of the music
    campaign_id: str | None = None  # a campaign call: its campaign and lead
    lead_id: str | None = None

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED


@dataclass
class AgentSession:
    """A logged-in agent: the domain agent plus the phone given at log-in (hot-desking)."""

    agent: Agent
    phone: str
    reason: str = "login"  # why the agent is in its current state

    @property
    def agent_no(self) -> str:
        return self.agent.agent_id


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentProfile:
    """An agent's routing profile, looked up at log-in."""

    memberships: tuple[Membership, ...]
    skills: Mapping[str, int] = field(default_factory=dict)
    order: int = 0
    max_missed_offers: int = 3
    wrap_up_seconds: float = 30.0

    @classmethod
    def in_groups(
        cls,
        *groups: str,
        skills: Mapping[str, int] | None = None,
        order: int = 0,
        max_missed_offers: int = 3,
        wrap_up_seconds: float = 30.0,
    ) -> AgentProfile:
        """A profile with permanent memberships of ``groups``."""
        return cls(
            tuple(Membership(g) for g in groups),
            dict(skills or {}),
            order,
            max_missed_offers,
            wrap_up_seconds,
        )


@dataclass(frozen=True)
class CustomerInfo:
    """What the CRM knows about a caller; feeds the queue's priority and routing."""

    customer_id: str | None = None
    vip: bool = False
    tier: int = 0
    priority: int = 0
    long_distance: bool = False
    owner_agent_no: str | None = None  # 客户归属
    last_agent_no: str | None = None  # overrides the engine's own memory


@dataclass(frozen=True)
class ToAgent:
    agent_no: str


@dataclass(frozen=True)
class ToNumber:
    number: str


@dataclass(frozen=True)
class ToQueue:
    queue_id: str


TransferTarget = ToAgent | ToNumber | ToQueue
ConsultTarget = ToAgent | ToNumber
