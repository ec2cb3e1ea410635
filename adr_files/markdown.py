"""The bits of Markdown block structure both the reader and the writer must agree on: ATX
headings, code fences, and the backslash that keeps a line of text from being either.

A decision's text comes from a Slack modal, where ``# of users`` or a pasted ``## Phase 1``
is just text; in a file, such a line would start a section, and an unclosed code fence would
swallow every section after it. So ``escape`` puts a backslash in front of those lines (how
Markdown itself escapes them: ``\\# of users`` renders as ``# of users``), and ``unescape``
takes it off again. A line that already starts with backslashes and a heading or fence
marker gets one more, so the pair is exact for any text. Lines inside a closed code fence
are never touched: a heading there is text already.
"""

from __future__ import annotations

import re

HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# indent, backslashes, and what follows: a heading marker (its level) or a fence marker
_MARKER = re.compile(r"^( {0,3})(\\*)(?:(#{1,6})(?=[ \t]|$)|`{3,}|~{3,})")


def fence_after(fence: str, line: str) -> str:
    """The open code fence after ``line`` ("" when none), given the one open before it."""
    match = FENCE.match(line)
    if not match:
        return fence
    marker = match.group(1)
    if not fence:
        return marker
    closes = marker[0] == fence[0] and len(marker) >= len(fence) and line.strip() == marker
    return "" if closes else fence


def escape(text: str, *, levels: int = 2) -> str:
    """``text`` with a backslash before each line outside code fences that would read as a
    heading of level <= ``levels`` (the ones a reader splits sections on), or open a fence
    that never closes, or already starts with a backslash before such a marker. ``\\r\\n``
    and a lone ``\\r`` become ``\\n`` first: a reader of the file ends a line at each."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    unclosed: set[int] = set()  # fence openers to escape: each pass finds one more
    while True:
        out, fence, opened_at = [], "", -1
        for i, line in enumerate(lines):
            if fence:
                fence = fence_after(fence, line)
                out.append(line)
                continue
            marker = _MARKER.match(line)
            if marker and _needs_escape(marker, i in unclosed, levels):
                indent = marker.group(1)
                out.append(f"{indent}\\{line[len(indent) :]}")
                continue
            fence = fence_after("", line)
            opened_at = i if fence else opened_at
            out.append(line)
        if not fence:
            return "\n".join(out)
        unclosed.add(opened_at)


def _needs_escape(marker: re.Match[str], unclosed: bool, levels: int) -> bool:
    if marker.group(2):  # backslashes already: one more, so unescape gives these back
        return True
    if marker.group(3) is not None:
        return len(marker.group(3)) <= levels
    return unclosed


def unescape(text: str) -> str:
    """The text ``escape`` was given: one backslash fewer on each escaped marker line outside
    code fences."""
    out, fence = [], ""
    for line in text.split("\n"):
        if not fence:
            marker = _MARKER.match(line)
            if marker and marker.group(2):
                indent = marker.group(1)
                line = indent + line[len(indent) + 1 :]
                out.append(line)
                continue
        fence = fence_after(fence, line)
        out.append(line)
    return "\n".join(out)
