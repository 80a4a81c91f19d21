"""One result per call (营销结果): a unique index on call_results (lead_id, call_id).

Recording a result checked for an earlier one for the call and then inserted, so two
simultaneous requests (a browser's retry while the first was still in flight, two tabs)
could both record: the database now refuses the second, and the service answers it as
a retry (the same result) or a conflict (another one). Results without a call id (NULL)
are not constrained: SQLite and PostgreSQL both treat NULLs in a unique index as
distinct.

Results recorded twice before this revision stay where a person finds them. In each
(lead, call) group the earliest row (lowest id) keeps the call id; each later one is
kept whole, with its call id rewritten to ``<call_id>#dup<id>`` (the call id cut short
at the end when the mark would not fit in 64 characters). Real call ids never hold a
``#``, so the mark is unambiguous and the index holds; the rows still show in the lead's
results and the campaign's export as before. Each rewrite is written to the audit trail
(action ``result.duplicate_marked``, target the result, actor ``system``) with the
original call id in full and the id of the row that kept it. Nothing is deleted, and the
lead's state is left as the last of the results made it: which of the two was right is
for a person to judge, not for a migration.

Downgrade drops the index only: the rewritten call ids stay rewritten (their originals
are in the audit trail, which is append-only).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "ix_call_results_lead_call"
CALL_ID_MAX = 64
DUPLICATES = sa.text(
    "SELECT r.id, r.campaign_id, r.lead_id, r.call_id, k.kept_id FROM call_results r "
    "JOIN (SELECT lead_id, call_id, MIN(id) AS kept_id FROM call_results "
    "WHERE call_id IS NOT NULL GROUP BY lead_id, call_id HAVING COUNT(*) > 1) k "
    "ON r.lead_id = k.lead_id AND r.call_id = k.call_id "
    "WHERE r.id <> k.kept_id ORDER BY r.id"
)
RESULTS = sa.table("call_results", sa.column("id", sa.Integer()), sa.column("call_id", sa.String()))
AUDIT = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer()),
    sa.column("actor_no", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target_type", sa.String()),
    sa.column("target_id", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("ip", sa.String()),
    sa.column("user_agent", sa.String()),
)


def marked(call_id: str, result_id: int) -> str:
    """The call id of a later duplicate: ``<call_id>#dup<id>``, at most 64 characters."""
    mark = f"#dup{result_id}"
    return call_id[: CALL_ID_MAX - len(mark)] + mark


def upgrade() -> None:
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    for result_id, campaign_id, lead_id, call_id, kept_id in bind.execute(DUPLICATES).all():
        renamed = marked(call_id, result_id)
        bind.execute(sa.update(RESULTS).where(RESULTS.c.id == result_id).values(call_id=renamed))
        bind.execute(
            sa.insert(AUDIT).values(
                at=now,
                actor_id=None,
                actor_no="system",
                action="result.duplicate_marked",
                target_type="result",
                target_id=str(result_id),
                outcome="ok",
                detail={
                    "campaign_id": campaign_id,
                    "lead_id": lead_id,
                    "call_id": call_id,
                    "marked_call_id": renamed,
                    "kept_result_id": kept_id,
                    "revision": revision,
                },
                ip="local",
                user_agent="",
            )
        )
    op.create_index(INDEX, "call_results", ["lead_id", "call_id"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="call_results")
