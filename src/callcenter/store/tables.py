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
    Text,
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
        Index("ix_call_records_campaign_created", "campaign_id", "created_at"),
        Index("ix_call_records_lead_id", "lead_id"),
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
    # A campaign's call: its campaign and lead (null: inbound or a manual call). No foreign
    # keys: a call record is history, written blind by the CDR sink, and outlives both.
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    lead_id: Mapped[int | None] = mapped_column(BigId)


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
    # A leg to a customer or a number: the caller ID it presented (null: an agent's or a
    # supervisor's phone, an inbound leg, or a leg written before revision 0007).
    caller_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # A leg to a customer or a number: the trunk it went out on, by its configured name
    # (null: a phone's or an inbound leg, a leg on no trunk, or one written before 0009).
    trunk: Mapped[str | None] = mapped_column(String(64), index=True)


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


# -- campaigns (外呼任务), leads (名单), blacklist, products, scripts, dispositions, results --


class CampaignRow(Base):
    """A campaign: its lifecycle state, its working settings and the last approved version."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(
            "state IN ('draft', 'submitted', 'approved', 'running', 'paused', 'finished')",
            name="state",
        ),
        CheckConstraint("revision IN ('none', 'draft', 'submitted')", name="revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(256), default="")
    state: Mapped[str] = mapped_column(String(16))
    # A change to an approved campaign waiting for its own approval: none, draft, submitted.
    revision: Mapped[str] = mapped_column(String(16), default="none")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)  # 0: never approved
    author_id: Mapped[int | None] = mapped_column(Integer)  # last editor of the working copy
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CampaignVersionRow(Base):
    """An approved, frozen copy of a campaign's settings, script and lead lists."""

    __tablename__ = "campaign_versions"
    __table_args__ = (
        Index("ix_campaign_versions_campaign_version", "campaign_id", "version", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(Integer)
    approved_by: Mapped[int | None] = mapped_column(Integer)
    approved_by_no: Mapped[str] = mapped_column(String(20), default="")
    approved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LeadListRow(Base):
    """One imported file of leads, attached to a campaign."""

    __tablename__ = "lead_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    lead_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_no: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LeadRow(Base):
    """A number to call, with what the pre-dial policy needs to know about it."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_campaign_phone", "campaign_id", "phone", unique=True),
        # The dialer's query: a campaign's open leads, never-tried and oldest-tried first.
        Index("ix_leads_dial", "campaign_id", "status", "last_attempt_at"),
        Index("ix_leads_callback", "campaign_id", "callback_at"),
        Index("ix_leads_list_id", "list_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lead_lists.id", ondelete="CASCADE"))
    row_no: Mapped[int] = mapped_column(Integer, default=0)
    phone: Mapped[str] = mapped_column(String(32))  # E.164
    region: Mapped[str] = mapped_column(String(8), default="")
    carrier: Mapped[str] = mapped_column(String(64), default="")
    number_type: Mapped[str] = mapped_column(String(32), default="")
    time_zone: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="new")
    attempts_today: Mapped[int] = mapped_column(Integer, default=0)
    attempts_24h: Mapped[int] = mapped_column(Integer, default=0)
    attempts_lifetime: Mapped[int] = mapped_column(Integer, default=0)
    oldest_attempt_24h_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_disposition: Mapped[str | None] = mapped_column(String(32))
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    callback_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    callback_agent_id: Mapped[int | None] = mapped_column(Integer)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class LeadImportJobRow(Base):
    """A lead file being imported (or done): its progress and its counts."""

    __tablename__ = "lead_import_jobs"
    __table_args__ = (CheckConstraint("state IN ('running', 'done', 'failed')", name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    blocked_by_reason: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(String(512), default="")
    created_by_no: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class LeadImportErrorRow(Base):
    """A rejected row of an import: its row number and why (the downloadable report)."""

    __tablename__ = "lead_import_errors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("lead_import_jobs.id", ondelete="CASCADE"), index=True
    )
    row_no: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(64), default="")
    message_zh: Mapped[str] = mapped_column(String(256), default="")
    message_en: Mapped[str] = mapped_column(String(256), default="")


class BlacklistRow(Base):
    """A number never to call (黑名单 / do-not-call / opted out), why and from where."""

    __tablename__ = "blacklist"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('blacklist', 'do_not_call', 'opt_out', 'complaint')", name="reason"
        ),
        CheckConstraint("source IN ('manual', 'import', 'disposition', 'ivr')", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(256), default="")
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    added_by_no: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ProductRow(Base):
    """A product (产品) and the attributes an agent fills in when it is sold."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(256), default="")
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ScriptRow(Base):
    """A marketing script (营销脚本) with {lead.x} and {product.x} fields."""

    __tablename__ = "scripts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DispositionRow(Base):
    """A call result an agent may record (呼叫结果), its flags and its retry outcome."""

    __tablename__ = "dispositions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CallResultRow(Base):
    """What an agent recorded for a call to a lead (营销结果)."""

    __tablename__ = "call_results"
    __table_args__ = (
        Index("ix_call_results_campaign_at", "campaign_id", "created_at"),
        Index("ix_call_results_lead_id", "lead_id"),
        # One result per call (0008); results without a call (NULL) are not constrained.
        Index("ix_call_results_lead_call", "lead_id", "call_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    call_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    agent_no: Mapped[str] = mapped_column(String(20), default="")
    disposition_id: Mapped[int] = mapped_column(
        ForeignKey("dispositions.id", ondelete="RESTRICT"), index=True
    )
    disposition_code: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    product_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(String(1000), default="")
    callback_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    callback_agent_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


# -- tables kept in modules of their own, registered on Base here --------------------------

from callcenter.store import dialer_tables as dialer_tables  # noqa: E402
