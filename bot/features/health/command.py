"""`/adr stats [#channel | workspace] [30d | 90d | 1y]`: how a channel (the one asked from by
default) or the workspace decides, over a period, in a short ephemeral answer.

It counts only what the asker may see from where they ask (``storage.visibility``): a private
channel's decisions count only for its members asking from inside it, so naming another
private channel is refused; a guest (or outsider, or someone not known yet) may ask only
about the channel they are in. Team calibration reads the same decisions, and shows only
when enough people's scored forecasts are behind it (``storage.forecasts``).
"""

from __future__ import annotations

from bot.core import people
from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.payloads import SlackPayload
from bot.features.health.charts import ChartData, stats_charts
from bot.features.health.views import stats_answer, stats_text
from storage import channels, forecasts, health, health_series
from storage.health import Period, Scope
from storage.models import utcnow
from storage.people import Person

PERIOD_DAYS = {"30d": 30, "90d": 90, "1y": 365}

GUEST_HERE_ONLY = (
    "As a guest you can ask only about this channel's decisions: `/adr stats` here, "
    "with `30d`, `90d` or `1y` if you like."
)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("stats", answer=answer_stats)


def answer_stats(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    asked_from = request.channel
    channel = None if cmd.workspace else cmd.channel or asked_from
    refusal = _refusal(request, person, channel=channel, asked_from=asked_from)
    if refusal:
        return ephemeral(refusal)
    scope = Scope(
        team_id=request.team,
        channel_id=channel,
        viewer=people.viewer_for(person, asked_from),
    )
    period = Period(days=PERIOD_DAYS[cmd.text], end=utcnow())
    with request.db.session() as session:
        flow = health.flow(session, scope=scope, period=period)
        team = forecasts.team_calibration(
            session, team_id=request.team, decisions=health.scope_clause(scope)
        )
        own = forecasts.calibration(session, team_id=request.team, user_id=person.user_id)
        # the charts, from the same figures, into the asker's DM: once per ask
        data = ChartData(
            own=own.bins,
            team=None if team is None else team.bins,
            months=tuple(health_series.monthly(session, scope=scope, period=period)),
        )
        if stats_charts(data):
            health_series.schedule_charts(
                session,
                team_id=request.team,
                user_id=person.user_id,
                trigger_id=request.trigger_id,
                payload={"channel": channel or "", "period": cmd.text, **data.to_payload()},
            )
    text = stats_text(flow, channel_id=channel, period=cmd.text, team=team, own=own)
    return stats_answer(text)


def _refusal(
    request: Request, person: Person, *, channel: str | None, asked_from: str | None
) -> str:
    """Why this scope is not for this asker here, or ""."""
    if channel == asked_from:
        return ""
    if person.guest:
        return GUEST_HERE_ONLY
    if channel is None:
        return ""
    if _private(request, channel):
        return f"Ask from inside <#{channel}>: its decisions count only for its members."
    return ""


def _private(request: Request, channel: str) -> bool:
    """Whether ``channel`` is private, group DM or DM: by its id, else as the channel cache
    says (every post there records it); a channel the cache does not know counts as public,
    and the visibility clause still leaves out any private decision the asker may not see."""
    if channel.startswith(("G", "D")):
        return True
    with request.db.read() as session:
        known = channels.get(session, team_id=request.team, channel_id=channel)
    return known is not None and known.is_private
