"""Campaigns (外呼任务) and their versions, lead lists and leads, import jobs, the
blacklist, products, scripts, dispositions and call results.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blacklist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("added_by_no", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(
            "reason IN ('blacklist', 'do_not_call', 'opt_out', 'complaint')",
            name="ck_blacklist_reason",
        ),
        sa.CheckConstraint(
            "source IN ('manual', 'import', 'disposition', 'ivr')", name="ck_blacklist_source"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_blacklist"),
        sa.UniqueConstraint("phone", name="uq_blacklist_phone"),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(
            "revision IN ('none', 'draft', 'submitted')", name="ck_campaigns_revision"
        ),
        sa.CheckConstraint(
            "state IN ('draft', 'submitted', 'approved', 'running', 'paused', 'finished')",
            name="ck_campaigns_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.UniqueConstraint("name", name="uq_campaigns_name"),
    )
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dispositions"),
        sa.UniqueConstraint("code", name="uq_dispositions_code"),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=256), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("name", name="uq_products_name"),
    )
    op.create_table(
        "scripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scripts"),
        sa.UniqueConstraint("name", name="uq_scripts_name"),
    )
    op.create_table(
        "campaign_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("approved_by_no", sa.String(length=20), nullable=False),
        sa.Column("approved_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_campaign_versions_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_versions"),
    )
    op.create_index(
        "ix_campaign_versions_campaign_version",
        "campaign_versions",
        ["campaign_id", "version"],
        unique=True,
    )
    op.create_table(
        "lead_import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("blocked_by_reason", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(length=512), nullable=False),
        sa.Column("created_by_no", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'failed')", name="ck_lead_import_jobs_state"
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_lead_import_jobs_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lead_import_jobs"),
    )
    op.create_index("ix_lead_import_jobs_campaign_id", "lead_import_jobs", ["campaign_id"])
    op.create_table(
        "lead_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("lead_count", sa.Integer(), nullable=False),
        sa.Column("created_by_no", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_lead_lists_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lead_lists"),
    )
    op.create_index("ix_lead_lists_campaign_id", "lead_lists", ["campaign_id"])
    op.create_table(
        "lead_import_errors",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("message_zh", sa.String(length=256), nullable=False),
        sa.Column("message_en", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["lead_import_jobs.id"],
            name="fk_lead_import_errors_job_id_lead_import_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lead_import_errors"),
    )
    op.create_index("ix_lead_import_errors_job_id", "lead_import_errors", ["job_id"])
    op.create_table(
        "leads",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("number_type", sa.String(length=32), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts_today", sa.Integer(), nullable=False),
        sa.Column("attempts_24h", sa.Integer(), nullable=False),
        sa.Column("attempts_lifetime", sa.Integer(), nullable=False),
        sa.Column("oldest_attempt_24h_at", UTC, nullable=True),
        sa.Column("last_attempt_at", UTC, nullable=True),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        sa.Column("last_disposition", sa.String(length=32), nullable=True),
        sa.Column("abandoned_at", UTC, nullable=True),
        sa.Column("callback_at", UTC, nullable=True),
        sa.Column("callback_agent_id", sa.Integer(), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_leads_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lead_lists.id"], name="fk_leads_list_id_lead_lists", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_leads"),
    )
    op.create_index("ix_leads_callback", "leads", ["campaign_id", "callback_at"])
    op.create_index("ix_leads_campaign_phone", "leads", ["campaign_id", "phone"], unique=True)
    op.create_index("ix_leads_dial", "leads", ["campaign_id", "status", "last_attempt_at"])
    op.create_index("ix_leads_list_id", "leads", ["list_id"])
    op.create_table(
        "call_results",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", BIG_ID, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("agent_no", sa.String(length=20), nullable=False),
        sa.Column("disposition_id", sa.Integer(), nullable=False),
        sa.Column("disposition_code", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("product_values", sa.JSON(), nullable=False),
        sa.Column("notes", sa.String(length=1000), nullable=False),
        sa.Column("callback_at", UTC, nullable=True),
        sa.Column("callback_agent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_call_results_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["disposition_id"],
            ["dispositions.id"],
            name="fk_call_results_disposition_id_dispositions",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name="fk_call_results_lead_id_leads", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_call_results_product_id_products",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_call_results"),
    )
    op.create_index("ix_call_results_campaign_at", "call_results", ["campaign_id", "created_at"])
    op.create_index("ix_call_results_lead_id", "call_results", ["lead_id"])
    op.create_index("ix_call_results_disposition_id", "call_results", ["disposition_id"])
    op.create_index("ix_call_results_product_id", "call_results", ["product_id"])


def downgrade() -> None:
    op.drop_table("call_results")
    op.drop_table("leads")
    op.drop_table("lead_import_errors")
    op.drop_table("lead_lists")
    op.drop_table("lead_import_jobs")
    op.drop_table("campaign_versions")
    op.drop_table("scripts")
    op.drop_table("products")
    op.drop_table("dispositions")
    op.drop_table("campaigns")
    op.drop_table("blacklist")
