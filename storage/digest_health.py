"""The digest's health line over the quarter: ``storage.health.flow`` (the one definition of
each measure, shared with ``/adr stats``) over the digest's coverage and the 90 days ending at
its ``end``, in that function's three statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from storage.digest_common import QUARTER, Params
from storage.health import Flow, Period, Scope, flow


@dataclass(frozen=True)
class HealthPart:
    """The quarter's flow (``storage.health``: definitions there) for the digest's coverage,
    with no viewer: a channel digest counts that channel's decisions, a workspace digest every
    public channel's. The line shows reviews answered of asked, reversals (accepted decisions
    superseded or deprecated within 90 days of acceptance) and the median time from proposed
    to accepted."""

    flow: Flow = field(default_factory=Flow)

    @property
    def empty(self) -> bool:
        return not (self.flow.reviews_asked or self.flow.accepted)


def _health(session: Session, workspace: bool, params: Params) -> HealthPart:
    team, channel, end = params["team"], params["channel"], params["end"]
    if not isinstance(team, str) or not isinstance(end, datetime):
        raise TypeError("digest parameters: team must be a str and end a datetime")
    scope = Scope(team_id=team, channel_id=None if workspace else str(channel))
    return HealthPart(flow(session, scope=scope, period=Period(QUARTER.days, end)))


__all__ = ["HealthPart"]
