"""The `home.publish` work kind: the Home tab built from what the database holds when it
publishes.

A person with scored forecasts sees their calibration chart: an image block needs a public
URL or a file Slack hosts (``slack_file``), so the PNG is uploaded first, shared nowhere (the
bot's own file), and the view points at it. A failed upload leaves the chart out, never the
Home."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.core import people
from bot.core.payloads import SlackPayload
from bot.engine.registry import Job, Registry, WorkKind
from bot.features.estimates import home_section
from bot.features.health import calibration_chart
from bot.features.home.views import (
    TO_FORECAST_SHOWN,
    build_home,
    calibration_image,
    forecast_blocks,
)
from bot.features.parking import home_section as parking_home
from storage import decision_lists as repo
from storage import estimates as estimates_repo
from storage import forecasts, home_charts
from storage import parking as parking_repo
from storage import review_lists as reviews_repo
from storage.forecasts import Calibration
from storage.home_work import HomeWork

log = logging.getLogger(__name__)


def _chart(job: Job, calibration: Calibration) -> SlackPayload | None:
    """The calibration chart's image block, once uploaded; None with nothing scored, or if
    Slack refused the upload (logged: the Home is published without it)."""
    if not calibration.scored:
        return None
    chart = calibration_chart(calibration.bins)
    team, user = job.item.team_id, str(job.payload["user"])
    with job.db.read() as session:
        kept = home_charts.file_for(session, team_id=team, user_id=user, calibration=calibration)
    if kept is not None:  # the same figures as last time: the same file
        return calibration_image(kept, chart.alt_text)
    try:
        uploaded = job.client.files_upload_v2(
            content=chart.png(),
            filename=chart.filename,
            title="Your calibration",
            alt_txt=chart.alt_text,
        )
    except SlackApiError as exc:
        log.warning(
            "calibration chart upload failed team=%s user=%s: %s",
            job.item.team_id,
            job.payload.get("user"),
            exc.response.get("error"),
        )
        return None
    file_id = str(uploaded["file"]["id"])
    with job.db.session() as session:
        home_charts.remember(
            session, team_id=team, user_id=user, calibration=calibration, file_id=file_id
        )
    return calibration_image(file_id, chart.alt_text)


def handle_publish(job: Job) -> bool:
    team, user = job.item.team_id, str(job.payload["user"])
    person = people.known_or_looked_up(job.db, job.client, team=team, user=user)
    viewer = people.viewer_for(person, None)
    with job.db.read() as session:
        calibration = forecasts.calibration(session, team_id=team, user_id=user)
    chart = None if person.guest else _chart(job, calibration)
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
                # the person's own forecasts: this Home is published to them alone
                forecasts=forecast_blocks(
                    forecasts.pending_of(session, team_id=team, user_id=user, viewer=viewer),
                    forecasts.open_for_forecast(
                        session, team_id=team, viewer=viewer, limit=TO_FORECAST_SHOWN
                    ),
                    calibration,
                    chart,
                ),
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
