"""营销脚本 / marketing scripts: text with ``{lead.x}`` and ``{product.x}`` fields.

:func:`render` fills a script for one lead (its custom fields, and ``phone``,
``region``, ``carrier``) and optionally one product (``name``, ``description`` and its
attributes' defaults). A field with no value stays as written and is listed in
``missing``, so the agent sees the gap rather than a blank. Only ``{lead.x}`` and
``{product.x}`` are recognised; every other brace is plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from callcenter.app.audit import Actor
from callcenter.app.crud import commit_change, ensure_unique, get_row
from callcenter.app.validation import check_text, flush_unique, utc_now
from callcenter.errors import InUse, InvalidInput, NotFound
from callcenter.store.tables import CampaignRow, LeadRow, ProductRow, ScriptRow
from callcenter.store.uow import UnitOfWork

VIEW = "script.view"
MAX_BODY = 20_000
# A field's name is a list column's title as written ("车型（品牌）", "Car Model"): any
# text of one line without braces that does not start with a blank. Doubled braces, as
# other template languages write them ({{lead.name}}), are taken whole.
FIELD = re.compile(r"\{(\{)?(lead|product)\.([^{}\s][^{}\n]{0,63})\}(?(1)\})")


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: list[str]


def lead_fields(lead: LeadRow) -> dict[str, Any]:
    return {
        **lead.fields,
        "phone": lead.phone,
        "region": lead.region,
        "carrier": lead.carrier,
    }


def product_fields(product: ProductRow) -> dict[str, Any]:
    fields: dict[str, Any] = {a["key"]: a.get("default", "") for a in product.attributes}
    return {**fields, "name": product.name, "description": product.description}


def render(body: str, lead: Mapping[str, Any], product: Mapping[str, Any]) -> Rendered:
    """Substitute the fields; unknown or empty ones stay and are listed."""
    missing: list[str] = []
    sources = {"lead": lead, "product": product}

    def fill(match: re.Match[str]) -> str:
        value = sources[match.group(2)].get(match.group(3))
        if value is None or value == "":
            missing.append(match.group(0))
            return match.group(0)
        return str(value)

    return Rendered(FIELD.sub(fill, body), list(dict.fromkeys(missing)))


class ScriptService:
    async def list_scripts(self, uow: UnitOfWork) -> list[ScriptRow]:
        return list(await uow.session.scalars(select(ScriptRow).order_by(ScriptRow.name)))

    async def get(self, uow: UnitOfWork, script_id: int) -> ScriptRow:
        return await get_row(uow, ScriptRow, script_id, kind="script")

    async def create(self, uow: UnitOfWork, actor: Actor, *, name: str, body: str) -> ScriptRow:
        name = _name(name)
        await ensure_unique(uow, ScriptRow.name, name, ids=ScriptRow.id, kind="script")
        now = utc_now()
        row = ScriptRow(name=name, body=_body(body), created_at=now, updated_at=now)
        uow.session.add(row)
        await flush_unique(uow, "script", name)
        await commit_change(uow, actor, "script", "create", row.id, {"name": name}, view=VIEW)
        return row

    async def update(
        self, uow: UnitOfWork, actor: Actor, script_id: int, *, name: str | None, body: str | None
    ) -> ScriptRow:
        """Change a script; approved campaigns keep the text frozen in their version."""
        row = await self.get(uow, script_id)
        if name is not None:
            name = _name(name)
            await ensure_unique(
                uow, ScriptRow.name, name, ids=ScriptRow.id, kind="script", other_than=row.id
            )
            row.name = name
        if body is not None:
            row.body = _body(body)
        row.updated_at = utc_now()
        await flush_unique(uow, "script", row.name)
        await commit_change(uow, actor, "script", "update", row.id, {"name": row.name}, view=VIEW)
        return row

    async def delete(self, uow: UnitOfWork, actor: Actor, script_id: int) -> None:
        row = await self.get(uow, script_id)
        for settings in await uow.session.scalars(select(CampaignRow.settings)):
            if settings.get("script_id") == script_id:
                raise InUse(kind="script", id=script_id)
        await uow.session.delete(row)
        await commit_change(
            uow, actor, "script", "delete", script_id, {"name": row.name}, view=VIEW
        )

    async def render_for(
        self, uow: UnitOfWork, script_id: int, *, lead_id: int, product_id: int | None
    ) -> Rendered:
        script = await self.get(uow, script_id)
        return await self.render_body(uow, script.body, lead_id=lead_id, product_id=product_id)

    async def render_body(
        self,
        uow: UnitOfWork,
        body: str,
        *,
        lead_id: int,
        product_id: int | None,
        campaign_id: int | None = None,
    ) -> Rendered:
        """Render ``body`` for a lead (of ``campaign_id``, when given) and a product."""
        lead = await uow.session.get(LeadRow, lead_id)
        if lead is None or (campaign_id is not None and lead.campaign_id != campaign_id):
            raise NotFound(kind="lead", id=lead_id)
        product: dict[str, Any] = {}
        if product_id is not None:
            found = await uow.session.get(ProductRow, product_id)
            if found is None:
                raise NotFound(kind="product", id=product_id)
            product = product_fields(found)
        return render(body, lead_fields(lead), product)


def _body(body: str) -> str:
    if len(body) > MAX_BODY or "\x00" in body:
        raise InvalidInput(
            field="body",
            reason_zh=f"脚本最长 {MAX_BODY} 字，且不能含 NUL",
            reason_en=f"a script is at most {MAX_BODY} characters, without NUL",
        )
    return body


def _name(name: str) -> str:
    name = check_text("name", name)
    if not name:
        raise InvalidInput(field="name", reason_zh="名称不能为空", reason_en="name is empty")
    return name
