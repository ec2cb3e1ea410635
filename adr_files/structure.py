"""The Markdown structure of a decision record file (pure): the YAML front matter, and the
sections by heading level, where a heading inside a code fence or escaped with a backslash is
text. Headings and keys are compared by ``_key`` ("Decision-Makers:" -> "decision makers").

Front matter is read by PyYAML's safe loader with aliases refused: ``*name`` repeats a value
without copying it, so a few hundred bytes of nested aliases stand for billions of values,
and reading them as text (``values._plain``) never ends. MADR's front matter has no use for
them; a file that has one is refused with a reason, like any other unreadable front matter."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from adr_files.markdown import HEADING, fence_after, unescape
from adr_files.records import NotADecisionRecord


@dataclass
class _Section:
    level: int
    heading: str
    lines: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return _key(self.heading)

    @property
    def body(self) -> str:
        return unescape("\n".join(self.lines)).strip()


def _key(text: str) -> str:
    """A heading or key as compared: "Decision-Makers:" -> "decision makers"."""
    return " ".join(re.sub(r"[-_]", " ", text.lower()).split()).strip(" :")


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def _split(lines: list[str], starts: Callable[[int], bool]) -> tuple[list[str], list[_Section]]:
    """Lines before the first heading whose level ``starts`` a section, and the sections."""
    before: list[str] = []
    sections: list[_Section] = []
    fence = ""
    for line in lines:
        heading = None if fence else HEADING.match(line)
        fence = fence_after(fence, line)
        if heading and starts(len(heading.group(1))):
            sections.append(_Section(len(heading.group(1)), (heading.group(2) or "").strip()))
        else:
            (sections[-1].lines if sections else before).append(line)
    return before, sections


def front_matter(text: str) -> dict[object, object] | None:
    """The YAML front matter of a file's text (None when it has none or it cannot be read)."""
    try:
        return _front_matter(text.split("\n"))[0]
    except NotADecisionRecord:
        return None


def _front_matter(lines: list[str]) -> tuple[dict[object, object] | None, list[str]]:
    """The YAML front matter (None when the file has none) and the lines after it."""
    if lines[0].rstrip() != "---":
        return None, lines
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        raise NotADecisionRecord("front matter has no closing ---")
    try:
        data = yaml.load("\n".join(lines[1:end]), Loader=_NoAliases)  # the safe loader
    except Exception as exc:  # PyYAML's constructors raise IndexError, KeyError…
        # …on tagged values such as "!!float " or "!!timestamp x": all of them mean bad YAML
        raise NotADecisionRecord(_yaml_reason(exc)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise NotADecisionRecord("front matter is not a YAML mapping of keys to values")
    return data, lines[end + 1 :]


class _NoAliases(yaml.SafeLoader):
    """The safe loader, refusing every alias (``*name``, and so ``<<: *name``)."""

    # ``index`` as types-PyYAML declares it; PyYAML also passes None or a mapping's key node.
    # It is handed on untouched.
    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event: yaml.AliasEvent = self.current_event  # what check_event just peeked at
            mark = event.start_mark  # this pure-Python loader's marks are yaml.error.Mark
            raise yaml.composer.ComposerError(
                None,
                None,
                "an alias (*name) is not read in front matter",
                mark if isinstance(mark, yaml.error.Mark) else None,
            )
        return super().compose_node(parent, index)


def _yaml_reason(exc: Exception) -> str:
    if not isinstance(exc, yaml.YAMLError):
        detail = f" ({exc})" if isinstance(exc, ValueError) else ""
        return f"front matter is not valid YAML: a value cannot be read{detail}"
    problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 2})" if mark is not None else ""  # +1: 0-based, +1: "---"
    return f"front matter is not valid YAML: {problem}{where}"
