"""`/adr stats`'s charts (pure): calibration (stated probability against how often it came true,
with counts), lead time per month, the outcome mix per month and reversals per month, each a
small PNG with its figures as alt text.

They are drawn from ``ChartData``: the figures the answer was computed from, kept in the
charts' outbox row (``to_payload``), so the DM shows the numbers the answer gave. Fonts, text
and the PNG are every chart's (``bot.core.charts``): the same as the estimate reveal's, names
and emoji included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core import charts
from bot.core.render import counted
from bot.features.reviews import OUTCOME_LABELS
from storage.forecasts import CalibrationBin
from storage.health_series import MonthFigures
from storage.models import JsonObject, Outcome

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 7.0, 4.0, 100  # 700 x 400 px
OWN, TEAM, IDEAL = "#1d3557", "#2a9d8f", "#9aa0a6"
OUTCOME_COLOURS = {
    Outcome.WORKED: "#2a9d8f",
    Outcome.PARTLY: "#e9c46a",
    Outcome.DIDNT_WORK: "#e76f51",
}
BAR = "#7aa6d6"
DAY = 86400.0


@dataclass(frozen=True)
class ChartData:
    """What the charts show: the asker's calibration, the team's (None: not shown), and the
    figures per month of the stats' scope and period."""

    own: tuple[CalibrationBin, ...]
    team: tuple[CalibrationBin, ...] | None
    months: tuple[MonthFigures, ...]

    def to_payload(self) -> JsonObject:
        return {
            "own": [[b.probability, b.count, b.came_true] for b in self.own],
            "team": None
            if self.team is None
            else [[b.probability, b.count, b.came_true] for b in self.team],
            "months": [
                {
                    "month": m.month,
                    "lead_s": None if m.lead_median is None else m.lead_median.total_seconds(),
                    "lead_n": m.lead_decisions,
                    "accepted": m.accepted,
                    "reversed": m.reversed_,
                    "outcomes": m.outcomes,
                }
                for m in self.months
            ],
        }

    @classmethod
    def from_payload(cls, payload: JsonObject) -> ChartData:
        def bins(raw: list[list[float]]) -> tuple[CalibrationBin, ...]:
            return tuple(CalibrationBin(int(p), int(n), float(c)) for p, n, c in raw)

        team = payload.get("team")
        return cls(
            own=bins(payload.get("own") or []),
            team=None if team is None else bins(team),
            months=tuple(
                MonthFigures(
                    month=str(m["month"]),
                    lead_median=None if m["lead_s"] is None else timedelta(seconds=m["lead_s"]),
                    lead_decisions=int(m["lead_n"]),
                    accepted=int(m["accepted"]),
                    reversed_=int(m["reversed"]),
                    outcomes={str(k): int(v) for k, v in m["outcomes"].items()},
                )
                for m in payload.get("months") or []
            ),
        )


@dataclass(frozen=True)
class Chart:
    """One chart to upload: its file name, title, alt text (its figures in words) and the
    figure it draws."""

    filename: str
    title: str
    alt_text: str
    figure: Callable[[], Figure]

    def png(self) -> bytes:
        return charts.render(self.figure)


# -- the figures ---------------------------------------------------------------------------------


def _axes(title: str) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    # placed by hand, as the estimate chart: a layout engine measures every label again
    fig.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.2)
    ax = fig.add_subplot()
    ax.set_title(charts.plain_text(title, 80), fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _month_ticks(ax: Axes, months: tuple[MonthFigures, ...], *, counts: bool = True) -> list[int]:
    from matplotlib.ticker import MaxNLocator

    if counts:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    x = list(range(len(months)))
    ax.set_xticks(x, [_month_label(m.month, i == 0) for i, m in enumerate(months)], fontsize=8)
    return x


_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _month_label(month: str, first: bool) -> str:
    """``2026-01`` -> ``Jan`` with its year under it on the first month and every January."""
    year, number = month.split("-")
    name = _MONTHS[int(number) - 1]
    return f"{name}\n{year}" if first or number == "01" else name


def _calibration_figure(
    own: tuple[CalibrationBin, ...], team: tuple[CalibrationBin, ...] | None
) -> Figure:
    fig, ax = _axes("Calibration: stated probability against how often it came true")
    ax.plot([0, 100], [0, 100], color=IDEAL, lw=1, ls="--", label="perfectly calibrated")
    # the counts: the asker's above their points, the team's below
    for bins, colour, label, dy in ((own, OWN, "you", 6), (team or (), TEAM, "the team", -12)):
        if not bins:
            continue
        xs = [b.probability for b in bins]
        ys = [b.came_true * 100 for b in bins]
        ax.plot(xs, ys, color=colour, marker="o", lw=1.5, label=label)
        for b, x, y in zip(bins, xs, ys, strict=True):
            ax.annotate(f"{b.count}", (x, y), textcoords="offset points", xytext=(0, dy),
                        ha="center", fontsize=7, color=colour)  # fmt: skip
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 105)
    ax.set_xlabel("stated probability (%); numbers: how many forecasts", fontsize=9)
    ax.set_ylabel("came true (%)", fontsize=9)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return fig


