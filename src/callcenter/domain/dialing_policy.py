"""The pre-dial policy (拨打策略): may this lead be dialled now, and if not, when?

Theory of operation
-------------------
Before the dialer takes a lead from the hopper it asks :func:`may_dial` with the lead
(:class:`Lead`: number, IANA time zone, attempt counters, last outcome, callback,
flags) and the campaign's :class:`CampaignRules` (calling windows in the lead's local
time, holidays, the campaign's date range, retry rules by outcome, the cool-off after
an abandoned call). The answer is a :class:`Decision`: allowed or not, a stable reason
code (:class:`Reason`), and ``retry_at``, the first instant the lead may be dialled
(None when it never may, or only once a person changes something).

Checks run from the most permanent to the most passing, and the first that fails is
the reason: the campaign is not running, the lead is locked, on a do-not-call list or
blacklist, opted out, finished (a final outcome), or out of lifetime attempts. Then
every "not before" constraint is gathered: the abandoned-call cool-off (Ofcom: no
repeat call within 72 hours of an abandoned one; the campaign sets its own, and the
retry rule of an abandoned call adds no delay unless the campaign gives it one; a lead
whose last outcome says abandoned without the time cools off from its last attempt),
a callback not yet due, the daily and rolling 24-hour attempt limits, the retry delay
of the last outcome. The lead's
``retry_at`` is the first instant after all of them that lies in a calling window on a
non-holiday within the campaign's dates; the reason is ``no-window`` when there is no
such instant (the wait outlasts the campaign), else the first constraint that still
binds now, else ``holiday`` or ``outside-window``. A scheduled callback replaces
the last outcome's retry delay; once due it is allowed (within the windows) and names
the agent it belongs to.

Caller IDs are campaign-wide, not per lead: :class:`CallerIdPool` is the numbers a
campaign presents and a daily cap per number, :class:`CallerIdUsage` counts the calls
each number presented on the campaign's local calendar day, and
:func:`choose_caller_id` picks the least-used number under its cap, or refuses with
``caller-id-cap`` until the next local midnight when every number is spent.

Local days and hours are the lead's (zoneinfo), so DST changes move the windows with
the clock on the wall. Counters are trusted as of the last attempt: an "attempts
today" from a previous local day, or an "attempts in 24 hours" whose last attempt is
older than a day, counts as zero. Of the calls in 24 hours only the oldest's time is
known: at the rolling limit the lead waits until that one is a day old, over the limit
(a version lowered it, or the count ran on) until its last call is.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.domain.errors import DomainError

DAY = 86_400.0
ABANDONED_COOLOFF = 72 * 3600.0  # Ofcom 2016 policy: no repeat call within 72 hours
SEARCH_DAYS = 400  # how far ahead the next calling window is looked for


class Reason(enum.StrEnum):
    """Why a lead may or may not be dialled now."""

    ALLOWED = "allowed"
    CALLBACK_DUE = "callback-due"  # allowed: a scheduled callback, for its agent
    CAMPAIGN_NOT_RUNNING = "campaign-not-running"
    OUTSIDE_DATE_RANGE = "outside-date-range"
    LOCKED = "locked"
    DO_NOT_CALL = "do-not-call"
    BLACKLISTED = "blacklisted"
    OPTED_OUT = "opted-out"
    UNKNOWN_TIME_ZONE = "unknown-time-zone"
    FINAL_OUTCOME = "final-outcome"
    MAX_ATTEMPTS_LIFETIME = "max-attempts-lifetime"
    ABANDONED_COOLOFF = "abandoned-cooloff"
    CALLBACK_NOT_DUE = "callback-not-due"
    MAX_ATTEMPTS_DAY = "max-attempts-day"
    MAX_ATTEMPTS_24H = "max-attempts-24h"
    RETRY_DELAY = "retry-delay"
    HOLIDAY = "holiday"
    OUTSIDE_WINDOW = "outside-window"
    NO_WINDOW = "no-window"  # no calling window at all ahead
    CALLER_ID_CAP = "caller-id-cap"  # every caller ID of the campaign is at its daily cap


class Outcome(enum.StrEnum):
    """How the lead's last attempt ended (the keys of the retry rules)."""

    NO_ANSWER = "no-answer"
    BUSY = "busy"
    MACHINE = "machine"
    FAILED = "failed"  # congestion, rejected
    INVALID_NUMBER = "invalid-number"
    ABANDONED = "abandoned"  # a person answered; no agent in time
    ANSWERED = "answered"  # talked to an agent, no final result
    SALE = "sale"


