"""A campaign's lifecycle (外呼任务生命周期) and its dialing settings.

Theory of operation
-------------------
A campaign is written as a *draft*, *submitted* for approval, and *approved* by someone
other than its author; approval freezes the settings, the script and the lead lists as
a numbered version, and only an approved version is ever dialled. An approved campaign
is *started* (running), *paused* and resumed, and in the end *finished*, which is final.

Once a campaign has an approved version it keeps it while someone changes it: an edit
opens a *revision* (a new draft beside the approved version), which is submitted and
approved like the first one, and the approval makes it the next version. A running
campaign keeps dialling the approved version all along, and dials the next one as soon
as it is approved: so a change to a running campaign is approved only when it passes
the start-up checks (:func:`start_violations`; else :class:`RevisionCannotRun`).
Both machines are tables (:data:`TRANSITIONS`, :data:`REVISION_TRANSITIONS`);
:func:`step` applies a command and returns the new :class:`Lifecycle`, or raises and
nothing changes.

:class:`CampaignSettings` is the plain form of everything an operator sets (schedule,
dialing mode, compliance, caller IDs, retry rules, script, products, dispositions);
:meth:`CampaignSettings.parse` checks a JSON object and :func:`policy_rules` turns it into
the pre-dial policy's :class:`~callcenter.domain.dialing_policy.CampaignRules`.
:func:`start_violations` lists what forbids starting it (the compliance start-up checks).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.domain import compliance
from callcenter.domain.dialing_policy import (
    ABANDONED_COOLOFF,
    DEFAULT_RETRY,
    CallerIdPool,
    CallingWindow,
    CampaignRules,
    Outcome,
    RetryRule,
)
from callcenter.domain.errors import DomainError

log = logging.getLogger(__name__)
E = TypeVar("E", bound=enum.StrEnum)

# Ofcom's 2016 persistent-misuse policy counts AMD false positives (a person the
# detector took for a machine, then hung up on) as abandoned calls, and where they are
# not all found asks for a reasoned estimate, never an assumed zero. Without a
# measured rate of its own a campaign assumes one machine verdict in twenty is a
# person, a cautious figure for commercial detectors; the operator sets the rate
# their own sampling of recordings supports.
AMD_FALSE_POSITIVE_RATE: Final = 0.05
CALLBACK_AGENT_WAIT_MINUTES: Final = 15.0
# The bounds of a preview offer's countdown (seconds) and of how long a skipped lead
# stays back (minutes); a campaign that sets neither takes the platform's.
PREVIEW_TIMEOUT_BOUNDS: Final = (5.0, 600.0)
PREVIEW_SKIP_DELAY_BOUNDS: Final = (0.0, 7 * 24 * 60.0)


class State(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"


class Revision(enum.StrEnum):
    """A change to an approved campaign, waiting for its own approval."""

    NONE = "none"
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Command(enum.StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    FINISH = "finish"


TRANSITIONS: Final[Mapping[State, Mapping[Command, State]]] = {
    State.DRAFT: {Command.EDIT: State.DRAFT, Command.SUBMIT: State.SUBMITTED},
    State.SUBMITTED: {
        Command.EDIT: State.DRAFT,
        Command.APPROVE: State.APPROVED,
        Command.REJECT: State.DRAFT,
    },
    State.APPROVED: {Command.START: State.RUNNING, Command.FINISH: State.FINISHED},
    State.RUNNING: {Command.PAUSE: State.PAUSED, Command.FINISH: State.FINISHED},
    State.PAUSED: {Command.RESUME: State.RUNNING, Command.FINISH: State.FINISHED},
    State.FINISHED: {},
}

# Changes to a campaign that has an approved version (approved, running or paused).
REVISION_TRANSITIONS: Final[Mapping[Revision, Mapping[Command, Revision]]] = {
    Revision.NONE: {Command.EDIT: Revision.DRAFT},
    Revision.DRAFT: {Command.EDIT: Revision.DRAFT, Command.SUBMIT: Revision.SUBMITTED},
    Revision.SUBMITTED: {
        Command.EDIT: Revision.DRAFT,
        Command.APPROVE: Revision.NONE,
        Command.REJECT: Revision.DRAFT,
    },
}
_VERSIONED: Final = frozenset({State.APPROVED, State.RUNNING, State.PAUSED})
_CHANGES: Final = frozenset({Command.EDIT, Command.SUBMIT, Command.APPROVE, Command.REJECT})

# Which state each command leaves the campaign in, for people ("pause" -> 暂停).
COMMAND_ZH: Final = {
    Command.EDIT: "修改",
    Command.SUBMIT: "提交审批",
    Command.APPROVE: "审批通过",
    Command.REJECT: "驳回",
    Command.START: "启动",
    Command.PAUSE: "暂停",
    Command.RESUME: "恢复",
    Command.FINISH: "结束",
}


class CampaignStateError(DomainError):
    code = "campaign-illegal-transition"
    status = 409
    message_zh = "外呼任务 {campaign_id} 当前状态为 {state}，不能{action_zh}"
    message_en = "Campaign {campaign_id} cannot {action} while {state}"


class SelfApproval(DomainError):
    code = "campaign-self-approval"
    status = 409
    message_zh = "外呼任务 {campaign_id} 须由作者以外的人审批"
    message_en = "Campaign {campaign_id} must be approved by someone other than its author"


class CampaignCannotStart(DomainError):
    code = "campaign-cannot-start"
    status = 409
    message_zh = "外呼任务 {campaign_id} 不符合合规要求，不能启动：{problems_zh}"
    message_en = "Campaign {campaign_id} breaks telemarketing rules and cannot start: {problems_en}"


class RevisionCannotRun(DomainError):
    """A running campaign dials a newly approved version at once: it must be compliant."""

    code = "campaign-revision-cannot-run"
    status = 409
    message_zh = (
        "外呼任务 {campaign_id} 正在外呼，修改后的设置不符合合规要求，不能审批通过：{problems_zh}"
    )
    message_en = (
        "Campaign {campaign_id} is running and its changed settings break telemarketing "
        "rules, so they cannot be approved: {problems_en}"
    )


class InvalidCampaignSettings(DomainError):
    code = "campaign-settings-invalid"
    status = 422
    message_zh = "外呼任务设置无效（{field}）：{problem_zh}"
    message_en = "Invalid campaign setting ({field}): {problem_en}"


class SafeHarbourIncomplete(compliance.ComplianceViolation):
    code = "campaign-safe-harbour-incomplete"
    message_zh = "外呼任务 {campaign_id} 的放弃呼叫提示须包含公司名称和回拨号码"
    message_en = (
        "Campaign {campaign_id} safe-harbour message needs the seller's name "
        "and a number to call back"
    )


@dataclass(frozen=True)
class Lifecycle:
    """Where a campaign stands: its state, a pending revision, its last approved version."""

    campaign_id: int
    state: State = State.DRAFT
    revision: Revision = Revision.NONE
    version: int = 0  # the last approved version; 0 before the first approval
    author_id: int | None = None  # who last changed the working copy

    @property
    def has_pending_change(self) -> bool:
        return self.state in (State.DRAFT, State.SUBMITTED) or self.revision is not Revision.NONE


def allowed_commands(current: Lifecycle) -> list[Command]:
    """The commands that :func:`step` would accept now (the buttons to show)."""
    found = list(TRANSITIONS[current.state])
    if current.state in _VERSIONED:
        found += list(REVISION_TRANSITIONS[current.revision])
    return [c for c in Command if c in found]


def step(current: Lifecycle, command: Command, *, actor_id: int | None) -> Lifecycle:
    """Apply ``command`` by ``actor_id``; raise (and change nothing) when not allowed."""
    if current.state in _VERSIONED and command in _CHANGES:
        revision = REVISION_TRANSITIONS[current.revision].get(command)
        if revision is None:
            raise _illegal(current, command, f"{current.state}/{current.revision}")
        new = replace(current, revision=revision)
    else:
        state = TRANSITIONS[current.state].get(command)
        if state is None:
            raise _illegal(current, command, str(current.state))
        new = replace(current, state=state)
    if command is Command.EDIT:
        new = replace(new, author_id=actor_id)
    elif command is Command.APPROVE:
        if actor_id is not None and actor_id == current.author_id:
            raise SelfApproval(campaign_id=current.campaign_id)
        new = replace(new, version=current.version + 1)
    log.info(
        "campaign %s %s: %s/%s -> %s/%s",
        current.campaign_id,
        command,
        current.state,
        current.revision,
        new.state,
        new.revision,
    )
    return new


def _illegal(current: Lifecycle, command: Command, state: str) -> CampaignStateError:
    return CampaignStateError(
        campaign_id=current.campaign_id,
        state=state,
        action=str(command),
        action_zh=COMMAND_ZH[command],
    )


# --- settings ----------------------------------------------------------------------


class DialingMode(enum.StrEnum):
    MANUAL = "manual"
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    POWER = "power"
    PREDICTIVE = "predictive"
    IVR_BROADCAST = "ivr_broadcast"


class AmdAction(enum.StrEnum):
    HANG_UP = "hang_up"
    LEAVE_MESSAGE = "leave_message"
    TO_AGENT = "to_agent"


@dataclass(frozen=True)
class Window:
    """A daily calling window in the lead's local time, on ISO weekdays ("12345")."""

    start: dt.time
    end: dt.time
    weekdays: str = "1234567"


