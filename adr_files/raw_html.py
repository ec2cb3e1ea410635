"""Raw HTML in a decision's text (pure): what someone typed in Slack is shown by a file, never
run by it.

Markdown passes raw HTML through, and doc sites that render a repository's records (MkDocs by
default) would run a ``<script>`` or ``<img onerror=…>`` typed in a modal. So text from Slack
is written with ``escape(text)``: outside code, ``<`` becomes ``&#60;``, and an ``&`` that
would start a character reference (``&lt;``, ``&#60;``) becomes ``&#38;``, so the page shows
exactly what was typed; a bare ``&`` (R&D) renders as itself and is left alone. ``unescape``
turns ``&#60;`` and ``&#38;`` back, so export -> import gives the typed text again.

Text read from a file and unchanged since is written as read: ``escape(text, as_read=True)``
touches only an ``&`` that starts ``&#60;`` or ``&#38;`` (hand-written Markdown hardly ever
has those; a team's own ``&lt;`` and ``<details>`` stay as they are), so reading it back gives
it unchanged too. The numeric forms are the bot's own for that reason: ``unescape`` leaves
``&lt;`` and ``&amp;`` alone.

Code is left as typed (entities are not decoded there), but only code every CommonMark
renderer agrees is code; where that is not certain the text is escaped, which is safe (at
worst a ``&#60;`` shows inside code). Code is:

- a fenced block (BLOCK and ITEM texts) whose opening line starts at the line's first column
  (an indented one may belong to a list item and end with it), whose backtick fence has no
  backtick after it, and that is closed. Any other fence line outside a fence, or one never
  closed (``markdown.escape`` takes that one apart), and no fence of the text is code;
- a code span that opens and closes on one line, when every backtick run of every line
  outside fences pairs up on its own line (so no renderer can pair them across lines or list
  items differently), no backslash stands before a backtick, and the span holds no ``|`` (a
  table cell would split it).

Where the text goes decides what can be code: ``BLOCK`` a section's body; ``ITEM`` a field of
the Stances and Review lists, whose first line follows its label; ``LINE`` a title or a name.
The reader must say the same as the writer. Nothing here creates or removes a backtick, a
fence or a line, so the code found in the escaped text is the code found in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from adr_files.markdown import FENCE, fence_after

BLOCK, ITEM, LINE = "block", "item", "line"

# an & that a renderer would read as a character reference; the two the bot writes
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)")
_OURS = re.compile(r"&#(?:60|38);")
_RUN = re.compile(r"`+")


def escape(text: str, *, where: str = BLOCK, as_read: bool = False) -> str:
    """``text`` for a file: from Slack, with ``<`` and a reference's ``&`` as ``&#60;`` and
    ``&#38;`` outside code; ``as_read``, with only the ``&`` of ``&#60;`` / ``&#38;`` so."""
    if as_read:
        if "&#" not in text:  # most texts: nothing to look at
            return text
        return _outside_code(text, where, lambda part: _OURS.sub(_amp, part))
    if "<" not in text and "&" not in text:
        return text
    return _outside_code(text, where, _escape_part)


def unescape(text: str, *, where: str = BLOCK) -> str:
    """The text ``escape`` was given (either way): ``&#60;`` and ``&#38;`` outside code back
    to ``<`` and ``&``."""
    if "&#" not in text:
        return text
    return _outside_code(text, where, lambda part: _OURS.sub(_char, part))


def _escape_part(part: str) -> str:
    return _REFERENCE.sub(_amp, part).replace("<", "&#60;")


def _amp(match: re.Match[str]) -> str:
    return "&#38;" + match.group()[1:]


def _char(match: re.Match[str]) -> str:
    return "<" if match.group() == "&#60;" else "&"


def _outside_code(text: str, where: str, change: Callable[[str], str]) -> str:
    """``text`` with ``change`` applied to every stretch that is not code."""
    out: list[str] = []
    done = 0
    for start, end in code(text, where=where):
        out += [change(text[done:start]), text[start:end]]
        done = end
    out.append(change(text[done:]))
    return "".join(out)


def code(text: str, *, where: str = BLOCK) -> list[tuple[int, int]]:
    """The (start, end) offsets of the code in ``text`` that every renderer shows as code
    (fenced blocks with their fence lines, code spans with their backticks), in order."""
    blocks: list[tuple[int, int]] = []
    lines: list[tuple[int, str]] = []  # lines outside fences, with their offsets
    fence, offset, fences_sure = "", 0, True
    for i, line in enumerate(text.split("\n")):
        start, offset = offset, offset + len(line) + 1
        if fence:
            blocks[-1] = (blocks[-1][0], start + len(line))
            fence = fence_after(fence, line)
            continue
        marker = FENCE.match(line)
        if marker is None or where == LINE or (where == ITEM and i == 0):
            lines.append((start, line))
            continue
        fence = marker.group(1)
        after = line[len(marker.group(0)) :]
        if line.startswith(" ") or (fence[0] == "`" and "`" in after):
            fences_sure = False
        blocks.append((start, start + len(line)))
    if fence or not fences_sure:
        return []
    spans: list[tuple[int, int]] = []
    for start, line in lines:
        found = _spans(line)
        if found is None:
            return blocks
        spans += [(start + a, start + b) for a, b in found]
    return sorted(blocks + spans)


def _spans(line: str) -> list[tuple[int, int]] | None:
    """The line's code spans; None unless each backtick run pairs with one on this line, no
    backslash comes before a backtick and no span holds a ``|``."""
    if "\\`" in line:
        return None
    runs = [match.span() for match in _RUN.finditer(line)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        start, end = runs[i]
        closing = next(
            (j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == end - start), None
        )
        if closing is None or "|" in line[start : runs[closing][1]]:
            return None
        spans.append((start, runs[closing][1]))
        i = closing + 1
    return spans


__all__ = ["BLOCK", "ITEM", "LINE", "code", "escape", "unescape"]
