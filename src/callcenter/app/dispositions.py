"""呼叫结果 / dispositions: the results an agent may record, and what each one does.

A disposition has flags (sale, contact, do_not_call, callback, answering_machine,
wrong_number, final) and the retry outcome of the pre-dial policy it stands for
(:class:`~callcenter.domain.dialing_policy.Outcome`): "busy, call again in ten
minutes", "sale, never again". :meth:`DispositionService.ensure_defaults` gives a new
site a usable set on request.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from sqlalchemy import select

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.crud import commit_change, ensure_unique, get_row
from callcenter.app.products import named_by_a_campaign
from callcenter.app.validation import check_text, flush_unique, utc_now
from callcenter.domain.dialing_policy import Outcome
from callcenter.errors import InUse, InvalidInput
from callcenter.store.tables import CallResultRow, DispositionRow
from callcenter.store.uow import UnitOfWork

VIEW = "disposition.view"


class Flag(enum.StrEnum):
    SALE = "sale"
    CONTACT = "contact"
    DO_NOT_CALL = "do_not_call"
    CALLBACK = "callback"
    ANSWERING_MACHINE = "answering_machine"
    WRONG_NUMBER = "wrong_number"
    FINAL = "final"


# A new site's dispositions: code, name, flags, outcome.
DEFAULTS: tuple[tuple[str, str, tuple[Flag, ...], Outcome], ...] = (
    ("sale", "成交 / Sale", (Flag.SALE, Flag.CONTACT, Flag.FINAL), Outcome.SALE),
    ("not_interested", "无意向 / Not interested", (Flag.CONTACT, Flag.FINAL), Outcome.ANSWERED),
    ("callback", "预约回访 / Call back", (Flag.CONTACT, Flag.CALLBACK), Outcome.ANSWERED),
    (
        "do_not_call",
        "拒绝再联系 / Do not call",
        (Flag.CONTACT, Flag.DO_NOT_CALL, Flag.FINAL),
        Outcome.ANSWERED,
    ),
    (
        "answering_machine",
        "语音信箱 / Answering machine",
        (Flag.ANSWERING_MACHINE,),
        Outcome.MACHINE,
    ),
    (
        "wrong_number",
        "号码错误 / Wrong number",
        (Flag.WRONG_NUMBER, Flag.FINAL),
        Outcome.INVALID_NUMBER,
    ),
    ("no_answer", "无人接听 / No answer", (), Outcome.NO_ANSWER),
    ("busy", "占线 / Busy", (), Outcome.BUSY),
)


# Flags that close the lead or block its number, which no callback can then reach.
_ENDS_A_CALLBACK = (Flag.DO_NOT_CALL, Flag.FINAL, Flag.WRONG_NUMBER)


def check_flags(flags: Iterable[str]) -> list[str]:
    clean = []
    for flag in flags:
        try:
            clean.append(str(Flag(flag)))
        except ValueError:
            raise InvalidInput(
                field="flags", reason_zh=f"未知标记 {flag}", reason_en=f"unknown flag {flag}"
            ) from None
    clean = sorted(set(clean))
    ending = [flag for flag in _ENDS_A_CALLBACK if flag in clean]
    if Flag.CALLBACK in clean and ending:
        raise InvalidInput(
            field="flags",
            reason_zh=f"预约回访与 {ending[0]} 矛盾：回访的名单不会再被拨打",
            reason_en=f"callback contradicts {ending[0]}: the lead would never be called back",
        )
    return clean


def check_outcome(outcome: str) -> str:
    try:
        return str(Outcome(outcome))
    except ValueError:
        raise InvalidInput(
            field="outcome", reason_zh=f"未知结果 {outcome}", reason_en=f"unknown outcome {outcome}"
        ) from None


class DispositionService:
    async def list_dispositions(self, uow: UnitOfWork) -> list[DispositionRow]:
        return list(await uow.session.scalars(select(DispositionRow).order_by(DispositionRow.id)))

    async def get(self, uow: UnitOfWork, disposition_id: int) -> DispositionRow:
        return await get_row(uow, DispositionRow, disposition_id, kind="disposition")

    async def ensure_defaults(self, uow: UnitOfWork, actor: Actor) -> int:
        """Add the default dispositions whose codes are missing; return how many."""
        present = set(await uow.session.scalars(select(DispositionRow.code)))
        missing = [d for d in DEFAULTS if d[0] not in present]
        if not missing:
            return 0
        now = utc_now()
        for code, name, flags, outcome in missing:
            uow.session.add(
                DispositionRow(
                    code=code,
                    name=name,
                    flags=sorted(flags),
                    outcome=outcome,
                    enabled=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        await uow.session.flush()
        audit.record(uow, actor, "disposition.defaults", detail={"count": len(missing)})
        uow.emit("disposition.changed", {"added": len(missing)}, VIEW)
        await uow.commit()
        return len(missing)

    async def create(
        self,
        uow: UnitOfWork,
        actor: Actor,
        *,
        code: str,
        name: str,
        flags: Iterable[str],
        outcome: str,
        enabled: bool,
    ) -> DispositionRow:
        await ensure_unique(
            uow, DispositionRow.code, code, ids=DispositionRow.id, kind="disposition"
        )
        now = utc_now()
        row = DispositionRow(
            code=code,
            name=_name(name),
            flags=check_flags(flags),
            outcome=check_outcome(outcome),
            enabled=enabled,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await flush_unique(uow, "disposition", code)
        await commit_change(uow, actor, "disposition", "create", row.id, {"code": code}, view=VIEW)
        return row

    async def update(
        self,
        uow: UnitOfWork,
        actor: Actor,
        disposition_id: int,
        *,
        name: str | None,
        flags: Iterable[str] | None,
        outcome: str | None,
        enabled: bool | None,
    ) -> DispositionRow:
        row = await self.get(uow, disposition_id)
        if name is not None:
            row.name = _name(name)
        if flags is not None:
            row.flags = check_flags(flags)
        if outcome is not None:
            row.outcome = check_outcome(outcome)
        if enabled is not None:
            row.enabled = enabled
        row.updated_at = utc_now()
        await commit_change(
            uow, actor, "disposition", "update", row.id, {"code": row.code}, view=VIEW
        )
        return row

    async def delete(self, uow: UnitOfWork, actor: Actor, disposition_id: int) -> None:
        """Delete a disposition no result and no campaign uses; a used one can only be
        disabled."""
        row = await self.get(uow, disposition_id)
        used = await uow.session.scalar(
            select(CallResultRow.id).where(CallResultRow.disposition_id == row.id).limit(1)
        )
        if used is not None or await named_by_a_campaign(uow, "disposition_ids", row.id):
            raise InUse(kind="disposition", id=disposition_id)
        code = row.code
        await uow.session.delete(row)
        await commit_change(
            uow, actor, "disposition", "delete", disposition_id, {"code": code}, view=VIEW
        )


def _name(name: str) -> str:
    name = check_text("name", name)
    if not name:
        raise InvalidInput(field="name", reason_zh="名称不能为空", reason_en="name is empty")
    return name
