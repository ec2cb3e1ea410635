"""App Home: recent decisions, decisions waiting for my stance, decisions I own.

Opening the Home tab writes a `home.publish` outbox row (with the event's de-duplication
mark, in one transaction); the dispatcher builds the view from what the database holds when
it publishes, so a retry of the event or a burst of openings publishes once.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.core import people
from bot.core.errors import guarded
from bot.engine.registry import Job, Registry, WorkKind
from bot.features.decisions.views import build_home
from bot.features.estimates.views import home_section
from bot.features.parking.views import home_section as parking_home
from storage import decisions as repo
from storage import estimates as estimates_repo
from storage import events
from storage import parking as parking_repo
from storage import reviews as reviews_repo
from storage.db import Database
from storage.home_work import HomeWork, schedule_home


def register(app: App) -> None:
    app.event("app_home_opened")(guarded(handle_home_opened))


def handle_home_opened(event: dict[str, Any], db: Database, team: str, event_id: str) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    with db.session() as session:
        if events.first_delivery(session, team_id=team, event_id=event_id):
            schedule_home(session, team_id=team, user_id=str(event["user"]))


def handle_publish(job: Job) -> bool:
    team, user = job.item.team_id, str(job.payload["user"])
    person = people.known_or_looked_up(job.db, job.client, team=team, user=user)
    viewer = people.viewer_for(person, None)
    with job.db.read() as session:
        if person.guest:
            # A guest sees decisions only in the channels they were posted in: Home lists none.
            view = build_home(recent=[], awaiting=[], owned=[], guest=True)
        else:
            view = build_home(
                recent=repo.recent_decisions(session, team_id=team, viewer=viewer),
                awaiting=repo.awaiting_stance(session, team_id=team, user_id=user),
                owned=repo.owned_decisions(session, team_id=team, user_id=user),
                reviews_waiting=reviews_repo.open_asks_for(session, team_id=team, user_id=user),
                upcoming=reviews_repo.upcoming_for(session, team_id=team, user_id=user),
                outcomes=reviews_repo.recent_outcomes(session, team_id=team, user_id=user),
            )
            # `/estimate` rounds, above the closing hint line
            view["blocks"][-1:-1] = home_section(
                estimates_repo.waiting_for(session, team_id=team, user_id=user),
                estimates_repo.facilitating(session, team_id=team, user_id=user),
            ) + parking_home(
                parking_repo.waiting_for_triage(session, team_id=team, viewer=viewer),
                parking_repo.top_by_rice(session, team_id=team, viewer=viewer),
                job.now,
            )
            view["blocks"] = view["blocks"][:100]
    job.client.views_publish(user_id=user, view=view)
    return True


def register_work(registry: Registry) -> None:
    registry.register(WorkKind(HomeWork.PUBLISH, handle_publish))
