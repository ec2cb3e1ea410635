"""Decision health (issue 25): forecasts scored against outcomes, doors, and the times a
decision was accepted and ended and a block held it, so a period's flow is counted in SQL.

``accepted_at`` and ``closed_at`` are filled from the history each decision already has
(``decision_events``: the first change to accepted, or a decision recorded as accepted; the
first supersede, rejection or deprecation). Blocks standing now become open spans from the
time their stance was last set; blocks resolved before this migration are not recovered.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("door", sa.String(8), nullable=True))
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_decisions_team_created", "decisions", ["team_id", "created_at"])
    op.create_index("ix_decisions_team_accepted", "decisions", ["team_id", "accepted_at"])
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.add_column(sa.Column("app_id", sa.String(32), nullable=True))
    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.Float(), nullable=True),
        sa.Column("brier", sa.Float(), nullable=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("reviews.id"), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("decision_id", "user_id", name="uq_forecasts_decision_user"),
    )
    op.create_index("ix_forecasts_team_user", "forecasts", ["team_id", "user_id", "state"])
    op.create_index("ix_forecasts_decision", "forecasts", ["decision_id"])
    op.create_table(
        "decision_blocks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
    )
    op.create_index("ix_decision_blocks_team_placed", "decision_blocks", ["team_id", "placed_at"])
    op.create_index("ix_decision_blocks_decision", "decision_blocks", ["decision_id", "user_id"])
    # history written by storage.decisions.record_event: json.dumps with its default separators
    op.execute(
        """
        UPDATE decisions SET accepted_at = (
            SELECT min(e.created_at) FROM decision_events e
            WHERE e.decision_id = decisions.id
              AND ((e.kind = 'status_changed' AND e.detail LIKE '%"to": "accepted"%')
                OR (e.kind = 'created' AND e.detail LIKE '%"status": "accepted"%'))
        )
        """
    )
    op.execute(
        """
        UPDATE decisions SET closed_at = (
            SELECT min(e.created_at) FROM decision_events e
            WHERE e.decision_id = decisions.id
              AND (e.kind = 'superseded'
                OR (e.kind = 'status_changed' AND (e.detail LIKE '%"to": "rejected"%'
                                                OR e.detail LIKE '%"to": "deprecated"%')))
        )
        WHERE status IN ('rejected', 'superseded', 'deprecated')
        """
    )
    op.execute(
        """
        INSERT INTO decision_blocks (team_id, decision_id, user_id, placed_at)
        SELECT s.team_id, s.decision_id, s.user_id, s.updated_at FROM stances s
        JOIN decisions d ON d.id = s.decision_id
        WHERE s.kind = 'block' AND d.status = 'proposed'
        """
    )


def downgrade() -> None:
    op.drop_index("ix_decision_blocks_decision", table_name="decision_blocks")
    op.drop_index("ix_decision_blocks_team_placed", table_name="decision_blocks")
    op.drop_table("decision_blocks")
    op.drop_index("ix_forecasts_decision", table_name="forecasts")
    op.drop_index("ix_forecasts_team_user", table_name="forecasts")
    op.drop_table("forecasts")
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.drop_column("app_id")
    op.drop_index("ix_decisions_team_accepted", table_name="decisions")
    op.drop_index("ix_decisions_team_created", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("accepted_at")
        batch.drop_column("door")
