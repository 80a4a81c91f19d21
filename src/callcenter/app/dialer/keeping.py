"""What a campaign dialer keeps across restarts (外呼记录保存): reading back, writing.

Theory of operation
-------------------
:class:`RecordKeeping` is the part of
:class:`~callcenter.app.dialer.runtime.CampaignDialer` that keeps the compliance
ledger's counts and the calls per caller ID in the
:class:`~callcenter.app.dialer.records.DialerRecords`.

Before the first dial (:meth:`RecordKeeping._restore`) the stored counts are read back:
a restarted platform keeps every abandonment window and every number's count today (the
campaign's own, and every campaign's in the shared count, read once per date for the
process). A ledger handed over by a previous dialer of the campaign keeps its own counts.

After each step (:meth:`RecordKeeping._save_later`) what was counted since the last
write is written by a task of its own, so the decision never waits for the store; one
write at a time. A write that fails is counted (``save_failures``) and its increments
are kept for the next one. :meth:`RecordKeeping.save` waits for a write in progress and
writes the rest (on stop). Without records (the benchmark) the counts live in memory
only.

The class is a mixin over the dialer's own state, named by the :class:`_Dialer`
protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from callcenter.app.dialer.caller_id_days import CampaignCallerIds
from callcenter.app.dialer.records import DialerRecords
from callcenter.clock import Clock
from callcenter.domain.compliance import ComplianceLedger

__all__ = ["RecordKeeping"]

log = logging.getLogger(__name__)


class _Dialer(Protocol):
    """What keeping the records uses of the dialer."""

    clock: Clock
    records: DialerRecords | None
    ledger: ComplianceLedger
    caller_ids: CampaignCallerIds
    save_failures: int
    _restored: bool
    _saving: asyncio.Task[None] | None

    @property
    def campaign_id(self) -> str: ...
    async def _write(self) -> None: ...


class RecordKeeping:
    """The dialer's counts read back and written (mixed into the dialer)."""

    _saving: asyncio.Task[None] | None  # the write in progress, if any

    async def _restore(self: _Dialer) -> None:
        """Put back the counts the store kept (a ledger handed over keeps its own).

        Every campaign's calls of the date are read first: a read that fails has put
        back nothing, and the next try does it all once."""
        await self.caller_ids.load(self.clock.now())
        if self.records is not None:
            today = self.ledger.local_date(self.clock.now())
            saved = await self.records.load(self.campaign_id, today)
            if not self.ledger.restored:
                self.ledger.restore(saved.totals, dict(saved.days))
                log.info(
                    "campaign %s ledger restored: %d live, %d abandoned",
                    self.campaign_id,
                    saved.totals.live,
                    saved.totals.abandoned,
                )
            self.caller_ids.restore(saved.today, saved.caller_ids)
        self.ledger.restored = True
        self._restored = True

    def _save_later(self: _Dialer) -> None:
        """Write what was counted by a task of its own, unless one is writing already."""
        if self.records is None:
            self.ledger.take_unsaved()  # kept in memory only
            self.caller_ids.take_unsaved()
            return
        if not (self.ledger.has_unsaved or self.caller_ids.has_unsaved):
            return
        if self._saving is None or self._saving.done():
            self._saving = asyncio.ensure_future(self._write())

    async def save(self: _Dialer) -> None:
        """Write everything counted so far (after any write in progress)."""
        saving = self._saving
        if saving is not None and not saving.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(saving)
        if self.records is not None:
            await self._write()

    async def _write(self: _Dialer) -> None:
        assert self.records is not None
        ledger = self.ledger.take_unsaved()
        caller_ids = self.caller_ids.take_unsaved()
        if not ledger and not caller_ids:
            return
        try:
            await self.records.save(self.campaign_id, ledger, caller_ids)
        except Exception:
            self.save_failures += 1
            log.exception("campaign %s ledger not saved; kept for the next step", self.campaign_id)
            self.ledger.keep_unsaved(ledger)
            self.caller_ids.keep_unsaved(caller_ids)
