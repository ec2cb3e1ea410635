"""Every template in prompts/, rendered with inputs that take every branch: no two lines of a
message run together (issue 20: `/adr show` printed "• @bob: Agree• @carol: …" because
``trim_blocks`` ate the newline after ``{% endif %}``). Pure: no Slack, no database.

``CASES`` holds, for each template, the contexts that between them take each ``if``, ``elif``
and ``else`` (the empty else too), run each loop at least twice in one render and take both
sides of each ``x if c else y``; ``tests/support/template_lines.py`` checks the line breaks and
says which branch no context took. A template in prompts/ without cases fails: add its cases
here. A line that should continue the one before says so in the template (``{%-`` or ``-%}``);
a line break after a tag at a line's end is kept with ``+%}`` (``{% endif +%}``).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.render import PROMPTS_DIR, Mrkdwn
from tests.support.template_lines import check

TEMPLATES = sorted(p.relative_to(PROMPTS_DIR).as_posix() for p in PROMPTS_DIR.rglob("*.md.j2"))

ANA, BO, CY = "U0ANA", "U0BO", "U0CY"
TWO = [ANA, BO]


def _kinds(common: dict[str, Any], *kinds: dict[str, Any]) -> list[dict[str, Any]]:
    """One context per ``kind`` (plus ``common``), and one with a kind the template ignores."""
    return [{**common, **k} for k in kinds] + [{**common, "kind": "none"}]


_STANCE = {"concern": "", "change_my_mind": "", "reason": ""}
_ROUND = {
    "facilitator": ANA,
    "unit": "days",
    "phase": "initial",
    "decision_ref": "",
    "deadline": "",
    "invited": False,
    "actual": "",
    "revealed_by": None,
    "automatic": False,
}
_ITEM = {
    "state": "parked",
    "decided_by": "",
    "decided_at": "",
    "waiting": False,
    "requester": "",
    "parked_by": ANA,
    "channel": "C0123",
    "created": "2026-05-01",
    "link": "",
    "why": "",
    "related": "",
    "rice": "",
    "inputs": "",
    "moscow": "",
    "timeline": "",
    "until": "",
    "reason": "",
}
_NO_ONE = {"decider": "", "consulted": "", "informed": ""}
_STATS = {
    "where": Mrkdwn("<#C0123>"),
    "period": "last 90 days",
    "recorded": 12,
    "accepted": 9,
    "lead_median": "2 days",
    "lead_p90": "6 days",
    "reversed": 1,
    "reversible": 9,
    "asked": 7,
    "answered": 5,
    "answer_median": "5 hours",
    "outcomes": "3 worked, 1 didn't work",
    "doors": "2 one-way",
    "dissent": 3,
    "dissent_true": 1,
    "blocks": 2,
    "blocks_resolved": 1,
    "block_median": "less than an hour",
    "scored": 8,
    "unscored": 2,
    "team_bins": "75% → 80% came true (5) · Brier 0.18",
    "min_forecasters": 5,
    "own_bins": "90% → 50% came true (2) · Brier 0.23",
}
_SUMMARY = {
    "status_label": "Proposed",
    "author": "",
    "deciders": [],
    "consulted": [],
    "informed": [],
    "named": _NO_ONE,
    "review_date": "",
    "decide_by": "",
    "door": "",
    "forecasts": "",
    "tags": [],
    "supersedes": None,
    "superseded_by": None,
    "links": [],
}
_REVIEW_ASK = {
    "nudge": 0,
    "number": 7,
    "title": "Use Postgres",
    "decided_on": "2026-05-01",
    "decision_redacted": "",
    "decision_text": "We use Postgres.\nFor everything.",
    "success": "",
    "success_redacted": "",
}
_ANSWER = {"user": BO, "label": "worked", "what_happened": "", "evidence": "", "learned": ""}

CASES: dict[str, list[dict[str, Any]]] = {
    # -- decisions --
    "decisions/accepted_over_you.md.j2": [
        {"number": 7, "title": "Use Postgres", "actor": ANA, "blocked": True, "note": "go"},
        {"number": 7, "title": "Use Postgres", "actor": ANA, "blocked": False, "note": ""},
    ],
    "decisions/blocked_by.md.j2": [
        {
            "blocks": [
                {"who": Mrkdwn(f"<@{ANA}>"), "why": "No budget"},
                {"who": Mrkdwn(f"<@{BO}>"), "why": ""},
            ]
        }
    ],
    "decisions/card.md.j2": [
        {
            "status_label": "Proposed",
            "deciders": TWO,
            "named_deciders": "Cy Lee",
            "review_date": "2026-06-01",
            "decide_by": "",
            "decision": "We use Postgres.\nFor everything.",
            "supersedes": 3,
            "superseded_by": 9,
        },
        {
            "status_label": "Proposed",
            "deciders": [BO],
            "named_deciders": "",
            "review_date": "2026-06-01",
            "decide_by": "Fri 2026-05-15",
            "decision": "We use Postgres.",
            "supersedes": None,
            "superseded_by": None,
        },
        {
            "status_label": "Proposed",
            "deciders": [BO],
            "named_deciders": "",
            "review_date": "",
            "decide_by": "Fri 2026-05-15",
            "decision": "We use Postgres.",
            "supersedes": None,
            "superseded_by": None,
        },
        {
            "status_label": "Proposed",
            "deciders": [BO],
            "named_deciders": "",
            "review_date": "",
            "decide_by": "",
            "decision": "We use Postgres.",
            "supersedes": None,
            "superseded_by": None,
        },
        {
            "status_label": "Proposed",
            "deciders": [],
            "named_deciders": "",
            "review_date": "",
            "decide_by": "",
            "decision": "We use Postgres.",
            "supersedes": None,
            "superseded_by": None,
        },
    ],
    "decisions/decide_by_author.md.j2": [
        {
            "number": 7,
            "title": "Use Postgres",
            "day": "Fri 2027-03-12",
            "waiting": TWO,
            "muted": [CY],
            "blocked": True,
        },
        {
            "number": 7,
            "title": "Use Postgres",
            "day": "Fri 2027-03-12",
            "waiting": [],
            "muted": [],
            "blocked": False,
        },
    ],
    "decisions/decide_by_decider.md.j2": [
        {"ping": True, "author": ANA, "number": 7, "title": "T", "day": "Fri", "channel": "C01"},
        {"ping": False, "author": ANA, "number": 7, "title": "T", "day": "Fri", "channel": "C01"},
    ],
    "decisions/decide_by_pinged.md.j2": [
        {"number": 7, "pinged": TWO, "muted": [CY]},
        {"number": 7, "pinged": [], "muted": []},
    ],
    "decisions/change_note.md.j2": [
        {"superseded_by": 9, "actor": ANA, "to": "accepted", "blockers": [], "note": ""},
        {"superseded_by": None, "actor": ANA, "to": "accepted", "blockers": TWO, "note": "go"},
        {"superseded_by": None, "actor": ANA, "to": "accepted", "blockers": [BO], "note": ""},
        {"superseded_by": None, "actor": ANA, "to": "rejected", "blockers": [], "note": ""},
    ],
    "decisions/dms_off_informed.md.j2": [{"people": TWO, "number": 7}],
    "decisions/field.md.j2": [{"label": "Context", "text": "Line one.\nLine two."}],
    "decisions/help.md.j2": [{}],
    "decisions/help_all.md.j2": [{}],
    "decisions/history.md.j2": [
        {
            "events": [
                {"when": "2026-05-01 09:00 UTC", "actor": ANA, "text": "recorded it"},
                {"when": "2026-05-02 09:00 UTC", "actor": "decisionbot", "text": "scheduled"},
            ]
        }
    ],
    "decisions/informed_dm.md.j2": [
        {"author": ANA, "number": 7, "title": "T", "status": "proposed", "permalink": "https://x"},
        {"author": ANA, "number": 7, "title": "T", "status": "proposed", "permalink": ""},
    ],
    "decisions/list.md.j2": [
        {
            "decisions": [
                {"number": 1, "title": "One", "status": "accepted", "tags": ["db", "infra"]},
                {"number": 2, "title": "Two", "status": "proposed", "tags": []},
            ]
        }
    ],
    "decisions/numbers.md.j2": [{}],
    "decisions/post_failed.md.j2": [{"number": 7, "channel": "C0123", "reason": "not in it"}],
    "decisions/posted.md.j2": [{"number": 7, "title": "T", "channel": "C0123"}],
    "decisions/post_in_warning.md.j2": [
        {"channel": "C0123", "seen": True},
        {"channel": "C0123", "seen": False},
    ],
    "decisions/rules.md.j2": [{}],
    "decisions/source.md.j2": [{"path": "docs/decisions/0001-use-postgres.md"}],
    "decisions/summary.md.j2": [
        {
            **_SUMMARY,
            "author": ANA,
            "deciders": TWO,
            "consulted": TWO,
            "informed": TWO,
            "named": {"decider": "Cy Lee", "consulted": "Dee", "informed": "Eve"},
            "review_date": "2026-06-01",
            "decide_by": "2026-03-01",
            "door": "one-way (hard to undo)",
            "forecasts": "3 scored: 70% on average, Brier 0.12",
            "tags": ["db", "infra"],
            "supersedes": 3,
            "superseded_by": 9,
            "links": [("Amends", 4), ("Relates to", 5)],
        },
        {**_SUMMARY, "deciders": [BO], "consulted": [BO], "informed": [BO]},
        {**_SUMMARY, "named": {"decider": "Cy", "consulted": "Dee", "informed": "Eve"}},
        _SUMMARY,
    ],
    "decisions/tally.md.j2": [
        {"agree": TWO, "disagree": TWO, "block": TWO},
        {"agree": [], "disagree": [], "block": []},
    ],
    "decisions/unknown_command.md.j2": [
        {"text": "shwo 1", "suggestion": "show 1"},
        {"text": "frobnicate"},
    ],
    # -- digest --
    "digest/decisions.md.j2": _kinds(
        {"ref": "ADR-7", "title": "T", "status": "accepted"},
        {"kind": "heading", "total": 2},
        {"kind": "decision", "agree": 2, "disagree": 1, "block": 0},
        {"kind": "decision", "agree": 0, "disagree": 0, "block": 0},
        {"kind": "stalled", "total": 2},
        {"kind": "reversed", "total": 1},
        {"kind": "dated", "stalled": True, "day": "Mon 8 Mar"},
        {"kind": "dated", "stalled": False, "day": "Mon 8 Mar"},
    ),
    "digest/estimates.md.j2": _kinds(
        {"ref": "E-3", "topic": "API cache", "total": 2},
        {"kind": "revealed"},
        {"kind": "actuals"},
        {"kind": "round", "plan": "plan 3–5 days (90%), most likely 4"},
        {"kind": "round", "plan": ""},
        {"kind": "actual", "actual": "4 days", "ratio": "1.3"},
        {"kind": "actual", "actual": "4 days", "ratio": ""},
        {"kind": "trend", "recent": 1.2, "recent_rounds": 1, "before": 1.5, "before_rounds": 3}
        | {"verdict": "better"},
        {"kind": "trend", "recent": 1.2, "recent_rounds": 2, "before": "", "before_rounds": 0}
        | {"verdict": ""},
    ),
    "digest/frame.md.j2": _kinds(
        {"window": "May 1–7", "coverage": "#general", "title": "Weekly digest"},
        {"kind": "late"},
        {"kind": "covers"},
        {"kind": "more", "count": 3, "command": "/adr list"},
        {"kind": "footer", "by": ANA},
        {"kind": "quiet", "late": True},
        {"kind": "quiet", "late": False},
        {"kind": "fallback", "late": True, "counts": ["1 decision", "2 reviews due"]},
        {"kind": "fallback", "late": False, "counts": []},
    ),
    "digest/health.md.j2": [
        {"asked": 4, "answered": 3, "rate": "75%", "accepted": 5, "reversed": 1}
        | {"lead": 4, "median": "2 days", "home": "Decision Bot's Home tab"},
        {"asked": 0, "answered": 0, "rate": "0%", "accepted": 0, "reversed": 0}
        | {"lead": 0, "median": "", "home": "Decision Bot's Home tab"},
    ],
    "digest/parking.md.j2": _kinds(
        {"ref": "P-3", "request": "Dark mode", "total": 2, "added": "3 days"},
        {"kind": "new"},
        {"kind": "top"},
        {"kind": "returning"},
        {"kind": "accepted"},
        {"kind": "item", "rice": "12", "timeline": "+3d", "resurfaced": True, "until": ""},
        {"kind": "item", "rice": "", "timeline": "", "resurfaced": False, "until": "2026-06-01"},
        {"kind": "item", "rice": "", "timeline": "", "resurfaced": False, "until": ""},
    ),
    "digest/reviews.md.j2": _kinds(
        {"ref": "ADR-7", "title": "T", "total": 1},
        {"kind": "due"},
        {"kind": "overdue"},
        {"kind": "outcomes", "counts": ["1 worked", "1 partly"]},
        {"kind": "outcomes", "total": 2, "counts": []},
        {"kind": "count", "n": 2, "label": "worked"},
        {"kind": "review", "outcome": "worked", "emoji": ":white_check_mark:", "due": ""},
        {"kind": "review", "outcome": "", "emoji": "", "due": "2026-06-01"},
        {"kind": "dissent", "came_true": 1, "decisions": 1},
        {"kind": "dissent", "came_true": 1, "decisions": 3},
    ),
    # -- estimates (owned by the estimates feature; read here, never changed) --
    "estimates/adjusted.md.j2": [
        {"user": ANA, "said": "3 days", "plan": "2–6 days", "why": "new to it"},
        {"user": ANA, "said": "3 days", "plan": "", "why": ""},
    ],
    "estimates/ask_actual.md.j2": [
        {"ref": "E-3", "topic": "API cache", "p90": "5 days", "unit": "days"},
        {"ref": "E-3", "topic": "API cache", "p90": "", "unit": "days"},
    ],
    "estimates/calibration.md.j2": [
        {
            "who": Mrkdwn(f"<@{ANA}>'s"),
            "parts": ["", " ranges held 3 of 4 times."],
            "team_parts": ["", " ranges held 5 of 8 times."],
        },
        {"who": "The team's", "parts": ["", " ranges held 3 of 4 times."], "team_parts": []},
    ],
    "estimates/closed.md.j2": [
        {"state": "cancelled", "note": "Cancelled by the facilitator."},
        {"state": "expired", "note": ""},
    ],
    "estimates/confirmation.md.j2": [
        {
            "ref": "E-3",
            "topic": "API cache",
            "unit": "days",
            "lines": ["• API: 1 – 2 – 4", "• UI: 2 – 3 – 5"],
            "confidence": 80,
            "familiarity": "done it before",
            "multiplier": 1.0,
            "assumptions": "No new hardware.",
            "quick": False,
        },
        {
            "ref": "E-3",
            "topic": "API cache",
            "unit": "days",
            "lines": ["• API: 1 – 2 – 4"],
            "confidence": 80,
            "familiarity": "new to me",
            "multiplier": 1.5,
            "assumptions": "",
            "quick": True,
        },
    ],
    "estimates/details_intro.md.j2": [
        {"ref": "E-3", "unit": "days", "parts": 2, "part": 1},
        {"ref": "E-3", "unit": "days", "parts": 1, "part": 1},
    ],
    "estimates/did_you_mean.md.j2": [{"suggestion": "list", "typed": "lsit"}],
    "estimates/expired.md.j2": [
        {"ref": "E-3", "topic": "API cache", "channel": "C0123", "note": "No one estimated."},
        {"ref": "E-3", "topic": "API cache", "channel": "C0123", "note": ""},
    ],
    "estimates/failed.md.j2": [
        {"what": "post", "ref": "E-3", "topic": "T", "channel": "C0123", "reason": "r"},
        {"what": "chart", "ref": "E-3", "topic": "T", "channel": "C0123", "reason": "r"},
    ],
    "estimates/form_intro.md.j2": [
        {"ref": "E-3", "topic": "T", "unit": "days", "several": True, "quick": True, "sizes": "S"},
        {"ref": "E-3", "topic": "T", "unit": "points", "several": True, "quick": False},
        {"ref": "E-3", "topic": "T", "unit": "days", "several": False, "quick": False},
    ],
    "estimates/headline.md.j2": [
        {
            "plan": "2–6 days",
            "several": True,
            "likely": "3",
            "said": "3 to 5 days",
            "scaled": [{"user": u, "multiplier": 1.5, "label": "new to it"} for u in (ANA, BO, CY)],
            "widened": [{"user": u, "confidence": 70} for u in (ANA, BO, CY)],
            "more": 2,
            "widening": "Each number n is read as 0.8n–2n.",
        },
        {"plan": "2–6 days", "several": False, "likely": "3", "said": "3 days", "more": 0}
        | {"scaled": [], "widened": [{"user": ANA, "confidence": 70}], "widening": ""},
        {"plan": "2–6 days", "several": False, "likely": "3", "said": "3 days", "more": 0}
        | {"scaled": [{"user": u, "multiplier": 1.5, "label": "new"} for u in TWO]}
        | {"widened": [], "widening": ""},
        {"plan": "2–6 days", "several": False, "likely": "3", "said": "3 days", "more": 0}
        | {"scaled": [], "widened": [], "widening": ""},
        {"plan": "2–6 days", "several": False, "likely": "3", "said": "", "more": 0}
        | {"scaled": [], "widened": [], "widening": ""},
    ],
    "estimates/heading.md.j2": [{"label": "Rounds", "note": "(2)"}, {"label": "Rounds"}],
    "estimates/help.md.j2": [{}],
    "estimates/help_all.md.j2": [{}],
    "estimates/line.md.j2": _kinds(
        {},
        {"kind": "task", "position": 1, "name": "API"},
        {"kind": "spread", "name": "API", "low": "1d", "median": "2d", "high": "5d"},
        {"kind": "outlier", "high": ANA, "low": BO, "ratio": 3, "task": "API"},
        {"kind": "range", "name": "API", "best": "1d", "likely": "2d", "worst": "4d"},
        {"kind": "answer", "name": "API", "answer": "3d"},
        {"kind": "round", "ref": "E-3", "topic": "T", "state": "open", "unit": "days"}
        | {"channel": "C0123", "deadline": "Friday 15:00", "actual": "4 days"},
        {"kind": "round", "ref": "E-3", "topic": "T", "state": "open", "unit": "days"}
        | {"channel": "", "deadline": "", "actual": ""},
        {"kind": "more", "count": 3},
    ),
    "estimates/people.md.j2": [
        {"kind": "estimated", "people": TWO},
        {"kind": "estimated", "people": []},
        {"kind": "waiting", "people": TWO},
        {"kind": "final", "people": TWO},
        {"kind": "final", "people": []},
    ],
    "estimates/person.md.j2": [
        {"user": ANA, "confidence": 80, "familiarity": "done it before", "multiplier": 1.0}
        | {"quick": False},
        {"user": ANA, "quick": True},
    ],
    "estimates/reminder.md.j2": [
        {"ref": "E-3", "topic": "T", "channel": "C0123", "deadline": "Friday 15:00"},
        {"ref": "E-3", "topic": "T", "channel": "C0123", "deadline": ""},
    ],
    "estimates/result.md.j2": [
        {"count": n, "p50": "3 days", "p90": "5 days", "mean": "3.2 days", "phase": "initial"}
        | {"cone_factors": "0.25x–4x", "cone_low": "1 day", "cone_high": "12 days"}
        for n in (1, 3)
    ],
    "estimates/round.md.j2": [
        {**_ROUND, "state": "open", "decision_ref": "ADR-7", "deadline": "Fri", "invited": True}
        | {"actual": "4 days"},
        {**_ROUND, "state": "open", "deadline": "Fri"},
        {**_ROUND, "state": "open", "invited": True},
        {**_ROUND, "state": "revealed", "revealed_by": ANA},
        {**_ROUND, "state": "revealed", "automatic": True},
        {**_ROUND, "state": "revealed"},
        {**_ROUND, "state": "cancelled"},
    ],
    "estimates/sentence.md.j2": [{"sentence": "Between 3 and 5 days.\nLikely 3."}],
    "estimates/started.md.j2": [
        {"ref": "E-3", "thread": True, "channel": "C0123", "deadline": "Friday 15:00"},
        {"ref": "E-3", "thread": False, "channel": "C0123", "deadline": ""},
    ],
    "estimates/task_heading.md.j2": [{"position": 1, "name": "API"}],
    "estimates/widening.md.j2": [
        {"low": 0.8, "high": 2, "rounds": 5, "needed": 3, "ref": "E-3", "sizes": True},
        {"low": 0.8, "high": 2, "rounds": 0, "needed": 3, "ref": "E-3", "sizes": False},
    ],
    # -- health (`/adr stats`) --
    "health/stats.md.j2": [
        _STATS | {"empty": False, "own": "4 scored forecasts", "team": "12 forecasts by 5 people"},
        _STATS
        | {"empty": False, "lead_median": "", "answer_median": "", "block_median": ""}
        | {"outcomes": "", "doors": "", "dissent": 0, "team": "", "own": ""},
        _STATS | {"empty": False, "blocks": 0, "team": "", "own": ""},
        _STATS | {"empty": True, "own": "", "team": ""},
    ],
    # -- home --
    "home/guest.md.j2": [{}],
    "home/reviews.md.j2": [{"lines": ["*ADR-1* One · worked", "*ADR-2* Two · review on …"]}],
    # -- parking --
    "parking/did_you_mean.md.j2": [{"suggestion": "show P-12", "typed": "shwo P-12"}],
    "parking/form.md.j2": _kinds(
        {"ref": "P-3", "request": "Dark mode"},
        {"kind": "score"},
        {"kind": "accept"},
        {"kind": "defer"},
        {"kind": "decline"},
    ),
    "parking/help.md.j2": [{}],
    "parking/help_all.md.j2": [{}],
    "parking/item.md.j2": [
        {
            **_ITEM,
            "state": "accepted",
            "decided_by": ANA,
            "decided_at": "2026-05-02",
            "waiting": True,
            "requester": BO,
            "link": Mrkdwn("<https://x.slack.com/archives/C1/p1|message>"),
            "why": "Finance asks monthly.",
            "related": "ADR-7",
            "rice": "12",
            "moscow": "Should",
            "timeline": "+3d",
            "until": "2026-06-01",
            "reason": "Not now.",
        },
        {**_ITEM, "inputs": "reach 10, impact 2"},
        _ITEM,
    ],
    "parking/line.md.j2": _kinds(
        {},
        {"kind": "item", "ref": "P-3", "request": "Dark mode", "requester": BO, "state": "parked"}
        | {"rice": "12", "moscow": "Should", "timeline": "+3d", "until": "2026-06-01"}
        | {"waiting": True},
        {"kind": "item", "ref": "P-3", "request": "Dark mode", "requester": "", "state": "parked"}
        | {"rice": "", "moscow": "", "timeline": "", "until": "", "waiting": False},
        {"kind": "heading", "label": "Requests (2)", "note": "by RICE"},
        {"kind": "heading", "label": "Requests (2)"},
        {"kind": "more", "count": 3},
        {"kind": "history", "when": "2026-05-01", "actor": ANA, "text": "parked", "note": "n"},
        {"kind": "history", "when": "2026-05-01", "actor": "", "text": "resurfaced"},
    ),
    "parking/notice.md.j2": _kinds(
        {"ref": "P-3", "request": "Dark mode", "channel": "C0123", "link": "", "reason": "r"},
        {"kind": "parked", "requester": BO},
        {"kind": "parked", "requester": ""},
        {
            "kind": "accepted",
            "decided_by": ANA,
            "timeline": "+3d",
            "link": Mrkdwn("<https://x|it>"),
        },
        {"kind": "accepted", "decided_by": "", "timeline": "", "link": ""},
        {"kind": "declined", "decided_by": ANA},
        {"kind": "declined", "decided_by": ""},
        {"kind": "resurfaced", "until": "2026-06-01", "requester": BO},
        {"kind": "resurfaced", "until": "", "requester": ""},
        {"kind": "offer", "preview": "can we also export PDF"},
        {"kind": "offer", "preview": ""},
        {"kind": "watch", "in_dm": True},
        {"kind": "watch", "in_dm": False, "not_in_channel": True},
        *(
            {"kind": "watch", "in_dm": False, "not_in_channel": False, "enabled": on}
            | {"changed": changed, "changed_by": by}
            for on in (True, False)
            for changed, by in ((True, ANA), (False, ANA), (False, ""))
        ),
    ),
    # -- reviews --
    "reviews/answered.md.j2": [{"number": 7, "title": "T", "user": BO, "label": "worked"}],
    "reviews/ask.md.j2": [
        {**_REVIEW_ASK, "nudge": 1, "success": "p95 under 50 ms", "success_redacted": "x"},
        {**_REVIEW_ASK, "decision_redacted": "redacted", "success": "p95 under 50 ms"},
        _REVIEW_ASK,
    ],
    "reviews/delivery_failed.md.j2": [
        {"what": "ask", "number": 7, "error": "not_in_channel", "fix": "Invite me."}
    ],
    "reviews/dissent_ask.md.j2": [
        {"nudge": 1, "number": 7, "title": "T", "concern_redacted": "x", "concern": ""},
        {"nudge": 0, "number": 7, "title": "T", "concern_redacted": "", "concern": "Slow."},
    ],
    "reviews/dms_off.md.j2": [{"number": 7, "people": TWO}],
    "reviews/outcome_thread.md.j2": [
        {"emoji": ":tada:", "user": BO, "number": 7, "label": "worked", "what_happened": "Fast"},
        {"emoji": ":tada:", "user": BO, "number": 7, "label": "worked", "what_happened": ""},
    ],
    "reviews/summary.md.j2": [
        {
            "latest": {"round": 1, "state": "answered", "outcome_by": ANA},
            "outcome_label": "worked",
            "emoji": ":white_check_mark:",
            "outcome_at": "2026-06-01",
            "answers": [
                {**_ANSWER, "what_happened": "Fast", "evidence": "p95", "learned": "Index"},
                _ANSWER,
            ],
            "dissent": [{"user": BO, "label": "no"}, {"user": CY, "label": "yes"}],
            "next_due": "2026-12-01",
        },
        {"latest": {"round": 1, "state": "open", "outcome_by": None}, "outcome_label": ""}
        | {"emoji": "", "outcome_at": "", "answers": [], "dissent": [], "next_due": ""},
        {"latest": None, "next_due": ""},
    ],
    "reviews/thread_open.md.j2": [{"number": 7, "askees": TWO}],
    # -- stances --
    "stances/list.md.j2": [
        {
            "stances": [
                {**_STANCE, "user_id": ANA, "kind": "agree"},
                {**_STANCE, "user_id": BO, "kind": "disagree_and_commit", "concern": "Slow"}
                | {"change_my_mind": "A load test"},
                {**_STANCE, "user_id": CY, "kind": "block", "reason": "No budget"},
            ],
            "labels": {"agree": "Agree", "disagree_and_commit": "Disagree & commit"}
            | {"block": "Block"},
        },
        {"stances": [], "labels": {}},
    ],
}

# Templates whose line breaks are known to be wrong and that this change may not edit: each
# fails its check today (strict: once fixed, the mark must go).
KNOWN_BROKEN: dict[str, str] = {}


def test_every_template_has_cases() -> None:
    missing, gone = sorted(set(TEMPLATES) - set(CASES)), sorted(set(CASES) - set(TEMPLATES))
    assert not missing, f"add their contexts to CASES: {', '.join(missing)}"
    assert not gone, f"no such template any more: {', '.join(gone)}"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_BROKEN[n], strict=True))
        if n in KNOWN_BROKEN
        else n
        for n in TEMPLATES
    ],
)
def test_no_two_lines_run_together_whatever_branch_is_taken(name: str) -> None:
    report = check((PROMPTS_DIR / name).read_text(), CASES.get(name, []), name=name)
    untaken, faults = "\n".join(report.untaken), "\n".join(report.faults)
    assert not untaken, f"{name}: add contexts to CASES that take these branches:\n{untaken}"
    assert not faults, f"{name}:\n{faults}"


def test_the_check_fails_on_the_stances_template_that_ran_stances_together() -> None:
    old = (
        "*Stances*\n"
        "{% for s in stances %}\n"
        "• {{ s.user_id | mention }}: {{ labels[s.kind] }}"
        '{% if s.kind == "disagree_and_commit" %} (committed){% endif %}\n'
        "{% if s.concern %}\n"
        "    _Concern:_ {{ s.concern }}\n"
        "{% endif %}\n"
        "{% if s.change_my_mind %}\n"
        "    _Would change my mind:_ {{ s.change_my_mind }}\n"
        "{% endif %}\n"
        "{% if s.reason %}\n"
        "    _Block reason:_ {{ s.reason }}\n"
        "{% endif %}\n"
        "{% else %}\n"
        "_No stances yet._\n"
        "{% endfor %}\n"
    )
    # prompts/stances/list.md.j2 as it was (issue 20): the check must catch it
    report = check(old, CASES["stances/list.md.j2"])
    assert report.untaken == []
    assert any("⟪here⟫ '• <@U0BO>" in f for f in report.faults), report.faults  # "Agree• @bo"
    assert any("⟪here⟫ '    _Concern:_" in f for f in report.faults), report.faults
    assert any("a bullet after text" in f for f in report.faults), report.faults


def test_the_check_fails_on_a_branch_no_context_takes() -> None:
    source = "{% if a %}A{% elif b %}B{% endif %}\n{% for x in xs %}{{ x }}\n{% endfor %}"
    report = check(source, [{"a": True, "b": False, "xs": [1]}])
    assert [what.partition("  [")[0] for what in report.untaken] == [
        "line 1: elif",
        "line 1: the empty else (the condition false)",
        "line 2: for, run twice in one render",
    ]
    assert report.untaken[0].endswith("[{% if a %}A{% elif b %}B{% endif %}]")  # the line quoted
