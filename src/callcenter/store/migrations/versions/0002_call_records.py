"""Call detail records: calls, legs, the agent state log (流水账), abandoned calls (呼损).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("dialled", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("queue_id", sa.String(64), nullable=True),
        sa.Column("queued_at", UTC, nullable=True),
        sa.Column("offered_at", UTC, nullable=True),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("bridged_at", UTC, nullable=True),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("agent_no", sa.String(20), nullable=True),
        sa.Column("agents", sa.JSON(), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("cause", sa.String(32), nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("call_id", name="pk_call_records"),
    )
    op.create_index("ix_call_records_created_at", "call_records", ["created_at"])
    op.create_index("ix_call_records_agent_no", "call_records", ["agent_no"])
    op.create_index("ix_call_records_open", "call_records", ["ended_at"])
    op.create_table(
        "call_legs",
        sa.Column("leg_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("dest", sa.String(64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("agent_no", sa.String(20), nullable=True),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("cause", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("leg_id", name="pk_call_legs"),
    )
    op.create_index("ix_call_legs_call_id", "call_legs", ["call_id"])
    op.create_table(
        "agent_state_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("agent_no", sa.String(20), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_state_log"),
    )
    op.create_index("ix_agent_state_log_agent_at", "agent_state_log", ["agent_no", "at"])
    op.create_table(
        "abandoned_calls",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("entered_at", UTC, nullable=False),
        sa.Column("left_at", UTC, nullable=False),
        sa.Column("waited_seconds", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("overflow_to", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_abandoned_calls"),
    )
    op.create_index("ix_abandoned_calls_left_at", "abandoned_calls", ["left_at"])


def downgrade() -> None:
    for table in ("abandoned_calls", "agent_state_log", "call_legs", "call_records"):
        op.drop_table(table)
