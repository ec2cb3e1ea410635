"""`/adr dm`, `/adr dm off`, `/adr dm on`: whether the bot may DM a person (review questions,
reminders, informed notices). The preference itself is read where DMs are scheduled."""

from __future__ import annotations

from bot.core.adr_command import AdrCommand
from bot.core.blocks import ephemeral
from bot.core.commands import Request, SlashCommand
from storage import preferences
from storage.db import Database


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("dm", run=run_dm)


def run_dm(cmd: AdrCommand, request: Request) -> None:
    request.ack(
        **ephemeral(dm_setting(request.db, team=request.team, user=request.user, setting=cmd.text))
    )


def dm_setting(db: Database, *, team: str, user: str, setting: str) -> str:
    """`/adr dm`, `/adr dm off`, `/adr dm on`."""
    if not setting:
        with db.read() as session:
            off = preferences.dms_off(session, team_id=team, user_id=user)
        if off:
            return (
                "My DMs to you are *off*: no review questions, reminders or informed notices. "
                "`/adr dm on` turns them back on."
            )
        return (
            "My DMs to you are *on*: review questions, reminders and informed notices. "
            "`/adr dm off` stops them."
        )
    off = setting == "off"
    with db.session() as session:
        preferences.set_dms_off(session, team_id=team, user_id=user, off=off)
    if off:
        return (
            "OK: I won't DM you review questions, reminders or informed notices any more; "
            "whoever asks will be told. Answers to what you do yourself still reach you. "
            "`/adr dm on` turns them back on."
        )
    return "OK: my DMs to you are back on."
