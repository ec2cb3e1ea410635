"""`/estimate`: rounds, their tasks and invitees, hidden estimates, and a round's history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "estimate_rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("facilitator_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("channel_private", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("post_error", sa.String(200), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("deadline_at", True),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column(
            "previous_round_id", sa.Integer(), sa.ForeignKey("estimate_rounds.id"), nullable=True
        ),
        sa.Column("result", sa.Text(), nullable=False, server_default=""),
        _ts("revealed_at", True),
        sa.Column("revealed_by", sa.String(32), nullable=True),
        sa.Column("closed_note", sa.String(200), nullable=False, server_default=""),
        sa.Column("actual", sa.Float(), nullable=True),
        sa.Column("actual_by", sa.String(32), nullable=True),
        _ts("actual_at", True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("team_id", "number", name="uq_estimate_rounds_team_number"),
    )
    op.create_index("ix_estimate_rounds_team_state", "estimate_rounds", ["team_id", "state"])
    op.create_table(
        "estimate_tasks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("estimate_rounds.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("round_id", "position", name="uq_estimate_tasks"),
    )
    op.create_index("ix_estimate_tasks_round_id", "estimate_tasks", ["round_id"])
    op.create_table(
        "estimate_invites",
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("estimate_rounds.id"), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
    )
    op.create_table(
        "estimates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("estimate_rounds.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("ranges", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("familiarity", sa.String(16), nullable=False),
        sa.Column("assumptions", sa.Text(), nullable=False, server_default=""),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("round_id", "user_id", name="uq_estimates_round_user"),
    )
    op.create_index("ix_estimates_round_id", "estimates", ["round_id"])
    op.create_table(
        "estimate_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("estimate_rounds.id"), nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
        _ts("created_at"),
    )
    op.create_index("ix_estimate_events_round", "estimate_events", ["round_id", "id"])


def downgrade() -> None:
    for table in (
        "estimate_events",
        "estimates",
        "estimate_invites",
        "estimate_tasks",
        "estimate_rounds",
    ):
        op.drop_table(table)
