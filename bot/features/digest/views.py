"""Block Kit for the weekly digest (pure): ``storage.digest.DigestData`` in, a message out.

Text comes from ``prompts/digest_*.md.j2`` (every value escaped by ``bot.core.render``). Empty
sections are left out; each list shows at most ``storage.digest_common.SHOWN`` rows and ends with
"… and N more" and the command that lists them all. Whatever the data, the message stays
within Slack's limits: each digest section takes at most ``SECTION_BLOCKS`` blocks, so the
whole is at most 4 + 5 x (1 + SECTION_BLOCKS) = 39 blocks; a title, topic or request is cut
to ``TEXT_IN_LINE`` characters as shown (after escaping, which can make text 5 times longer),
every section text is at most 3000 characters, and the whole message at most
``MESSAGE_CHARS`` (Slack refuses one much past 40,000: ``msg_too_long``). With such lines a
full digest needs about 30,000; only pathological text reaches the budget, and what does not
fit is cut visibly ("…").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import urlencode

from bot.core.blocks import MESSAGE_BLOCKS, context, header, section
from bot.core.clock import slack_day
from bot.core.durations import format_duration, format_number, format_span
from bot.core.payloads import Blocks, SlackPayload
from bot.core.redacted import shown
from bot.core.render import SECTION_LIMIT, Mrkdwn, counted, escape, render, truncate_mrkdwn
from bot.features.decisions import STATUS_LABELS
from bot.features.estimates import plan_words
from bot.features.parking import timeline_text
from bot.features.reviews import OUTCOME_EMOJI, OUTCOME_LABELS
from storage.digest import DigestData
from storage.digest_common import Listing
from storage.digest_decisions import DateLine, DecisionLine, DecisionsPart
from storage.digest_estimates import EstimatesPart, RoundLine
from storage.digest_health import HealthPart
from storage.digest_parking import ItemLine, ParkingPart
from storage.digest_reviews import ReviewLine, ReviewsPart
from storage.models import DecisionStatus, Outcome

SECTION_BLOCKS = 6
TEXT_IN_LINE = 100  # a title, topic or request in a list line, as shown (escaped)
LABEL_CHARS = 500  # the late line and the coverage line
FALLBACK_LIMIT = 3000
MESSAGE_CHARS = 34_000  # text of all blocks; the JSON around it stays under 40,000
DIVIDER: SlackPayload = {"type": "divider"}
ADR_LIST, ESTIMATE_LIST, PARKING_LIST = "/adr list", "/estimate list", "/parkinglot list"

L = TypeVar("L")
P = TypeVar("P")


def _one_line(text: str) -> Mrkdwn:
    """Text someone typed, on one line, escaped, and cut to ``TEXT_IN_LINE`` as shown."""
    return Mrkdwn(truncate_mrkdwn(escape(" ".join((text or "").split())), TEXT_IN_LINE))


def _title(text: str) -> str:
    """A decision's title: a redaction marker reads as one (``bot.core.redacted``)."""
    marker = shown(text)
    return marker if isinstance(marker, Mrkdwn) else _one_line(text)


def _frame(kind: str, *, limit: int = SECTION_LIMIT, **fields: object) -> str:
    return render("digest/frame.md.j2", limit=limit, kind=kind, **fields)


def _group(heading: str, listing: Listing[L], line: Callable[[L], str], command: str) -> list[str]:
    """A heading, a line per shown row, and "… and N more — `command`"."""
    lines = [heading, *(line(row) for row in listing.shown)]
    if listing.more:
        lines.append(_frame("more", count=listing.more, command=command))
    return lines


def _pack(lines: Sequence[str], budget: int) -> Blocks:
    """Lines packed into as few sections as fit (3000 characters each), at most
    ``SECTION_BLOCKS`` of them and ``budget`` characters in all; what does not fit is cut
    visibly."""
    texts: list[str] = []
    for line in lines:
        line = truncate_mrkdwn(line, SECTION_LIMIT)
        if texts and len(texts[-1]) + 1 + len(line) <= SECTION_LIMIT:
            texts[-1] += "\n" + line
        else:
            texts.append(line)
    kept: list[str] = []
    for text in texts[:SECTION_BLOCKS]:
        left = budget - sum(map(len, kept))
        if len(text) > left:
            if left >= 200:
                kept.append(truncate_mrkdwn(text, left))
            break
        kept.append(text)
    if kept and len(kept) < len(texts) and not kept[-1].endswith("…"):
        kept[-1] = truncate_mrkdwn(kept[-1] + "\n…", SECTION_LIMIT)
    return [section(t) for t in kept]


def _chars(blocks: Blocks) -> int:
    return sum(
        len(b["text"]["text"]) if "text" in b else sum(len(e["text"]) for e in b["elements"])
        for b in blocks
        if "text" in b or "elements" in b
    )


# -- the sections ----------------------------------------------------------------------------


def _lines(part: P | None, lines_of: Callable[[P], list[str]]) -> list[str]:
    """A part's lines; none for a part the digest leaves out."""
    return lines_of(part) if part is not None else []


