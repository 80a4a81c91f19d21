"""The compliance ledger of an outbound campaign (外呼合规台账): abandoned calls and their rate.

Theory of operation
-------------------
A predictive dialer launches more calls than it has free agents. When a person answers
and no agent is connected within the drop timeout (two seconds), the call is
*abandoned* (呼损/放弃呼叫): the dialer plays the safe-harbour message (the seller's
name and a number to call back) and hangs up. Regulators cap the share of such calls:

* US, FTC Telemarketing Sales Rule, 16 CFR 310.4(b)(4)(i), and FCC 47 CFR
  64.1200(a)(7)(i): at most 3% of the calls answered by a live person, measured over a
  30-day period of a campaign (kept here as the last 30 calendar days, a rolling
  window, which is the stricter reading), and over the whole campaign when it is
  shorter.
* UK, Ofcom persistent-misuse policy (2016): at most 3% of live calls per campaign over
  any 24-hour period (kept here as the calendar day in the campaign's time zone), with
  an estimate of answering-machine-detection (AMD) false positives counted as
  abandoned: a call AMD took for a machine but that a person answered.

The :class:`ComplianceLedger` keeps one :class:`DayCounts` per local calendar day for
the last :data:`ROLLING_DAYS` days, plus running totals for the whole campaign, so its
memory is bounded whatever the campaign's length. Every abandonment window is
reported as a :class:`AbandonBudget` (live answers, abandoned calls, target rate); the
budget "for now" is the window with the least room left, and it is what the pacing
controller spends.

The ledger outlives the process that keeps it: every count it records is also kept
apart, per local day, until the dialer takes it (:meth:`ComplianceLedger.take_unsaved`)
to write it to the store, and a dialer started again puts the stored days back
(:meth:`ComplianceLedger.restore`) before it dials, so a restart resets no window.

:func:`can_start` checks a campaign's dialing settings before it may run: the drop
timeout, the safe-harbour message, the ring time and the caller ID, each failing check
a :class:`ComplianceViolation` with a code and messages in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from callcenter.domain.errors import DomainError

log = logging.getLogger(__name__)

TARGET_ABANDON_RATE = 0.03  # 16 CFR 310.4(b)(4)(i); 47 CFR 64.1200(a)(7)(i); Ofcom 2016
MAX_DROP_TIMEOUT = 2.0  # 16 CFR 310.4(b)(4)(iii): an agent within two seconds of the greeting
MIN_RING_TIME = 15.0  # 16 CFR 310.4(b)(4)(ii): ring at least 15 seconds (or four rings)
ROLLING_DAYS = 30  # 47 CFR 64.1200(a)(7)(i): measured over a 30-day period


class AmdResult(enum.Enum):
    """What answering-machine detection said about an answered call."""

    HUMAN = "human"
    MACHINE = "machine"
    UNSURE = "unsure"


class Window(enum.Enum):
    """The periods an abandonment rate is measured over."""

    CAMPAIGN = "campaign"
    ROLLING_30_DAYS = "rolling-30-days"
    CALENDAR_DAY = "calendar-day"


@dataclass
class DayCounts:
    """What happened on one local calendar day (or over the whole campaign)."""

    live: int = 0  # answered by a person: connected to an agent or abandoned
    abandoned: int = 0  # of those, not connected to an agent within the drop timeout
    abandoned_without_message: int = 0  # abandoned and no safe-harbour message played
    amd_human: int = 0
    amd_machine: int = 0
    amd_unsure: int = 0
    amd_false_positives: int = 0  # AMD said machine; later found to be a person

    def add(self, other: DayCounts) -> None:
        self.live += other.live
        self.abandoned += other.abandoned
        self.abandoned_without_message += other.abandoned_without_message
        self.amd_human += other.amd_human
        self.amd_machine += other.amd_machine
        self.amd_unsure += other.amd_unsure
        self.amd_false_positives += other.amd_false_positives


@dataclass(frozen=True)
class AbandonBudget:
    """Live answers and abandoned calls over one window, against the target rate."""

    live: float = 0.0
    abandoned: float = 0.0
    target: float = TARGET_ABANDON_RATE
    window: Window = Window.CAMPAIGN

    @property
    def rate(self) -> float:
        """Abandoned calls as a share of live answers (0 before the first answer)."""
        return self.abandoned / self.live if self.live > 0 else 0.0

    @property
    def remaining(self) -> float:
        """Abandoned calls still allowed at the present volume (negative when over)."""
        return self.target * self.live - self.abandoned

    def allowed(self, more_live: float) -> float:
        """Abandoned calls allowed once ``more_live`` further live answers are made."""
        return self.target * (self.live + more_live) - self.abandoned

    @property
    def exceeded(self) -> bool:
        return self.abandoned > self.target * self.live


@dataclass(frozen=True)
class ComplianceReport:
    """The abandonment rate over every window, and the binding one."""

    campaign: AbandonBudget
    rolling_30_days: AbandonBudget
    calendar_day: AbandonBudget

    @property
    def windows(self) -> tuple[AbandonBudget, ...]:
        return (self.campaign, self.rolling_30_days, self.calendar_day)

    @property
    def binding(self) -> AbandonBudget:
        """The window with the least room left: the budget the dialer may spend now."""
        return min(self.windows, key=lambda b: b.remaining)

    @property
    def compliant(self) -> bool:
        return not any(b.exceeded for b in self.windows)

    def by_window(self) -> dict[str, dict[str, float]]:
        """Each window's live answers, abandoned calls, rate and room left, by name."""
        return {
            b.window.value: {
                "live": b.live,
                "abandoned": b.abandoned,
                "rate": b.rate,
                "remaining": b.remaining,
            }
            for b in self.windows
        }


