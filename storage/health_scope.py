"""What decision health counts over (issue 25), shared by the flow measures
(``storage.health``) and the per-month series (``storage.health_series``): a period, a scope
and its WHERE clause over ``Decision`` (with the asker's visibility), and seconds between two
timestamps as SQL on either database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Float,
    SQLColumnExpression,
    String,
    and_,
    bindparam,
    false,
    literal,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from storage.models import Decision
from storage.visibility import Viewer, visible_condition

PERIOD_LABELS = {30: "30d", 90: "90d", 365: "1y"}


@dataclass(frozen=True)
class Period:
    """``[end - days, end)``: the last 30 days, 90 days or year before ``end``."""

    days: int
    end: datetime

    @property
    def since(self) -> datetime:
        return self.end - timedelta(days=self.days)

    @property
    def label(self) -> str:
        """``30d``, ``90d``, ``1y`` (another length: ``<days>d``)."""
        return PERIOD_LABELS.get(self.days, f"{self.days}d")


@dataclass(frozen=True)
class Scope:
    """Whose decisions count: one channel's (``channel_id``) or the workspace's (None).

    Without a viewer (the digest, posted where its coverage says): a channel's decisions
    whatever its privacy, or every public channel's. With a viewer (``/adr stats``): only what
    they may see from where they ask: public channels' decisions, a private channel's only
    when asked from that channel, and never more than ``storage.visibility`` lets them see
    (a guest: only the channel they ask from)."""

    team_id: str
    channel_id: str | None = None
    viewer: Viewer | None = None


# -- seconds between two timestamps, per dialect ---------------------------------------------


class _Seconds(FunctionElement[float]):
    """``later - earlier`` in seconds (a float)."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


# a timestamp column, nullable or not
Moment = SQLColumnExpression[datetime] | SQLColumnExpression[datetime | None]


def seconds_between(later: Moment, earlier: Moment) -> _Seconds:
    """``later - earlier`` in seconds, as SQL on either database (here and in
    ``storage.health_series``)."""
    return _Seconds(later, earlier)


@compiles(_Seconds)
def _seconds_postgres(element: _Seconds, compiler: SQLCompiler, **kw: object) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(_Seconds, "sqlite")
def _seconds_sqlite(element: _Seconds, compiler: SQLCompiler, **kw: object) -> str:
    # SQLite keeps these columns as naive UTC text ("2026-12-07 01:36:00.000000"), which
    # julianday() reads as UTC: days between, as a float
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


# -- scope -------------------------------------------------------------------------------------


def _scope(
    workspace: bool, viewer: Viewer | None, team: ColumnElement[str], channel: ColumnElement[str]
) -> ColumnElement[bool]:
    clauses = [col(Decision.team_id) == team]
    if not workspace:
        clauses.append(col(Decision.channel_id) == channel)
    if viewer is None:
        if workspace:
            clauses.append(col(Decision.channel_private) == false())
        return and_(*clauses)
    # a private channel's decisions count only when asked from it, even for the people named
    # on them: figures are about a channel's or the workspace's decisions, not a person's
    here = [col(Decision.channel_id) == viewer.channel_id] if viewer.channel_id else []
    clauses.append(or_(col(Decision.channel_private) == false(), *here))
    clauses.append(visible_condition(viewer))
    return and_(*clauses)


def scope_clause(scope: Scope) -> ColumnElement[bool]:
    """The WHERE clause over ``Decision`` for the decisions ``scope`` counts (values inlined,
    for statements built elsewhere, such as the team calibration)."""
    return _scope(
        scope.channel_id is None,
        scope.viewer,
        literal(scope.team_id, String),
        literal(scope.channel_id or "", String),
    )


def bound_scope(workspace: bool, viewer: Viewer | None) -> ColumnElement[bool]:
    """The scope's clause with the team and channel as bind parameters (``team``,
    ``channel``): for statements built once per shape and run with different values."""
    return _scope(
        workspace, viewer, bindparam("team", type_=String), bindparam("channel", type_=String)
    )


__all__ = ["Moment", "Period", "Scope", "bound_scope", "scope_clause", "seconds_between"]
