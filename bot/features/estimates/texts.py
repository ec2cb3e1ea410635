"""What `/estimate` says in plain text: the confirmation DM of your own numbers, the round's\nstart, reminders, expiry, the ask for the actual, failures and calibration."""

from __future__ import annotations

from bot.core.render import Mrkdwn, mention, render
from bot.features.estimates import estimation
from bot.features.estimates.calibration import Calibration, calibration_sentence
from bot.features.estimates.forms import (
    task_names,
)
from bot.features.estimates.views import (
    Tasks,
    answer_lines,
    duration_text,
    familiarity_label,
    slack_date,
)
from storage.models import (
    Estimate,
    EstimateRound,
    RoundMode,
)

TEXT_LIMIT = 12_000  # a text-only message (DM, ephemeral): cut visibly beyond this


def confirmation_text(rnd: EstimateRound, tasks: Tasks, estimate: Estimate) -> str:
    """The private confirmation of one's own numbers (to that person only)."""
    familiarity, multiplier = familiarity_label(estimate.familiarity)
    quick = rnd.mode == RoundMode.QUICK
    lines = answer_lines(task_names(tasks, rnd), estimate, quick=quick)
    return render(
        "estimates/confirmation.md.j2",
        limit=TEXT_LIMIT,
        ref=rnd.ref,
        topic=rnd.topic,
        unit=rnd.unit,
        lines=[Mrkdwn(line) for line in lines],
        confidence=estimate.confidence,
        familiarity=familiarity,
        multiplier=multiplier,
        assumptions=estimate.assumptions.strip(),
        quick=quick,
    )


def started_text(rnd: EstimateRound, deadline_local: str | None = None) -> str:
    """The facilitator's ephemeral answer once a round is saved."""
    return render(
        "estimates/started.md.j2",
        ref=rnd.ref,
        channel=rnd.channel_id,
        thread=bool(rnd.thread_ts),
        deadline=slack_date(rnd.deadline_at) if rnd.deadline_at else (deadline_local or ""),
    )


def reminder_text(rnd: EstimateRound) -> str:
    """The one reminder DM to an invited person who hasn't estimated."""
    return render(
        "estimates/reminder.md.j2",
        ref=rnd.ref,
        topic=rnd.topic,
        channel=rnd.channel_id,
        deadline=slack_date(rnd.deadline_at) if rnd.deadline_at else "",
    )


def expired_text(rnd: EstimateRound) -> str:
    return render(
        "estimates/expired.md.j2",
        ref=rnd.ref,
        topic=rnd.topic,
        channel=rnd.channel_id,
        note=rnd.closed_note,
    )


def ask_actual_text(rnd: EstimateRound, combined: estimation.Combined | None = None) -> str:
    """The facilitator's one question once the round's 90% figure has passed."""
    return render(
        "estimates/ask_actual.md.j2",
        ref=rnd.ref,
        topic=rnd.topic,
        unit=rnd.unit,
        p90=duration_text(combined.p90, rnd.unit) if combined is not None else "",
    )


POST_FIX = {
    "not_in_channel": "I'm not in that channel: invite me with `/invite @Decision Bot` and "
    "start the round again.",
    "channel_not_found": "I can't see that channel: invite me with `/invite @Decision Bot` and "
    "start the round again.",
    "is_archived": "that channel is archived.",
}


def _failed(what: str, rnd: EstimateRound, error: str) -> str:
    if what == "post" and error in POST_FIX:
        reason = POST_FIX[error]
    else:
        reason = f"Slack said `{error}`." + (
            " Invite me with `/invite @Decision Bot` to get the chart next time; "
            f"`/estimate show {rnd.ref}` has the figures."
            if what == "chart"
            else " Start the round again with `/estimate`."
        )
    return render(
        "estimates/failed.md.j2",
        what=what,
        ref=rnd.ref,
        topic=rnd.topic,
        channel=rnd.channel_id,
        reason=reason,
    )


def post_failed_text(rnd: EstimateRound, error: str) -> str:
    return _failed("post", rnd, error)


def chart_failed_text(rnd: EstimateRound, error: str) -> str:
    return _failed("chart", rnd, error)


_WHO = "\x00"  # stands for the person in calibration_sentence; NUL never comes from text


def calibration_text(cal: Calibration, who: str | None, *, team: Calibration | None = None) -> str:
    """`/estimate calibration [@person]`: ``who`` is the person's user id (None: the team's
    figures); ``team`` adds the team's beside a person's."""
    sentence = calibration_sentence(cal, _WHO)
    team_sentence = calibration_sentence(team, _WHO) if team is not None else ""
    return render(
        "estimates/calibration.md.j2",
        who=Mrkdwn(f"{mention(who)}'s") if who else "The team's",
        parts=sentence.split(_WHO),
        team_parts=team_sentence.split(_WHO) if team_sentence else [],
    )