@dataclass(frozen=True)
class LedgerConfig:
    """How a campaign's abandonment is counted."""

    time_zone: str = "UTC"  # IANA zone of the campaign: its calendar days
    target: float = TARGET_ABANDON_RATE
    drop_timeout: float = MAX_DROP_TIMEOUT
    count_amd_false_positives: bool = True  # Ofcom: they count as abandoned live calls
    # Ofcom asks for a reasoned estimate when false positives are not all found: the
    # share of machine-detected calls assumed to be people. The larger of the estimate
    # and the false positives actually recorded is counted.
    assumed_false_positive_rate: float = 0.0


@dataclass
class ComplianceLedger:
    """Per-campaign counts of live answers, abandoned calls and AMD outcomes."""

    campaign_id: str
    config: LedgerConfig = field(default_factory=LedgerConfig)
    totals: DayCounts = field(default_factory=DayCounts)
    _days: dict[dt.date, DayCounts] = field(default_factory=dict, init=False, repr=False)
    _newest: dt.date | None = field(default=None, init=False, repr=False)
    _unsaved: dict[dt.date, DayCounts] = field(default_factory=dict, init=False, repr=False)
    restored: bool = field(default=False, init=False)  # the stored days were put back

    def __post_init__(self) -> None:
        self._zone = ZoneInfo(self.config.time_zone)

    # --- recording ---------------------------------------------------------------

    def local_date(self, at: float) -> dt.date:
        """The calendar day of instant ``at`` in the campaign's time zone."""
        return dt.datetime.fromtimestamp(at, self._zone).date()

    def is_abandoned(self, answered_at: float, connected_at: float | None) -> bool:
        """Whether a person answering at ``answered_at`` waited past the drop timeout."""
        if connected_at is None:
            return True
        return connected_at - answered_at > self.config.drop_timeout

    def record_live_answer(
        self,
        answered_at: float,
        connected_at: float | None,
        *,
        safe_harbour_played: bool = False,
        call_id: str = "",
    ) -> bool:
        """A person answered; ``connected_at`` is when an agent joined (None: never).

        Returns whether the call counts as abandoned. An abandoned call should have had
        the safe-harbour message; those that did not are counted apart.
        """
        abandoned = self.is_abandoned(answered_at, connected_at)
        delta = DayCounts(
            live=1,
            abandoned=int(abandoned),
            abandoned_without_message=int(abandoned and not safe_harbour_played),
        )
        self._add(answered_at, delta)
        if abandoned:
            log.info(
                "campaign %s call %s abandoned (safe-harbour message %s)",
                self.campaign_id,
                call_id,
                "played" if safe_harbour_played else "missing",
            )
        return abandoned

    def record_amd(self, result: AmdResult, at: float) -> None:
        """Answering-machine detection classified a call answered at ``at``."""
        self._add(
            at,
            DayCounts(
                amd_human=int(result is AmdResult.HUMAN),
                amd_machine=int(result is AmdResult.MACHINE),
                amd_unsure=int(result is AmdResult.UNSURE),
            ),
        )

    def record_amd_false_positive(self, answered_at: float, *, call_id: str = "") -> None:
        """A call AMD took for a machine (at ``answered_at``) was found to be a person."""
        self._add(answered_at, DayCounts(amd_false_positives=1))
        log.info("campaign %s call %s was an AMD false positive", self.campaign_id, call_id)

    def _add(self, at: float, delta: DayCounts) -> None:
        day = self.local_date(at)
        self._unsaved.setdefault(day, DayCounts()).add(delta)
        self._count(day, delta)

    def _count(self, day: dt.date, delta: DayCounts, *, in_totals: bool = True) -> None:
        if in_totals:
            self.totals.add(delta)
        if self._newest is None or day > self._newest:
            self._newest = day
            oldest_kept = day - dt.timedelta(days=ROLLING_DAYS - 1)
            for old in [d for d in self._days if d < oldest_kept]:
                del self._days[old]
        elif day <= self._newest - dt.timedelta(days=ROLLING_DAYS):
            return  # too old for any day window: it counts in the campaign totals only
        self._days.setdefault(day, DayCounts()).add(delta)

    # --- surviving a restart -----------------------------------------------------

    @property
    def has_unsaved(self) -> bool:
        return bool(self._unsaved)

    def take_unsaved(self) -> dict[dt.date, DayCounts]:
        """What was recorded since the last call, per local day; then forgets it."""
        unsaved, self._unsaved = self._unsaved, {}
        return unsaved

    def keep_unsaved(self, unsaved: dict[dt.date, DayCounts]) -> None:
        """Put back counts whose saving failed, to be saved with the next ones."""
        for day, counts in unsaved.items():
            self._unsaved.setdefault(day, DayCounts()).add(counts)

    def restore(self, totals: DayCounts, days: dict[dt.date, DayCounts]) -> None:
        """Add what the store kept: the campaign's totals and its recent local days.

        ``totals`` covers every stored day, ``days`` those a window may still need;
        restored counts are not unsaved again.
        """
        self.totals.add(totals)
        for day in sorted(days):
            self._count(day, days[day], in_totals=False)
        self.restored = True

    # --- reporting ---------------------------------------------------------------

    def day_counts(self, day: dt.date) -> DayCounts:
        """The counts of one kept local calendar day (zeros when unknown or dropped)."""
        counts = DayCounts()
        kept = self._days.get(day)
        if kept is not None:
            counts.add(kept)
        return counts

    def rolling_counts(self, now: float, days: int = ROLLING_DAYS) -> DayCounts:
        """The counts of the ``days`` local calendar days ending with today."""
        if not 1 <= days <= ROLLING_DAYS:
            raise ValueError(f"a rolling window is 1 to {ROLLING_DAYS} days, not {days}")
        today = self.local_date(now)
        first = today - dt.timedelta(days=days - 1)
        counts = DayCounts()
        for day, kept in self._days.items():
            if first <= day <= today:
                counts.add(kept)
        return counts

    def budget_of(self, counts: DayCounts, window: Window) -> AbandonBudget:
        """The abandonment budget for ``counts``, AMD false positives counted if asked."""
        live = float(counts.live)
        abandoned = float(counts.abandoned)
        if self.config.count_amd_false_positives:
            estimate = self.config.assumed_false_positive_rate * counts.amd_machine
            false_positives = max(float(counts.amd_false_positives), estimate)
            live += false_positives
            abandoned += false_positives
        return AbandonBudget(live, abandoned, self.config.target, window)

    def report(self, now: float) -> ComplianceReport:
        """Every window's abandonment rate as of ``now``."""
        return ComplianceReport(
            campaign=self.budget_of(self.totals, Window.CAMPAIGN),
            rolling_30_days=self.budget_of(self.rolling_counts(now), Window.ROLLING_30_DAYS),
            calendar_day=self.budget_of(self.day_counts(self.local_date(now)), Window.CALENDAR_DAY),
        )

    def budget(self, now: float) -> AbandonBudget:
        """The binding window for ``now``: the one with the fewest abandons left."""
        return self.report(now).binding

    @property
    def kept_days(self) -> int:
        return len(self._days)


