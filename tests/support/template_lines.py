"""Checking a prompt template's line breaks (for tests/core/test_template_line_breaks.py).

The environment has ``trim_blocks``: the newline right after a block tag (``{% endif %}``) is
dropped. A line of text that ends with a tag therefore runs into the next one unless something
else writes the newline ("• @bob: Agree• @carol: …", issue 20). :func:`check` renders a template
with each given context and reports:

- **faults**: where a line of the template does not start a line of the output. A source line
  "starts" where its first output is: column 0 when it begins with text or ``{{ … }}``; after
  its leading ``{% if %}``/``{% elif %}``/``{% else %}`` tag when text follows the tag; after
  a leading ``{% for %}`` whose loop goes on over more lines (each item is a line). A line that
  opens with ``{%-``/``{{-``, or follows one ending in ``-%}``/``-}}``, joins on purpose and is
  not checked; nor is a blank line. Besides: a ``•`` after other text on its line, and a
  ``*Label:*``/``_Label:_`` glued to the text before it.
- **untaken**: branches no context took: each ``{% if %}``'s body, every ``{% elif %}``, its
  ``{% else %}`` (written or not: the empty one counts), a ``{% for %}`` body run at least twice
  in one render (so two items meet), a loop's ``{% else %}``, both sides of ``a if c else b``.

Both come from one render of an instrumented copy: line-start markers are inserted in the
source text, branch counters in its parsed tree; neither writes anything else, and whitespace
control happens in the lexer, so the output is the template's own plus the markers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, nodes

from bot.core.render import Mrkdwn, environment

_MARK = re.compile(r"\x01(\d+)\x02")
_TAG_NAME = re.compile(r"^\{%[+-]?\s*(\w+)")
_BULLET_AFTER_TEXT = re.compile(r"^[^\n]*\S[^\n]*•", re.MULTILINE)
_GLUED_LABEL = re.compile(r"[^\s(“\"'*_>`]((\*|_)[A-Z][\w ’'&-]{0,40}:\2)(?=\s|$)")


@dataclass
class Report:
    faults: list[str] = field(default_factory=list)
    untaken: list[str] = field(default_factory=list)


def _line_start(line: str, previous: str) -> int | None:
    """Where ``line``'s output starts (a column), or None when it is not checked."""
    if previous.rstrip().endswith(("-%}", "-}}")):
        return None
    text = line.lstrip()
    if not text or text.startswith(("{%-", "{{-", "{#")):
        return None
    if not text.startswith("{%"):
        return 0
    end = text.find("%}") + 2
    name = _TAG_NAME.match(text)
    if end < 2 or name is None or not text[end:].strip():
        return None
    if name.group(1) in ("if", "elif", "else"):
        return len(line) - len(text) + end
    if name.group(1) == "for" and "{% endfor" not in text and "{%- endfor" not in text:
        return len(line) - len(text) + end
    return None


def _marked(source: str) -> str:
    """``source`` with ``{{ _bol(n) }}`` where the output of its line ``n`` starts."""
    lines = source.split("\n")
    out = []
    for n, line in enumerate(lines, start=1):
        at = _line_start(line, lines[n - 2] if n > 1 else "")
        out.append(line if at is None else f"{line[:at]}{{{{ _bol({n}) }}}}{line[at:]}")
    return "\n".join(out)


