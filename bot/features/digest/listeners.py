"""`/adr digest`: set up, change, preview, turn off and resume a channel's weekly digest.

Any member of the channel may (running the command there is what shows membership); who did
is recorded, shown in the form and at the foot of every digest. A digest belongs to the
channel it is set up in, so it is never set up from a DM.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core import people
from bot.core.adr_command import AdrCommand
from bot.core.blocks import MESSAGE_BLOCKS, context, ephemeral
from bot.core.commands import Request, SlashCommand
from bot.core.errors import guarded
from bot.core.ids import Callback
from bot.core.payloads import SlackPayload, ViewPayload, ViewSubmissionBody
from bot.core.slack_api import conversation_facts, slack_error
from bot.features.digest.forms import (
    DigestMeta,
    build_digest_modal,
    next_text,
    parse_digest_form,
)
from bot.features.digest.forms import status_text as settings_status
from bot.features.digest.work import WEEK, build, plan
from storage import channels
from storage import digest_subscriptions as repo
from storage.db import Database
from storage.digest_subscriptions import DigestConfig
from storage.models import DigestScope, DigestSubscription, utcnow

log = logging.getLogger(__name__)


def register_verbs(adr: SlashCommand[AdrCommand]) -> None:
    adr.add("digest", run=run_digest)


def register(app: App) -> None:
    app.view(Callback.DIGEST_FORM)(guarded(handle_submission))


def run_digest(cmd: AdrCommand, request: Request) -> None:
    """`/adr digest [preview|off|on]`."""
    handle_command(
        request.ack,
        request.respond,
        request.client,
        request.db,
        team=request.team,
        user=request.user,
        channel=request.channel,
        verb=cmd.text,
        trigger_id=request.trigger_id,
        context=request.context,
    )


def handle_command(
    ack: Ack,
    respond: Respond,
    client: WebClient,
    db: Database,
    *,
    team: str,
    user: str,
    channel: str | None,
    verb: str,
    trigger_id: str,
    context: BoltContext,
) -> None:
    if not channel or channel.startswith("D"):
        ack(
            **ephemeral(
                "A digest belongs to a channel: run `/adr digest` in the channel it is for."
            )
        )
        return
    if verb in ("off", "on"):
        with db.session() as session:
            sub, due = repo.set_enabled(
                session,
                team_id=team,
                channel_id=channel,
                enabled=verb == "on",
                actor_id=user,
                plan=plan,
            )
        ack(**ephemeral(_switched_text(sub, due, channel, on=verb == "on")))
        return
    ack()
    if verb == "preview":
        # after the ack: who is asking (a guest's preview is narrowed) and whether the
        # channel is shared with another organisation (the cache, else conversations.info)
        person = people.known_or_looked_up(
            db, client, team=team, user=user, enterprise_id=context.enterprise_id
        )
        shared = channel_shared(db, client, team=team, channel=channel)
        respond(**preview(db, team=team, channel=channel, user=user, narrow=person.guest or shared))
        return
    open_form(
        db,
        client,
        team=team,
        user=user,
        channel=channel,
        trigger_id=trigger_id,
        respond=respond,
        context=context,
    )


def open_form(
    db: Database,
    client: WebClient,
    *,
    team: str,
    user: str,
    channel: str,
    trigger_id: str,
    respond: Respond,
    context: BoltContext,
) -> None:
    """Open the form (a trigger_id lasts 3 s), then learn whether the channel is shared with
    another organisation, which saving it needs (cached; read again on Submit).

    A new digest's time zone defaults to the person's, so the one lookup that may come first
    is theirs, when the cache does not know them: on the request client (one attempt, a short
    timeout, never a Retry-After sleep). Not after opening with views.update: Slack keeps what
    an input showed across an update of the same block, so the zone would stay UTC."""
    with db.read() as session:
        sub = repo.get(session, team_id=team, channel_id=channel)
    person = people.known_or_looked_up(
        db, client, team=team, user=user, enterprise_id=context.enterprise_id
    )
    try:
        client.views_open(
            trigger_id=trigger_id,
            view=build_digest_modal(channel_id=channel, sub=sub, default_tz=person.tz),
        )
    except SlackApiError as exc:
        if slack_error(exc) != "expired_trigger_id":
            raise
        respond(
            response_type="ephemeral",
            text="Slack took too long to let me open the form; run `/adr digest` again.",
        )
        return
    channel_shared(db, client, team=team, channel=channel)


def channel_shared(db: Database, client: WebClient, *, team: str, channel: str) -> bool:
    """Whether the channel is shared with another organisation, as the cache says, else as
    conversations.info says (then cached); if Slack can't say, it counts as shared."""
    with db.read() as session:
        known_channel = channels.get(session, team_id=team, channel_id=channel)
    if known_channel is not None:
        return known_channel.is_shared
    facts = conversation_facts(client, channel)
    if facts is None:
        return True
    with db.session() as session:
        channels.record(session, team_id=team, channel_id=channel, facts=facts)
    return bool(facts.shared)


