"""`/adr stats`'s outbox work: the charts, sent into the asker's DM with the bot.

The command writes one ``health.charts`` row per ask (keyed by its trigger id, with the figures
the answer was computed from); the dispatcher draws them (``charts.stats_charts``) and shares
them in one ``files.uploadV2``: one message, however many charts. The DM answers the person's
own command, so it is sent whatever their `/adr dm` preference.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.core.render import channel_link
from bot.engine.registry import Job, Registry, WorkKind, raise_if_permanent
from bot.features.health.charts import ChartData, stats_charts
from bot.features.health.views import PERIOD_WORDS
from storage.health_series import HealthWork


def handle_charts(job: Job) -> bool:
    p = job.payload
    found = stats_charts(ChartData.from_payload(p))
    if not found:
        return False
    channel = str(p.get("channel") or "")
    where = channel_link(channel) if channel else "the workspace"
    uploads = [
        {"content": c.png(), "filename": c.filename, "title": c.title, "alt_txt": c.alt_text}
        for c in found
    ]
    try:
        dm = job.client.conversations_open(users=str(p["user"]))["channel"]["id"]
        job.client.files_upload_v2(
            channel=dm,
            file_uploads=uploads,
            initial_comment=f"Charts for {where}, {PERIOD_WORDS[str(p['period'])]}.",
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, "share the stats charts in your DM")
        raise
    return True


def register_work(registry: Registry) -> None:
    registry.register(WorkKind(HealthWork.CHARTS, handle_charts))
