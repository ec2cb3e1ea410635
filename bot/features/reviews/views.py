"""Block Kit for "Did this decision work?": the DMs, the outcome modal, the thread notes."""

from __future__ import annotations

from datetime import date, datetime

from bot.core.blocks import button, context, input_block, modal, plain, section, text_input
from bot.core.clock import slack_date, slack_day
from bot.core.forms import TEXT_MAX
from bot.core.ids import Action, Callback, Field
from bot.core.metadata import ModalMeta
from bot.core.payloads import Blocks, SlackPayload
from bot.core.redacted import redacted, shown
from bot.core.render import Mrkdwn, mention, render, truncate
from storage import rules
from storage.models import Decision, DecisionStatus, DissentAnswer, Outcome, Review, ReviewAsk
from storage.review_lists import ReviewSummary
from storage.reviews import DISSENTER, OWNER

OUTCOME_LABELS = {
    Outcome.WORKED: "worked",
    Outcome.PARTLY: "partly worked",
    Outcome.DIDNT_WORK: "didn't work",
}
OUTCOME_EMOJI = {
    Outcome.WORKED: ":white_check_mark:",
    Outcome.PARTLY: ":large_yellow_circle:",
    Outcome.DIDNT_WORK: ":x:",
}
DISSENT_LABELS = {
    DissentAnswer.YES: "the concern materialised",
    DissentAnswer.NO: "the concern did not materialise",
    DissentAnswer.TOO_EARLY: "too early to tell",
}
OUTCOME_ACTIONS: dict[str, Outcome] = {
    Action.REVIEW_WORKED: Outcome.WORKED,
    Action.REVIEW_PARTLY: Outcome.PARTLY,
    Action.REVIEW_DIDNT_WORK: Outcome.DIDNT_WORK,
}
DISSENT_ACTIONS: dict[str, DissentAnswer] = {
    Action.DISSENT_YES: DissentAnswer.YES,
    Action.DISSENT_NO: DissentAnswer.NO,
    Action.DISSENT_TOO_EARLY: DissentAnswer.TOO_EARLY,
}
SNOOZE_CHOICES = {"1w": "1 week", "2w": "2 weeks", "1m": "1 month"}


class OutcomeMeta(ModalMeta):
    """Which review, and which outcome button opened the modal."""

    review_id: int
    outcome: Outcome


def _two_lines(text: str) -> str:
    return truncate("\n".join(text.strip().splitlines()[:2]), 300)


def build_review_ask(decision: Decision, review: Review, nudge: int) -> tuple[str, Blocks]:
    """The DM to the author and deciders, with the outcome buttons."""
    value = str(review.id)
    text = render(
        "reviews/ask.md.j2",
        nudge=nudge,
        number=decision.number,
        title=shown(decision.title),
        decided_on=slack_day(decision.created_at, review.timezone),
        decision_text=_two_lines(decision.decision),
        decision_redacted=redacted(decision.decision),
        success=truncate(decision.success_criteria, 1500),
        success_redacted=redacted(decision.success_criteria),
    )
    snooze_options = [
        {"text": plain(label), "value": f"{value}:{key}"} for key, label in SNOOZE_CHOICES.items()
    ]
    # offered while the state machine allows it (always, for a decision still reviewed)
    supersede = (
        [button("Supersede it", Action.REVIEW_SUPERSEDE, str(decision.number))]
        if rules.can_become(decision.status, DecisionStatus.SUPERSEDED)
        else []
    )
    blocks = [
        section(text),
        {
            "type": "actions",
            "block_id": "decision.review.answer",
            "elements": [
                button("Worked", Action.REVIEW_WORKED, value, "primary"),
                button("Partly", Action.REVIEW_PARTLY, value),
                button("Didn't work", Action.REVIEW_DIDNT_WORK, value, "danger"),
                {
                    "type": "static_select",
                    "action_id": Action.REVIEW_SNOOZE,
                    "placeholder": plain("Too early — ask again in…"),
                    "options": snooze_options,
                },
            ]
            + supersede,
        },
    ]
    return f"Did ADR-{decision.number} work? Time to review it.", blocks


