"""Scheduled work (due_work), workspace schedule settings, decision reviews and their asks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "due_work",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(200)),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("team_id", "key", name="uq_due_work_team_key"),
    )
    op.create_index("ix_due_work_sweep", "due_work", ["state", "due_at"])
    op.create_index("ix_due_work_subject", "due_work", ["team_id", "kind", "subject_id"])
    op.create_table(
        "workspace_settings",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("timezone", sa.String(64)),
        sa.Column("review_hour", sa.Integer, nullable=False, server_default="10"),
        sa.Column("nudge_after_days", sa.Integer, nullable=False, server_default="3"),
        sa.Column("max_nudges", sa.Integer, nullable=False, server_default="2"),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("nudges_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(16)),
        sa.Column("outcome_by", sa.String(32)),
        sa.Column("outcome_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("decision_id", "round", name="uq_reviews_decision_round"),
    )
    op.create_index("ix_reviews_team_state", "reviews", ["team_id", "state"])
    op.create_table(
        "review_asks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("concern", sa.Text, nullable=False, server_default=""),
        sa.Column("channel_id", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("what_happened", sa.Text, nullable=False, server_default=""),
        sa.Column("evidence", sa.Text, nullable=False, server_default=""),
        sa.Column("learned", sa.Text, nullable=False, server_default=""),
        sa.Column("dissent_answer", sa.String(16)),
        sa.Column("answered_at", TS),
        sa.UniqueConstraint("review_id", "user_id", "role", name="uq_review_asks"),
    )
    op.create_index("ix_review_asks_review_id", "review_asks", ["review_id"])


def downgrade() -> None:
    for table in ("review_asks", "reviews", "workspace_settings", "due_work"):
        op.drop_table(table)
