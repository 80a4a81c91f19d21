"""营销结果 / call results: what an agent records, and the result lists exported.

Recording a result checks the disposition (enabled, allowed by the campaign), the
product's attribute values and the callback, stores a :class:`CallResultRow`, and moves
the lead: a do-not-call result blocks the number at once (and for every campaign), a
final one closes the lead, a callback schedules it for the same agent or for anyone.

:meth:`ResultService.export_rows` gives the 营销结果清单 of a campaign over a date
range as columns and rows for the CSV and XLSX writers; :meth:`numbers_by_outcome`
gives the numbers whose last result was one of some dispositions or outcomes, for
reuse in a new list, and :func:`numbers_export` writes them as a lead file (phone,
name, other numbers, custom fields) that imports back as that list.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.blacklist import BlacklistService, BlockReason, BlockSource
from callcenter.app.campaigns import CampaignService
from callcenter.app.dispositions import Flag
from callcenter.app.exports import Column, ColumnKind
from callcenter.app.products import check_values
from callcenter.app.validation import check_text
from callcenter.domain.campaign import CampaignSettings, policy_rules
from callcenter.domain.dialing_policy import next_opening
from callcenter.errors import AlreadyExists, InvalidInput, NotFound
from callcenter.store.tables import (
    CallResultRow,
    DispositionRow,
    LeadRow,
    ProductRow,
)
from callcenter.store.uow import UnitOfWork

log = logging.getLogger(__name__)

EXPORT_MAX = 1_000_000
_KINDS = {
    "text": ColumnKind.TEXT,
    "choice": ColumnKind.TEXT,
    "number": ColumnKind.NUMBER,
    "date": ColumnKind.DATE,
}


@dataclass(frozen=True, slots=True)
class ResultIn:
    """What an agent submits for a call."""

    lead_id: int
    disposition_id: int
    product_id: int | None = None
    values: Mapping[str, Any] | None = None
    notes: str = ""
    callback_at: dt.datetime | None = None
    callback_to_self: bool = True  # False: any agent of the campaign may take it
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Export:
    columns: list[Column]
    rows: list[dict[str, Any]]


class AnotherResultForTheCall(AlreadyExists):
    """The call already has a different result: a second one is not recorded beside it."""

    message_zh = "这通电话已登记结果 {disposition}，不能再登记另一个：{call_id}"
    message_en = "this call already has the result {disposition}, not another: {call_id}"


def _bad(field: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(field=field, reason_zh=zh, reason_en=en)


def _check_reachable(settings: CampaignSettings, lead: LeadRow, at: dt.datetime) -> None:
    """Refuse a callback the campaign would never dial: the lead is out of attempts, or
    no calling hours are left after its time (the campaign's last day comes first)."""
    rules = policy_rules(settings, running=True)
    if lead.attempts_lifetime >= rules.max_lifetime:
        raise _bad(
            "callback_at",
            f"该名单已拨打 {lead.attempts_lifetime} 次，达到上限，回访不会拨出",
            f"the lead has had {lead.attempts_lifetime} calls, its limit: "
            "a callback would never be dialled",
        )
    try:
        zone = ZoneInfo(lead.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.time_zone)
    if next_opening(rules, zone, at.timestamp()) is None:
        last = settings.end_date.isoformat() if settings.end_date else "-"
        raise _bad(
            "callback_at",
            f"回访时间之后本任务已无可拨打时段（任务结束日期 {last}）",
            f"the campaign has no calling hours left after the callback time "
            f"(its last day is {last})",
        )


def _as_before(earlier: CallResultRow, recorded: tuple[Any, ...], call_id: str) -> CallResultRow:
    """A retried request is answered with what it recorded; another result for the same
    call is refused rather than recorded beside the first."""
    if recorded != (
        earlier.disposition_id,
        earlier.product_id,
        earlier.product_values,
        earlier.notes,
        earlier.callback_at,
    ):
        raise AnotherResultForTheCall(disposition=earlier.disposition_code, call_id=call_id)
    return earlier


def _too_many(field: str, zh: str, en: str) -> InvalidInput:
    """More rows than one export holds: refused whole rather than cut short in silence."""
    return _bad(field, f"超过 {EXPORT_MAX} 行，{zh}", f"more than {EXPORT_MAX} rows: {en}")


class ResultService:
    def __init__(self, campaigns: CampaignService, blacklist: BlacklistService) -> None:
        self.campaigns = campaigns
        self.blacklist = blacklist

    async def offered(self, uow: UnitOfWork, campaign_id: int) -> tuple[set[int], set[int]]:
        """The dispositions and products a result of the campaign may name (empty: any),
        as :meth:`record` checks them: for the desk's form to offer only those."""
        settings = await self._settings(uow, campaign_id)
        return set(settings.disposition_ids), set(settings.product_ids)

    async def _settings(self, uow: UnitOfWork, campaign_id: int) -> CampaignSettings:
        """The approved version's settings, else the working copy's."""
        version = await self.campaigns.approved(uow, campaign_id)
        if version is not None:
            return version.settings
        return CampaignSettings.parse((await self.campaigns.get(uow, campaign_id)).settings)

    async def record(
        self, uow: UnitOfWork, actor: Actor, campaign_id: int, result: ResultIn, *, now: dt.datetime
    ) -> CallResultRow:
        """Store the result and move its lead, in one transaction.

        A call has one result: the same one sent again is answered with the first, and
        another is refused. Two requests that arrive together both find none; the unique
        index on (lead, call) lets one write, and the other rolls back before it has
        touched the lead, then is answered as if it had come second.
        """
        settings = await self._settings(uow, campaign_id)
        lead = await uow.session.get(LeadRow, result.lead_id)
        if lead is None or lead.campaign_id != campaign_id:
            raise NotFound(kind="lead", id=result.lead_id)
        disposition = await uow.session.get(DispositionRow, result.disposition_id)
        if (
            disposition is None
            or not disposition.enabled
            or (settings.disposition_ids and disposition.id not in settings.disposition_ids)
        ):
            raise NotFound(kind="disposition", id=result.disposition_id)
        flags = set(disposition.flags)
        values: dict[str, Any] = {}
        if result.product_id is not None:
            product = await uow.session.get(ProductRow, result.product_id)
            if product is None or (settings.product_ids and product.id not in settings.product_ids):
                raise NotFound(kind="product", id=result.product_id)
            values = check_values(product.attributes, result.values or {})
        elif result.values:
            raise _bad("values", "填写产品属性须先选择产品", "choose a product to give its values")
        callback_at, callback_agent = self._callback(result, flags, actor, now)
        if callback_at is not None:
            _check_reachable(settings, lead, callback_at)
        notes = check_text("notes", result.notes)
        recorded = (disposition.id, result.product_id, values, notes, callback_at)
        if result.call_id is not None:
            earlier = await self._for_call(uow, lead.id, result.call_id)
            if earlier is not None:
                return _as_before(earlier, recorded, result.call_id)
        row = CallResultRow(
            campaign_id=campaign_id,
            lead_id=lead.id,
            call_id=result.call_id,
            agent_id=actor.agent_id,
            agent_no=actor.agent_no[:20],
            disposition_id=disposition.id,
            disposition_code=disposition.code,
            product_id=result.product_id,
            product_values=values,
            notes=notes,
            callback_at=callback_at,
            callback_agent_id=callback_agent,
            created_at=now,
        )
        uow.session.add(row)
        try:
            # Written before the lead is touched, so that the request refused here by the
            # unique index has nothing else to undo.
            await uow.session.flush()
        except IntegrityError:
            await uow.session.rollback()
            if result.call_id is None:
                raise
            earlier = await self._for_call(uow, result.lead_id, result.call_id)
            if earlier is None:
                raise
            log.info("result for call %s recorded by a request beside this one", result.call_id)
            return _as_before(earlier, recorded, result.call_id)
        lead.last_disposition = disposition.code
        lead.last_outcome = disposition.outcome
        lead.callback_at, lead.callback_agent_id = callback_at, callback_agent
        if Flag.DO_NOT_CALL in flags:
            lead.status = "dnc"
            await self.blacklist.block(
                uow,
                actor,
                [lead.phone],
                reason=BlockReason.DO_NOT_CALL,
                source=BlockSource.DISPOSITION,
                campaign_id=campaign_id,
            )
        elif Flag.FINAL in flags or Flag.WRONG_NUMBER in flags:
            lead.status = "done"
        elif callback_at is not None:
            lead.status = "callback"
        else:
            lead.status = "active"
        await uow.session.flush()
        audit.record(
            uow,
            actor,
            "result.record",
            target_type="lead",
            target_id=lead.id,
            detail={
                "campaign_id": campaign_id,
                "disposition": disposition.code,
                "result_id": row.id,
            },
        )
        uow.emit(
            "result.recorded",
            {"campaign_id": campaign_id, "lead_id": lead.id, "disposition": disposition.code},
            "campaign.view",
        )
        await uow.commit()
        return row

    @staticmethod
    async def _for_call(uow: UnitOfWork, lead_id: int, call_id: str) -> CallResultRow | None:
        found: CallResultRow | None = await uow.session.scalar(
            select(CallResultRow)
            .where(CallResultRow.lead_id == lead_id, CallResultRow.call_id == call_id)
            .order_by(CallResultRow.id)
            .limit(1)
        )
        return found

    @staticmethod
    def _callback(
        result: ResultIn, flags: set[str], actor: Actor, now: dt.datetime
    ) -> tuple[dt.datetime | None, int | None]:
        if Flag.CALLBACK not in flags:
            if result.callback_at is not None:
                raise _bad("callback_at", "该结果不安排回访", "this disposition takes no callback")
            return None, None
        if result.callback_at is None:
            raise _bad("callback_at", "须填写回访时间", "a callback needs its time")
        at = result.callback_at
        if at.tzinfo is None:
            raise _bad("callback_at", "回访时间须带时区", "the callback time needs its zone")
        if at <= now:
            raise _bad("callback_at", "回访时间须在将来", "the callback must be in the future")
        return at.astimezone(dt.UTC), actor.agent_id if result.callback_to_self else None

    async def for_lead(self, uow: UnitOfWork, lead_id: int) -> list[CallResultRow]:
        rows = await uow.session.scalars(
            select(CallResultRow).where(CallResultRow.lead_id == lead_id).order_by(CallResultRow.id)
        )
        return list(rows)

    async def export_rows(
        self, uow: UnitOfWork, campaign_id: int, *, since: dt.datetime, until: dt.datetime
    ) -> Export:
        """The campaign's results recorded in [since, until), one row each."""
        campaign = await self.campaigns.get(uow, campaign_id)
        if until <= since:
            raise _bad("until", "结束时间须晚于开始时间", "the range must end after it starts")
        found = (
            await uow.session.execute(
                select(CallResultRow, LeadRow, DispositionRow.name, ProductRow)
                .join(LeadRow, LeadRow.id == CallResultRow.lead_id)
                .join(DispositionRow, DispositionRow.id == CallResultRow.disposition_id)
                .outerjoin(ProductRow, ProductRow.id == CallResultRow.product_id)
                .where(
                    CallResultRow.campaign_id == campaign_id,
                    CallResultRow.created_at >= since,
                    CallResultRow.created_at < until,
                )
                .order_by(CallResultRow.id)
                .limit(EXPORT_MAX + 1)
            )
        ).all()
        if len(found) > EXPORT_MAX:
            raise _too_many("until", "请缩短日期范围", "export a shorter range")
        labels: dict[str, str] = {}
        kinds: dict[str, ColumnKind] = {}
        custom: dict[str, None] = {}
        for _, lead, _, product in found:
            custom.update(dict.fromkeys(lead.fields))
            if product is not None:
                for attribute in product.attributes:
                    labels.setdefault(attribute["key"], attribute["label"])
                    kinds.setdefault(attribute["key"], _KINDS[attribute["type"]])
        for result, _, _, _ in found:
            # Values of an attribute since removed from its product keep their column.
            for key, value in result.product_values.items():
                labels.setdefault(key, key)
                number = isinstance(value, int | float) and not isinstance(value, bool)
                kinds.setdefault(key, ColumnKind.NUMBER if number else ColumnKind.TEXT)
                if number and kinds[key] is ColumnKind.DATE:
                    # Recorded before the attribute became a date: no moment to show.
                    kinds[key] = ColumnKind.TEXT
        columns = [
            Column("recorded_at", "登记时间", "Recorded at", ColumnKind.DATETIME),
            Column("campaign", "外呼任务", "Campaign"),
            Column("phone", "号码", "Number", ColumnKind.PHONE),
            Column("region", "地区", "Region"),
            Column("carrier", "运营商", "Carrier"),
            Column("disposition", "结果代码", "Disposition"),
            Column("disposition_name", "呼叫结果", "Result"),
            Column("agent_no", "工号", "Agent"),
            Column("product", "产品", "Product"),
            *(Column(f"product.{key}", label, label, kinds[key]) for key, label in labels.items()),
            Column("notes", "备注", "Notes"),
            Column("callback_at", "回访时间", "Callback", ColumnKind.DATETIME),
            *(Column(f"lead.{key}", key, key) for key in custom),
        ]
        columns = distinct_titles(columns)
        rows = []
        for result, lead, disposition_name, product in found:
            row: dict[str, Any] = {
                "recorded_at": result.created_at,
                "campaign": campaign.name,
                "phone": lead.phone,
                "region": lead.region,
                "carrier": lead.carrier,
                "disposition": result.disposition_code,
                "disposition_name": disposition_name,
                "agent_no": result.agent_no,
                "product": product.name if product else "",
                "notes": result.notes,
                "callback_at": result.callback_at,
            }
            row.update({f"product.{k}": v for k, v in result.product_values.items()})
            row.update({f"lead.{k}": v for k, v in lead.fields.items()})
            rows.append(row)
        return Export(columns, rows)

    async def numbers_by_outcome(
        self,
        uow: UnitOfWork,
        campaign_id: int,
        *,
        dispositions: Sequence[str],
        outcomes: Sequence[str],
    ) -> list[LeadRow]:
        """Leads whose last disposition or last outcome is one of those given."""
        await self.campaigns.get(uow, campaign_id)
        if not dispositions and not outcomes:
            raise _bad("disposition", "请指定结果或结局", "give dispositions or outcomes")
        rows = await uow.session.scalars(
            select(LeadRow)
            .where(
                LeadRow.campaign_id == campaign_id,
                or_(
                    LeadRow.last_disposition.in_(list(dispositions)),
                    LeadRow.last_outcome.in_(list(outcomes)),
                ),
            )
            .order_by(LeadRow.id)
            .limit(EXPORT_MAX + 1)
        )
        leads = list(rows)
        if len(leads) > EXPORT_MAX:
            raise _too_many("disposition", "请分几次导出", "ask for fewer at a time")
        return leads


_SOURCES = {"product": ("产品", "product"), "lead": ("名单", "list")}
_OWN_FIELDS = ("name", "extra_phones")  # the import's own keys in a lead's fields


def numbers_export(leads: Sequence[LeadRow]) -> Export:
    """Leads as a lead file: its headers are those the import recognises, in either language.

    The other numbers share one cell, which the import splits again; custom fields keep
    their names (marked, should one be titled like a column here).
    """
    custom: dict[str, None] = {}
    for lead in leads:
        custom.update(dict.fromkeys(key for key in lead.fields if key not in _OWN_FIELDS))
    columns = distinct_titles(
        [
            Column("phone", "电话", "Phone", ColumnKind.PHONE),
            Column("name", "姓名", "Name"),
            Column("extra_phones", "备用电话", "Other phone", ColumnKind.PHONE),
            *(Column(f"lead.{key}", key, key) for key in custom),
        ]
    )
    rows = []
    for lead in leads:
        fields = lead.fields
        row: dict[str, Any] = {f"lead.{k}": v for k, v in fields.items() if k not in _OWN_FIELDS}
        row |= {
            "phone": lead.phone,
            "name": fields.get("name"),
            "extra_phones": fields.get("extra_phones") or None,
        }
        rows.append(row)
    return Export(columns, rows)


def distinct_titles(columns: Sequence[Column]) -> list[Column]:
    """The columns with no title twice in either language, so a reader by header loses none.

    A product attribute or a list's custom field titled like an earlier column (a list
    with its own 备注 beside the agent's notes) is marked with where it comes from, then
    numbered if that is taken too.
    """
    taken_zh: set[str] = set()
    taken_en: set[str] = set()
    out = []
    for column in columns:
        zh, en = column.zh, column.en
        if zh in taken_zh or en in taken_en:
            source_zh, source_en = _SOURCES.get(column.key.split(".", 1)[0], ("", ""))
            if source_zh:
                zh, en = f"{zh}（{source_zh}）", f"{en} ({source_en})"
            n = 2
            while zh in taken_zh or en in taken_en:
                zh, en = f"{column.zh}（{n}）", f"{column.en} ({n})"
                n += 1
            column = Column(column.key, zh, en, column.kind)
        taken_zh.add(zh)
        taken_en.add(en)
        out.append(column)
    return out