def _lead_figure(months: tuple[MonthFigures, ...]) -> Figure:
    fig, ax = _axes("Lead time, proposed to accepted: median per month")
    x = _month_ticks(ax, months, counts=False)
    medians = [
        0.0 if m.lead_median is None else m.lead_median.total_seconds() / DAY for m in months
    ]
    ax.bar(x, medians, color=BAR)
    for i, m in zip(x, months, strict=True):
        if m.lead_decisions:
            ax.annotate(f"n={m.lead_decisions}", (i, medians[i]), textcoords="offset points",
                        xytext=(0, 3), ha="center", fontsize=7)  # fmt: skip
    ax.set_ylim(0, max(medians, default=0.0) * 1.12 or 1.0)  # room for the counts on top
    ax.set_ylabel("days", fontsize=9)
    return fig


def _outcome_figure(months: tuple[MonthFigures, ...]) -> Figure:
    fig, ax = _axes("Review outcomes per month")
    x = _month_ticks(ax, months)
    bottom = [0] * len(months)
    for outcome in Outcome:
        counts = [m.outcomes.get(outcome.value, 0) for m in months]
        ax.bar(
            x, counts, bottom=bottom, color=OUTCOME_COLOURS[outcome], label=OUTCOME_LABELS[outcome]
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_ylabel("reviews", fontsize=9)
    fig.legend(loc="lower center", ncol=len(Outcome), fontsize=8, frameon=False)
    return fig


def _reversal_figure(months: tuple[MonthFigures, ...]) -> Figure:
    fig, ax = _axes("Reversals per month (by month accepted)")
    x = _month_ticks(ax, months)
    ax.bar(x, [m.accepted for m in months], color="#d9e2ec", label="accepted")
    ax.bar(x, [m.reversed_ for m in months], color="#e76f51", label="reversed within 90 days")
    ax.set_ylabel("decisions", fontsize=9)
    fig.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    return fig


# -- alt text --------------------------------------------------------------------------------


def _bins_words(bins: tuple[CalibrationBin, ...]) -> str:
    return "; ".join(
        f"{b.probability}%: {b.came_true:.0%} came true of {counted(b.count, 'forecast')}"
        for b in bins
    )


def _days(value: timedelta) -> str:
    days = value.total_seconds() / DAY
    return f"{days:.1f} days" if days < 10 else f"{days:.0f} days"


def calibration_chart(
    own: tuple[CalibrationBin, ...], team: tuple[CalibrationBin, ...] | None = None
) -> Chart:
    """The calibration chart: the asker's bins, and the team's beside them when given."""
    alt = f"Your calibration: {_bins_words(own) or 'nothing scored yet'}."
    if team:
        alt += f" The team's: {_bins_words(team)}."
    return Chart(
        "calibration.png", "Calibration", alt[:1000], lambda: _calibration_figure(own, team)
    )


def stats_charts(data: ChartData) -> list[Chart]:
    """The charts worth sending: calibration when any forecast was scored, lead time when a
    month has one, outcomes when any review was answered, reversals when anything was
    accepted. Empty: nothing to draw."""
    months = data.months
    found: list[Chart] = []
    if data.own or data.team:
        found.append(calibration_chart(data.own, data.team))
    if any(m.lead_decisions for m in months):
        alt = "Median lead time, proposed to accepted, per month: " + "; ".join(
            f"{m.month}: {_days(m.lead_median)} ({counted(m.lead_decisions, 'decision')})"
            if m.lead_median is not None
            else f"{m.month}: none"
            for m in months
        )
        found.append(
            Chart("lead-time.png", "Lead time", alt[:1000] + ".", lambda: _lead_figure(months))
        )
    if any(any(m.outcomes.values()) for m in months):
        alt = "Review outcomes per month: " + "; ".join(
            f"{m.month}: "
            + (
                ", ".join(
                    f"{m.outcomes.get(o.value, 0)} {OUTCOME_LABELS[o]}"
                    for o in Outcome
                    if m.outcomes.get(o.value)
                )
                or "none"
            )
            for m in months
        )
        found.append(
            Chart("outcomes.png", "Outcomes", alt[:1000] + ".", lambda: _outcome_figure(months))
        )
    if any(m.accepted for m in months):
        alt = "Reversals per month, of the decisions accepted that month: " + "; ".join(
            f"{m.month}: {m.reversed_} of {m.accepted}" for m in months
        )
        found.append(
            Chart("reversals.png", "Reversals", alt[:1000] + ".", lambda: _reversal_figure(months))
        )
    return found


def empty_figure() -> Figure:
    """An empty figure of the charts' size (the benchmark's baseline)."""
    fig, _ = _axes("")
    return fig
