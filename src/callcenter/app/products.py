"""产品属性 / products and the attributes an agent fills in when recording a sale.

An attribute has a key (used in scripts as ``{product.key}`` and in exports as a
column), a label, a type (text, number, choice, date), whether it is required, the
choices of a choice attribute, and an optional default. :func:`check_values` validates
what an agent entered against a product's attributes and returns the clean values.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from callcenter.app.audit import Actor
from callcenter.app.crud import commit_change, ensure_unique, get_row
from callcenter.app.validation import check_text, flush_unique, utc_now
from callcenter.errors import InUse, InvalidInput
from callcenter.store.tables import CallResultRow, CampaignRow, CampaignVersionRow, ProductRow
from callcenter.store.uow import UnitOfWork

VIEW = "product.view"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
MAX_ATTRIBUTES = 50


class AttributeType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"
    DATE = "date"


def _bad(field: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(field=field, reason_zh=zh, reason_en=en)


def check_attributes(attributes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate attribute definitions; return them in their stored form."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise _bad("attributes", f"最多 {MAX_ATTRIBUTES} 个属性", f"at most {MAX_ATTRIBUTES}")
    seen: set[str] = set()
    clean = []
    for item in attributes:
        key = str(item.get("key", ""))
        if not re.fullmatch(KEY_PATTERN, key):
            raise _bad("attributes", f"属性标识无效：{key}", f"bad attribute key: {key}")
        if key in seen:
            raise _bad("attributes", f"属性标识重复：{key}", f"duplicate attribute key: {key}")
        seen.add(key)
        try:
            kind = AttributeType(item.get("type", "text"))
        except ValueError:
            raise _bad("attributes", f"属性类型无效：{key}", f"bad attribute type: {key}") from None
        choices = [check_text("choices", str(c)) for c in item.get("choices") or []]
        if kind is AttributeType.CHOICE and not choices:
            raise _bad("attributes", f"选项属性 {key} 没有选项", f"choice attribute {key} has none")
        if kind is not AttributeType.CHOICE and choices:
            raise _bad("attributes", f"只有选项属性可设选项：{key}", f"only choices have: {key}")
        if "" in choices or len(set(choices)) < len(choices):
            raise _bad(
                "attributes",
                f"选项属性 {key} 有空白或重复的选项",
                f"choice attribute {key} has a blank or repeated choice",
            )
        attribute = {
            "key": key,
            "label": check_text("label", str(item.get("label") or "")) or key,
            "type": str(kind),
            "required": bool(item.get("required", False)),
            "choices": choices,
            "default": "",
        }
        default = item.get("default")
        if default not in (None, ""):
            attribute["default"] = str(_value(attribute, default))
        clean.append(attribute)
    return clean


def check_values(
    attributes: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
) -> dict[str, Any]:
    """What an agent entered, checked against the product's attributes."""
    known = {a["key"]: a for a in attributes}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise _bad(unknown[0], f"产品没有属性 {unknown[0]}", f"the product has no {unknown[0]}")
    clean: dict[str, Any] = {}
    for key, attribute in known.items():
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if attribute["required"]:
                raise _bad(
                    key, f"{attribute['label']} 为必填项", f"{attribute['label']} is required"
                )
            continue
        clean[key] = _value(attribute, value)
    return clean


def _value(attribute: Mapping[str, Any], value: Any) -> Any:
    key, kind = attribute["key"], AttributeType(attribute["type"])
    name = attribute.get("label") or key  # the agent reads the label, not the key
    if kind is AttributeType.NUMBER:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _bad(key, f"{name} 须为数字", f"{name} must be a number") from None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise _bad(key, f"{name} 须为数字", f"{name} must be a number")
        return value
    if not isinstance(value, str) or len(value) > 500:
        raise _bad(key, f"{name} 须为不超过 500 字的文本", f"{name} must be text (500 at most)")
    value = check_text(key, value)
    if kind is AttributeType.DATE:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise _bad(
                key, f"{name} 须为日期 YYYY-MM-DD", f"{name} must be a YYYY-MM-DD date"
            ) from None
    if kind is AttributeType.CHOICE and value not in attribute["choices"]:
        choices = "、".join(attribute["choices"])
        raise _bad(
            key,
            f"{name} 不在可选项中（{choices}）",
            f"{name} is not one of the choices ({', '.join(attribute['choices'])})",
        )
    return value


class ProductService:
    async def list_products(self, uow: UnitOfWork) -> list[ProductRow]:
        return list(await uow.session.scalars(select(ProductRow).order_by(ProductRow.name)))

    async def get(self, uow: UnitOfWork, product_id: int) -> ProductRow:
        return await get_row(uow, ProductRow, product_id, kind="product")

    async def create(
        self,
        uow: UnitOfWork,
        actor: Actor,
        *,
        name: str,
        description: str,
        attributes: Sequence[Mapping[str, Any]],
    ) -> ProductRow:
        name = _name(name)
        await ensure_unique(uow, ProductRow.name, name, ids=ProductRow.id, kind="product")
        now = utc_now()
        row = ProductRow(
            name=name,
            description=check_text("description", description),
            attributes=check_attributes(attributes),
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await flush_unique(uow, "product", name)
        await commit_change(uow, actor, "product", "create", row.id, {"name": name}, view=VIEW)
        return row

    async def update(
        self,
        uow: UnitOfWork,
        actor: Actor,
        product_id: int,
        *,
        name: str | None,
        description: str | None,
        attributes: Sequence[Mapping[str, Any]] | None,
    ) -> ProductRow:
        row = await self.get(uow, product_id)
        if name is not None:
            name = _name(name)
            await ensure_unique(
                uow, ProductRow.name, name, ids=ProductRow.id, kind="product", other_than=row.id
            )
            row.name = name
        if description is not None:
            row.description = check_text("description", description)
        if attributes is not None:
            row.attributes = check_attributes(attributes)
        row.updated_at = utc_now()
        await flush_unique(uow, "product", row.name)
        await commit_change(uow, actor, "product", "update", row.id, {"name": row.name}, view=VIEW)
        return row

    async def delete(self, uow: UnitOfWork, actor: Actor, product_id: int) -> None:
        row = await self.get(uow, product_id)
        used = await uow.session.scalar(
            select(CallResultRow.id).where(CallResultRow.product_id == product_id).limit(1)
        )
        if used is not None or await named_by_a_campaign(uow, "product_ids", product_id):
            raise InUse(kind="product", id=product_id)
        await uow.session.delete(row)
        await commit_change(
            uow, actor, "product", "delete", product_id, {"name": row.name}, view=VIEW
        )


async def named_by_a_campaign(uow: UnitOfWork, setting: str, item_id: int) -> bool:
    """Whether a campaign's settings list ``item_id`` under ``setting`` ("product_ids"),
    in its working copy or in the version approved and dialled now."""
    for settings in await uow.session.scalars(select(CampaignRow.settings)):
        if item_id in settings.get(setting, []):
            return True
    approved = select(CampaignVersionRow.settings).join(
        CampaignRow,
        (CampaignRow.id == CampaignVersionRow.campaign_id)
        & (CampaignRow.version == CampaignVersionRow.version),
    )
    for snapshot in await uow.session.scalars(approved):
        if item_id in snapshot["settings"].get(setting, []):
            return True
    return False


def _name(name: str) -> str:
    name = check_text("name", name)
    if not name:
        raise _bad("name", "名称不能为空", "name is empty")
    return name
