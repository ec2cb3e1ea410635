"""Estimates people recognise: numbers kept as typed, quick rounds, the team's T-shirt sizes,
and the digest of what a round's message last showed (an update that changes nothing is
skipped).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("estimate_rounds") as batch:
        batch.add_column(sa.Column("mode", sa.String(8), nullable=False, server_default="range"))
        batch.add_column(sa.Column("message_digest", sa.String(64), nullable=True))
    with op.batch_alter_table("estimates") as batch:
        batch.add_column(sa.Column("typed", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "estimate_sizes",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("scale", sa.String(8), primary_key=True),
        sa.Column("size", sa.String(4), primary_key=True),
        sa.Column("best", sa.Float(), nullable=False),
        sa.Column("likely", sa.Float(), nullable=False),
        sa.Column("worst", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("estimate_sizes")
    with op.batch_alter_table("estimates") as batch:
        batch.drop_column("typed")
    with op.batch_alter_table("estimate_rounds") as batch:
        batch.drop_column("message_digest")
        batch.drop_column("mode")
