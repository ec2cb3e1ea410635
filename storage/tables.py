"""The SQLAlchemy Core tables behind the models, typed (``Model.__table__`` is not), for the
statements that run without the ORM: bulk import and export rows, outbox claims, deletes."""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

from storage.models import (
    Decision,
    DecisionEvent,
    DecisionLink,
    DecisionMember,
    DueWork,
    Review,
    ReviewAsk,
    Stance,
)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model class."""
    return model.metadata.tables[str(model.__tablename__)]


DECISIONS = table_of(Decision)
MEMBERS = table_of(DecisionMember)
STANCES = table_of(Stance)
REVIEWS = table_of(Review)
ASKS = table_of(ReviewAsk)
LINKS = table_of(DecisionLink)
EVENTS = table_of(DecisionEvent)
DUE_WORK = table_of(DueWork)
