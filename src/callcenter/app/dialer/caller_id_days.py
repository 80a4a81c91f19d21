"""Calls per caller ID per local day across every campaign (主叫号码跨任务日用量).

Theory of operation
-------------------
A caller ID's daily cap is a limit on the number, not on a campaign: carriers and
regulators count the calls a number places in a day, whichever campaign placed them,
and a number flagged for too many is blocked for all of them. So the calls that count
against a campaign's ``caller_id_daily_cap`` are the number's calls that day from every
campaign.

:class:`CallerIdDays` is that count: one per (local day, number) for the whole process.
The platform (:class:`~callcenter.app.dialing.Dialing`) gives the same one to every
dialer it creates; a dialer built without one (the benchmark, a test) has its own.
:class:`CampaignCallerIds` is a campaign's view of it, the
:class:`~callcenter.domain.dialing_policy.CallerIdUsage` its dialer decides with: its
:meth:`~CampaignCallerIds.today` is every campaign's calls per number on the campaign's
local day (what :func:`~callcenter.domain.dialing_policy.choose_caller_id` and the
pool's room look at), while its own counts (``counts``, and the increments not yet
written) stay the campaign's, for the campaign's rows in the store and its reports.
Every call the campaign presents a number for (its own, a preview accepted, a manual
click, a callback) is counted in both; a call placed for an agent is held in the shared
count from its route until the engine has placed it (or given back if it could not),
so no other campaign takes the same last call in between.

Which day: the count is keyed by the local date of the campaign that placed the call,
and a campaign checks the count of its own local date. Stored rows carry exactly that
key (``campaign_caller_id_days``: campaign, local date, number), so the count the
process keeps and the count read back after a restart are the same numbers. For
campaigns in one time zone (all of China is on Asia/Shanghai) this is the number's
calendar day exactly. When campaigns in different zones share a number, each counts
the calls every campaign made on a date of the same name: in the hours where the zones'
dates differ, a call counts into the date of the campaign that made it, so within one
campaign's local day the number may also have presented the other campaigns' calls of
those hours that they dated the day before or after. Counting every overlapping day of
the other zones instead would close that gap but needs each stored row's zone (not
stored) and would keep a number idle for most of a day after another zone's busy one.

A number is counted under its E.164 form when it is one (``region``: the platform's, for
numbers written without a country code), so a number written "01058001234" in one
campaign's pool and "+861058001234" in another's is one number; the campaigns' own
counts and rows keep it as their pool writes it.

Loading: before a campaign dials on a local date, :meth:`CallerIdDays.load` reads that
date once for the process, every campaign's stored rows summed
(:meth:`~callcenter.app.dialer.records.DialerRecords.caller_id_day`); from then on the
process counts the date's calls in memory as they are placed (and the dialers write
them to their own rows). Every path that counts a call loads its date first, so no call
is counted twice. Dates older than :data:`KEPT_DAYS` before the newest are forgotten.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from callcenter.app.dialer.records import DialerRecords
from callcenter.domain.dialing_policy import CallerIdUsage, Reason
from callcenter.domain.errors import DomainError
from callcenter.domain.phone import PhoneInfo, PhoneNormaliser

__all__ = ["KEPT_DAYS", "CallerIdDays", "CampaignCallerIds", "SharedCapReached"]

log = logging.getLogger(__name__)

KEPT_DAYS: Final = 3  # dates kept before the newest: time zones are at most 26 hours apart


class SharedCapReached(DomainError):
    """Why nothing dials: every caller ID of the pool is at its cap, counting the calls
    every campaign made with it today."""

    code = Reason.CALLER_ID_CAP.value
    status = 409
    message_zh = (
        "所有主叫号码今日外呼次数均已达到上限（每个号码每天 {cap} 次，所有外呼任务合计，"
        "其中其他外呼任务 {others} 次），{resumes} 后恢复外呼"
    )
    message_en = (
        "Every caller ID has made its {cap} calls for today across all campaigns "
        "({others} of them by other campaigns); dialling resumes at {resumes}"
    )


class _DayCalls(Mapping[str, int]):
    """One date's calls per number, looked up by the number in any of its forms."""

    def __init__(self, calls: dict[str, int], key: Callable[[str], str]) -> None:
        self._calls = calls
        self._key = key

    def __getitem__(self, number: str) -> int:
        return self._calls[self._key(number)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._calls)

    def __len__(self) -> int:
        return len(self._calls)


