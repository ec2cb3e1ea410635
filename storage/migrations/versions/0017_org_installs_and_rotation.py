"""Tokens that stay fresh, and Enterprise Grid (issue 24): an installation may be org-wide
(one bot token for every workspace of an Enterprise Grid org), and the workspaces an org
install serves are remembered so outbox work of a workspace finds its org's token.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("installations") as batch:
        batch.add_column(
            sa.Column(
                "is_enterprise_install", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "org_workspaces",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_org_workspaces_enterprise", "org_workspaces", ["enterprise_id"])


def downgrade() -> None:
    op.drop_index("ix_org_workspaces_enterprise", table_name="org_workspaces")
    op.drop_table("org_workspaces")
    with op.batch_alter_table("installations") as batch:
        batch.drop_column("is_enterprise_install")
