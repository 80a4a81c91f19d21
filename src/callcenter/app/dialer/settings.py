"""A campaign's dialing settings and the dialer's live status (外呼设置与状态)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.app.cti.outbound import CampaignSetup
from callcenter.domain.compliance import LedgerConfig, Window
from callcenter.domain.dialing_policy import CallerIdPool, CampaignRules


class DialingMode(enum.StrEnum):
    MANUAL = "manual"  # 手动外呼
    PREVIEW = "preview"  # 预览式
    PROGRESSIVE = "progressive"  # 渐进式
    POWER = "power"  # 功率式 (fixed lines per agent)
    PREDICTIVE = "predictive"  # 预测式
    BROADCAST = "broadcast"  # 语音群呼


@dataclass(frozen=True)
class DialerSettings:
    """How a campaign dials."""

    setup: CampaignSetup
    mode: DialingMode
    caller_id: str  # presented when the pool is empty
    rules: CampaignRules = field(default_factory=CampaignRules)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    ring_timeout: float = 30.0
    amd: bool = False
    lines_per_agent: float = 2.0  # power mode
    broadcast_lines: int = 10  # IVR broadcast: lines at once
    interval: float = 1.0  # seconds between pacing decisions
    preview_timeout: float = 30.0  # seconds an agent has to accept or skip; then it dials
    max_lines: int | None = None  # lines the campaign may hold at once
    budget_window: Window | None = None  # the abandonment window the pacer spends; None: binding
    caller_ids: tuple[str, ...] = ()  # the pool; empty: ``caller_id`` alone
    caller_id_daily_cap: int = 0  # calls per caller ID per local day of the ledger; 0: no cap
    callback_agent_wait: float = 900.0  # a due callback waits this long for its agent
    preview_skip_delay: float = 3600.0  # a lead skipped or passed on comes back after this
    # predictive: a call that has rung the legal minimum (GIVE_UP_MIN_RING) may be given
    # up when its answer is expected to find no agent free (提前放弃振铃)
    give_up_ringing: bool = False

    @property
    def campaign_id(self) -> str:
        return self.setup.campaign_id

    @property
    def caller_id_pool(self) -> CallerIdPool:
        numbers = self.caller_ids or ((self.caller_id,) if self.caller_id else ())
        return CallerIdPool(numbers, self.caller_id_daily_cap)


@dataclass(frozen=True)
class DialerStatus:
    """The live view of a running campaign's dialer."""

    campaign_id: str
    mode: str
    running: bool
    in_flight: int
    ringing: int
    waiting: int
    last_lines: int
    level: float | None  # dial level or fixed ratio (lines per agent), if the pacer has one
    dials: int
    connects: int
    abandoned: int
    abandon_rates: Mapping[str, float]
    agents: Mapping[str, int]  # ready, reserved, talking, wrap-up, not-ready
    not_dialled: Mapping[str, int]  # reason -> leads
    # window -> live answers, abandoned calls (AMD false positives included), rate, room
    ledger: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # the pool: cap, calls per number today, and when all are spent, why and until when
    caller_ids: Mapping[str, Any] = field(default_factory=dict)
    # AMD's verdicts and the false positives counted as abandoned (found, and estimated)
    amd: Mapping[str, float] = field(default_factory=dict)
    given_up: int = 0  # ringing calls given up after the legal ring time (give_up_ringing)