class CallerIdDays:
    """Every campaign's calls per (local date, caller ID) in this process; see the module
    docstring. ``records``: where the dates are read from (None: memory only);
    ``region``: the country of numbers written without a country code."""

    def __init__(self, records: DialerRecords | None = None, region: str = "CN") -> None:
        self.records = records
        self._days: dict[dt.date, dict[str, int]] = {}
        self._loaded: set[dt.date] = set()
        self._lock = asyncio.Lock()
        self._phones = PhoneNormaliser(region, cache_size=0)
        self._keys: dict[str, str] = {}  # a pool's numbers are few: each is read once

    def key(self, number: str) -> str:
        """The number as counted: its E.164 form, or as written when it is not one."""
        found = self._keys.get(number)
        if found is None:
            info = self._phones.normalise(number)
            whole = isinstance(info, PhoneInfo) and not info.extension
            found = info.e164 if isinstance(info, PhoneInfo) and whole else number
            self._keys[number] = found
        return found

    async def load(self, day: dt.date) -> None:
        """Add ``day``'s stored calls of every campaign, once (before any is counted)."""
        if day in self._loaded:
            return
        async with self._lock:
            if day in self._loaded:
                return  # loaded while this one waited
            stored: Mapping[str, int] = {}
            if self.records is not None:
                stored = await self.records.caller_id_day(day)
            for number, n in stored.items():
                self.add(day, number, n)
            self._loaded.add(day)
            self._forget_before(max(self._loaded) - dt.timedelta(days=KEPT_DAYS))
            if stored:
                log.info("caller IDs' calls of %s read back: %s", day, dict(sorted(stored.items())))

    def on(self, day: dt.date) -> Mapping[str, int]:
        """Every campaign's calls per number on ``day`` (what its caps are checked against),
        by the number in any of its forms."""
        return _DayCalls(self._days.setdefault(day, {}), self.key)

    def add(self, day: dt.date, number: str, calls: int = 1) -> None:
        """Count ``calls`` more (fewer, when negative: a call held and not placed)."""
        counts = self._days.setdefault(day, {})
        key = self.key(number)
        left = counts.get(key, 0) + calls
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)

    def _forget_before(self, oldest: dt.date) -> None:
        for day in [d for d in self._days if d < oldest]:
            del self._days[day]
        self._loaded = {d for d in self._loaded if d >= oldest}


@dataclass
class CampaignCallerIds(CallerIdUsage):
    """A campaign's calls per caller ID, decided on with every campaign's (``shared``).

    ``counts`` and the unsaved increments are the campaign's own; :meth:`today` is the
    shared count of the campaign's local day.
    """

    shared: CallerIdDays = field(default_factory=CallerIdDays)

    def today(self, now: float) -> Mapping[str, int]:
        """Every campaign's calls of each number on the campaign's local day of ``now``."""
        super().today(now)  # the campaign's own day moves on at its local midnight
        day = self.local_date(now)
        if self.day is not None and day < self.day:
            return {}  # an instant before the kept day: nothing known of it
        return self.shared.on(day)

    def own(self, now: float) -> Mapping[str, int]:
        """This campaign's calls of each number on its local day of ``now``."""
        return super().today(now)

    def others(self, numbers: Iterable[str], now: float) -> int:
        """The calls other campaigns made with ``numbers`` on the local day of ``now``."""
        used, own = self.today(now), self.own(now)
        mine: dict[str, int] = {}
        for number in numbers:
            key = self.shared.key(number)
            mine[key] = mine.get(key, 0) + own.get(number, 0)
        return sum(max(0, used.get(key, 0) - calls) for key, calls in mine.items())

    def count(self, caller_id: str, now: float, *, held: bool = False) -> None:
        """One call presented ``caller_id`` at ``now``; ``held``: it was :meth:`hold` at
        ``now`` while it was set up, and is in every campaign's count already."""
        super().count(caller_id, now)
        if not held:
            self.shared.add(self.local_date(now), caller_id)

    def hold(self, caller_id: str, now: float) -> None:
        """A call being set up presents ``caller_id``: every campaign's count has it at
        once, so no other call takes its place meanwhile; :meth:`count` it with ``held``
        once placed, or :meth:`release` it."""
        self.shared.add(self.local_date(now), caller_id)

    def release(self, caller_id: str, now: float) -> None:
        """A call held at ``now`` was not placed after all."""
        self.shared.add(self.local_date(now), caller_id, -1)

    async def load(self, now: float) -> None:
        """Read back every campaign's stored calls of the local day of ``now``, once."""
        await self.shared.load(self.local_date(now))