def _switched_text(
    sub: DigestSubscription | None, due: datetime | None, channel: str, *, on: bool
) -> str:
    if sub is None:
        return f"<#{channel}> has no weekly digest yet. `/adr digest` sets one up."
    if not on:
        return (
            f"The weekly digest for <#{channel}> is off. `/adr digest on` turns it back on "
            "with the same settings."
        )
    assert due is not None
    return f"The weekly digest for <#{channel}> is on. The next one comes {next_text(due, sub.timezone)}."


def preview(
    db: Database, *, team: str, channel: str, user: str, narrow: bool = False
) -> SlackPayload:
    """What this week's digest would say if it went out now (the last seven days), only to the
    person asking. A channel without a digest is previewed with the default settings.
    ``narrow``: a guest or outsider asking, or a shared channel: this channel only, whatever
    the digest covers (the workspace-wide one is for the workspace's own members)."""
    with db.read() as session:
        sub = repo.get(session, team_id=team, channel_id=channel)
    config = DigestConfig.of(sub) if sub is not None else DigestConfig()
    if narrow:
        config = replace(config, scope=DigestScope.CHANNEL)
    end = utcnow()
    built = build(
        db,
        team_id=team,
        channel_id=channel,
        config=replace(config, quiet_line=True),
        configured_by=sub.configured_by if sub is not None else user,
        app_id=sub.app_id if sub is not None else None,
        start=end - WEEK,
        end=end,
        late=False,
    )
    assert built is not None  # quiet_line: a quiet week is one line
    text, blocks = built
    note = context(
        f"Preview of the last seven days, only you can see it. {settings_status(sub, channel)}"
    )
    return ephemeral(text, [note, *blocks[: MESSAGE_BLOCKS - 1]])


def handle_submission(
    ack: Ack,
    body: ViewSubmissionBody,
    view: ViewPayload,
    client: WebClient,
    db: Database,
    team: str,
) -> None:
    channel = DigestMeta.decode(view).channel
    user = body["user"]["id"]
    person = people.as_known_or_guest(db, team=team, user=user, home_team=people.home_team_of(body))
    with db.read() as session:
        known_channel = channels.get(session, team_id=team, channel_id=channel)
    config, errors = parse_digest_form(
        view.get("state", {}).get("values", {}),
        # the command looks the channel up after opening the form: None while it is unknown
        channel_shared=None if known_channel is None else known_channel.is_shared,
        guest=person.guest,
    )
    if errors:
        ack(response_action="errors", errors=errors)
        if known_channel is None:  # "press Save again in a moment": by then it is known
            channel_shared(db, client, team=team, channel=channel)
        return
    assert config is not None
    with db.session() as session:
        sub, due = repo.configure(
            session,
            team_id=team,
            channel_id=channel,
            config=config,
            actor_id=user,
            plan=plan,
            app_id=body.get("api_app_id"),
        )
        timezone = sub.timezone
    ack()
    if due is None:
        text = f"Saved: the weekly digest for <#{channel}> is off."
    else:
        text = (
            f"Saved: the weekly digest for <#{channel}> comes {next_text(due, timezone)}, "
            "and every week after. `/adr digest preview` shows what it would say now."
        )
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as exc:
        # Not in the channel (or it is gone): say so by DM, or the first digest would pause.
        log.info("digest saved in %s, ephemeral failed: %s", channel, slack_error(exc))
        client.chat_postMessage(
            channel=user,
            text=f"{text}\nI'm not in <#{channel}> yet: invite me there with "
            "`/invite @Decision Bot`, or the digest will be paused when it is due.",
        )