def _decisions(part: DecisionsPart) -> list[str]:
    def line(d: DecisionLine) -> str:
        return render(
            "digest/decisions.md.j2",
            kind="decision",
            ref=d.ref,
            title=_title(d.title),
            status=STATUS_LABELS.get(d.status, d.status),
            agree=d.agree,
            disagree=d.disagree_and_commit,
            block=d.block,
        )

    def dated(d: DateLine) -> str:
        return render(
            "digest/decisions.md.j2",
            kind="dated",
            ref=d.ref,
            title=_title(d.title),
            status=STATUS_LABELS.get(d.status, d.status),
            stalled=d.status == DecisionStatus.PROPOSED,
            day=slack_day(d.day),
        )

    lines: list[str] = []
    if part.recorded.total:
        heading = render("digest/decisions.md.j2", kind="heading", total=part.recorded.total)
        lines += _group(heading, part.recorded, line, ADR_LIST)
    for kind, listing in (("stalled", part.stalled), ("reversed", part.reversed)):
        if listing.total:
            heading = render("digest/decisions.md.j2", kind=kind, total=listing.total)
            lines += _group(heading, listing, dated, ADR_LIST)
    return lines


def _review_line(r: ReviewLine) -> str:
    return render(
        "digest/reviews.md.j2",
        kind="review",
        ref=r.ref,
        title=_title(r.title),
        due=slack_day(r.due_at),
        outcome=OUTCOME_LABELS.get(Outcome(r.outcome), r.outcome) if r.outcome else "",
        emoji=OUTCOME_EMOJI.get(Outcome(r.outcome), "") if r.outcome else "",
    )


def _reviews(part: ReviewsPart) -> list[str]:
    lines: list[str] = []
    for kind, listing in (("due", part.due), ("overdue", part.overdue)):
        if listing.total:
            heading = render("digest/reviews.md.j2", kind=kind, total=listing.total)
            lines += _group(heading, listing, _review_line, ADR_LIST)
    if part.outcomes.total:
        counts = [
            render("digest/reviews.md.j2", kind="count", n=part.outcome_counts[o], label=label)
            for o, label in OUTCOME_LABELS.items()
            if part.outcome_counts.get(o)
        ]
        heading = render(
            "digest/reviews.md.j2", kind="outcomes", total=part.outcomes.total, counts=counts
        )
        lines += _group(heading, part.outcomes, _review_line, ADR_LIST)
    if part.dissent_decisions:
        lines.append(
            render(
                "digest/reviews.md.j2",
                kind="dissent",
                came_true=part.dissent_came_true,
                decisions=part.dissent_decisions,
            )
        )
    return lines


def _round_line(r: RoundLine) -> str:
    return render(
        "digest/estimates.md.j2",
        kind="round",
        ref=r.ref,
        topic=_one_line(r.topic),
        plan=plan_words(r.low, r.p50, r.high, r.unit)
        if r.p50 is not None and r.low is not None and r.high is not None
        else "",
    )


def _actual_line(r: RoundLine) -> str:
    return render(
        "digest/estimates.md.j2",
        kind="actual",
        ref=r.ref,
        topic=_one_line(r.topic),
        actual=format_duration(r.actual, r.unit) if r.actual is not None else "",
        ratio=f"{r.ratio:.1f}" if r.ratio is not None else "",
    )


def _off_by(ratio: float) -> float:
    """How far a ratio is from 1, either way (2x over and 0.5x under are as far)."""
    return max(ratio, 1 / ratio) if ratio > 0 else float("inf")


def _estimates(part: EstimatesPart) -> list[str]:
    if part.empty:
        return []
    lines: list[str] = []
    if part.revealed.total:
        heading = render("digest/estimates.md.j2", kind="revealed", total=part.revealed.total)
        lines += _group(heading, part.revealed, _round_line, ESTIMATE_LIST)
    if part.actuals.total:
        heading = render("digest/estimates.md.j2", kind="actuals", total=part.actuals.total)
        lines += _group(heading, part.actuals, _actual_line, ESTIMATE_LIST)
    trend = part.trend
    if trend.recent is not None:
        verdict = ""
        if trend.before is not None:
            now, then = _off_by(trend.recent), _off_by(trend.before)
            verdict = (
                "closer than before"
                if now < then - 0.05
                else "further off than before"
                if now > then + 0.05
                else "about the same"
            )
        lines.append(
            render(
                "digest/estimates.md.j2",
                kind="trend",
                recent=f"{trend.recent:.1f}",
                recent_rounds=trend.recent_rounds,
                before=f"{trend.before:.1f}" if trend.before is not None else "",
                before_rounds=trend.before_rounds,
                verdict=verdict,
            )
        )
    return lines


def _item_line(i: ItemLine) -> str:
    return render(
        "digest/parking.md.j2",
        kind="item",
        ref=i.ref,
        request=_one_line(i.request),
        rice=format_number(i.rice) if i.rice is not None else "",
        timeline=timeline_text(i.timeline_days),
        resurfaced=i.resurfaced,
        until=slack_day(i.deferred_until) if i.deferred_until else "",
    )


