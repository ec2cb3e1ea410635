"""The weekly digest's subscriptions; ADR files in and out (a decision's source file and hash,
sections the bot has no field for, names matching no Slack user, amend/relates links); the
user cache keeps a display name for exported files.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("paused_reason", sa.String(64), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False, server_default="channel"),
        sa.Column("weekday", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("hour", sa.Integer(), nullable=False, server_default="9"),
        sa.Column("minute", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("sections", sa.String(200), nullable=False),
        sa.Column("quiet_line", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("configured_by", sa.String(32), nullable=False),
        _ts("configured_at"),
        _ts("created_at"),
        sa.UniqueConstraint("team_id", "channel_id", name="uq_digest_channel"),
    )
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("source_path", sa.String(500), nullable=True))
        batch.add_column(sa.Column("source_hash", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("extra_sections", sa.Text(), nullable=False, server_default="[]")
        )
        batch.add_column(sa.Column("named_people", sa.Text(), nullable=False, server_default="{}"))
    op.create_index(
        "uq_decisions_team_source", "decisions", ["team_id", "source_path"], unique=True
    )
    op.create_table(
        "decision_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("other_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("decision_id", "other_id", "kind", name="uq_decision_links"),
    )
    op.create_index("ix_decision_links_other", "decision_links", ["other_id"])
    with op.batch_alter_table("slack_users") as batch:
        batch.add_column(sa.Column("name", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slack_users") as batch:
        batch.drop_column("name")
    op.drop_index("ix_decision_links_other", table_name="decision_links")
    op.drop_table("decision_links")
    op.drop_index("uq_decisions_team_source", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        for name in ("named_people", "extra_sections", "source_hash", "source_path"):
            batch.drop_column(name)
    op.drop_table("digest_subscriptions")