# --- may the campaign start? ------------------------------------------------------


@dataclass(frozen=True)
class CampaignComplianceSettings:
    """The dialing settings of a campaign that the rules constrain."""

    campaign_id: str
    drop_timeout: float = MAX_DROP_TIMEOUT  # seconds a live answer may wait for an agent
    safe_harbour_prompt: str | None = None  # the message played on an abandoned call
    ring_timeout: float = 30.0  # seconds an unanswered call rings before it is given up
    caller_id: str | None = None  # the number presented to the called person
    abandon_target: float = TARGET_ABANDON_RATE


class ComplianceViolation(DomainError):
    """A campaign's settings break a telemarketing rule; it may not start."""

    code = "campaign-compliance-violation"
    status = 422
    message_zh = "外呼任务 {campaign_id} 的设置不符合合规要求"
    message_en = "Campaign {campaign_id} settings break a telemarketing rule"


class DropTimeoutTooLong(ComplianceViolation):
    code = "campaign-drop-timeout-too-long"
    message_zh = "外呼任务 {campaign_id} 的转坐席超时为 {drop_timeout} 秒，不得超过 {limit} 秒"
    message_en = (
        "Campaign {campaign_id} drop timeout is {drop_timeout} s; it may be at most {limit} s"
    )


class SafeHarbourMessageMissing(ComplianceViolation):
    code = "campaign-safe-harbour-missing"
    message_zh = "外呼任务 {campaign_id} 没有设置放弃呼叫提示语音（须告知公司名称和回拨号码）"
    message_en = (
        "Campaign {campaign_id} has no safe-harbour message "
        "(the seller's name and a number to call back) for abandoned calls"
    )


