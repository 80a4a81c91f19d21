"""Call legs name the caller ID they presented (主叫号码) on a leg to a customer or number.

The column is nullable: legs to agents' and supervisors' phones and inbound legs present
nothing of ours, and the legs written before this revision did not say (the caller ID a
campaign used then is only in the dialer's daily counts). Indexed, so the call log finds
the calls that presented a number ("who called me from 010-5800-9999?").

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_legs") as batch:
        batch.add_column(sa.Column("caller_id", sa.String(64), nullable=True))
    op.create_index("ix_call_legs_caller_id", "call_legs", ["caller_id"])


def downgrade() -> None:
    op.drop_index("ix_call_legs_caller_id", table_name="call_legs")
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_column("caller_id")
