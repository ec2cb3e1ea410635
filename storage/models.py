"""SQLModel tables. Every table carries ``team_id`` and every query filters by it.

Timestamps are timezone-aware UTC. Search columns (SQLite FTS5 table, Postgres tsvector) are
created by the migrations, not declared here, because they differ per dialect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database. Postgres keeps offsets itself; SQLite stores
    text without one, so values are converted to UTC on the way in and marked UTC on the way
    out (a naive value is refused: its zone would be a guess)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(**kw: object) -> object:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)  # type: ignore[arg-type]


class DecisionStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    DEPRECATED = "deprecated"


class Role(StrEnum):
    DECIDER = "decider"
    CONSULTED = "consulted"
    INFORMED = "informed"


class StanceKind(StrEnum):
    AGREE = "agree"
    DISAGREE_AND_COMMIT = "disagree_and_commit"
    BLOCK = "block"


class Counter(SQLModel, table=True):
    """Per-workspace human numbers (ADR-7, E-3, P-12), allocated atomically."""

    __tablename__ = "counters"
    team_id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=16)
    value: int = 0


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_decisions_team_number"),
        Index("ix_decisions_team_status", "team_id", "status"),
        # a decision imported from a file remembers it (`decisionbot import`, migration 0010)
        Index("uq_decisions_team_source", "team_id", "source_path", unique=True),
        # the weekly digest: a channel's decisions by time (migration 0010)
        Index("ix_decisions_team_channel_created", "team_id", "channel_id", "created_at"),
        # an export links supersede chains both ways (migration 0011); most rows have neither
        Index(
            "ix_decisions_supersedes",
            "supersedes_id",
            postgresql_where=sql_text("supersedes_id IS NOT NULL"),
            sqlite_where=sql_text("supersedes_id IS NOT NULL"),
        ),
        Index(
            "ix_decisions_superseded_by",
            "superseded_by_id",
            postgresql_where=sql_text("superseded_by_id IS NOT NULL"),
            sqlite_where=sql_text("superseded_by_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    number: int
    title: str = Field(max_length=200)
    context: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    options: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    decision: str = Field(sa_column=Column(Text, nullable=False))
    consequences: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    success_criteria: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=DecisionStatus.PROPOSED, max_length=16)
    # Normalised, space-delimited with a leading and trailing space (" db infra ") so a tag
    # filter is an exact-word LIKE on either database.
    tags: str = Field(default="", max_length=600)
    review_date: date | None = None
    channel_id: str = Field(max_length=32)
    channel_private: bool = True
    message_ts: str | None = Field(default=None, max_length=32)
    post_error: str | None = Field(default=None, max_length=200)
    author_id: str = Field(max_length=32)
    source_permalink: str | None = Field(default=None, max_length=500)
    supersedes_id: int | None = Field(default=None, foreign_key="decisions.id")
    superseded_by_id: int | None = Field(default=None, foreign_key="decisions.id")
    # ADR files (`decisionbot import`): the file it came from (relative to the imported
    # folder) and the sha256 of its text, so a second import creates nothing and reports a
    # changed file; sections the bot has no field for, kept in order as
    # JSON [[heading, body], ...]; people named in the file who match no Slack user, kept as
    # text: JSON {"decider": [...], "consulted": [...], "informed": [...]}.
    source_path: str | None = Field(default=None, max_length=500)
    source_hash: str | None = Field(default=None, max_length=64)
    extra_sections: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, default="[]", server_default="[]")
    )
    named_people: str = Field(
        default="{}", sa_column=Column(Text, nullable=False, default="{}", server_default="{}")
    )
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]

    @property
    def ref(self) -> str:
        return f"ADR-{self.number}"

    @property
    def tag_list(self) -> list[str]:
        return self.tags.split()


class DecisionMember(SQLModel, table=True):
    """A person named on a decision as decider, consulted or informed."""

    __tablename__ = "decision_members"
    __table_args__ = (
        UniqueConstraint("decision_id", "role", "user_id", name="uq_decision_members"),
        Index("ix_decision_members_user", "team_id", "user_id", "role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id", index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)


class Stance(SQLModel, table=True):
    """A person's current stance on a decision: one row per (decision, person)."""

    __tablename__ = "stances"
    __table_args__ = (
        UniqueConstraint("decision_id", "user_id", name="uq_stances_decision_user"),
        Index("ix_stances_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    user_id: str = Field(max_length=32)
    kind: str = Field(max_length=24)
    concern: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    change_my_mind: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    committed: bool = False
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]


class DecisionEvent(SQLModel, table=True):
    """Append-only history: every state change with actor and time, and what it replaced."""

    __tablename__ = "decision_events"
    __table_args__ = (Index("ix_decision_events_decision", "decision_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    actor_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _ts()  # type: ignore[assignment]


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled, so retries (X-Slack-Retry-Num) are no-ops."""

    __tablename__ = "processed_events"

    team_id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = _ts()  # type: ignore[assignment]


class ViewSubmission(SQLModel, table=True):
    """Modal submissions already recorded, by Slack's view id: pressing Submit again on the
    same modal (Slack allows it while the first answer is slow) records nothing twice."""

    __tablename__ = "view_submissions"

    team_id: str = Field(primary_key=True, max_length=32)
    view_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    created_at: datetime = _ts()  # type: ignore[assignment]


# -- scheduled work and decision reviews ("Did this decision work?") -------------------------


class WorkState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"  # a permanent Slack error: recorded, shown to a human, not retried
    CANCELLED = "cancelled"


class DueWork(SQLModel, table=True):
    """One piece of scheduled work. The table, not the timer, is the truth: run_due claims
    rows atomically with a lease, delivers, and marks them done."""

    __tablename__ = "due_work"
    __table_args__ = (
        UniqueConstraint("team_id", "key", name="uq_due_work_team_key"),
        Index("ix_due_work_sweep", "state", "due_at"),
        Index("ix_due_work_subject", "team_id", "kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    # What the work is about (a review id for follow-ups, a decision id for posts). With `key`
    # it makes the row's natural identity: scheduling the same thing twice is a no-op, not a
    # second reminder.
    subject_id: int
    key: str = Field(max_length=120)
    # Items of one lane (a channel, a thread, a DM) are delivered in order by a dispatcher;
    # None: no ordering constraint.
    lane: str | None = Field(default=None, max_length=120)
    # A coalesced item (one pending refresh per message) asked for again while in flight: on
    # completion it goes back to pending instead of done, so the newest state is delivered.
    rerun: bool = False
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    due_at: datetime = Field(sa_type=UTCDateTime)  # type: ignore[call-overload]
    state: str = Field(default=WorkState.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    lease_owner: str | None = Field(default=None, max_length=255)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]


class WorkspaceSettings(SQLModel, table=True):
    """Per-workspace schedule settings (`/adr settings ...`)."""

    __tablename__ = "workspace_settings"

    team_id: str = Field(primary_key=True, max_length=32)
    timezone: str | None = Field(default=None, max_length=64)  # None: the deciders' own
    review_hour: int = 10
    nudge_after_days: int = 3  # working days
    max_nudges: int = 2


class ReviewState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    WORKED = "worked"
    PARTLY = "partly"
    DIDNT_WORK = "didnt_work"


class DissentAnswer(StrEnum):
    YES = "yes"  # the concern materialised
    NO = "no"
    TOO_EARLY = "too_early"


class Review(SQLModel, table=True):
    """One "did this decision work?" round for a decision."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("decision_id", "round", name="uq_reviews_decision_round"),
        Index("ix_reviews_team_state", "team_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    round: int = 1
    due_at: datetime = Field(sa_type=UTCDateTime)  # type: ignore[call-overload]
    timezone: str = Field(default="UTC", max_length=64)
    state: str = Field(default=ReviewState.SCHEDULED, max_length=16)
    nudges_sent: int = 0
    outcome: str | None = Field(default=None, max_length=16)
    outcome_by: str | None = Field(default=None, max_length=32)
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    created_at: datetime = _ts()  # type: ignore[assignment]


class ReviewAsk(SQLModel, table=True):
    """A person asked in a review: the author/deciders (outcome) or a dissenter (concern)."""

    __tablename__ = "review_asks"
    __table_args__ = (UniqueConstraint("review_id", "user_id", "role", name="uq_review_asks"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    review_id: int = Field(foreign_key="reviews.id", index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)  # "owner" or "dissenter"
    concern: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    channel_id: str | None = Field(default=None, max_length=32)  # where the DM landed
    message_ts: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=16)
    what_happened: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    learned: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    dissent_answer: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]


# -- people and channels: who is an admin or a guest, who muted DMs, what a channel is -------


class SlackUser(SQLModel, table=True):
    """What Slack says about a person, cached: `users.list` once, then `user_change` /
    `team_join` events, and a `users.info` lookup (after the ack) for anyone unknown.
    A person not in this table counts as a guest and not an admin."""

    __tablename__ = "slack_users"

    team_id: str = Field(primary_key=True, max_length=32)  # the workspace that asked
    user_id: str = Field(primary_key=True, max_length=32)
    # The person's own organisation (`user.team_id`): another one means a Slack Connect
    # outsider, whose is_admin means nothing here.
    home_team_id: str | None = Field(default=None, max_length=32)
    is_admin: bool = False
    is_owner: bool = False
    is_restricted: bool = False  # multi-channel guest
    is_ultra_restricted: bool = False  # single-channel guest
    is_bot: bool = False
    deleted: bool = False
    tz: str | None = Field(default=None, max_length=64)
    # how the person is shown in exported files and charts (display name, else real name)
    name: str | None = Field(default=None, max_length=200)
    updated_at: datetime = _ts()  # type: ignore[assignment]


class SettingsManager(SQLModel, table=True):
    """People a workspace admin named as allowed to change `/adr settings`."""

    __tablename__ = "settings_managers"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    named_by: str = Field(max_length=32)
    created_at: datetime = _ts()  # type: ignore[assignment]


class UserPreference(SQLModel, table=True):
    """Per-person choices: `/adr dm off` stops reminders and informed DMs to them."""

    __tablename__ = "user_preferences"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    dms_off: bool = False
    updated_at: datetime = _ts()  # type: ignore[assignment]


class Channel(SQLModel, table=True):
    """What the bot last learned about a channel (events, or a check when it posts there)."""

    __tablename__ = "channels"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    is_private: bool = True
    is_shared: bool = False  # shared with another organisation (Slack Connect)
    is_archived: bool = False
    updated_at: datetime = _ts()  # type: ignore[assignment]


# -- /estimate: blind ranged estimates ------------------------------------------------------


class EstimateUnit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    POINTS = "points"


class ConePhase(StrEnum):
    INITIAL = "initial"  # initial concept: 0.25x - 4x
    REQUIREMENTS = "requirements"  # requirements known: 0.67x - 1.5x
    DESIGN = "design"  # design done: 0.8x - 1.25x
    BUILDING = "building"  # building: 0.9x - 1.1x


class RoundState(StrEnum):
    OPEN = "open"
    REVEALED = "revealed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Familiarity(StrEnum):
    DONE = "done"  # done it before: x1.0
    SIMILAR = "similar"  # x1.5
    NEW = "new"  # new to us: x2.5


class EstimateRound(SQLModel, table=True):
    """One `/estimate` round (E-n): estimates stay hidden until the reveal."""

    __tablename__ = "estimate_rounds"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_estimate_rounds_team_number"),
        Index("ix_estimate_rounds_team_state", "team_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    topic: str = Field(max_length=200)
    unit: str = Field(default=EstimateUnit.DAYS, max_length=8)
    phase: str = Field(default=ConePhase.INITIAL, max_length=16)
    facilitator_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    channel_private: bool = True
    thread_ts: str | None = Field(default=None, max_length=32)  # a round started in a thread
    message_ts: str | None = Field(default=None, max_length=32)
    post_error: str | None = Field(default=None, max_length=200)
    state: str = Field(default=RoundState.OPEN, max_length=16)
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    decision_id: int | None = Field(default=None, foreign_key="decisions.id")
    previous_round_id: int | None = Field(default=None, foreign_key="estimate_rounds.id")
    # At the reveal: the combined figures as computed then (JSON), so they never drift.
    result: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    revealed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    revealed_by: str | None = Field(default=None, max_length=32)  # None: automatically
    closed_note: str = Field(default="", max_length=200)
    actual: float | None = None  # in the round's unit
    actual_by: str | None = Field(default=None, max_length=32)
    actual_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]

    @property
    def ref(self) -> str:
        return f"E-{self.number}"


class EstimateTask(SQLModel, table=True):
    """A task of a round (a round without tasks has one, named after its topic)."""

    __tablename__ = "estimate_tasks"
    __table_args__ = (UniqueConstraint("round_id", "position", name="uq_estimate_tasks"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(foreign_key="estimate_rounds.id", index=True)
    position: int
    name: str = Field(max_length=200)


class EstimateInvite(SQLModel, table=True):
    """Someone invited to estimate (mentioned in the command)."""

    __tablename__ = "estimate_invites"

    round_id: int = Field(foreign_key="estimate_rounds.id", primary_key=True)
    user_id: str = Field(primary_key=True, max_length=32)
    team_id: str = Field(max_length=32)


class Estimate(SQLModel, table=True):
    """A person's estimate for a round: one row per person, replaced until the reveal."""

    __tablename__ = "estimates"
    __table_args__ = (UniqueConstraint("round_id", "user_id", name="uq_estimates_round_user"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(foreign_key="estimate_rounds.id", index=True)
    user_id: str = Field(max_length=32)
    # [[best, likely, worst], ...] per task, in the round's unit (JSON)
    ranges: str = Field(sa_column=Column(Text, nullable=False))
    confidence: int = 80  # % that the actual lands inside best..worst: 50, 80 or 90
    familiarity: str = Field(default=Familiarity.SIMILAR, max_length=16)
    assumptions: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]


class EstimateEvent(SQLModel, table=True):
    """Append-only history of a round: created, estimated (no values), revealed, cancelled,
    expired, actual."""

    __tablename__ = "estimate_events"
    __table_args__ = (Index("ix_estimate_events_round", "round_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(foreign_key="estimate_rounds.id")
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _ts()  # type: ignore[assignment]


# -- the parking lot: scope requests, parked, scored and decided -----------------------------


class ParkingState(StrEnum):
    PARKED = "parked"  # waiting for triage
    ACCEPTED = "accepted"  # let into scope (with its timeline impact)
    DEFERRED = "deferred"  # comes back to the channel on deferred_until
    DECLINED = "declined"
    DONE = "done"
    WITHDRAWN = "withdrawn"  # by the requester


class Moscow(StrEnum):
    MUST = "must"
    SHOULD = "should"
    COULD = "could"
    WONT = "wont"


class ParkingItem(SQLModel, table=True):
    """A scope request (P-n), parked from a message or `/parkinglot`."""

    __tablename__ = "parking_items"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_parking_items_team_number"),
        Index("ix_parking_items_team_state", "team_id", "state", "rice"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    request: str = Field(sa_column=Column(Text, nullable=False))
    requester_id: str | None = Field(default=None, max_length=32)
    why: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    parked_by: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    channel_private: bool = True
    thread_ts: str | None = Field(default=None, max_length=32)  # the message it came from
    permalink: str | None = Field(default=None, max_length=500)
    decision_id: int | None = Field(default=None, foreign_key="decisions.id")
    round_id: int | None = Field(default=None, foreign_key="estimate_rounds.id")
    # RICE inputs (None: unscored) and the score, stored so lists sort in the database
    reach: float | None = None  # people (or events) per month
    impact: float | None = None  # 3, 2, 1, 0.5, 0.25
    confidence: int | None = None  # 100, 80, 50 (%)
    effort: float | None = None  # person-weeks
    rice: float | None = None  # reach x impact x confidence / effort
    moscow: str | None = Field(default=None, max_length=8)
    state: str = Field(default=ParkingState.PARKED, max_length=16)
    timeline_days: float | None = None  # when accepted: what it adds, in working days
    deferred_until: date | None = None
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = _ts()  # type: ignore[assignment]
    updated_at: datetime = _ts()  # type: ignore[assignment]

    @property
    def ref(self) -> str:
        return f"P-{self.number}"


# list_items' order (migration 0008; on SQLite without NULLS LAST, which DESC implies there)
Index(
    "ix_parking_items_list",
    ParkingItem.team_id,
    ParkingItem.state,
    ParkingItem.rice.desc().nulls_last(),  # type: ignore[union-attr]
    ParkingItem.created_at,
    ParkingItem.number,
)


class ParkingEvent(SQLModel, table=True):
    """Append-only history of an item: every transition with actor and time."""

    __tablename__ = "parking_events"
    __table_args__ = (Index("ix_parking_events_item", "item_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    item_id: int = Field(foreign_key="parking_items.id")
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=32)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = _ts()  # type: ignore[assignment]


class ParkingWatch(SQLModel, table=True):
    """A channel whose messages are watched for scope additions (`/parkinglot watch on`)."""

    __tablename__ = "parking_watches"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    enabled: bool = True
    changed_by: str = Field(max_length=32)
    updated_at: datetime = _ts()  # type: ignore[assignment]


class WatchOffer(SQLModel, table=True):
    """When a person was last offered "Park it" (at most once an hour)."""

    __tablename__ = "watch_offers"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    offered_at: datetime = Field(sa_type=UTCDateTime)  # type: ignore[call-overload]


class LinkKind(StrEnum):
    AMENDS = "amends"  # decision_id amends other_id ("Amended by" on the other)
    RELATES = "relates"  # decision_id relates to other_id (shown on both)


class DecisionLink(SQLModel, table=True):
    """Links between decisions other than supersede (which the decision rows carry both
    ways): amends and relates-to, as ADR files write them (`Amends [2. …](0002-….md)`)."""

    __tablename__ = "decision_links"
    __table_args__ = (
        UniqueConstraint("decision_id", "other_id", "kind", name="uq_decision_links"),
        Index("ix_decision_links_other", "other_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    decision_id: int = Field(foreign_key="decisions.id")
    other_id: int = Field(foreign_key="decisions.id")
    kind: str = Field(max_length=16)
    created_at: datetime = _ts()  # type: ignore[assignment]


# -- the weekly digest ------------------------------------------------------------------------


class DigestScope(StrEnum):
    CHANNEL = "channel"  # what happened in this channel
    WORKSPACE = "workspace"  # every public channel of the workspace (never a shared channel)


class DigestSection(StrEnum):
    DECISIONS = "decisions"
    REVIEWS = "reviews"
    ESTIMATES = "estimates"
    PARKING = "parking"
    HEALTH = "health"


class DigestSubscription(SQLModel, table=True):
    """A channel's weekly digest (`/adr digest`): one per channel. Each week's digest is one
    outbox row keyed by (subscription, ISO week), so it is sent once."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_digest_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    enabled: bool = True
    # the bot could not post (removed from the channel, archived): configuring it again resumes
    paused_reason: str | None = Field(default=None, max_length=64)
    scope: str = Field(default=DigestScope.CHANNEL, max_length=16)
    weekday: int = 0  # Monday = 0
    hour: int = 9
    minute: int = 0
    timezone: str = Field(default="UTC", max_length=64)
    sections: str = Field(default=" ".join(DigestSection), max_length=200)  # space-separated
    quiet_line: bool = False  # a quiet week gets one line (else it is skipped)
    # where the last digest's week ended (sent or a skipped quiet week): the next one starts
    # there, so moving the weekday leaves no days out and shows none twice (migration 0012)
    covered_until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # type: ignore[call-overload]
    configured_by: str = Field(max_length=32)
    configured_at: datetime = _ts()  # type: ignore[assignment]
    created_at: datetime = _ts()  # type: ignore[assignment]

    @property
    def section_list(self) -> list[str]:
        return self.sections.split()
