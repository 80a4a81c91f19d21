"""The dialer's records that outlive a restart: each campaign's compliance ledger per
local day, and the calls each caller ID presented per local day.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_ledger_days",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("live", sa.Integer(), nullable=False),
        sa.Column("abandoned", sa.Integer(), nullable=False),
        sa.Column("abandoned_without_message", sa.Integer(), nullable=False),
        sa.Column("amd_human", sa.Integer(), nullable=False),
        sa.Column("amd_machine", sa.Integer(), nullable=False),
        sa.Column("amd_unsure", sa.Integer(), nullable=False),
        sa.Column("amd_false_positives", sa.Integer(), nullable=False),
        sa.CheckConstraint("abandoned <= live", name="ck_campaign_ledger_days_abandoned_of_live"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_campaign_ledger_days_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "day", name="pk_campaign_ledger_days"),
    )
    op.create_table(
        "campaign_caller_id_days",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("caller_id", sa.String(length=32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_campaign_caller_id_days_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "day", "caller_id", name="pk_campaign_caller_id_days"
        ),
    )


def downgrade() -> None:
    op.drop_table("campaign_caller_id_days")
    op.drop_table("campaign_ledger_days")