@dataclass(frozen=True)
class CampaignSettings:
    """Everything an operator sets on a campaign; frozen into each approved version."""

    start_date: dt.date | None = None
    end_date: dt.date | None = None
    windows: tuple[Window, ...] = (Window(dt.time(9), dt.time(20)),)
    holidays: frozenset[dt.date] = frozenset()
    time_zone: str = "Asia/Shanghai"  # for leads whose number gives no zone, and the ledger
    dialing_mode: DialingMode = DialingMode.PROGRESSIVE
    power_ratio: float = 1.0  # lines per ready agent (power mode)
    max_lines: int = 0  # 0: no cap beyond the trunks'
    drop_timeout: float = compliance.MAX_DROP_TIMEOUT
    safe_harbour_text: str = ""
    safe_harbour_prompt: str = ""  # a prompt file, instead of the text
    seller_name: str = ""
    callback_number: str = ""
    ring_seconds: float = 30.0
    # Predictive mode (ignored in the others): a call that has rung the legal minimum
    # may be given up when its answer is expected to find no agent free (提前放弃振铃).
    give_up_ringing: bool = False
    caller_ids: tuple[str, ...] = ()
    caller_id_daily_cap: int = 0  # calls per caller ID per day; 0: no cap
    group_ids: tuple[int, ...] = ()
    retry: Mapping[Outcome, RetryRule] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    max_per_day: int = 3
    max_24h: int = 4
    max_lifetime: int = 10
    abandoned_cooloff_hours: float = ABANDONED_COOLOFF / 3600
    abandon_target: float = compliance.TARGET_ABANDON_RATE
    script_id: int | None = None
    product_ids: tuple[int, ...] = ()
    disposition_ids: tuple[int, ...] = ()  # empty: every enabled disposition
    amd_enabled: bool = False
    amd_action: AmdAction = AmdAction.HANG_UP
    # The share of machine verdicts assumed to be people (Ofcom's reasoned estimate of
    # AMD false positives, counted as abandoned in every window when AMD is on).
    amd_false_positive_rate: float = AMD_FALSE_POSITIVE_RATE
    # A callback scheduled to its agent waits this long past its time for that agent to
    # be ready; then anyone of the campaign's agents may take it.
    callback_agent_wait_minutes: float = CALLBACK_AGENT_WAIT_MINUTES
    # Preview mode: seconds an agent has to accept or skip a lead. Preview and manual
    # modes: minutes before a lead skipped (passed on) is offered again. None takes the
    # platform's default.
    preview_timeout_seconds: float | None = None
    preview_skip_delay_minutes: float | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> CampaignSettings:
        """Check a JSON object (missing keys take their defaults) and build the settings."""
        p = _Parser(data)
        settings = cls(
            start_date=p.date("start_date"),
            end_date=p.date("end_date"),
            windows=p.windows("windows", cls.windows),
            holidays=frozenset(p.dates("holidays")),
            time_zone=p.zone("time_zone", cls.time_zone),
            dialing_mode=p.enum("dialing_mode", DialingMode, cls.dialing_mode),
            power_ratio=p.number("power_ratio", cls.power_ratio, 1.0, 10.0),
            max_lines=int(p.number("max_lines", cls.max_lines, 0, 10_000)),
            drop_timeout=p.number("drop_timeout", cls.drop_timeout, 0.0, 60.0),
            safe_harbour_text=p.text("safe_harbour_text", 500),
            safe_harbour_prompt=p.text("safe_harbour_prompt", 256),
            seller_name=p.text("seller_name", 64),
            callback_number=p.phone("callback_number"),
            ring_seconds=p.number("ring_seconds", cls.ring_seconds, 1.0, 300.0),
            give_up_ringing=p.flag("give_up_ringing", False),
            caller_ids=tuple(p.phones("caller_ids")),
            caller_id_daily_cap=int(p.number("caller_id_daily_cap", 0, 0, 1_000_000)),
            group_ids=tuple(p.ids("group_ids")),
            retry=p.retry("retry"),
            max_per_day=int(p.number("max_per_day", cls.max_per_day, 1, 100)),
            max_24h=int(p.number("max_24h", cls.max_24h, 1, 100)),
            max_lifetime=int(p.number("max_lifetime", cls.max_lifetime, 1, 1000)),
            abandoned_cooloff_hours=p.number(
                "abandoned_cooloff_hours", cls.abandoned_cooloff_hours, 0.0, 24 * 365
            ),
            abandon_target=p.number("abandon_target", cls.abandon_target, 0.0, 1.0),
            script_id=p.optional_id("script_id"),
            product_ids=tuple(p.ids("product_ids")),
            disposition_ids=tuple(p.ids("disposition_ids")),
            amd_enabled=p.flag("amd_enabled", False),
            amd_action=p.enum("amd_action", AmdAction, cls.amd_action),
            amd_false_positive_rate=p.number(
                "amd_false_positive_rate", cls.amd_false_positive_rate, 0.0, 1.0
            ),
            callback_agent_wait_minutes=p.number(
                "callback_agent_wait_minutes", cls.callback_agent_wait_minutes, 0.0, 24 * 60
            ),
            preview_timeout_seconds=p.optional_number(
                "preview_timeout_seconds", *PREVIEW_TIMEOUT_BOUNDS
            ),
            preview_skip_delay_minutes=p.optional_number(
                "preview_skip_delay_minutes", *PREVIEW_SKIP_DELAY_BOUNDS
            ),
        )
        if (
            settings.start_date is not None
            and settings.end_date is not None
            and settings.end_date < settings.start_date
        ):
            raise _invalid("end_date", "结束日期早于开始日期", "end_date is before start_date")
        return settings

    def to_json(self) -> dict[str, Any]:
        return {
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "windows": [
                {
                    "start": w.start.isoformat("minutes"),
                    "end": w.end.isoformat("minutes"),
                    "weekdays": w.weekdays,
                }
                for w in self.windows
            ],
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "time_zone": self.time_zone,
            "dialing_mode": str(self.dialing_mode),
            "power_ratio": self.power_ratio,
            "max_lines": self.max_lines,
            "drop_timeout": self.drop_timeout,
            "safe_harbour_text": self.safe_harbour_text,
            "safe_harbour_prompt": self.safe_harbour_prompt,
            "seller_name": self.seller_name,
            "callback_number": self.callback_number,
            "ring_seconds": self.ring_seconds,
            "give_up_ringing": self.give_up_ringing,
            "caller_ids": list(self.caller_ids),
            "caller_id_daily_cap": self.caller_id_daily_cap,
            "group_ids": list(self.group_ids),
            "retry": {
                str(outcome): {
                    "delay": rule.delay,
                    "max_per_day": rule.max_per_day,
                    "max_24h": rule.max_24h,
                    "max_lifetime": rule.max_lifetime,
                    "final": rule.final,
                }
                for outcome, rule in self.retry.items()
            },
            "max_per_day": self.max_per_day,
            "max_24h": self.max_24h,
            "max_lifetime": self.max_lifetime,
            "abandoned_cooloff_hours": self.abandoned_cooloff_hours,
            "abandon_target": self.abandon_target,
            "script_id": self.script_id,
            "product_ids": list(self.product_ids),
            "disposition_ids": list(self.disposition_ids),
            "amd_enabled": self.amd_enabled,
            "amd_action": str(self.amd_action),
            "amd_false_positive_rate": self.amd_false_positive_rate,
            "callback_agent_wait_minutes": self.callback_agent_wait_minutes,
            "preview_timeout_seconds": self.preview_timeout_seconds,
            "preview_skip_delay_minutes": self.preview_skip_delay_minutes,
        }


