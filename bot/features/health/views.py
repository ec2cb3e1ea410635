"""`/adr stats`'s answer (pure): a channel's or the workspace's decision flow over a period,
the team's calibration when enough people are behind it, and the asker's own."""

from __future__ import annotations

from datetime import timedelta

from bot.core.blocks import ephemeral, section
from bot.core.durations import format_span
from bot.core.payloads import SlackPayload
from bot.core.render import channel_link, counted, render
from bot.features.reviews import OUTCOME_LABELS
from storage.forecasts import MIN_FORECASTERS, Calibration
from storage.health import Flow
from storage.models import Outcome

# How each period reads, by the label `/adr stats` takes.
PERIOD_WORDS = {"30d": "last 30 days", "90d": "last 90 days", "1y": "last year"}


def _span_or_blank(value: timedelta | None) -> str:
    return "" if value is None else format_span(value)


def _bins(calibration: Calibration) -> str:
    """``75% → 80% came true (5) · 90% → 67% (3) · Brier 0.18``."""
    parts = [
        f"{b.probability}% → {b.came_true:.0%}{' came true' if i == 0 else ''} ({b.count})"
        for i, b in enumerate(calibration.bins)
    ]
    if calibration.brier is not None:
        parts.append(f"Brier {calibration.brier:.2f}")
    return " · ".join(parts)


def _outcomes(flow: Flow) -> str:
    return ", ".join(
        f"{flow.outcomes[o.value]} {OUTCOME_LABELS[o]}" for o in Outcome if flow.outcomes[o.value]
    )


def _doors(flow: Flow) -> str:
    doors = [(flow.one_way, "one-way"), (flow.two_way, "two-way")]
    return ", ".join(f"{count} {kind}" for count, kind in doors if count)


def stats_text(
    flow: Flow,
    *,
    channel_id: str | None,
    period: str,
    team: Calibration | None,
    own: Calibration,
) -> str:
    """The summary as mrkdwn, one fact a line. ``channel_id`` None: the workspace;
    ``period``: 30d, 90d or 1y; ``team``: None when fewer than ``MIN_FORECASTERS`` people's
    scored forecasts are behind it; ``own``: the asker's, shown only to them."""
    return render(
        "health/stats.md.j2",
        where=channel_link(channel_id) if channel_id else "the workspace",
        period=PERIOD_WORDS[period],
        empty=flow.empty,
        recorded=flow.recorded,
        accepted=flow.accepted,
        lead_median=_span_or_blank(flow.lead_median),
        lead_p90=_span_or_blank(flow.lead_p90),
        reversed=flow.reversed_,
        reversible=flow.accepted_for_reversal,
        asked=flow.reviews_asked,
        answered=flow.reviews_answered,
        answer_median=_span_or_blank(flow.answer_median),
        outcomes=_outcomes(flow),
        doors=_doors(flow),
        dissent=flow.dissent_decisions,
        dissent_true=flow.dissent_came_true,
        blocks=flow.blocks,
        blocks_resolved=flow.blocks_resolved,
        block_median=_span_or_blank(flow.block_median),
        scored=flow.forecasts_scored,
        unscored=flow.forecasts_unscored,
        team=(
            ""
            if team is None
            else f"{counted(team.scored, 'forecast')} by {counted(team.forecasters, 'person', 'people')}"
        ),
        team_bins="" if team is None else _bins(team),
        min_forecasters=MIN_FORECASTERS,
        own="" if not own.scored else counted(own.scored, "scored forecast"),
        own_bins=_bins(own),
    )


def stats_answer(text: str) -> SlackPayload:
    """The ephemeral reply: the summary's first line as the notification text."""
    return ephemeral(text.splitlines()[0], [section(text)])
