"""Call records name the campaign (外呼任务) and the lead of a campaign's call.

Both columns are nullable: inbound and manual calls have neither, and so do the records
written before this revision (nothing in them says which campaign a call was for).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("call_records") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lead_id", BIG_ID, nullable=True))
    op.create_index(
        "ix_call_records_campaign_created", "call_records", ["campaign_id", "created_at"]
    )
    op.create_index("ix_call_records_lead_id", "call_records", ["lead_id"])


def downgrade() -> None:
    op.drop_index("ix_call_records_lead_id", table_name="call_records")
    op.drop_index("ix_call_records_campaign_created", table_name="call_records")
    with op.batch_alter_table("call_records") as batch:
        batch.drop_column("lead_id")
        batch.drop_column("campaign_id")