@dataclass(frozen=True)
class Lead:
    """What the policy needs to know about one lead (名单)."""

    lead_id: str
    phone: str
    time_zone: str  # IANA zone of the number, e.g. "Asia/Shanghai"
    region: str = ""
    attempts_today: int = 0  # in the lead's local calendar day of the last attempt
    attempts_lifetime: int = 0
    attempts_24h: int = 0  # in the 24 hours before the last attempt, itself included
    oldest_attempt_24h_at: float | None = None  # the oldest of those, when known
    last_attempt_at: float | None = None
    last_outcome: Outcome | None = None
    abandoned_at: float | None = None
    callback_at: float | None = None
    callback_agent_id: str | None = None
    locked: bool = False  # being dialled or edited elsewhere
    do_not_call: bool = False
    blacklisted: bool = False
    opted_out: bool = False
    carrier: str = ""  # the number's carrier ("China Mobile"), for least-cost routing


@dataclass(frozen=True)
class CallingWindow:
    """Hours a lead may be called on some weekdays, in the lead's local time."""

    start: dt.time
    end: dt.time  # exclusive, after start (no window across midnight)
    weekdays: frozenset[int] = frozenset(range(7))  # 0 is Monday

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"a calling window ends after it starts: {self.start}-{self.end}")


@dataclass(frozen=True)
class RetryRule:
    """What happens after an attempt with one outcome."""

    delay: float = 3600.0  # seconds before the next attempt
    max_per_day: int | None = None  # attempts in the lead's local day, at most
    max_24h: int | None = None  # attempts in any 24 hours, at most
    max_lifetime: int | None = None
    final: bool = False  # never dial again


# 16 CFR 310.4(c): no telemarketing calls before 8 am or after 9 pm, called person's time.
LEGAL_HOURS = CallingWindow(dt.time(8, 0), dt.time(21, 0))

DEFAULT_RETRY: Mapping[Outcome, RetryRule] = {
    Outcome.NO_ANSWER: RetryRule(delay=2 * 3600.0),
    Outcome.BUSY: RetryRule(delay=600.0),
    Outcome.MACHINE: RetryRule(delay=4 * 3600.0),
    Outcome.FAILED: RetryRule(delay=1800.0),
    Outcome.INVALID_NUMBER: RetryRule(final=True),
    # No delay of its own: the campaign's abandoned-call cool-off is the wait.
    Outcome.ABANDONED: RetryRule(delay=0.0),
    Outcome.ANSWERED: RetryRule(delay=DAY),
    Outcome.SALE: RetryRule(final=True),
}


@dataclass(frozen=True)
class CampaignRules:
    """A campaign's dialing rules."""

    running: bool = True
    windows: tuple[CallingWindow, ...] = (LEGAL_HOURS,)
    holidays: frozenset[dt.date] = frozenset()  # local dates of the lead
    first_day: dt.date | None = None  # the campaign's dates, in the lead's local time
    last_day: dt.date | None = None
    retry: Mapping[Outcome, RetryRule] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    max_per_day: int = 3
    max_24h: int = 4
    max_lifetime: int = 10
    abandoned_cooloff: float = ABANDONED_COOLOFF


@dataclass(frozen=True)
class Decision:
    """May the lead be dialled now; why; and from when it may be."""

    allowed: bool
    reason: Reason
    retry_at: float | None = None  # None: now (allowed) or not by waiting (refused)
    agent_id: str | None = None  # a due callback goes to this agent
    caller_id: str | None = None  # the number to present (choose_caller_id)
    # A due callback: the first instant it could be dialled (its time, or the calling
    # window that opened after it), from which its agent's wait is counted.
    callback_from: float | None = None