def policy_rules(settings: CampaignSettings, *, running: bool) -> CampaignRules:
    """The pre-dial policy's rules for a campaign with these settings."""
    return CampaignRules(
        running=running,
        windows=tuple(
            CallingWindow(w.start, w.end, frozenset(int(d) - 1 for d in w.weekdays))
            for w in settings.windows
        ),
        holidays=settings.holidays,
        first_day=settings.start_date,
        last_day=settings.end_date,
        retry=settings.retry,
        max_per_day=settings.max_per_day,
        max_24h=settings.max_24h,
        max_lifetime=settings.max_lifetime,
        abandoned_cooloff=settings.abandoned_cooloff_hours * 3600,
    )


def pick_caller_id(settings: CampaignSettings, used_today: Mapping[str, int]) -> str | None:
    """The pool's least-used caller ID still under its daily cap (None: all are spent).

    Ties go to the number listed first, so a pool of one behaves like a single caller ID
    (the pool's own rule: :meth:`~callcenter.domain.dialing_policy.CallerIdPool.pick`).
    """
    return CallerIdPool(settings.caller_ids, settings.caller_id_daily_cap).pick(used_today)


def start_violations(
    campaign_id: int, settings: CampaignSettings
) -> list[compliance.ComplianceViolation]:
    """What forbids starting the campaign (empty: it may start)."""
    message = settings.safe_harbour_prompt or settings.safe_harbour_text
    found = compliance.can_start(
        compliance.CampaignComplianceSettings(
            campaign_id=str(campaign_id),
            drop_timeout=settings.drop_timeout,
            safe_harbour_prompt=message or None,
            ring_timeout=settings.ring_seconds,
            caller_id=settings.caller_ids[0] if settings.caller_ids else None,
            abandon_target=settings.abandon_target,
        )
    )
    if message and not (settings.seller_name and settings.callback_number):
        found.append(SafeHarbourIncomplete(campaign_id=str(campaign_id)))
    return found


