"""SQLModel tables, one module per feature; every public name is importable from here
(``from storage.models import Decision``), and importing this package registers every table on
``SQLModel.metadata`` (Alembic's env and the tests rely on it).

Every table carries ``team_id`` and every query filters by it.

Timestamps are timezone-aware UTC. Search columns (SQLite FTS5 table, Postgres tsvector) are
created by the migrations, not declared here, because they differ per dialect.
"""

from storage.models.base import JsonObject, UTCDateTime, saved_id, utcnow
from storage.models.decide_by import DecideByNudge
from storage.models.decisions import (
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
    DecisionStatus,
    LinkKind,
    Role,
    Stance,
    StanceKind,
)
from storage.models.digest import DigestScope, DigestSection, DigestSubscription
from storage.models.estimates import (
    SIZES,
    ConePhase,
    Estimate,
    EstimateEvent,
    EstimateInvite,
    EstimateRound,
    EstimateSize,
    EstimateTask,
    EstimateUnit,
    Familiarity,
    RoundMode,
    RoundState,
    SizeScale,
)
from storage.models.health import (
    PROBABILITIES,
    BlockResolution,
    DecisionBlock,
    Door,
    Forecast,
    ForecastSource,
    ForecastState,
    HomeChart,
)
from storage.models.installations import (
    Installation,
    InstallState,
    OAuthState,
    OrgWorkspace,
)
from storage.models.numbers import Counter
from storage.models.outbox import (
    CommandInvocation,
    DueWork,
    ProcessedEvent,
    ViewSubmission,
    WorkState,
)
from storage.models.parking import (
    Moscow,
    ParkingEvent,
    ParkingItem,
    ParkingState,
    ParkingWatch,
    WatchOffer,
)
from storage.models.people import Channel, SettingsManager, SlackUser, UserPreference
from storage.models.reviews import (
    DissentAnswer,
    Outcome,
    Review,
    ReviewAsk,
    ReviewState,
    WorkspaceSettings,
)

__all__ = [
    "JsonObject",
    "saved_id",
    "utcnow",
    "UTCDateTime",
    "Counter",
    "Installation",
    "InstallState",
    "OAuthState",
    "OrgWorkspace",
    "DecisionStatus",
    "Role",
    "StanceKind",
    "DecideByNudge",
    "Decision",
    "DecisionMember",
    "Stance",
    "DecisionEvent",
    "LinkKind",
    "DecisionLink",
    "ProcessedEvent",
    "ViewSubmission",
    "CommandInvocation",
    "WorkState",
    "DueWork",
    "WorkspaceSettings",
    "ReviewState",
    "Outcome",
    "DissentAnswer",
    "Review",
    "ReviewAsk",
    "SlackUser",
    "SettingsManager",
    "UserPreference",
    "Channel",
    "EstimateUnit",
    "ConePhase",
    "RoundState",
    "RoundMode",
    "SizeScale",
    "SIZES",
    "EstimateSize",
    "Familiarity",
    "EstimateRound",
    "EstimateTask",
    "EstimateInvite",
    "Estimate",
    "EstimateEvent",
    "ParkingState",
    "Moscow",
    "ParkingItem",
    "ParkingEvent",
    "ParkingWatch",
    "WatchOffer",
    "DigestScope",
    "DigestSection",
    "DigestSubscription",
    "PROBABILITIES",
    "BlockResolution",
    "DecisionBlock",
    "Door",
    "Forecast",
    "ForecastSource",
    "ForecastState",
    "HomeChart",
]
