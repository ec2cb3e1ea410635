"""Decisions that do not stall (issue 26): a proposed decision may have a decide-by date, and
the nudge DMs sent about it keep where they landed (``decide_by_nudges``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("decide_by", sa.Date(), nullable=True))
    op.create_table(
        "decide_by_nudges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("decide_by", sa.Date(), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_decide_by_nudges_decision_id", "decide_by_nudges", ["decision_id"], unique=False
    )
    op.create_index(
        "ix_decide_by_nudges_message",
        "decide_by_nudges",
        ["team_id", "channel_id", "message_ts"],
    )
    # the App Home's calibration chart: its file, reused until the figures change
    op.create_table(
        "home_charts",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("home_charts")
    op.drop_index("ix_decide_by_nudges_message", table_name="decide_by_nudges")
    op.drop_index("ix_decide_by_nudges_decision_id", table_name="decide_by_nudges")
    op.drop_table("decide_by_nudges")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("decide_by")
