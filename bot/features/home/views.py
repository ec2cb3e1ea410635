"""App Home's view: recent decisions, decisions waiting for my stance, decisions I own, reviews,
and the sections other features offer."""

from __future__ import annotations

from bot.core.blocks import (
    button,
    context,
    header,
    section,
)
from bot.core.clock import slack_date
from bot.core.ids import Action
from bot.core.payloads import Blocks, SlackPayload
from bot.core.redacted import shown
from bot.core.render import Mrkdwn, counted, escape, render, truncate
from bot.features.decisions import list_rows
from bot.features.reviews import OUTCOME_LABELS
from storage.forecasts import Calibration
from storage.models import (
    Decision,
    Forecast,
    Outcome,
    Review,
)

# The Home tab's forecast sections stay short: a person's own pending forecasts, and the
# decisions they took a stance on or decide that still lack one.
FORECASTS_SHOWN = 10
TO_FORECAST_SHOWN = 5


def _titled(d: Decision) -> Mrkdwn:
    title = shown(truncate(d.title, 80))
    return Mrkdwn(f"*{d.ref}* {title if isinstance(title, Mrkdwn) else escape(title)}")


def calibration_image(file_id: str, alt_text: str) -> SlackPayload:
    """The person's calibration chart, a PNG the bot uploaded (``slack_file``: Slack shows an
    image it hosts to whoever may see the surface, no public URL needed)."""
    return {
        "type": "image",
        "slack_file": {"id": file_id},
        "alt_text": alt_text[:2000],
        "title": {"type": "plain_text", "text": "Your calibration"},
    }


def forecast_blocks(
    pending: list[tuple[Decision, Forecast]],
    to_forecast: list[Decision],
    calibration: Calibration | None,
    chart: SlackPayload | None = None,
) -> Blocks:
    """The person's own forecasts: pending ones (with **Change**), decisions they could add
    one to, and their calibration once any is scored, with its chart (``chart``, an image
    block) when given. Only ever on their own Home tab."""
    blocks: Blocks = []
    if pending:
        blocks.append(section(render("decisions/field.md.j2", label="Your forecasts", text="")))
        blocks += [
            section(
                Mrkdwn(f"{_titled(d)} · your forecast {f.probability}%"),
                accessory=button("Change", Action.FORECAST_HOME, str(d.number)),
            )
            for d, f in pending[:FORECASTS_SHOWN]
        ]
    if to_forecast:
        blocks.append(
            section(
                render(
                    "decisions/field.md.j2",
                    label="Add your forecast",
                    text="How likely is each to meet its success criteria? Only you see it "
                    "until its first review is answered.",
                )
            )
        )
        blocks += [
            section(
                _titled(d),
                accessory=button("Add my forecast", Action.FORECAST_HOME, str(d.number)),
            )
            for d in to_forecast[:TO_FORECAST_SHOWN]
        ]
    if calibration is not None and calibration.scored:
        brier = (
            f" · Brier score {calibration.brier:.2f} (0 is perfect; always saying 50% scores 0.25)"
            if calibration.brier is not None
            else ""
        )
        lines = [
            f"{b.probability}%: {counted(b.count, 'forecast')}, came true {b.came_true:.0%}"
            for b in calibration.bins
        ]
        blocks.append(
            section(
                render(
                    "decisions/field.md.j2",
                    label="Your calibration",
                    text=f"Scored forecasts: {calibration.scored}{brier}",
                )
            )
        )
        blocks.append(section(render("home/reviews.md.j2", lines=lines)))
        if chart is not None:
            blocks.append(chart)
    if blocks:
        blocks.append({"type": "divider"})
    return blocks


def build_home(
    *,
    recent: list[Decision],
    awaiting: list[Decision],
    owned: list[Decision],
    reviews_waiting: list[Decision] | None = None,
    upcoming: list[tuple[Decision, Review]] | None = None,
    outcomes: list[tuple[Decision, Review]] | None = None,
    forecasts: Blocks | None = None,
    guest: bool = False,
) -> SlackPayload:
    """The Home tab; ``forecasts``: the person's own forecast sections (``forecast_blocks``),
    shown after the decisions they own."""
    blocks: Blocks = [header("Decision log")]
    if guest:
        blocks.append(section(render("home/guest.md.j2")))
        return {"type": "home", "blocks": blocks}
    review_lines = [
        f"*ADR-{d.number}* {truncate(d.title, 80)} · {OUTCOME_LABELS[Outcome(r.outcome)]}"
        for d, r in outcomes or []
        if r.outcome
    ] + [
        # built here, so the title is escaped here; the time is in every reader's zone
        Mrkdwn(
            f"*ADR-{d.number}* {escape(truncate(d.title, 80))}"
            f" · review {slack_date(r.due_at, r.timezone)}"
        )
        for d, r in upcoming or []
    ]
    for label, items, empty in (
        ("Waiting for your stance", awaiting, "Nothing is waiting for you."),
        ("Reviews waiting for your answer", reviews_waiting or [], "No review is waiting for you."),
        ("Decisions you own", owned, "You haven't recorded or decided anything yet."),
        ("Recent decisions", recent, "No decisions yet: type /adr in any channel."),
    ):
        blocks.append(
            section(render("decisions/field.md.j2", label=label, text=empty if not items else ""))
        )
        if items:
            blocks.append(section(list_rows(items)))
        if label == "Decisions you own" and review_lines:
            # Titles are user text: escaped through the template like every other line.
            blocks.append(
                section(render("decisions/field.md.j2", label="Outcomes and next reviews", text=""))
            )
            blocks.append(section(render("home/reviews.md.j2", lines=review_lines)))
        blocks.append({"type": "divider"})
        if label == "Decisions you own":
            blocks += forecasts or []
    # One closing block (work.py puts other features' sections above it): where to start,
    # and who may do what, which `/adr help` leaves to `/adr help all` and here.
    hint = "Record a decision with /adr · search with /adr search &lt;words&gt; · /adr help"
    numbers = render("decisions/numbers.md.j2")  # what ADR-, E- and P- numbers are
    blocks.append(context(hint + "\n" + numbers + "\n" + render("decisions/rules.md.j2")))
    return {"type": "home", "blocks": blocks[:100]}
