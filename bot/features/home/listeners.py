"""App Home: recent decisions, decisions waiting for my stance, decisions I own.

Opening the Home tab writes a `home.publish` outbox row (with the event's de-duplication
mark, in one transaction); the dispatcher builds the view from what the database holds when
it publishes, so a retry of the event or a burst of openings publishes once.
"""

from __future__ import annotations

from slack_bolt import App

from bot.core.errors import guarded
from bot.core.payloads import AppHomeOpenedEvent
from storage import events
from storage.db import Database
from storage.home_work import schedule_home


def register(app: App) -> None:
    app.event("app_home_opened")(guarded(handle_home_opened))


def handle_home_opened(event: AppHomeOpenedEvent, db: Database, team: str, event_id: str) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    with db.session() as session:
        if events.first_delivery(session, team_id=team, event_id=event_id):
            schedule_home(session, team_id=team, user_id=str(event["user"]))
