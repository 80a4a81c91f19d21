"""The preview buttons (预览外呼：拨打、跳过) for the built-in agent and team-leader roles.

Built-in roles are created with their default codes only when missing, so that an
operator's edits are never overwritten at start-up. A release that adds a button grants
it here instead, once, to the built-in roles that have it by default: databases made
before the preview desk get the codes that new ones are created with. An operator who
removes them afterwards keeps them removed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CODES = ("preview.accept", "preview.skip")
ROLES = ("agent", "team_leader")


def upgrade() -> None:
    grant = sa.text(
        "INSERT INTO role_permissions (role_id, permission) "
        "SELECT r.id, :code FROM roles r WHERE r.code = :role AND r.builtin "
        "AND NOT EXISTS (SELECT 1 FROM role_permissions p "
        "WHERE p.role_id = r.id AND p.permission = :code)"
    )
    for role in ROLES:
        for code in CODES:
            op.execute(grant.bindparams(role=role, code=code))


def downgrade() -> None:
    revoke = sa.text(
        "DELETE FROM role_permissions WHERE permission = :code "
        "AND role_id IN (SELECT id FROM roles WHERE code = :role AND builtin)"
    )
    for role in ROLES:
        for code in CODES:
            op.execute(revoke.bindparams(role=role, code=code))