def build_dissent_ask(
    decision: Decision, review: Review, ask: ReviewAsk, nudge: int
) -> tuple[str, Blocks]:
    value = str(review.id)
    text = render(
        "reviews/dissent_ask.md.j2",
        nudge=nudge,
        number=decision.number,
        title=shown(decision.title),
        concern=truncate(ask.concern, 1500) or "(no concern recorded)",
        concern_redacted=redacted(ask.concern),
    )
    blocks = [
        section(text),
        {
            "type": "actions",
            "block_id": "decision.review.dissent",
            "elements": [
                button("Yes", Action.DISSENT_YES, value),
                button("No", Action.DISSENT_NO, value),
                button("Too early", Action.DISSENT_TOO_EARLY, value),
            ],
        },
    ]
    return f"ADR-{decision.number} is up for review: did your concern materialise?", blocks


def build_outcome_modal(decision: Decision, review: Review, outcome: Outcome) -> SlackPayload:
    label = OUTCOME_LABELS[outcome]
    return modal(
        callback_id=Callback.OUTCOME_FORM,
        title=f"ADR-{decision.number}: {label}",
        submit="Record",
        metadata=OutcomeMeta(review_id=review.id or 0, outcome=outcome).encode(),
        blocks=[
            section(
                render(
                    "decisions/field.md.j2",
                    label=f"ADR-{decision.number}: {truncate(decision.title, 200)}",
                    text=f"You're recording that it {label}.",
                )
            ),
            input_block(
                Field.WHAT_HAPPENED,
                "What happened",
                text_input(multiline=True, max_length=TEXT_MAX),
            ),
            input_block(
                Field.EVIDENCE,
                "Evidence or metric",
                text_input(
                    multiline=True,
                    max_length=TEXT_MAX,
                    placeholder="p95 latency went from 900 ms to 120 ms",
                ),
                optional=True,
            ),
            input_block(
                Field.LEARNED,
                "What we learned",
                text_input(multiline=True, max_length=TEXT_MAX),
                optional=True,
            ),
        ],
    )


def build_answered(decision: Decision, review: Review) -> tuple[str, Blocks]:
    """What the other askees' DMs turn into once someone answered (buttons gone)."""
    label = OUTCOME_LABELS[Outcome(review.outcome)] if review.outcome else "answered"
    text = render(
        "reviews/answered.md.j2",
        number=decision.number,
        title=shown(decision.title),
        user=review.outcome_by or "",
        label=label,
    )
    return text, [section(text)]


def build_dissent_recorded(decision: Decision, answer: DissentAnswer) -> tuple[str, Blocks]:
    text = f"Thanks. Recorded for ADR-{decision.number}: {DISSENT_LABELS[answer]}."
    return text, [section(text)]


def build_review_dm_now(
    decision: Decision, review: Review, ask: ReviewAsk, nudge: int
) -> tuple[str, Blocks]:
    """A review question as it should read now (after a redaction): "answered by …" once the
    review has an outcome, the dissenter's recorded answer once given, else the question."""
    if ask.role == OWNER and review.outcome:
        return build_answered(decision, review)
    if ask.role == DISSENTER and ask.dissent_answer:
        return build_dissent_recorded(decision, DissentAnswer(ask.dissent_answer))
    if ask.role == DISSENTER:
        return build_dissent_ask(decision, review, ask, nudge)
    return build_review_ask(decision, review, nudge)


def review_thread_open_text(decision: Decision, askees: list[str]) -> str:
    return render("reviews/thread_open.md.j2", number=decision.number, askees=askees)


def review_outcome_thread_text(
    decision: Decision, user_id: str, outcome: Outcome, what_happened: str
) -> str:
    return render(
        "reviews/outcome_thread.md.j2",
        emoji=OUTCOME_EMOJI[outcome],
        user=user_id,
        number=decision.number,
        label=OUTCOME_LABELS[outcome],
        what_happened=truncate(what_happened, 300),
    )


