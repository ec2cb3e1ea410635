"""App Home's view: recent decisions, decisions waiting for my stance, decisions I own, reviews,
and the sections other features offer."""

from __future__ import annotations

from bot.core.blocks import (
    context,
    header,
    section,
)
from bot.core.clock import slack_date
from bot.core.payloads import Blocks, SlackPayload
from bot.core.render import Mrkdwn, escape, render, truncate
from bot.features.decisions import list_rows
from bot.features.reviews import OUTCOME_LABELS
from storage.models import (
    Decision,
    Outcome,
    Review,
)


def build_home(
    *,
    recent: list[Decision],
    awaiting: list[Decision],
    owned: list[Decision],
    reviews_waiting: list[Decision] | None = None,
    upcoming: list[tuple[Decision, Review]] | None = None,
    outcomes: list[tuple[Decision, Review]] | None = None,
    guest: bool = False,
) -> SlackPayload:
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
    # One closing block (work.py puts other features' sections above it): where to start,
    # and who may do what, which `/adr help` leaves to `/adr help all` and here.
    hint = "Record a decision with /adr · search with /adr search &lt;words&gt; · /adr help"
    numbers = render("decisions/numbers.md.j2")  # what ADR-, E- and P- numbers are
    blocks.append(context(hint + "\n" + numbers + "\n" + render("decisions/rules.md.j2")))
    return {"type": "home", "blocks": blocks[:100]}
