"""One skeleton for every slash command (`/adr`, `/estimate`, `/parkinglot`): parse the text
into a command (pure), look its verb up in a table, run the verb's handler.

A verb is handled one of two ways:
- ``run(cmd, request)``: the handler acks itself (it opens a modal with the trigger id, which
  lives 3 s, or answers at once);
- ``answer(cmd, request, person) -> ephemeral``: the answer depends on who asks (a guest, an
  admin), so it is given in the ack when the user cache knows the person, else through
  ``response_url`` after a ``users.info`` look-up (``bot.core.people.answer_as_person``).

A parser never raises on user text: it returns a command named ``invalid`` with a sentence
for the person, or ``unknown``/``help``, which the table answers with the command's help:
``help`` the few verbs people use, ``help all`` every verb and who may do what, ``unknown``
the closest verb (``with_closest_verb``) and where help is, never the whole help.
Features add their verbs with ``SlashCommand.add``; a feature never routes another's verbs.

A verb that creates something is idempotent on the request's ``trigger_id`` (unique to one
invocation): the same signed request sent again within Slack's 5 minutes (a replay) makes
nothing twice and is answered as the first was (``storage.invocations``; an export's outbox
key is the trigger id). Running the command again is a new trigger id: a second thing.

Also here: what every command parser needs to read text as Slack sends it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.core import people
from bot.core.blocks import ephemeral
from bot.core.payloads import SlackPayload, SlashCommandBody
from storage.db import Database
from storage.people import Person


class Command(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def error(self) -> str: ...


C = TypeVar("C", bound=Command)


@dataclass(frozen=True)
class Request:
    """A slash command as a verb's handler sees it."""

    ack: Ack
    respond: Respond
    client: WebClient
    db: Database
    team: str
    user: str
    channel: str | None
    # unique to this invocation: opens a modal, and recognises a replay of this request
    trigger_id: str
    context: BoltContext
    # where to answer later (valid 30 minutes): a form carries it to confirm what it made
    response_url: str = ""


Run = Callable[[C, Request], None]
Answer = Callable[[C, Request, Person], SlackPayload]


class SlashCommand(Generic[C]):
    """A slash command's table of verbs. ``help(cmd)`` answers ``help``, ``unknown`` and any
    verb no feature added."""

    def __init__(
        self, name: str, *, parse: Callable[[str], C], help: Callable[[C], SlackPayload]
    ) -> None:
        self.name = name
        self.parse = parse
        self.help = help
        self._verbs: dict[str, Run[C]] = {}

    def add(self, *verbs: str, run: Run[C] | None = None, answer: Answer[C] | None = None) -> None:
        if run is not None and answer is None:
            handler = run
        elif answer is not None and run is None:
            handler = _as_person(answer)
        else:
            raise ValueError("a verb has either run= or answer=")
        for verb in verbs:
            if verb in self._verbs:
                raise ValueError(f"{self.name} {verb} is added twice")
            self._verbs[verb] = handler

    @property
    def verbs(self) -> frozenset[str]:
        return frozenset(self._verbs)

    def handle(
        self,
        ack: Ack,
        respond: Respond,
        command: SlashCommandBody,
        client: WebClient,
        db: Database,
        team: str,
        context: BoltContext,
    ) -> None:
        """The Bolt listener: ``app.command(name)(guarded(table.handle))``."""
        cmd = self.parse(command.get("text", ""))
        if cmd.name == "invalid":
            ack(**ephemeral(cmd.error))
            return
        handler = self._verbs.get(cmd.name)
        if handler is None:
            ack(**self.help(cmd))
            return
        request = Request(
            ack=ack,
            respond=respond,
            client=client,
            db=db,
            team=team,
            user=command.get("user_id", ""),
            channel=command.get("channel_id") or None,
            trigger_id=command.get("trigger_id", ""),
            context=context,
            response_url=command.get("response_url", ""),
        )
        handler(cmd, request)


def _as_person(answer: Answer[C]) -> Run[C]:
    def run(cmd: C, request: Request) -> None:
        people.answer_as_person(
            request.ack,
            request.respond,
            request.client,
            request.db,
            team=request.team,
            user=request.user,
            enterprise_id=request.context.enterprise_id,
            answer=lambda person: answer(cmd, request, person),
        )

    return run


# -- reading command text ----------------------------------------------------------------------

_NUMBER = re.compile(r"^(?:adr-?|#)?(\d{1,9})$", re.IGNORECASE)
# A mention as Slack sends it in an escaped command: <@U123|ana> (or <@U123>).
MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,31})(?:\|[^<>]*)?>$")


def parse_number(raw: str) -> int | None:
    """A decision's number as people type it: ``7``, ``ADR-7``, ``adr7``, ``#7``."""
    match = _NUMBER.match(raw.strip())
    return int(match.group(1)) if match else None


# Commands are escaped by Slack (manifest `should_escape: true`, so that @mentions arrive as
# user ids): a channel reference becomes <#C123|name>, a link <https://x|label>, and the
# person's own &, <, > arrive as &amp; &lt; &gt;. Words are turned back into what the person
# typed; only mentions stay in Slack's form (<@U123|name>).
_CHANNEL_REF = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_LINK_REF = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|[^>]*)?>")


def unescape_refs(text: str) -> str:
    text = _CHANNEL_REF.sub(lambda m: "#" + m.group(1), text)
    text = _LINK_REF.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# -- did you mean ------------------------------------------------------------------------------

# difflib's ratio: "shwo" -> "show" is 0.75, "acept" -> "accept" 0.91, "frobnicate" is near
# nothing. A command that reads free text (a topic, a request) asks for more, so a real topic
# is not taken for a typo ("Release 2" is 0.62 from "reveal 2").
CLOSE = 0.6
CLOSE_IN_FREE_TEXT = 0.75


def closest_verb(word: str, verbs: Iterable[str], *, cutoff: float = CLOSE) -> str | None:
    """The verb ``word`` is most likely a typo of, or None when none is close enough."""
    found = difflib.get_close_matches(word.lower(), sorted(verbs), n=1, cutoff=cutoff)
    return found[0] if found else None


def with_closest_verb(text: str, verbs: Iterable[str], *, cutoff: float = CLOSE) -> str | None:
    """``text`` with its first word replaced by the closest verb and the rest kept as typed
    (``shwo 1`` -> ``show 1``); None when the first word is a verb already or none is close."""
    head, space, rest = text.strip().partition(" ")
    known = set(verbs)
    if head.lower() in known:
        return None
    verb = closest_verb(head, known, cutoff=cutoff)
    return None if verb is None else verb + space + rest.strip()
