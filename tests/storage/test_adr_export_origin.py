"""Raw HTML in exported ADR files (issue 18, finding 5): `storage/adr_export_origin.py` with the
writer, against SQLite and a real Postgres (``db``). What was typed in Slack is escaped in the
files and imported back as typed; an imported file's own text is written back as read until
it is changed in Slack. Nothing is mocked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import review_answers, reviews
from storage.adr_export_files import export_to_dir
from storage.db import Database
from storage.decisions import DecisionDraft, get_decision, update_decision
from storage.models import Outcome, SlackUser, StanceKind
from storage.stances import set_stance
from tests.support.adr_import import (
    ANA,
    BOB,
    OTHER,
    TEAM,
    _adr_files,
    by_number,
    create_in_slack,
    run_import,
    snapshot,
)

SCRIPT, IMG = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"


def _export(db: Database, root: Path, fmt: str, team: str = TEAM) -> str:
    with db.read() as s:
        export_to_dir(s, team_id=team, root=root, fmt=fmt)
    return "\n".join(p.read_text() for p in sorted(root.iterdir()) if p.name != "README.md")


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_html_typed_in_slack_is_escaped_in_the_files_and_imported_back_as_typed(
    db: Database, tmp_path: Path, fmt: str
):
    parse, _write = _adr_files()
    with db.session() as s:
        s.add(SlackUser(team_id=TEAM, user_id=ANA, name=f"Ana {IMG}"))
    made = create_in_slack(
        db,
        f"Use {SCRIPT}",
        context=f"{IMG} & R&D &lt;b&gt; &#60;",
        decision=f"Use `<div>`:\n\n```html\n<p>kept</p>\n```\n\n{SCRIPT}",
        consequences=f"- {IMG}",
        success_criteria=SCRIPT,
        deciders=[ANA],
    )
    with db.session() as s:
        set_stance(
            s, team_id=TEAM, number=made.number, user_id=BOB, kind=StanceKind.BLOCK, reason=IMG
        )
        due = datetime(2024, 5, 1, 9, tzinfo=UTC)
        decision = get_decision(s, team_id=TEAM, number=made.number)
        review = reviews.schedule_review(
            s, decision=decision, due_at=due, timezone="UTC", actor_id=ANA
        )
        reviews.open_review(
            s, team_id=TEAM, review_id=review.id, now=due, nudge_at=due + timedelta(days=3)
        )
        review_answers.record_outcome(
            s,
            team_id=TEAM,
            review_id=review.id,
            user_id=ANA,
            outcome=Outcome.WORKED,
            what_happened=SCRIPT,
            learned=f"```\n{IMG}\n```",
        )

    text = _export(db, tmp_path / "out", fmt)
    assert "<script" not in text and "<img" not in text
    assert "&#60;script>alert(1)&#60;/script>" in text and "R&D &#38;lt;b&#38;gt; &#38;#60;" in text
    assert "Use `<div>`:\n\n```html\n<p>kept</p>\n```" in text  # code stays as typed
    index = (tmp_path / "out" / "README.md").read_text()
    assert "<script" not in index

    files, problems = parse.read_tree(tmp_path / "out")
    assert [p.path for p in problems] == ["README.md"]
    assert files[0].record.deciders[0].text == f"Ana {IMG} (@{ANA})"
    report = run_import(db, files, team=OTHER)
    assert report.problems == []
    assert snapshot(db, OTHER) == snapshot(db, TEAM)  # every text, stance and answer as typed
    assert by_number(db, OTHER)[made.number].title == f"Use {SCRIPT}"


IMPORTED = """# 1. Show details

Date: 2024-03-01

## Status

Accepted

## Context

<details><summary>Why</summary>

It is &lt;really&gt; needed &amp; cheap.

</details>

## Decision

Use <b>it</b> & more.

## Consequences

<i>None</i>.

## Stances

- Block: Bo (@U0BOB)
  - Reason: <i>costly</i>
"""


@pytest.mark.parametrize("fmt", ["madr", "nygard"])
def test_a_files_own_html_is_written_back_as_read_until_it_is_changed_in_slack(
    db: Database, tmp_path: Path, fmt: str
):
    parse, _write = _adr_files()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "0001-show-details.md").write_text(IMPORTED)
    files, _problems = parse.read_tree(tmp_path / "in")
    assert run_import(db, files).problems == []

    text = _export(db, tmp_path / "first", fmt)
    context = IMPORTED.split("## Context\n\n")[1].split("\n\n## Decision")[0]
    for as_read in (context, "Use <b>it</b> & more.", "<i>None</i>.", "Reason: <i>costly</i>"):
        assert as_read in text

    # changed in Slack: the decision text and Bo's block are typed there now
    with db.session() as s:
        d = get_decision(s, team_id=TEAM, number=1)
        draft = DecisionDraft(
            title=d.title,
            context=d.context,
            decision=f"Use <b>it</b> & {SCRIPT}",
            consequences=d.consequences,
            status=d.status,
        )
        update_decision(s, team_id=TEAM, number=1, actor_id="UBOT", draft=draft)
        set_stance(s, team_id=TEAM, number=1, user_id=BOB, kind=StanceKind.BLOCK, reason=IMG)
    text = _export(db, tmp_path / "second", fmt)
    assert context in text and "<i>None</i>." in text  # unchanged: still as read
    assert "Use &#60;b>it&#60;/b> & &#60;script>" in text and "<script" not in text
    assert "Reason: &#60;img src=x" in text and "<img" not in text

    again, _problems = parse.read_tree(tmp_path / "second")
    assert run_import(db, again, team=OTHER).problems == []
    assert snapshot(db, OTHER) == snapshot(db, TEAM)
