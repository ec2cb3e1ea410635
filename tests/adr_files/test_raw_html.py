"""Raw HTML in text from Slack (issue 18, finding 5), the pure part (adr_files/raw_html.py):
escaped text has no ``<`` outside code that every renderer agrees is code, and unescapes
exactly, whether escaped as typed in Slack or written as read. No database, no Slack."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adr_files.raw_html import BLOCK, ITEM, LINE, code, escape, unescape

_PIECES = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<!-- c -->",
        "&lt;",
        "&amp;",
        "&#60;",
        "&#38;",
        "&#x3C;",
        "R&D",
        "&",
        "<",
        "`",
        "``",
        "`<b>`",
        "```",
        "```html",
        "~~~",
        "  ```",
        "- ",
        "> ",
        "|",
        "\\",
        " ",
        "\n",
        "\n\n",
        "a",
    ]
)
TEXT = st.lists(_PIECES | st.text("<&`~|\\#;ab \n", max_size=4), max_size=16).map("".join)
WHERE = st.sampled_from([BLOCK, ITEM, LINE])


def _outside_code(text: str, where: str) -> str:
    kept, done = [], 0
    for start, end in code(text, where=where):
        kept.append(text[done:start])
        done = end
    return "".join(kept) + text[done:]


def _code(text: str, where: str) -> list[str]:
    return [text[start:end] for start, end in code(text, where=where)]


@given(text=TEXT, where=WHERE)
def test_escaped_text_runs_no_html_outside_code_and_unescapes_exactly(text: str, where: str):
    escaped = escape(text, where=where)
    assert unescape(escaped, where=where) == text
    assert "<" not in _outside_code(escaped, where)
    assert _code(escaped, where) == _code(text, where)  # code is kept as typed


@given(text=TEXT, where=WHERE)
def test_text_as_read_is_written_as_read_and_unescapes_exactly(text: str, where: str):
    kept = escape(text, where=where, as_read=True)
    assert unescape(kept, where=where) == text
    if "&#60;" not in text and "&#38;" not in text:
        assert kept == text


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("<script>alert(1)</script>", "&#60;script>alert(1)&#60;/script>"),
        ("<img src=x onerror=alert(1)>", "&#60;img src=x onerror=alert(1)>"),
        ("R&D, &lt;b&gt; and &#60;", "R&D, &#38;lt;b&#38;gt; and &#38;#60;"),
        ("use `<div>` here", "use `<div>` here"),
        ("```html\n<p>kept</p>\n```\n<b>", "```html\n<p>kept</p>\n```\n&#60;b>"),
        ("~~~\n<p>kept</p>\n~~~", "~~~\n<p>kept</p>\n~~~"),
    ],
)
def test_what_typed_html_is_written_as(typed: str, written: str) -> None:
    assert escape(typed) == written


@pytest.mark.parametrize(
    "typed",
    [
        # a fence indented under a list item ends with it, and the next line is HTML
        "- a\n   ```\n<img src=x onerror=alert(1)>\n```",
        # a backtick in a backtick fence's info string: not a fence at all
        "```x`\n<img src=x onerror=alert(1)>\n```",
        # never closed: markdown.escape takes the fence apart
        "```\n<img src=x onerror=alert(1)>",
        # a list item may end a paragraph: its backticks pair differently
        "- `a\n- <img src=x onerror=alert(1)> `",
        "x `\n- ` a ` <img src=x onerror=alert(1)> `",
        # a table cell splits a span at its |
        "a | b\n--|--\n`a|<img src=x onerror=alert(1)>`",
        # a backslash before a backtick
        "\\`<img src=x onerror=alert(1)>`",
    ],
)
def test_code_a_renderer_could_read_otherwise_is_escaped(typed: str) -> None:
    assert "<img" not in escape(typed)
    assert unescape(escape(typed)) == typed


def test_a_list_fields_first_line_follows_its_label() -> None:
    typed = "```\n<img src=x onerror=alert(1)>\n```"
    assert escape(typed, where=BLOCK) == typed  # a fenced block of a section
    # "  - Concern: ```" opens no fence: the next line would be HTML
    assert "<img" not in escape(typed, where=ITEM)
    assert "<img" not in escape(typed, where=LINE)