def cannot_start(
    campaign_id: int,
    violations: list[compliance.ComplianceViolation],
    error: type[DomainError] = CampaignCannotStart,
) -> DomainError:
    """One 409 error listing every violated rule, in both languages."""
    return error(
        campaign_id=campaign_id,
        problems_zh="；".join(v.message("zh-CN") for v in violations),
        problems_en="; ".join(v.message("en") for v in violations),
        violations=[v.code for v in violations],
    )


# --- parsing -----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PHONE = re.compile(r"^\+?[0-9]{3,20}$")


def _invalid(name: str, zh: str, en: str) -> InvalidCampaignSettings:
    return InvalidCampaignSettings(field=name, problem_zh=zh, problem_en=en)


class _Parser:
    """Reads one settings object, naming the field in every complaint."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        known = {f for f in CampaignSettings.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise _invalid(unknown[0], "未知的设置项", "unknown setting")
        self.data = data

    def _get(self, name: str) -> Any:
        return self.data.get(name)

    def text(self, name: str, limit: int) -> str:
        value = self._get(name)
        if value is None:
            return ""
        if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
            raise _invalid(name, f"须为不超过 {limit} 字的文本", f"must be text of at most {limit}")
        return value.strip()

    def phone(self, name: str, value: Any = None) -> str:
        value = self._get(name) if value is None else value
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or not _PHONE.match(value):
            raise _invalid(name, "号码格式无效", "not a phone number (digits, optional +)")
        return value

    def phones(self, name: str) -> list[str]:
        values = self._list(name, 100)
        return list(dict.fromkeys(self.phone(name, v) for v in values))

    def _list(self, name: str, limit: int) -> list[Any]:
        value = self._get(name)
        if value is None:
            return []
        if not isinstance(value, list | tuple) or len(value) > limit:
            raise _invalid(name, f"须为最多 {limit} 项的列表", f"must be a list of at most {limit}")
        return list(value)

    def ids(self, name: str) -> list[int]:
        found = []
        for value in self._list(name, 500):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 2**31:
                raise _invalid(name, "编号无效", "ids are positive integers")
            found.append(value)
        return list(dict.fromkeys(found))

    def optional_id(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 2**31:
            raise _invalid(name, "编号无效", "an id is a positive integer")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
            raise _invalid(name, "须为数字", "must be a number")
        if not low <= value <= high:
            raise _invalid(name, f"须在 {low} 到 {high} 之间", f"must be between {low} and {high}")
        return float(value)

    def optional_number(self, name: str, low: float, high: float) -> float | None:
        """A number within bounds, or None when left out (the platform's default)."""
        return None if self._get(name) is None else self.number(name, low, low, high)

    def flag(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _invalid(name, "须为 true 或 false", "must be true or false")
        return value

    def enum(self, name: str, kind: type[E], default: E) -> E:
        value = self._get(name)
        if value is None:
            return default
        try:
            return kind(value)
        except ValueError:
            choices = ", ".join(kind)
            raise _invalid(name, f"须为以下之一：{choices}", f"must be one of {choices}") from None

    def zone(self, name: str, default: str) -> str:
        value = self._get(name)
        if value is None:
            return default
        try:
            if not isinstance(value, str) or not value:
                raise ValueError(value)
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise _invalid(name, "未知时区", "not an IANA time zone") from None
        return value

    def _date(self, name: str, value: Any) -> dt.date:
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _invalid(name, "日期格式须为 YYYY-MM-DD", "dates are YYYY-MM-DD") from None

    def date(self, name: str) -> dt.date | None:
        value = self._get(name)
        return None if value is None else self._date(name, value)

    def dates(self, name: str) -> list[dt.date]:
        return [self._date(name, v) for v in self._list(name, 366)]

    def _time(self, name: str, value: Any) -> dt.time:
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return dt.time.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            raise _invalid(name, "时间格式须为 HH:MM", "times are HH:MM") from None

    def windows(self, name: str, default: tuple[Window, ...]) -> tuple[Window, ...]:
        if self._get(name) is None:
            return default
        found = []
        for item in self._list(name, 20):
            if not isinstance(item, Mapping) or set(item) - {"start", "end", "weekdays"}:
                raise _invalid(
                    name, "时段须含 start、end、weekdays", "a window has start, end, weekdays"
                )
            start, end = self._time(name, item.get("start")), self._time(name, item.get("end"))
            if not start < end:
                raise _invalid(
                    name,
                    f"时段 {start:%H:%M}-{end:%H:%M} 须在同一天内结束于开始之后；"
                    "跨午夜的时段请拆成两个（如 20:00-23:59 与 00:00-02:00）",
                    f"the window {start:%H:%M}-{end:%H:%M} must end after it starts on the "
                    "same day; split one across midnight in two (20:00-23:59 and 00:00-02:00)",
                )
            weekdays = item.get("weekdays", "1234567")
            if not isinstance(weekdays, str) or not re.fullmatch(
                r"(?!.*(.).*\1)[1-7]{1,7}", weekdays
            ):
                raise _invalid(
                    name, "星期须为 1 到 7 的数字，不重复", "weekdays are digits 1-7, once each"
                )
            found.append(Window(start, end, "".join(sorted(weekdays))))
        return tuple(found)

    def retry(self, name: str) -> Mapping[Outcome, RetryRule]:
        value = self._get(name)
        rules = dict(DEFAULT_RETRY)
        if value is None:
            return rules
        if not isinstance(value, Mapping):
            raise _invalid(name, "须为按结果分类的规则", "must map outcomes to rules")
        for key, rule in value.items():
            try:
                outcome = Outcome(key)
            except ValueError:
                raise _invalid(name, f"未知的结果 {key}", f"unknown outcome {key}") from None
            if not isinstance(rule, Mapping):
                raise _invalid(name, "规则须为对象", "a rule is an object")
            sub = _Parser.__new__(_Parser)
            sub.data = rule
            if set(rule) - {"delay", "max_per_day", "max_24h", "max_lifetime", "final"}:
                raise _invalid(name, "规则含未知项", "a rule has an unknown key")
            limits = {}
            for key_ in ("max_per_day", "max_24h", "max_lifetime"):
                limits[key_] = None if rule.get(key_) is None else int(sub.number(key_, 0, 0, 1000))
            rules[outcome] = RetryRule(
                delay=sub.number("delay", 0.0, 0.0, 365 * 86_400.0),
                final=sub.flag("final", False),
                **limits,
            )
        return rules