def outcome_badge(review: Review | None) -> str:
    """A line for the decision message and `/adr show`."""
    if review is None or not review.outcome:
        return ""
    outcome = Outcome(review.outcome)
    return f"{OUTCOME_EMOJI[outcome]} Reviewed: {OUTCOME_LABELS[outcome]}"


def review_summary_text(summary: ReviewSummary, tz: str | None = None) -> str:
    """`/adr show`: the latest outcome with everyone's answers, dissent answers, next review
    (in every reader's own zone; the fallback in ``tz``, the reader's, else the review's)."""
    latest = summary.latest
    outcome = Outcome(latest.outcome) if latest is not None and latest.outcome else None
    answers = [
        {
            "user": a.user_id,
            "label": OUTCOME_LABELS[Outcome(a.outcome)],
            "what_happened": truncate(a.what_happened, 400),
            "evidence": truncate(a.evidence, 300),
            "learned": truncate(a.learned, 300),
        }
        for a in summary.asks
        if a.role == OWNER and a.outcome
    ]
    dissent = [
        {"user": a.user_id, "label": DISSENT_LABELS[DissentAnswer(a.dissent_answer)]}
        for a in summary.asks
        if a.role == DISSENTER and a.dissent_answer
    ]
    return render(
        "reviews/summary.md.j2",
        latest=latest,
        outcome_label=OUTCOME_LABELS[outcome] if outcome else "",
        emoji=OUTCOME_EMOJI[outcome] if outcome else "",
        outcome_at=slack_day(latest.outcome_at, tz) if latest and latest.outcome_at else "",
        answers=answers,
        dissent=dissent,
        next_due=slack_date(summary.next_due, tz or summary.next_timezone)
        if summary.next_due is not None
        else "",
    )


def outcome_context(summary: ReviewSummary | None) -> SlackPayload | None:
    """The badge under a decision message once its review has an outcome."""
    if summary is None or summary.latest is None or not summary.latest.outcome:
        return None
    latest = summary.latest
    by = mention(latest.outcome_by) if latest.outcome_by else ""
    when = slack_day(latest.outcome_at) if latest.outcome_at else ""
    return context(f"{outcome_badge(latest)} ({by}, {when})")


# -- the answers to `/adr review`, `/adr remind` and "ask again in …" -----------------------


def review_day_text(day: date) -> str:
    """The day a review set for ``day`` is asked, saying so when a weekend moved it:
    "2027-03-08 (2027-03-06 is a Saturday: reviews are asked on working days)"."""
    asked = rules.review_day(day)
    if asked == day:
        return day.isoformat()
    return (
        f"{asked.isoformat()} ({day.isoformat()} is a {day:%A}: reviews are asked on working days)"
    )


def asked_now_text(number: int, planned: Review | None, *, tz: str | None = None) -> Mrkdwn:
    """`/adr review N`: asking now, and the planned review that stays (its time in every
    reader's zone; the fallback in ``tz``, the asker's, else the review's)."""
    text = f"Asking the author and deciders of ADR-{number} now whether it worked."
    if planned is None:
        return Mrkdwn(text)
    when = slack_date(planned.due_at, tz or planned.timezone)
    return Mrkdwn(f"{text} The planned review stays: I'll ask again {when}.")


def snoozed_text(number: int, next_round: Review, *, asked: datetime, period: str) -> Mrkdwn:
    """ "Too early — ask again in …": when the next ask is (``asked``, or the planned review
    when it comes first), in every reader's zone."""
    when = slack_date(next_round.due_at, next_round.timezone)
    if next_round.due_at != asked:
        return Mrkdwn(f"OK: the planned review of ADR-{number} comes first: I'll ask again {when}.")
    return Mrkdwn(f"OK: I'll ask again about ADR-{number} {when} (in {period}).")
