"""One Jinja2 environment over prompts/, with mrkdwn escaping on by default.

Every ``{{ expression }}`` is escaped for Slack mrkdwn (``&`` ``<`` ``>``) unless it is a
:class:`Mrkdwn` value built by code that knows it is safe (a ``<@U123>`` mention made from a
validated user id), so text a user typed can never ping ``<!channel>`` or a person.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from storage.reviews import BOT_ACTOR

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
SECTION_LIMIT = 3000
BOT_NAME = "Decision Bot"  # what people call the app, wherever they read it
_ID = re.compile(r"^[UWBCDG][A-Z0-9]{1,31}$")


class Mrkdwn(str):
    """Text that is already valid, safe mrkdwn (never user input)."""


def escape(value: object) -> str:
    """Escape text for mrkdwn: a user's ``<!channel>`` shows literally and pings no one."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> Mrkdwn:
    """``<@U123>`` for a real user id; the bot itself (history written by its own scheduled
    work) by its name; anything else is shown escaped, never as markup."""
    if _ID.match(user_id or ""):
        return Mrkdwn(f"<@{user_id}>")
    if user_id == BOT_ACTOR:
        return Mrkdwn(BOT_NAME)
    return Mrkdwn(escape(user_id))


def channel_link(channel_id: str) -> Mrkdwn:
    if _ID.match(channel_id or ""):
        return Mrkdwn(f"<#{channel_id}>")
    return Mrkdwn(escape(channel_id))


def counted(count: int, one: str, many: str | None = None) -> str:
    """``1 decision``, ``2 decisions``, ``0 decisions``; ``many`` for an irregular plural
    (``counted(n, "person", "people")``)."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def truncate(text: str, limit: int, *, more: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, visibly."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(more))].rstrip() + more


# The tail of a cut mrkdwn string that is half of something: an entity (`&am`) or a mention,
# channel or link (`<@U12`). In mrkdwn every raw `<` and `&` is markup (user text is escaped).
_PARTIAL_MARKUP = re.compile(r"(?:<[^<>]{0,600}|&#?[A-Za-z0-9]{0,8})$")


def truncate_mrkdwn(text: str, limit: int, *, more: str = "…") -> str:
    """:func:`truncate` for mrkdwn: the cut never leaves half an entity or half a mention."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_MARKUP.sub("", text[: max(0, limit - len(more))])
    return cut.rstrip() + more


def _finalize(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Mrkdwn):
        return value
    return escape(value)


def _mentions(user_ids: list[str]) -> Mrkdwn:
    return Mrkdwn(", ".join(mention(u) for u in user_ids))


def _quote(text: str) -> Mrkdwn:
    return Mrkdwn("\n".join("> " + escape(line) for line in str(text).splitlines() or [""]))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(PROMPTS_DIR),
        autoescape=False,  # HTML escaping is wrong for Slack; _finalize escapes for mrkdwn
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Templates never change while a process runs: compiled once, and no stat() of the
        # file on every render to see whether it changed (issue 27).
        auto_reload=False,
    )
    env.filters["mention"] = mention
    env.filters["mentions"] = _mentions
    env.filters["channel"] = channel_link
    env.filters["quote"] = _quote
    env.filters["truncate_text"] = truncate
    env.filters["counted"] = counted
    return env


def render(template: str, /, *, limit: int = SECTION_LIMIT, **context: object) -> str:
    """Render ``prompts/<template>`` and cut it to ``limit`` characters (section text)."""
    text = environment().get_template(template).render(**context).strip()
    return truncate_mrkdwn(text, limit)
