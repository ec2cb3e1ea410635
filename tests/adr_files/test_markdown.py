"""Markdown escapes in ADR files (adr_files/markdown.py): escaped text has no section heading nor
an open fence and unescapes exactly. No database, no Slack."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adr_files import markdown

# -- Markdown escapes ----------------------------------------------------------------------------

_MARKDOWN_LINES = st.lists(
    st.sampled_from(
        [
            "# a",
            "## b",
            "### c",
            "#x",
            "```",
            "```py",
            "~~~",
            "\\# d",
            "\\```",
            "  ## e",
            "text",
            "",
        ]
    )
    | st.text("#`~\\ ab", max_size=6),
    max_size=8,
).map("\n".join)


@given(text=_MARKDOWN_LINES, levels=st.sampled_from([2, 3]))
def test_escaped_text_has_no_section_heading_nor_open_fence_and_unescapes_exactly(
    text: str, levels: int
) -> None:
    escaped = markdown.escape(text, levels=levels)
    assert markdown.unescape(escaped) == text
    fence = ""
    for line in escaped.split("\n"):
        heading = None if fence else markdown.HEADING.match(line)
        assert heading is None or len(heading.group(1)) > levels, (escaped, line)
        fence = markdown.fence_after(fence, line)
    assert fence == "", escaped


def test_a_lone_carriage_return_ends_a_line_for_the_escape_too() -> None:
    assert markdown.escape("a\r# Phase 1\r\nb") == "a\n\\# Phase 1\nb"
