"""`/adr settings`: the workspace's review schedule (time zone, hour, nudges) and who besides
admins may change it (`/adr settings managers add|remove @someone`)."""

from __future__ import annotations

from sqlmodel import Session

from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import MENTION, Request, SlashCommand
from bot.core.dates import valid_timezone
from bot.core.payloads import SlackPayload
from storage import people as people_repo
from storage import review_settings as repo
from storage.db import Database
from storage.errors import InvalidInput, NotAllowed
from storage.people import Person


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("settings", answer=answer_settings)


def answer_settings(cmd: AdrCommand, request: Request, person: Person) -> SlackPayload:
    return ephemeral(settings_command(request.db, team=request.team, text=cmd.text, person=person))


SETTINGS_HELP = (
    "`/adr settings` shows the schedule; change it with `/adr settings timezone Europe/Berlin`, "
    "`/adr settings timezone auto` (use the deciders' own), `/adr settings hour 10` (0-23), "
    "`/adr settings nudge 3` (working days before a reminder, 1-30)."
)
MANAGERS_HELP = (
    "Workspace admins name who else may change the settings: "
    "`/adr settings managers add @someone`, `/adr settings managers remove @someone`."
)


def _who_may_change(session: Session, team: str) -> str:
    named = people_repo.settings_managers(session, team_id=team)
    who = "workspace admins and owners"
    if named:
        who += " and " + ", ".join(f"<@{u}>" for u in named[:20])
    return who


def settings_command(db: Database, *, team: str, text: str, person: Person) -> str:
    """`/adr settings`: everyone may read them; workspace admins and owners, and the people an
    admin named, may change them; guests and outsiders never."""
    words = text.split()
    if not words:
        with db.read() as session:
            s = repo.workspace_settings(session, team_id=team)
            who = _who_may_change(session, team)
            allowed = people_repo.may_change_settings(session, team_id=team, person=person)
        where = s.timezone or "each decision's deciders' own Slack time zone"
        shown = (
            f"Reviews are asked at {s.review_hour:02d}:00 in {where}, on working days; one reminder "
            f"every {s.nudge_after_days} working days, at most {s.max_nudges}.\n"
            f"Who may change these: {who}.\n"
        )
        if not allowed:
            return shown + "You can read them, not change them."
        return shown + SETTINGS_HELP + (" " + MANAGERS_HELP if person.admin else "")
    if words[0].lower() in ("managers", "manager"):
        return _managers_command(db, team=team, words=words[1:], person=person)
    with db.read() as session:
        if not people_repo.may_change_settings(session, team_id=team, person=person):
            raise NotAllowed(
                f"Only {_who_may_change(session, team)} can change these settings; "
                "`/adr settings` shows them."
            )
    if len(words) != 2:
        raise InvalidInput(SETTINGS_HELP)
    key, value = words[0].lower(), words[1]
    changes: dict[str, str | int | None]
    if key in ("timezone", "tz"):
        if value.lower() == "auto":
            changes = {"timezone": None}
        elif valid_timezone(value):
            changes = {"timezone": value}
        else:
            raise InvalidInput(
                f"I don't know the time zone {value[:64]!r}; use an IANA name such as Europe/Berlin or America/New_York."
            )
    elif key == "hour":
        if not (value.isdigit() and 0 <= int(value) <= 23):
            raise InvalidInput(
                f"The review hour is a whole hour from 0 to 23 (local time), such as "
                f"`/adr settings hour 10`; {value[:20]!r} isn't one."
            )
        changes = {"review_hour": int(value)}
    elif key == "nudge":
        if not (value.isdigit() and 1 <= int(value) <= 30):
            raise InvalidInput(
                f"Reminders go out after 1 to 30 working days, such as `/adr settings nudge 3`; "
                f"{value[:20]!r} isn't a number in that range."
            )
        changes = {"nudge_after_days": int(value)}
    else:
        raise InvalidInput(SETTINGS_HELP)
    with db.session() as session:
        repo.update_settings(session, team_id=team, **changes)
    return (
        "Saved. It applies to reviews scheduled from now on. " + SETTINGS_HELP.split(";")[0] + "."
    )


def _managers_command(db: Database, *, team: str, words: list[str], person: Person) -> str:
    with db.read() as session:
        named = people_repo.settings_managers(session, team_id=team)
    if not words:
        listed = ", ".join(f"<@{u}>" for u in named) or "nobody yet"
        return (
            f"Besides workspace admins and owners, these people may change the settings: {listed}."
        )
    if not person.admin:
        raise NotAllowed("Only workspace admins and owners can name who may change the settings.")
    verb = words[0].lower()
    mentions = [MENTION.match(w) for w in words[1:]]
    if verb not in ("add", "remove") or not mentions or not all(mentions):
        raise InvalidInput(MANAGERS_HELP)
    users = [m.group(1) for m in mentions if m]
    with db.session() as session:
        for user in users:
            if verb == "add":
                people_repo.name_settings_manager(
                    session, team_id=team, user_id=user, named_by=person.user_id
                )
            else:
                people_repo.drop_settings_manager(session, team_id=team, user_id=user)
        named = people_repo.settings_managers(session, team_id=team)
    listed = ", ".join(f"<@{u}>" for u in named) or "nobody"
    return f"Saved. Besides workspace admins and owners, the settings may be changed by: {listed}."