class RingTimeTooShort(ComplianceViolation):
    code = "campaign-ring-time-too-short"
    message_zh = "外呼任务 {campaign_id} 的振铃时长为 {ring_timeout} 秒，不得少于 {limit} 秒"
    message_en = (
        "Campaign {campaign_id} rings unanswered calls for {ring_timeout} s; "
        "it must ring at least {limit} s"
    )


class CallerIdMissing(ComplianceViolation):
    code = "campaign-caller-id-missing"
    message_zh = "外呼任务 {campaign_id} 没有设置主叫号码"
    message_en = "Campaign {campaign_id} presents no caller ID"


class AbandonTargetTooHigh(ComplianceViolation):
    code = "campaign-abandon-target-too-high"
    message_zh = "外呼任务 {campaign_id} 的呼损率目标为 {target}，不得超过 {limit}"
    message_en = "Campaign {campaign_id} abandonment target is {target}; it may be at most {limit}"


Violation = ComplianceViolation


def can_start(settings: CampaignComplianceSettings) -> list[Violation]:
    """Every rule the settings break; an empty list means the campaign may start."""
    cid = settings.campaign_id
    found: list[Violation] = []
    if not settings.drop_timeout <= MAX_DROP_TIMEOUT:
        found.append(
            DropTimeoutTooLong(
                campaign_id=cid, drop_timeout=settings.drop_timeout, limit=MAX_DROP_TIMEOUT
            )
        )
    if not (settings.safe_harbour_prompt or "").strip():
        found.append(SafeHarbourMessageMissing(campaign_id=cid))
    if not settings.ring_timeout >= MIN_RING_TIME:
        found.append(
            RingTimeTooShort(
                campaign_id=cid, ring_timeout=settings.ring_timeout, limit=MIN_RING_TIME
            )
        )
    if not any(ch.isdigit() for ch in settings.caller_id or ""):
        found.append(CallerIdMissing(campaign_id=cid))
    if not 0.0 <= settings.abandon_target <= TARGET_ABANDON_RATE:
        found.append(
            AbandonTargetTooHigh(
                campaign_id=cid, target=settings.abandon_target, limit=TARGET_ABANDON_RATE
            )
        )
    return found