def may_dial(lead: Lead, rules: CampaignRules, now: float) -> Decision:
    """Whether ``lead`` may be dialled at ``now`` under ``rules``."""
    if not rules.running:
        return Decision(False, Reason.CAMPAIGN_NOT_RUNNING)
    for flag, reason in (
        (lead.locked, Reason.LOCKED),
        (lead.do_not_call, Reason.DO_NOT_CALL),
        (lead.blacklisted, Reason.BLACKLISTED),
        (lead.opted_out, Reason.OPTED_OUT),
    ):
        if flag:
            return Decision(False, reason)
    try:
        zone = ZoneInfo(lead.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return Decision(False, Reason.UNKNOWN_TIME_ZONE)
    today = _local(now, zone).date()
    if rules.last_day is not None and today > rules.last_day:
        return Decision(False, Reason.OUTSIDE_DATE_RANGE)

    rule = rules.retry.get(lead.last_outcome) if lead.last_outcome else None
    rule = rule or RetryRule(delay=0.0)
    if rule.final:
        return Decision(False, Reason.FINAL_OUTCOME)
    if lead.attempts_lifetime >= _tightest(rules.max_lifetime, rule.max_lifetime):
        return Decision(False, Reason.MAX_ATTEMPTS_LIFETIME)

    callback_due = lead.callback_at is not None and lead.callback_at <= now
    not_before: list[tuple[Reason, float]] = []  # in the order they are reported
    if rules.first_day is not None and today < rules.first_day:
        opens = dt.datetime.combine(rules.first_day, dt.time(), zone).timestamp()
        not_before.append((Reason.OUTSIDE_DATE_RANGE, opens))
    abandoned = lead.abandoned_at
    if abandoned is None and lead.last_outcome is Outcome.ABANDONED:
        abandoned = lead.last_attempt_at  # an "abandoned" disposition: its attempt's time
    if abandoned is not None:
        not_before.append((Reason.ABANDONED_COOLOFF, abandoned + rules.abandoned_cooloff))
    if lead.callback_at is not None:
        not_before.append((Reason.CALLBACK_NOT_DUE, lead.callback_at))
    last = lead.last_attempt_at
    if last is not None:
        day_limit = _tightest(rules.max_per_day, rule.max_per_day)
        if _local(last, zone).date() == today and lead.attempts_today >= day_limit:
            tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
            not_before.append((Reason.MAX_ATTEMPTS_DAY, tomorrow.timestamp()))
        limit_24h = _tightest(rules.max_24h, rule.max_24h)
        if last > now - DAY and lead.attempts_24h >= limit_24h:
            # At the limit, the oldest call leaving the window frees one; over it, the
            # others' times are unknown and only the last call's day is sure.
            oldest = lead.oldest_attempt_24h_at
            at_limit = oldest is not None and lead.attempts_24h == limit_24h
            since = oldest if at_limit and oldest is not None else last
            not_before.append((Reason.MAX_ATTEMPTS_24H, since + DAY))
        if lead.callback_at is None:  # a scheduled callback replaces the retry delay
            not_before.append((Reason.RETRY_DELAY, last + rule.delay))

    earliest = max([now, *(at for _, at in not_before)])
    opening = next_opening(rules, zone, earliest)
    if opening is None:  # whatever it waits for, the campaign's dates end first
        return Decision(False, Reason.NO_WINDOW)
    for reason, at in not_before:
        if at > now:
            return Decision(False, reason, opening)
    if opening > now:
        reason = Reason.HOLIDAY if today in rules.holidays else Reason.OUTSIDE_WINDOW
        return Decision(False, reason, opening)
    if callback_due:
        assert lead.callback_at is not None
        opened = next_opening(rules, zone, lead.callback_at)
        return Decision(
            True,
            Reason.CALLBACK_DUE,
            agent_id=lead.callback_agent_id,
            callback_from=now if opened is None else opened,
        )
    return Decision(True, Reason.ALLOWED)


def next_opening(rules: CampaignRules, zone: dt.tzinfo, after: float) -> float | None:
    """The first instant at or after ``after`` inside a calling window, or None.

    Skips holidays and the days outside the campaign's dates. Windows are wall-clock
    times of the lead's zone: on a day the clocks change they keep their local hours.
    """
    start = _local(after, zone)
    day = start.date()
    for _ in range(SEARCH_DAYS):
        if rules.last_day is not None and day > rules.last_day:
            return None
        if day not in rules.holidays and (rules.first_day is None or day >= rules.first_day):
            weekday = day.weekday()
            for window in sorted(rules.windows, key=lambda w: w.start):
                if weekday not in window.weekdays:
                    continue
                opens = dt.datetime.combine(day, window.start, zone).timestamp()
                closes = dt.datetime.combine(day, window.end, zone).timestamp()
                # A start in a spring-forward gap reads an hour later, maybe past the end.
                if after < closes and opens < closes:
                    return max(after, opens)
        day += dt.timedelta(days=1)
    return None


def in_window(rules: CampaignRules, zone: dt.tzinfo, at: float) -> bool:
    """Whether ``at`` lies inside a calling window on a dialling day."""
    return next_opening(rules, zone, at) == at


def _local(at: float, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, zone)


def _tightest(campaign: int, outcome: int | None) -> int:
    return campaign if outcome is None else min(campaign, outcome)


# --- caller IDs (主叫号码池) ------------------------------------------------------------


class CallerIdCapReached(DomainError):
    """Why nothing dials: every caller ID presented its daily cap of calls."""

    code = Reason.CALLER_ID_CAP.value
    status = 409
    message_zh = (
        "所有主叫号码今日外呼次数均已达到上限（每个号码每天 {cap} 次），{resumes} 后恢复外呼"
    )
    message_en = "Every caller ID has made its {cap} calls for today; dialling resumes at {resumes}"


@dataclass(frozen=True)
class CallerIdPool:
    """The numbers a campaign presents, and the calls each may present per local day."""

    numbers: tuple[str, ...] = ()
    daily_cap: int = 0  # calls per number per local calendar day; 0: no cap

    def pick(self, used_today: Mapping[str, int]) -> str | None:
        """The least-used number still under its cap; ties go to the one listed first."""
        best: str | None = None
        best_used = 0
        for number in self.numbers:
            used = used_today.get(number, 0)
            if self.daily_cap and used >= self.daily_cap:
                continue
            if best is None or used < best_used:
                best, best_used = number, used
        return best

    def room(self, used_today: Mapping[str, int]) -> int | None:
        """Calls the pool may still present today (None: no cap)."""
        if not self.daily_cap:
            return None
        return sum(max(0, self.daily_cap - used_today.get(n, 0)) for n in self.numbers)


@dataclass
class CallerIdUsage:
    """Calls presented per caller ID on the current local calendar day of ``time_zone``.

    The count starts again at local midnight. What was counted since the last
    :meth:`take_unsaved` is kept apart, per day, for the store.
    """

    time_zone: str = "UTC"
    day: dt.date | None = None
    counts: dict[str, int] = field(default_factory=dict)
    _unsaved: dict[tuple[dt.date, str], int] = field(default_factory=dict, repr=False)
    _starts: float = field(default=0.0, repr=False)  # the kept day's bounds, Unix seconds
    _ends: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._zone = ZoneInfo(self.time_zone)
        if self.day is not None:
            self._enter(self.day)

    def local_date(self, at: float) -> dt.date:
        if self._starts <= at < self._ends and self.day is not None:
            return self.day  # the common case, without a time-zone conversion
        return _local(at, self._zone).date()

    def _midnight(self, day: dt.date) -> float:
        return dt.datetime.combine(day, dt.time(), self._zone).timestamp()

    def _enter(self, day: dt.date) -> None:
        self.day, self.counts = day, {}
        self._starts = self._midnight(day)
        self._ends = self._midnight(day + dt.timedelta(days=1))

    def next_midnight(self, now: float) -> float:
        """The instant the local day after ``now``'s begins: the counts start again."""
        return self._midnight(self.local_date(now) + dt.timedelta(days=1))

    def today(self, now: float) -> Mapping[str, int]:
        """The calls of each number on the local day of ``now``."""
        if self._starts <= now < self._ends:
            return self.counts
        day = self.local_date(now)
        if self.day is not None and day < self.day:
            return {}  # an instant before the kept day: nothing known of it
        self._enter(day)
        return self.counts

    def count(self, caller_id: str, now: float) -> None:
        """One call presented ``caller_id`` at ``now``."""
        self.today(now)
        day = self.local_date(now)
        if day == self.day:
            self.counts[caller_id] = self.counts.get(caller_id, 0) + 1
        key = (day, caller_id)
        self._unsaved[key] = self._unsaved.get(key, 0) + 1

    def restore(self, day: dt.date, counts: Mapping[str, int]) -> None:
        """Add the counts of ``day`` as stored (before a restart)."""
        if self.day is None or day > self.day:
            self._enter(day)
        if day == self.day:
            for number, calls in counts.items():
                self.counts[number] = self.counts.get(number, 0) + calls

    @property
    def has_unsaved(self) -> bool:
        return bool(self._unsaved)

    def take_unsaved(self) -> dict[tuple[dt.date, str], int]:
        """The calls counted since the last call, by (local day, number); then forgets them."""
        unsaved, self._unsaved = self._unsaved, {}
        return unsaved

    def keep_unsaved(self, unsaved: Mapping[tuple[dt.date, str], int]) -> None:
        """Put back counts whose saving failed, to be saved with the next ones."""
        for key, calls in unsaved.items():
            self._unsaved[key] = self._unsaved.get(key, 0) + calls


def choose_caller_id(pool: CallerIdPool, usage: CallerIdUsage, now: float) -> Decision:
    """The caller ID the next call presents, or ``caller-id-cap`` until local midnight."""
    if not pool.numbers:
        return Decision(True, Reason.ALLOWED)
    number = pool.pick(usage.today(now))
    if number is not None:
        return Decision(True, Reason.ALLOWED, caller_id=number)
    return Decision(False, Reason.CALLER_ID_CAP, usage.next_midnight(now))
