"""The `/adr` language: one pure parser for every verb (never raises on user text). Each verb's
handler lives in its feature and is added to the `/adr` table (``bot.core.commands``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.commands import MENTION, parse_number, unescape_refs
from bot.core.dates import DATE_EXAMPLES
from bot.core.render import escape
from storage.models import DecisionStatus
from storage.redaction import FIELD_LIST, FIELDS, STANCE

NUMBERED = ("show", "accept", "reject", "deprecate", "supersede", "edit", "review", "remind")
# Every verb `/adr` reads, for "did you mean" (``bot.core.commands.with_closest_verb``).
VERBS = (
    *("new", "help", "list", "search", "settings", "redact", "export", "digest", "dm", "stats"),
    *NUMBERED,
)
_REDACT_ALIASES = {"success_criteria": "success", "tag": "tags", "concern": STANCE}
REDACT_HELP = (
    "`/adr redact 7 context` replaces that field of ADR-7, everywhere it is kept, with "
    "“redacted by @you on YYYY-MM-DD”; `/adr redact 7 stance @ana` does it for Ana's concern and "
    f"reasons. Fields: {FIELD_LIST}."
)
DM_HELP = (
    "`/adr dm off` stops my review questions, reminders and informed DMs to you; "
    "`/adr dm on` turns them back on; `/adr dm` says which it is."
)
DIGEST_HELP = (
    "`/adr digest` sets up this channel's weekly digest (or changes it); "
    "`/adr digest preview` shows what this week's would say, only to you; "
    "`/adr digest off` stops it and `/adr digest on` starts it again."
)
# `/adr stats`: the periods it reads (the default first) and its one sentence for anything else.
STATS_PERIODS = ("90d", "30d", "1y")
STATS_WORKSPACE = "workspace"
STATS_HELP = (
    "`/adr stats [#channel | workspace] [30d | 90d | 1y]` shows how decisions went in a "
    "channel (this one if you name none) or the workspace, over the last 30 days, 90 days "
    "(the default) or year."
)


@dataclass(frozen=True)
class AdrCommand:
    name: str  # new | help | list | search | show | accept | ... | unknown | invalid
    number: int | None = None
    text: str = ""  # title for new, query for search, note for lifecycle changes, "all" for help
    status: DecisionStatus | None = None
    tag: str | None = None
    override: bool = False
    error: str = ""  # for name == "invalid": a sentence for the user
    field: str = ""  # redact: a key of storage.redaction.FIELDS, or "stance"
    person: str | None = None  # redact stance: whose (a user id from a mention)
    # stats: the channel named (an id from a channel reference); None with workspace=False is
    # the channel asked from
    channel: str | None = None
    workspace: bool = False


def parse_adr(text: str) -> AdrCommand:
    text = (text or "").replace("\x00", "").strip()  # NUL: unstorable in Postgres, untypeable
    head, _, rest = text.partition(" ")
    if head.lower() == "stats":  # before unescape_refs: it needs a channel reference's id
        return _parse_stats(rest)
    text = unescape_refs(text)
    if not text:
        return AdrCommand("new")
    head, _, rest = text.partition(" ")
    verb = head.lower()
    rest = rest.strip()
    if verb == "new":
        return AdrCommand("new", text=rest)
    if verb in ("help", "?"):
        return AdrCommand("help", text="all" if rest.lower() == "all" else "")
    if verb == "settings":
        return AdrCommand("settings", text=rest)
    if verb == "redact":
        return _parse_redact(rest)
    if verb == "export":
        return _parse_export(rest)
    if verb == "digest":
        if rest.lower() in ("", "preview", "off", "on"):
            return AdrCommand("digest", text=rest.lower())
        return AdrCommand("invalid", error=DIGEST_HELP)
    if verb == "dm":
        if rest.lower() in ("", "off", "on"):
            return AdrCommand("dm", text=rest.lower())
        return AdrCommand("invalid", error=DM_HELP)
    if verb == "search":
        if not rest:
            return AdrCommand("invalid", error="Tell me what to look for: `/adr search <words>`.")
        return AdrCommand("search", text=rest)
    if verb == "list":
        status: DecisionStatus | None = None
        tag: str | None = None
        for word in rest.split():
            low = word.lower()
            if low.startswith("#") and len(low) > 1:
                tag = low[1:]
            elif low in DecisionStatus._value2member_map_:
                status = DecisionStatus(low)
            else:
                statuses = ", ".join(s.value for s in DecisionStatus)
                return AdrCommand(
                    "invalid",
                    error=f"`/adr list` takes a status ({statuses}) and/or a #tag.",
                )
        return AdrCommand("list", status=status, tag=tag)
    if verb in NUMBERED:
        num_raw, _, note = rest.partition(" ")
        number = parse_number(num_raw) if num_raw else None
        if number is None:
            return AdrCommand(
                "invalid", error=f"Which decision? For example `/adr {verb} 7` for ADR-7."
            )
        note = note.strip()
        if verb == "remind" and not note:
            return AdrCommand(
                "invalid",
                error=f"When? For example `/adr remind {number} next tuesday`: try {DATE_EXAMPLES}.",
            )
        override = False
        if verb == "accept" and note.startswith("--override"):
            override = True
            note = note[len("--override") :].strip()
        return AdrCommand(verb, number=number, text=note, override=override)
    return AdrCommand("unknown", text=text)


# A channel as Slack sends it in an escaped command: <#C123|name> (the name may be empty).
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{1,31})(?:\|[^<>]*)?>$")


def _parse_stats(rest: str) -> AdrCommand:
    """`stats [#channel | workspace] [30d | 90d | 1y]`, the scope and period in either order,
    each at most once; the period is ``text``."""
    channel: str | None = None
    workspace = False
    period: str | None = None
    for word in rest.split():
        low = word.lower()
        found = _CHANNEL.match(word)
        if found and channel is None and not workspace:
            channel = found.group(1)
        elif low == STATS_WORKSPACE and channel is None and not workspace:
            workspace = True
        elif low in STATS_PERIODS and period is None:
            period = low
        else:
            return AdrCommand("invalid", error=STATS_HELP)
    return AdrCommand(
        "stats", text=period or STATS_PERIODS[0], channel=channel, workspace=workspace
    )


EXPORT_FORMATS = ("madr", "nygard")
EXPORT_HELP = (
    "`/adr export` sends you the whole log as ADR files (a zip) in our DM; `/adr export 7` "
    "sends ADR-7's file. Add `nygard` for the adr-tools layout (MADR is the default)."
)


def _parse_export(rest: str) -> AdrCommand:
    """`export [N] [madr|nygard]` (the number and format in either order)."""
    number: int | None = None
    fmt = "madr"
    for word in rest.split():
        low = word.lower()
        if low in EXPORT_FORMATS:
            fmt = low
        elif number is None and parse_number(word) is not None:
            number = parse_number(word)
        else:
            return AdrCommand("invalid", error=EXPORT_HELP)
    return AdrCommand("export", number=number, text=fmt)


def _parse_redact(rest: str) -> AdrCommand:
    """`redact N <field>` or `redact N stance @person`."""
    words = rest.split()
    number = parse_number(words[0]) if words else None
    if number is None:
        return AdrCommand("invalid", error="Which decision? " + REDACT_HELP)
    if len(words) < 2:
        return AdrCommand("invalid", error=f"Which field of ADR-{number}? Fields: {FIELD_LIST}.")
    field = words[1].lower()
    field = _REDACT_ALIASES.get(field, field)
    if field in FIELDS and len(words) == 2:
        return AdrCommand("redact", number=number, field=field)
    if field == STANCE and len(words) == 3:
        mention = MENTION.match(words[2])
        if mention:
            return AdrCommand("redact", number=number, field=field, person=mention.group(1))
        return AdrCommand(
            "invalid",
            error=f"Whose stance? Pick the person from Slack's @ list: "
            f"`/adr redact {number} stance @name`.",
        )
    if field == STANCE:
        return AdrCommand(
            "invalid", error=f"Whose stance? For example `/adr redact {number} stance @ana`."
        )
    if field in FIELDS:
        return AdrCommand(
            "invalid", error=f"Just the field, please: `/adr redact {number} {words[1]}`."
        )
    return AdrCommand(
        "invalid", error=f"I can't redact “{escape(words[1][:40])}”. Fields: {FIELD_LIST}."
    )
