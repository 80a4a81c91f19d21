"""Call legs name the trunk (中继) they were dialled on, on a leg to a customer or number.

The trunk is the name the trunk configuration gives it (``sip.trunks`` / ``sim.trunks``):
the one least-cost routing chose for the call, or the one the SIP switch took for a
number dialled without naming one (its first, the default). A call that failed over is one call per
attempt, each with its leg on its own trunk and its own end (``congestion`` for a 503,
``cancelled`` for a trunk that did not answer in its setup time), so the records show
which trunk refused and which one carried the call.

The column is nullable: legs to agents' and supervisors' phones and inbound legs went
out on no trunk of ours, nor did a leg to a ``sip:`` URI, and the legs written before
this revision did not say. Indexed, so the call
log finds the calls that used a trunk (a carrier's bill in dispute).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_legs") as batch:
        batch.add_column(sa.Column("trunk", sa.String(64), nullable=True))
    op.create_index("ix_call_legs_trunk", "call_legs", ["trunk"])


def downgrade() -> None:
    op.drop_index("ix_call_legs_trunk", table_name="call_legs")
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_column("trunk")
