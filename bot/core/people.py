"""Who is asking: the Slack user cache seen from a request, and the lookups that fill it.

A listener reads the cache (`known`); a person the cache does not know counts as a guest and
not an admin. Commands whose answer depends on it ack first, then `look_up` the person
(users.info, stored) and answer through `response_url`. Other paths keep the guest answer and
leave a `people.lookup` row, so the person is known next time. The first lookup in a
workspace also schedules the one `users.list` read (`people.sync`); `user_change` and
`team_join` events keep the cache fresh afterwards (`bot/features/workspace/listeners.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import nullcontext

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core.payloads import BlockActionsBody, ShortcutBody, SlackPayload
from bot.core.slack_api import slack_error
from storage import people as repo
from storage.db import Database
from storage.people import Person
from storage.visibility import Viewer

log = logging.getLogger(__name__)


def home_team_of(body: Mapping[str, object]) -> str | None:
    """The person's own organisation as the request states it (`user.team_id` of an
    interaction; slash commands do not carry it). Every kind of request body will do."""
    user = body.get("user")
    if isinstance(user, dict) and user.get("team_id"):
        return str(user["team_id"])
    return None


def known(
    db: Database,
    *,
    team: str,
    user: str,
    enterprise_id: str | None = None,
    home_team: str | None = None,
    session: Session | None = None,
) -> Person | None:
    """The cached person, or None if the cache does not know them. Read in ``session`` when
    given (the caller's unit of work: no transaction of its own)."""
    with nullcontext(session) if session is not None else db.read() as unit:
        row = repo.cached_user(unit, team_id=team, user_id=user)
    if row is None:
        return None
    return repo.person_from(
        row, user, team_id=team, enterprise_id=enterprise_id, home_team_id=home_team
    )


def as_known_or_guest(
    db: Database,
    *,
    team: str,
    user: str,
    enterprise_id: str | None = None,
    home_team: str | None = None,
    session: Session | None = None,
) -> Person:
    """For paths that cannot wait for Slack: the cached person, or (unknown) a guest, with a
    lookup left for the dispatcher so that they are known next time. With ``session`` (a
    writing unit of work of the caller's), read and schedule in it."""
    person = known(
        db, team=team, user=user, enterprise_id=enterprise_id, home_team=home_team, session=session
    )
    if person is not None:
        return person
    with nullcontext(session) if session is not None else db.session() as unit:
        repo.schedule_lookup(unit, team_id=team, user_id=user)
    outsider = repo.is_outsider(home_team, team_id=team, enterprise_id=enterprise_id)
    return Person.unknown(user, outsider=outsider)


def look_up(
    db: Database,
    client: WebClient,
    *,
    team: str,
    user: str,
    enterprise_id: str | None = None,
    home_team: str | None = None,
) -> Person:
    """After the ack only: users.info, stored in the cache. If Slack cannot say, the person
    stays unknown (a guest) and is looked up again next time."""
    info: SlackPayload | None = None
    try:
        info = client.users_info(user=user)["user"]
    except SlackApiError as exc:
        log.info("users.info %s failed: %s; treating them as a guest", user, slack_error(exc))
    except Exception as exc:  # noqa: BLE001 - a timeout must not cost the person their answer
        log.info("users.info %s failed: %s; treating them as a guest", user, type(exc).__name__)
    with db.session() as session:
        if info:
            repo.upsert_users(session, team_id=team, users=[info])
        repo.schedule_sync(session, team_id=team)
        return repo.get_person(
            session, team_id=team, user_id=user, enterprise_id=enterprise_id, home_team_id=home_team
        )


def known_or_looked_up(
    db: Database, client: WebClient, *, team: str, user: str, enterprise_id: str | None = None
) -> Person:
    """After the ack only: the cached person, else ``look_up`` (users.info)."""
    person = known(db, team=team, user=user, enterprise_id=enterprise_id)
    if person is not None:
        return person
    return look_up(db, client, team=team, user=user, enterprise_id=enterprise_id)


def viewer_for(person: Person, channel_id: str | None) -> Viewer:
    return Viewer(user_id=person.user_id, channel_id=channel_id, guest=person.guest)


def answer_as_person(
    ack: Ack,
    respond: Respond,
    client: WebClient,
    db: Database,
    *,
    team: str,
    user: str,
    enterprise_id: str | None,
    answer: Callable[[Person], SlackPayload],
) -> None:
    """Answer a command whose reply depends on who asks: in the ack when the cache knows the
    person; otherwise ack at once, look them up (users.info, after the ack) and answer through
    `response_url`."""
    person = known(db, team=team, user=user, enterprise_id=enterprise_id)
    if person is not None:
        ack(**answer(person))
        return
    ack()
    person = look_up(db, client, team=team, user=user, enterprise_id=enterprise_id)
    respond(**answer(person))


def viewer_of_click(
    db: Database,
    *,
    team: str,
    body: BlockActionsBody | ShortcutBody,
    session: Session | None = None,
) -> Viewer:
    """Who clicked, from where: a button, shortcut or modal loads its record through the
    same visibility rule as list, search and show (the cache's guest flag; no Slack call).
    With ``session``: read (and a lookup scheduled) in the caller's writing unit of work."""
    person = as_known_or_guest(
        db, team=team, user=body["user"]["id"], home_team=home_team_of(body), session=session
    )
    channel = body.get("channel")  # none for a click in a modal or the Home tab
    return viewer_for(person, channel.get("id") if channel else None)
