"""`/estimate`'s outbox work: posting a round, refreshing its message, the reveal's
computation, the thread details and the chart, the deadline reveal, the reminder, expiry, and
asking for the actual. Registered with the engine by ``register_work``.

Each handler runs after the change it follows was committed and sends at most one message;
what it learns is written with the row's "done" (``Job.after_send``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import durations
from bot.core.render import channel_link
from bot.core.slack_api import conversation_facts
from bot.engine.posting import post_once
from bot.engine.registry import Job, PermanentFailure, Registry, WorkKind, raise_if_permanent
from bot.features.estimates import estimation, texts, views
from storage import channels
from storage import decisions as decision_repo
from storage import estimates as repo
from storage.estimate_work import (
    EstimateWork,
    cancel_pending,
    schedule_ask_actual,
    schedule_compute,
    schedule_dm,
    schedule_refresh,
    schedule_shown,
)
from storage.models import DueWork, Estimate, EstimateRound, RoundState
from storage.notices import DmAbout, schedule_notice

log = logging.getLogger(__name__)
SAMPLES = 20_000


def _load(session: Session, item: DueWork) -> EstimateRound:
    return repo.get_round_by_id(session, team_id=item.team_id, round_id=item.subject_id)


def _locked(session: Session, item: DueWork) -> EstimateRound:
    return repo.get_round_by_id(
        session, team_id=item.team_id, round_id=item.subject_id, for_update=True
    )


def combined_of(rnd: EstimateRound) -> estimation.Combined | None:
    """The figures computed at the reveal (stored with the round), or None."""
    if not rnd.result:
        return None
    data = json.loads(rnd.result)
    data["spreads"] = [estimation.TaskSpread(**s) for s in data.get("spreads", [])]
    data["outliers"] = [estimation.Outlier(**o) for o in data.get("outliers", [])]
    data["person_totals"] = [estimation.PersonTotal(**p) for p in data.get("person_totals", [])]
    return estimation.Combined(**data)


def person_estimates(estimates: list[Estimate]) -> list[estimation.PersonEstimate]:
    return [
        estimation.PersonEstimate(
            user_id=e.user_id,
            ranges=[tuple(r) for r in json.loads(e.ranges)],  # type: ignore[misc]
            confidence=e.confidence,
            familiarity=e.familiarity,
            assumptions=e.assumptions,
        )
        for e in estimates
    ]


def _message(session: Session, rnd: EstimateRound) -> tuple[str, list[dict[str, Any]]]:
    decision_ref = None
    if rnd.decision_id is not None:
        d = decision_repo.get_decision_by_id(
            session, team_id=rnd.team_id, decision_id=rnd.decision_id
        )
        decision_ref = d.ref
    assumptions = None
    if rnd.state == RoundState.REVEALED:  # everyone's, for the sentence to paste
        assumptions = [e.assumptions for e in repo.estimates_of(session, rnd) if e.assumptions]
    return views.build_round_message(
        rnd,
        repo.tasks_of(session, rnd),
        repo.estimated_by(session, rnd),
        repo.invited(session, rnd),
        combined_of(rnd),
        decision_ref,
        assumptions=assumptions,
    )


def handle_post(job: Job) -> bool:
    with job.db.read() as session:
        rnd = _load(session, job.item)
        if rnd.message_ts:
            return False  # an earlier attempt posted it
        text, blocks = _message(session, rnd)
    facts = conversation_facts(job.client, rnd.channel_id)
    try:
        # once: after a lost answer it looks for the earlier post before posting again
        resp = post_once(
            job, channel=rnd.channel_id, thread_ts=rnd.thread_ts, text=text, blocks=blocks
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, f"post {rnd.ref} in {channel_link(rnd.channel_id)}")
        raise
    with job.db.session() as session:
        current = _load(session, job.item)
        private = channels.privacy_after_post(
            session, team_id=rnd.team_id, channel_id=rnd.channel_id, facts=facts
        )
        repo.set_post_result(
            session, rnd=current, message_ts=resp["ts"], error=None, private=private
        )
        # whatever changed while it was being posted (an estimate, a reveal) shows next
        schedule_refresh(session, rnd=current)
    return True


def post_failed(session: Session, job: Job, failure: PermanentFailure) -> None:
    rnd = _load(session, job.item)
    repo.set_post_result(session, rnd=rnd, message_ts=None, error=failure.error)
    schedule_notice(
        session,
        team_id=rnd.team_id,
        user_id=rnd.facilitator_id,
        text=texts.post_failed_text(rnd, failure.error),
    )


def handle_refresh(job: Job) -> bool:
    with job.db.read() as session:
        rnd = _load(session, job.item)
        if not rnd.message_ts:
            return False  # not posted yet: the post shows the current state
        text, blocks = _message(session, rnd)
    job.client.chat_update(channel=rnd.channel_id, ts=rnd.message_ts, text=text, blocks=blocks)
    return True


def handle_compute(job: Job) -> bool:
    """The combined estimate, computed once at the reveal and stored with the round; then the
    refreshed message, the thread details and the chart are scheduled with it."""
    with job.db.read() as session:
        rnd = _load(session, job.item)
        if rnd.state != RoundState.REVEALED or rnd.result:
            return False
        tasks = repo.tasks_of(session, rnd)
        estimates = repo.estimates_of(session, rnd)
    people = person_estimates(estimates)
    if not people:
        return False
    combined = estimation.combine(
        people,
        [t.name for t in tasks],
        phase=rnd.phase,
        samples=SAMPLES,
        seed=rnd.id or 0,
    )
    parts = len(views.build_detail_messages(rnd, tasks, estimates))

    def store(session: Session) -> None:
        current = _load(session, job.item)
        repo.set_result(session, rnd=current, result=asdict(combined))
        schedule_shown(session, rnd=current, parts=parts, chart=True)
        due = actual_due(current, combined)
        if due is not None:
            schedule_ask_actual(session, rnd=current, due_at=due)

    job.after_send.append(store)
    return False


def compute_failed(session: Session, job: Job, failure: PermanentFailure) -> None:
    rnd = _load(session, job.item)
    schedule_notice(
        session,
        team_id=rnd.team_id,
        user_id=rnd.facilitator_id,
        text=f"I couldn't work out the combined estimate of {rnd.ref} (`{failure.error}`); "
        f"its estimates are kept. `/estimate show {rnd.ref}` shows the round; start it again "
        "with **Re-estimate** if you need the figures.",
    )


def actual_due(rnd: EstimateRound, combined: estimation.Combined) -> datetime | None:
    """When the round's 90% figure has passed in working days after the reveal (a day is 8
    hours of work, a week 5 days; weekends skipped). Points have no calendar: not asked."""
    if rnd.unit == "points" or rnd.revealed_at is None:
        return None
    hours = durations.to_hours(combined.p90, rnd.unit)
    days = max(1, int(-(-hours // 8)))  # whole working days, at least one
    when = rnd.revealed_at
    while days:
        when += timedelta(days=1)
        if when.weekday() < 5:
            days -= 1
    return when


def _thread(rnd: EstimateRound) -> str:
    ts = rnd.message_ts if not rnd.thread_ts else rnd.thread_ts
    if not ts:
        raise PermanentFailure("not_posted", f"add to {rnd.ref}'s thread")
    return ts


def handle_details(job: Job) -> bool:
    part = int(job.payload.get("part", 0))
    with job.db.read() as session:
        rnd = _load(session, job.item)
        messages = views.build_detail_messages(
            rnd, repo.tasks_of(session, rnd), repo.estimates_of(session, rnd)
        )
    if part >= len(messages):
        return False
    text, blocks = messages[part]
    try:
        job.client.chat_postMessage(
            channel=rnd.channel_id, thread_ts=_thread(rnd), text=text, blocks=blocks
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, f"add everyone's ranges to {rnd.ref}'s thread")
        raise
    return True


def handle_chart(job: Job) -> bool:
    from bot.features.estimates.chart import render_chart

    with job.db.read() as session:
        rnd = _load(session, job.item)
    combined = combined_of(rnd)
    if combined is None or not combined.person_totals:
        return False
    # each person's total as the combined estimate sees it (widened to their confidence,
    # scaled by their familiarity), so the bars and the pooled 50%/90% lines agree
    totals = combined.person_totals
    labels = _names(job, [t.user_id for t in totals])
    png = render_chart(
        [(labels[t.user_id], t.best, t.likely, t.worst) for t in totals],
        combined,
        rnd.unit,
        f"{rnd.ref}: {rnd.topic}",
    )
    try:
        job.client.files_upload_v2(
            channel=rnd.channel_id,
            thread_ts=_thread(rnd),
            content=png,
            filename=f"{rnd.ref}.png",
            title=f"{rnd.ref} estimates",
        )
    except SlackApiError as exc:
        raise_if_permanent(exc, f"add the chart to {rnd.ref}'s thread")
        raise
    return True


def _names(job: Job, users: list[str]) -> dict[str, str]:
    """Display names for the chart's bars (a PNG cannot hold a mention): the cached names are
    not kept, so users.info each, falling back to the id."""
    names: dict[str, str] = {}
    for user in users:
        try:
            info = job.client.users_info(user=user)["user"]
            profile = info.get("profile") or {}
            names[user] = str(
                profile.get("display_name") or profile.get("real_name") or info.get("name") or user
            )[:40]
        except SlackApiError:
            names[user] = user
    return names


def chart_failed(session: Session, job: Job, failure: PermanentFailure) -> None:
    rnd = _load(session, job.item)
    schedule_notice(
        session,
        team_id=rnd.team_id,
        user_id=rnd.facilitator_id,
        text=texts.chart_failed_text(rnd, failure.error),
    )


def handle_deadline(job: Job) -> bool:
    with job.db.session() as session:
        rnd = _locked(session, job.item)
        if rnd.state != RoundState.OPEN:
            return False
        if repo.estimated_by(session, rnd):
            repo.reveal(session, rnd=rnd, actor_id=None, why="deadline")
            schedule_compute(session, rnd=rnd)
        else:
            repo.close(
                session,
                rnd=rnd,
                actor_id=None,
                to=RoundState.EXPIRED,
                note="The deadline passed and nobody had estimated.",
            )
            schedule_refresh(session, rnd=rnd)
        cancel_pending(session, rnd=rnd, kinds=(EstimateWork.REMIND,))
    return False


def handle_remind(job: Job) -> bool:
    with job.db.session() as session:
        rnd = _locked(session, job.item)
        if rnd.state != RoundState.OPEN:
            return False
        done = set(repo.estimated_by(session, rnd))
        pending = [u for u in repo.invited(session, rnd) if u not in done]
        for user in pending:
            schedule_dm(
                session,
                rnd=rnd,
                user_id=user,
                text=texts.reminder_text(rnd),
                part="remind",
                about=DmAbout.OTHERS,
            )
    return False


def handle_expire(job: Job) -> bool:
    with job.db.session() as session:
        rnd = _locked(session, job.item)
        if repo.close(
            session,
            rnd=rnd,
            actor_id=None,
            to=RoundState.EXPIRED,
            note="Not revealed within 14 days.",
        ):
            schedule_refresh(session, rnd=rnd)
            cancel_pending(session, rnd=rnd, kinds=(EstimateWork.DEADLINE, EstimateWork.REMIND))
    return False


def handle_ask_actual(job: Job) -> bool:
    with job.db.session() as session:
        rnd = _locked(session, job.item)
        if rnd.actual is not None or rnd.state != RoundState.REVEALED:
            return False
        schedule_dm(
            session,
            rnd=rnd,
            user_id=rnd.facilitator_id,
            text=texts.ask_actual_text(rnd),
            part="ask-actual",
            about=DmAbout.OTHERS,
        )
    return False


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(EstimateWork.POST, handle_post, load=_load, on_failure=post_failed),
        WorkKind(EstimateWork.REFRESH, handle_refresh, load=_load),
        WorkKind(EstimateWork.COMPUTE, handle_compute, load=_load, on_failure=compute_failed),
        WorkKind(EstimateWork.DETAILS, handle_details, load=_load),
        WorkKind(EstimateWork.CHART, handle_chart, load=_load, on_failure=chart_failed),
        WorkKind(EstimateWork.DEADLINE, handle_deadline, load=_load),
        WorkKind(EstimateWork.REMIND, handle_remind, load=_load),
        WorkKind(EstimateWork.EXPIRE, handle_expire, load=_load),
        WorkKind(EstimateWork.ASK_ACTUAL, handle_ask_actual, load=_load),
    )