def _parking(part: ParkingPart) -> list[str]:
    if part.empty:
        return []
    lines: list[str] = []
    for kind, listing in (("new", part.new), ("top", part.top), ("returning", part.returning)):
        if listing.total:
            heading = render("digest/parking.md.j2", kind=kind, total=listing.total)
            lines += _group(heading, listing, _item_line, PARKING_LIST)
    if part.accepted.total:
        heading = render(
            "digest/parking.md.j2",
            kind="accepted",
            total=part.accepted.total,
            added=timeline_text(part.scope_added_days),
        )
        lines += _group(heading, part.accepted, _item_line, PARKING_LIST)
    return lines


def home_link(team_id: str, app_id: str | None) -> str:
    """Where the health line sends people for their own forecasts: the App Home (a link when
    the app's id is known, from the digest form's Submit), else its name."""
    if not app_id:
        return "Decision Bot's Home tab"
    query = urlencode({"team": team_id, "id": app_id, "tab": "home"})
    return f"<slack://app?{query}|Decision Bot's Home tab>"


def _health(part: HealthPart, home: str) -> list[str]:
    if part.empty:
        return []
    flow = part.flow
    rate = flow.reviews_answered / flow.reviews_asked if flow.reviews_asked else 0.0
    return [
        render(
            "digest/health.md.j2",
            asked=flow.reviews_asked,
            answered=flow.reviews_answered,
            rate=f"{rate:.0%}",
            accepted=flow.accepted_for_reversal,
            reversed=flow.reversed_,
            lead=flow.lead_decisions,
            median=format_span(flow.lead_median) if flow.lead_median is not None else "",
            home=Mrkdwn(home),
        )
    ]


def _counts(data: DigestData) -> list[str]:
    """What the notification says: the week's news in numbers."""

    def n(count: int, one: str, many: str) -> list[str]:
        return [counted(count, one, many)] if count else []

    counts: list[str] = []
    if data.decisions is not None:
        counts += n(data.decisions.recorded.total, "decision", "decisions")
    if data.reviews is not None:
        counts += n(data.reviews.due.total, "review due", "reviews due")
        counts += n(data.reviews.outcomes.total, "review answered", "reviews answered")
    if data.estimates is not None:
        counts += n(data.estimates.revealed.total, "estimate revealed", "estimates revealed")
        counts += n(data.estimates.actuals.total, "actual", "actuals")
    if data.parking is not None:
        counts += n(data.parking.new.total, "item parked", "items parked")
        counts += n(data.parking.accepted.total, "item accepted", "items accepted")
    return counts


def digest_blocks(
    data: DigestData,
    *,
    title: str,
    coverage_label: str,
    window_label: str,
    late: bool,
    configured_by: str,
    quiet_line: bool,
    home: str = "Decision Bot's Home tab",
) -> tuple[str, Blocks] | None:
    """The digest message: (fallback text, blocks); None for a quiet week
    (``DigestData.quiet``) unless ``quiet_line``, which gives one line.

    ``title`` is the header (plain text); ``coverage_label`` ("#general", or
    ``bot.core.render.channel_link(...)``) and ``window_label`` ("3–9 March") are escaped unless
    they are ``bot.core.render.Mrkdwn``. ``late``: sent after downtime, said at the top.
    ``configured_by``: the user id shown in the footer. ``home``: the App Home link the
    health line ends with (``home_link``)."""
    if data.quiet:
        if not quiet_line:
            return None
        line = _frame("quiet", title=title, coverage=coverage_label, window=window_label, late=late)
        return truncate_mrkdwn(line, FALLBACK_LIMIT), [section(line)]
    blocks: Blocks = [header(title)]
    if late:
        blocks.append(section(_frame("late", limit=LABEL_CHARS, window=window_label)))
    blocks.append(
        context(_frame("covers", limit=LABEL_CHARS, coverage=coverage_label, window=window_label))
    )
    footer = context(_frame("footer", by=configured_by))
    parts = [
        _lines(data.decisions, _decisions),
        _lines(data.reviews, _reviews),
        _lines(data.estimates, _estimates),
        _lines(data.parking, _parking),
        _lines(data.health, lambda part: _health(part, home)),
    ]
    for lines in parts:
        packed = _pack(lines, MESSAGE_CHARS - _chars(blocks) - _chars([footer]))
        if packed:
            blocks.append(DIVIDER)
            blocks += packed
    blocks.append(footer)
    fallback = _frame(
        "fallback",
        title=title,
        coverage=coverage_label,
        window=window_label,
        late=late,
        counts=_counts(data),
    )
    assert len(blocks) <= MESSAGE_BLOCKS  # by construction: see the module's docstring
    return truncate_mrkdwn(fallback, FALLBACK_LIMIT), blocks


__all__ = ["digest_blocks"]
