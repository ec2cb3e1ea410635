"""Slash commands that made something, by trigger id: a replayed command makes nothing twice.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "command_invocations",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("trigger_id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_command_invocations_created", "command_invocations", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_command_invocations_created", table_name="command_invocations")
    op.drop_table("command_invocations")
