"""The audit trail: who did what, to what, when and from where. Append-only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, func, select

from callcenter.store.tables import AuditRow
from callcenter.store.uow import UnitOfWork

Outcome = Literal["ok", "denied", "failed"]


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or the system) behind an action, and where the request came from."""

    agent_id: int | None
    agent_no: str
    ip: str = ""
    user_agent: str = ""


SYSTEM = Actor(agent_id=None, agent_no="system", ip="local")


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    target_type: str = "",
    target_id: str | int = "",
    detail: dict[str, Any] | None = None,
    outcome: Outcome = "ok",
) -> AuditRow:
    """Append a row in the caller's transaction, so the action and its record commit together."""
    row = AuditRow(
        at=dt.datetime.now(dt.UTC),
        actor_id=actor.agent_id,
        actor_no=actor.agent_no[:20],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:64],
        outcome=outcome,
        detail=detail or {},
        ip=actor.ip[:64],
        user_agent=actor.user_agent[:256],
    )
    uow.session.add(row)
    uow.emit(
        "audit.appended",
        {
            "action": action,
            "actor_no": row.actor_no,
            "target_type": target_type,
            "target_id": row.target_id,
            "outcome": outcome,
        },
        "audit.view",
    )
    return row


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor_no: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 100
    offset: int = 0


def _filtered(query: AuditQuery) -> Select[AuditRow]:
    statement = select(AuditRow)
    if query.actor_no:
        statement = statement.where(AuditRow.actor_no == query.actor_no)
    if query.action:
        # A prefix finds a family: "agent." matches agent.create, agent.update ...
        statement = statement.where(AuditRow.action.startswith(query.action, autoescape=True))
    if query.target_type:
        statement = statement.where(AuditRow.target_type == query.target_type)
    if query.target_id:
        statement = statement.where(AuditRow.target_id == query.target_id)
    if query.since:
        statement = statement.where(AuditRow.at >= query.since)
    if query.until:
        statement = statement.where(AuditRow.at < query.until)
    return statement


async def search(uow: UnitOfWork, query: AuditQuery) -> tuple[list[AuditRow], int]:
    statement = _filtered(query)
    total = await uow.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await uow.session.scalars(
        statement.order_by(AuditRow.id.desc()).limit(query.limit).offset(query.offset)
    )
    return list(rows), int(total or 0)
