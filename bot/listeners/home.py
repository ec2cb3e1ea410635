"""App Home: recent decisions, decisions waiting for my stance, decisions I own."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.errors import guarded
from bot.views.decisions import build_home
from storage import decisions as repo
from storage import reviews as reviews_repo
from storage.db import Database


def register(app: App) -> None:
    app.event("app_home_opened")(guarded(handle_home_opened))


def handle_home_opened(event: dict[str, Any], client: WebClient, db: Database, team: str) -> None:
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
    viewer = repo.Viewer(user_id=user, channel_id=None)
    with db.read() as session:
        view = build_home(
            recent=repo.recent_decisions(session, team_id=team, viewer=viewer),
            awaiting=repo.awaiting_stance(session, team_id=team, user_id=user),
            owned=repo.owned_decisions(session, team_id=team, user_id=user),
            reviews_waiting=reviews_repo.open_asks_for(session, team_id=team, user_id=user),
            upcoming=reviews_repo.upcoming_for(session, team_id=team, user_id=user),
            outcomes=reviews_repo.recent_outcomes(session, team_id=team, user_id=user),
        )
    client.views_publish(user_id=user, view=view)
