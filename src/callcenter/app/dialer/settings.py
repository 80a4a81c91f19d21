"""A campaign's dialing settings and the dialer's live status (外呼设置与状态)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.app.cti.outbound import CampaignSetup
from callcenter.domain.compliance import LedgerConfig, Window
from callcenter.domain.dialing_policy import CampaignRules


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
    caller_id: str
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

    @property
    def campaign_id(self) -> str:
        return self.setup.campaign_id


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