@dataclass
class _Probe:
    """The branch counters put into a template's tree."""

    lines: list[str]  # the template's source lines, to quote
    branches: dict[int, str] = field(default_factory=dict)  # id -> "line 3: else"
    loops: dict[int, str] = field(default_factory=dict)  # id -> "line 2: for"

    def _new(self, table: dict[int, str], lineno: int, what: str) -> int:
        key = len(self.branches) + len(self.loops)
        line = self.lines[lineno - 1].strip() if 0 < lineno <= len(self.lines) else ""
        quoted = line if len(line) <= 70 else line[:69] + "…"
        table[key] = f"line {lineno}: {what}  [{quoted}]"
        return key

    def _hit(self, key: int, lineno: int) -> nodes.Output:
        call = nodes.Call(nodes.Name("_hit", "load"), [nodes.Const(key)], [], None, None)
        return nodes.Output([call], lineno=lineno)

    def instrument(self, tree: nodes.Template) -> None:
        ifs = list(tree.find_all(nodes.If))
        chained = {id(e) for n in ifs for e in n.elif_}
        for n in ifs:
            if id(n) in chained:
                continue
            n.body.insert(0, self._hit(self._new(self.branches, n.lineno, "if (true)"), n.lineno))
            for e in n.elif_:
                e.body.insert(0, self._hit(self._new(self.branches, e.lineno, "elif"), e.lineno))
            what = "else" if n.else_ else "the empty else (the condition false)"
            n.else_.insert(0, self._hit(self._new(self.branches, n.lineno, what), n.lineno))
        for loop in tree.find_all(nodes.For):
            key = self._new(self.loops, loop.lineno, "for, run twice in one render")
            loop.body.insert(0, self._hit(key, loop.lineno))
            if loop.else_:
                key = self._new(self.branches, loop.lineno, "for's else (nothing to loop)")
                loop.else_.insert(0, self._hit(key, loop.lineno))
        for cond in tree.find_all(nodes.CondExpr):
            key = self._new(self.branches, cond.lineno, "`x if c else y`: x")
            cond.expr1 = self._value(key, cond.expr1, cond.lineno)
            key = self._new(self.branches, cond.lineno, "`x if c else y`: y")
            cond.expr2 = self._value(key, cond.expr2 or nodes.Const(""), cond.lineno)

    @staticmethod
    def _value(key: int, expr: nodes.Expr, lineno: int) -> nodes.Expr:
        return nodes.Call(
            nodes.Name("_hit_value", "load"),
            [nodes.Const(key), expr],
            [],
            None,
            None,
            lineno=lineno,
        )


def _compiled(env: Environment, source: str, name: str) -> tuple[Any, _Probe]:
    tree = env.parse(_marked(source), name=name)
    probe = _Probe(source.split("\n"))
    probe.instrument(tree)
    tree.set_environment(env)
    code = env.compile(tree, name=name)
    return env.template_class.from_code(env, code, env.make_globals(None)), probe


def faults_in(output: str) -> list[str]:
    """Where ``output`` (with ``\\x01n\\x02`` markers) runs lines together."""
    faults = []
    clean = _MARK.sub("", output)
    removed = 0
    for match in _MARK.finditer(output):
        at = match.start() - removed
        removed += len(match.group(0))
        before = clean[:at]
        if before.strip() and not before.endswith("\n"):
            faults.append(
                f"line {match.group(1)} of the template runs into the line before it: "
                f"{clean[max(0, at - 50) : at]!r} ⟪here⟫ {clean[at : at + 30]!r}"
            )
    for match in _BULLET_AFTER_TEXT.finditer(clean):
        faults.append(f"a bullet after text on its line: {match.group(0)[-60:]!r}")
    for match in _GLUED_LABEL.finditer(clean):
        faults.append(
            f"a label glued to the text before it: {clean[max(0, match.start() - 30) : match.end()]!r}"
        )
    return faults


def check(
    source: str,
    contexts: Iterable[dict[str, Any]],
    *,
    name: str = "template",
    env: Environment | None = None,
) -> Report:
    """Render ``source`` with each context; the faults (each once) and the branches not taken."""
    template, probe = _compiled(env or environment(), source, name)
    report = Report()
    taken: set[int] = set()
    runs: Counter[int] = Counter()
    for i, context in enumerate(contexts):
        hits: Counter[int] = Counter()

        def hit(key: int, hits: Counter[int] = hits) -> Mrkdwn:
            hits[key] += 1
            return Mrkdwn("")

        def hit_value(key: int, value: Any, hits: Counter[int] = hits) -> Any:
            hits[key] += 1
            return value

        bol: Callable[[int], Mrkdwn] = lambda n: Mrkdwn(f"\x01{n}\x02")  # noqa: E731
        output = template.render(**context, _hit=hit, _hit_value=hit_value, _bol=bol)
        for fault in faults_in(output):
            report.faults.append(f"context {i}: {fault}")
        taken |= set(hits)
        for key in probe.loops:
            runs[key] = max(runs[key], hits[key])
    report.faults = list(dict.fromkeys(report.faults))
    untaken = [(key, what) for key, what in probe.branches.items() if key not in taken]
    untaken += [(key, what) for key, what in probe.loops.items() if runs[key] < 2]
    report.untaken = [what for _, what in sorted(untaken)]
    return report
