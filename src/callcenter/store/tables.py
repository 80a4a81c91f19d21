"""The relational schema, shared by SQLite and PostgreSQL.

Alembic migrations under ``migrations/versions`` create exactly this schema; a test
compares the two, so a model change without a migration fails.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Time,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both dialects (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# BigInteger ids that are still INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AgentRow(Base):
    """A person who logs in: agent, team leader or administrator (工号 + password)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_no: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RoleRow(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(256), default="")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RolePermissionRow(Base):
    __tablename__ = "role_permissions"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class AgentRoleRow(Base):
    __tablename__ = "agent_roles"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class GroupRow(Base):
    """An agent group (坐席组)."""

    __tablename__ = "agent_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MembershipRow(Base):
    """An agent in a group, optionally only within a daily time window on some weekdays."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        CheckConstraint("skill_level BETWEEN 1 AND 10", name="skill_level_range"),
        Index("ix_group_memberships_agent_group", "agent_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("agent_groups.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    # Local wall-clock window; both None means at all hours. start > end wraps midnight.
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    # ISO weekdays on which the membership applies, "1" = Monday ... "7" = Sunday.
    weekdays: Mapped[str] = mapped_column(String(7), default="1234567")
    skill_level: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AuthTokenRow(Base):
    """A browser session or an integration's bearer token; only its SHA-256 is stored."""

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint("kind IN ('session', 'api')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")


class AuditRow(Base):
    """One privileged action. Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_no", "actor_no"),
        Index("ix_audit_log_action", "action"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_no: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(8), default="ok")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")


# -- call detail records (话单), written by the CTI core as calls move ---------------------


class CallRow(Base):
    """A call as it stands; upserted at every milestone, so a crash loses at most a step."""

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_created_at", "created_at"),
        Index("ix_call_records_agent_no", "agent_no"),
        Index("ix_call_records_open", "ended_at"),
    )

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    caller: Mapped[str] = mapped_column(String(64))
    dialled: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    queue_id: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    offered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    bridged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    agent_no: Mapped[str | None] = mapped_column(String(20))
    agents: Mapped[list[str]] = mapped_column(JSON, default=list)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    cause: Mapped[str | None] = mapped_column(String(32))
    end_reason: Mapped[str | None] = mapped_column(String(32))


class LegRow(Base):
    __tablename__ = "call_legs"

    leg_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    dest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    agent_no: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    cause: Mapped[str | None] = mapped_column(String(32))


class AgentStateRow(Base):
    """The agent state log (流水账): when, from, to, why, on which call."""

    __tablename__ = "agent_state_log"
    __table_args__ = (Index("ix_agent_state_log_agent_at", "agent_no", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    agent_no: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64), default="")
    call_id: Mapped[str | None] = mapped_column(String(64))


class AbandonRow(Base):
    """The abandoned-call log (呼损): entered, left, waited, why."""

    __tablename__ = "abandoned_calls"
    __table_args__ = (Index("ix_abandoned_calls_left_at", "left_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    queue_id: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    left_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    waited_seconds: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(32))
    overflow_to: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
