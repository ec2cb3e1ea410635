"""Outbox rows for the parking lot: kinds, keys and lanes in one place."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session, col

from storage import due_work, notices
from storage.decision_work import channel_lane
from storage.models import DueWork, JsonObject, ParkingItem, utcnow
from storage.notices import DmAbout
from storage.parking import saved_id

RESURFACE_AT = time(9, 0)  # UTC, on the deferred date


class ParkingWork(StrEnum):
    ACK = "parking.ack"  # "Parked as P-12 — triage will decide", in the thread or privately
    RESURFACE = "parking.resurface"  # a deferred item comes back to its channel
    OFFER = "parking.offer"  # the watch's ephemeral "Park it" offer to a message's author


def _key(item: ParkingItem, *parts: object) -> str:
    return ":".join(["parking", str(item.id), *map(str, parts)])


def schedule_ack(session: Session, *, item: ParkingItem, confirm: JsonObject | None) -> None:
    """Read the new item's channel, and with ``confirm`` ({"response_url", "asked_at"}) tell
    the person who parked it that it exists."""
    due_work.schedule(
        session,
        team_id=item.team_id,
        kind=ParkingWork.ACK,
        subject_id=saved_id(item),
        key=_key(item, "ack"),
        due_at=utcnow(),
        payload={"confirm": confirm},
        lane=channel_lane(item.channel_id),
    )


def schedule_resurface(session: Session, *, item: ParkingItem, day: date) -> None:
    """Once per deferral (the key carries the date: deferring again to another day makes a
    new row; the old one finds the item no longer due and does nothing)."""
    due_work.schedule(
        session,
        team_id=item.team_id,
        kind=ParkingWork.RESURFACE,
        subject_id=saved_id(item),
        key=_key(item, "resurface", day.isoformat()),
        due_at=datetime.combine(day, RESURFACE_AT, tzinfo=UTC),
        lane=channel_lane(item.channel_id),
    )


def schedule_dm(
    session: Session, *, item: ParkingItem, user_id: str, text: str, part: str, about: DmAbout
) -> bool:
    """``notices.schedule_dm`` about this item, once per ``part``."""
    return notices.schedule_dm(
        session,
        team_id=item.team_id,
        user_id=user_id,
        text=text,
        key=_key(item, "dm", part, user_id),
        subject_id=saved_id(item),
        about=about,
    )


def offered(
    session: Session,
    *,
    team_id: str,
    channel_id: str,
    ts: str,
    user_id: str,
    clicked_in: str | None,
) -> tuple[str, str]:
    """The message an offer was made about (kept in its outbox row): its text, to prefill the
    form, and the thread it is in (its own ts when it is not a reply). Only for the person it
    was offered to, clicking where it was offered; anyone else gets an empty form, as for an
    offer that does not exist."""
    row = session.scalars(
        select(col(DueWork.payload)).where(
            col(DueWork.team_id) == team_id,
            col(DueWork.key) == f"parking:offer:{channel_id}:{ts}",
        )
    ).one_or_none()
    payload: JsonObject = json.loads(row) if row else {}
    if payload.get("user") != user_id or clicked_in != channel_id:
        payload = {}
    return str(payload.get("text") or ""), str(payload.get("thread_ts") or ts)


def schedule_offer(
    session: Session,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    ts: str,
    thread_ts: str,
    text: str,
) -> None:
    """One offer per message (its own ts: every message of a thread is its own)."""
    payload = {
        "channel": channel_id,
        "user": user_id,
        "ts": ts,
        "thread_ts": thread_ts,
        "text": text[:1500],
    }
    due_work.schedule(
        session,
        team_id=team_id,
        kind=ParkingWork.OFFER,
        subject_id=0,
        key=f"parking:offer:{channel_id}:{ts}",
        due_at=utcnow(),
        payload=payload,
        lane=channel_lane(channel_id),
    )
