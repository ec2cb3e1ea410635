"""`/estimate`'s outbox work: posting a round, refreshing its message, the reveal's
computation, the thread details and the chart, the deadline reveal, the reminder, expiry, and
asking for the actual. Registered with the engine by ``register_work``.

Each handler runs after the change it follows was committed and sends at most one message;
what it learns is written with the row's "done" (``Job.after_send``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import durations
from bot.core.payloads import Blocks
from bot.core.render import channel_link
from bot.core.slack_api import conversation_facts
from bot.engine.posting import post_once
from bot.engine.registry import Job, PermanentFailure, Registry, WorkKind, raise_if_permanent
from bot.features.estimates import estimation, texts, views
from bot.features.estimates.chart import ChartRow
from bot.features.estimates.forms import stored_ranges, typed_answers
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
from storage.models import (
    SIZES,
    DueWork,
    Estimate,
    EstimateRound,
    Familiarity,
    RoundMode,
    RoundState,
)
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
    return estimation.combined_from_json(rnd.result)


def person_estimates(estimates: list[Estimate]) -> list[estimation.PersonEstimate]:
    """Everyone's numbers as they gave them (a quick round's single number is a point)."""
    return [
        estimation.PersonEstimate(
            user_id=e.user_id,
            ranges=stored_ranges(e),
            confidence=e.confidence,
            familiarity=e.familiarity,
            assumptions=e.assumptions,
        )
        for e in estimates
    ]


def sizes_used(estimates: list[Estimate]) -> bool:
    return any(answer in SIZES for e in estimates for task in typed_answers(e) for answer in task)


def planned_people(
    rnd: EstimateRound, estimates: list[Estimate], widening: estimation.Widening
) -> list[estimation.PersonEstimate]:
    """What the plan pools: a ranged round's estimates as given; in a quick round each
    number widened into a range (a size is the team's range already), at 80%, unscaled."""
    people = person_estimates(estimates)
    if rnd.mode != RoundMode.QUICK:
        return people
    planned = []
    for person, e in zip(people, estimates, strict=True):
        typed = typed_answers(e)
        ranges = []
        for index, (best, likely, worst) in enumerate(person.ranges):
            is_size = index < len(typed) and typed[index][:1] and typed[index][0] in SIZES
            ranges.append(
                (best, likely, worst) if is_size else estimation.quick_range(likely, widening)
            )
        planned.append(
            estimation.PersonEstimate(
                user_id=person.user_id,
                ranges=ranges,
                confidence=estimation.QUICK_CONFIDENCE,
                familiarity=Familiarity.DONE,
                assumptions=person.assumptions,
            )
        )
    return planned


def _message(session: Session, rnd: EstimateRound) -> tuple[str, Blocks]:
    decision_ref = None
    if rnd.decision_id is not None:
        d = decision_repo.get_decision_by_id(
            session, team_id=rnd.team_id, decision_id=rnd.decision_id
        )
        decision_ref = d.ref
    estimates = repo.estimates_of(session, rnd) if rnd.state == RoundState.REVEALED else []
    return views.build_round_message(
        rnd,
        repo.tasks_of(session, rnd),
        repo.estimated_by(session, rnd),
        repo.invited(session, rnd),
        combined_of(rnd),
        decision_ref,
        people=person_estimates(estimates),
        sizes_used=sizes_used(estimates),
    )


def message_digest(text: str, blocks: Blocks) -> str:
    """What a round's message shows, as a sha256: a refresh that would send the same skips."""
    body = json.dumps([text, blocks], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


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
        repo.set_message_digest(session, rnd=current, digest=message_digest(text, blocks))
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
    digest = message_digest(text, blocks)
    if digest == rnd.message_digest:
        return False  # the message shows this already: an update would change nothing
    job.client.chat_update(channel=rnd.channel_id, ts=rnd.message_ts, text=text, blocks=blocks)
    # Its own short unit, not the row's "done" (``job.after_send``): that one holds the outbox
    # row while a click that locks the round (then schedules this refresh) waits the other way
    # round, a deadlock on Postgres. Lost here, the worst is one more identical update.
    with job.db.session() as session:
        repo.set_message_digest(session, rnd=_load(session, job.item), digest=digest)
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
        widening = None
        if rnd.mode == RoundMode.QUICK:
            ratios = repo.actual_ratios(session, team_id=rnd.team_id)
            widening = estimation.widening_from(ratios)
    people = planned_people(rnd, estimates, widening or estimation.DEFAULT_WIDENING)
    if not people:
        return False
    combined = estimation.combine(
        people,
        [t.name for t in tasks],
        phase=rnd.phase,
        samples=SAMPLES,
        seed=rnd.id or 0,
    )
    combined = replace(combined, widening=widening)
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


def chart_rows(
    rnd: EstimateRound,
    estimates: list[Estimate],
    combined: estimation.Combined,
    labels: dict[str, str],
) -> list[ChartRow]:
    """Each person's totals as they said them, and the plan's (its 5th to 95th percentile of
    their draws: widened to 90%, multiplier included) only where the plan adjusted them."""
    totals = {t.user_id: t for t in combined.person_totals}
    quick = rnd.mode == RoundMode.QUICK
    rows = []
    for person in person_estimates(estimates):
        total = totals.get(person.user_id)
        why = (
            "widened from a single number"
            if quick
            else views.adjustment_why(estimation.adjustment(person))
        )
        adjusted = (total.best, total.likely, total.worst) if total is not None and why else None
        rows.append(
            ChartRow(
                label=labels.get(person.user_id, person.user_id),
                said=estimation.stated_total(person.ranges),
                adjusted=adjusted,
                why=why if adjusted is not None else "",
            )
        )
    return rows


def handle_chart(job: Job) -> bool:
    from bot.features.estimates.chart import alt_text, render_chart

    with job.db.read() as session:
        rnd = _load(session, job.item)
        estimates = repo.estimates_of(session, rnd) if rnd.state == RoundState.REVEALED else []
    combined = combined_of(rnd)
    if combined is None or not estimates:
        return False
    labels = _names(job, [e.user_id for e in estimates])
    rows = chart_rows(rnd, estimates, combined, labels)
    png = render_chart(rows, combined, rnd.unit, f"{rnd.ref}: {rnd.topic}")
    try:
        job.client.files_upload_v2(
            channel=rnd.channel_id,
            thread_ts=_thread(rnd),
            content=png,
            filename=f"{rnd.ref}.png",
            title=f"{rnd.ref} estimates",
            alt_txt=alt_text(rows, combined, rnd.unit),
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
        WorkKind(EstimateWork.DEADLINE, handle_deadline, load=_load, scheduled=True),
        WorkKind(EstimateWork.REMIND, handle_remind, load=_load, scheduled=True),
        WorkKind(EstimateWork.EXPIRE, handle_expire, load=_load, scheduled=True),
        WorkKind(EstimateWork.ASK_ACTUAL, handle_ask_actual, load=_load, scheduled=True),
    )
