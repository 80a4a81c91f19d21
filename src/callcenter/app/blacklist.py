"""黑名单 / the blacklist, do-not-call and opt-out list: numbers never to dial.

One row per number (E.164), with why (``reason``: blacklist, do_not_call, opt_out,
complaint) and where it came from (``source``: by hand, imported, an agent's
do-not-call disposition, the IVR's opt-out key). A file of numbers is read like a lead
file (:func:`callcenter.app.leadfile.read_leads`). Lead imports filter against it and the
lead source checks it when handing out leads, so an entry takes effect at the next
lead handed to the dialer; nothing is cached.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from callcenter.app import audit, leadfile
from callcenter.app.audit import SYSTEM, Actor
from callcenter.app.validation import Page, check_text, utc_now
from callcenter.domain.phone import PhoneError, normalise
from callcenter.errors import InvalidInput, NotFound
from callcenter.store.tables import BlacklistRow
from callcenter.store.uow import UnitOfWork

VIEW = "blacklist.view"
BULK_MAX = 10_000


class BlockReason(enum.StrEnum):
    BLACKLIST = "blacklist"
    DO_NOT_CALL = "do_not_call"
    OPT_OUT = "opt_out"
    COMPLAINT = "complaint"


class BlockSource(enum.StrEnum):
    MANUAL = "manual"
    IMPORT = "import"
    DISPOSITION = "disposition"
    IVR = "ivr"


@dataclass(frozen=True, slots=True)
class BlacklistImport:
    added: int
    already: int  # blocked before; their first entry is kept
    invalid: int  # rows whose number could not be read


def e164(raw: str, default_region: str) -> str:
    """A number as stored: E.164, or InvalidInput naming why (zh + en)."""
    found = normalise(raw, default_region)
    if isinstance(found, PhoneError):
        raise InvalidInput(field="phone", reason_zh=found.zh, reason_en=found.en)
    return found.e164


class BlacklistService:
    def __init__(self, default_region: str = "CN") -> None:
        self.default_region = default_region

    async def search(
        self, uow: UnitOfWork, *, phone: str | None, limit: int, offset: int
    ) -> Page[BlacklistRow]:
        statement = select(BlacklistRow)
        if phone:
            statement = statement.where(BlacklistRow.phone.contains(phone, autoescape=True))
        total = await uow.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await uow.session.scalars(
            statement.order_by(BlacklistRow.id.desc()).limit(limit).offset(offset)
        )
        return Page(list(rows), int(total or 0))

    async def add(
        self,
        uow: UnitOfWork,
        actor: Actor,
        phones: Iterable[str],
        *,
        reason: BlockReason,
        source: BlockSource,
        note: str = "",
        campaign_id: int | None = None,
    ) -> list[BlacklistRow]:
        """Block numbers (already-blocked ones keep their first entry); commits."""
        numbers = list(dict.fromkeys(e164(p, self.default_region) for p in phones))
        if len(numbers) > BULK_MAX:
            raise InvalidInput(
                field="phones",
                reason_zh=f"一次最多 {BULK_MAX} 个号码",
                reason_en=f"at most {BULK_MAX} numbers at once",
            )
        rows = await self.block(
            uow,
            actor,
            numbers,
            reason=reason,
            source=source,
            note=check_text("note", note),
            campaign_id=campaign_id,
        )
        await uow.commit()
        return rows

    async def block(
        self,
        uow: UnitOfWork,
        actor: Actor,
        numbers: list[str],
        *,
        reason: BlockReason,
        source: BlockSource,
        note: str = "",
        campaign_id: int | None = None,
    ) -> list[BlacklistRow]:
        """Block E.164 numbers in the caller's transaction (no commit)."""
        existing = {
            row.phone: row
            for row in await uow.session.scalars(
                select(BlacklistRow).where(BlacklistRow.phone.in_(numbers))
            )
        }
        now = utc_now()
        rows = []
        for number in numbers:
            row = existing.get(number)
            if row is None:
                row = BlacklistRow(
                    phone=number,
                    reason=reason,
                    source=source,
                    note=note[:256],
                    campaign_id=campaign_id,
                    added_by_no=actor.agent_no[:20],
                    created_at=now,
                )
                uow.session.add(row)
            rows.append(row)
        await uow.session.flush()
        added = [n for n in numbers if n not in existing]
        if added:
            audit.record(
                uow,
                actor,
                "blacklist.add",
                target_type="blacklist",
                target_id=added[0] if len(added) == 1 else f"{len(added)} numbers",
                detail={
                    "count": len(added),
                    "reason": str(reason),
                    "source": str(source),
                    "campaign_id": campaign_id,
                },
            )
            uow.emit("blacklist.changed", {"added": len(added)}, VIEW)
        return rows

    async def import_file(
        self, uow: UnitOfWork, actor: Actor, data: bytes, filename: str, *, reason: BlockReason
    ) -> BlacklistImport:
        """Block every number of a CSV or XLSX file (read like a lead file); commits."""
        numbers, invalid = await asyncio.to_thread(self._numbers, data, filename)
        before = set(await self.reasons_for(uow, numbers))
        for start in range(0, len(numbers), BULK_MAX):
            await self.block(
                uow,
                actor,
                numbers[start : start + BULK_MAX],
                reason=reason,
                source=BlockSource.IMPORT,
                note=check_text("note", filename)[:256],
            )
        await uow.commit()
        return BlacklistImport(
            added=len(numbers) - len(before), already=len(before), invalid=invalid
        )

    def _numbers(self, data: bytes, filename: str) -> tuple[list[str], int]:
        numbers: list[str] = []
        invalid = 0
        for event in leadfile.read_leads(data, filename, default_region=self.default_region):
            if isinstance(event, leadfile.LeadAccepted):
                numbers.append(event.phone.e164)
            elif isinstance(event, leadfile.RowRejected):
                invalid += 1
        return numbers, invalid

    async def opt_out(self, uow: UnitOfWork, phone: str, *, campaign_id: int | None) -> None:
        """The IVR's opt-out key: the number is blocked from the next lead handed out."""
        await self.block(
            uow,
            SYSTEM,
            [e164(phone, self.default_region)],
            reason=BlockReason.OPT_OUT,
            source=BlockSource.IVR,
            campaign_id=campaign_id,
        )
        await uow.commit()

    async def remove(self, uow: UnitOfWork, actor: Actor, entry_id: int) -> None:
        row = await uow.session.get(BlacklistRow, entry_id)
        if row is None:
            raise NotFound(kind="blacklist_entry", id=entry_id)
        phone, reason = row.phone, row.reason
        await uow.session.delete(row)
        audit.record(
            uow,
            actor,
            "blacklist.remove",
            target_type="blacklist",
            target_id=phone,
            detail={"reason": reason},
        )
        uow.emit("blacklist.changed", {"removed": 1}, VIEW)
        await uow.commit()

    async def reasons_for(self, uow: UnitOfWork, numbers: Iterable[str]) -> dict[str, str]:
        """The block reason of each given number that is blocked."""
        wanted = list(numbers)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            rows = await uow.session.execute(
                select(BlacklistRow.phone, BlacklistRow.reason).where(BlacklistRow.phone.in_(chunk))
            )
            found.update({phone: reason for phone, reason in rows.all()})
        return found

    async def all_reasons(self, uow: UnitOfWork) -> dict[str, str]:
        """Every blocked number and its reason (for filtering an import in one pass)."""
        rows = await uow.session.execute(select(BlacklistRow.phone, BlacklistRow.reason))
        return {phone: reason for phone, reason in rows.all()}
