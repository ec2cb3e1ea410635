"""The parking lot: scope requests (P-n), their history, watched channels, watch offers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "parking_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("requester_id", sa.String(32), nullable=True),
        sa.Column("why", sa.Text(), nullable=False, server_default=""),
        sa.Column("parked_by", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("channel_private", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("permalink", sa.String(500), nullable=True),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("estimate_rounds.id"), nullable=True),
        sa.Column("reach", sa.Float(), nullable=True),
        sa.Column("impact", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("effort", sa.Float(), nullable=True),
        sa.Column("rice", sa.Float(), nullable=True),
        sa.Column("moscow", sa.String(8), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("timeline_days", sa.Float(), nullable=True),
        sa.Column("deferred_until", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(32), nullable=True),
        _ts("decided_at", True),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("team_id", "number", name="uq_parking_items_team_number"),
    )
    op.create_index("ix_parking_items_team_state", "parking_items", ["team_id", "state", "rice"])
    op.create_table(
        "parking_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("parking_items.id"), nullable=False),
        sa.Column("actor_id", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
        _ts("created_at"),
    )
    op.create_index("ix_parking_events_item", "parking_events", ["item_id", "id"])
    op.create_table(
        "parking_watches",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("changed_by", sa.String(32), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "watch_offers",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        _ts("offered_at"),
    )


def downgrade() -> None:
    for table in ("watch_offers", "parking_watches", "parking_events", "parking_items"):
        op.drop_table(table)
