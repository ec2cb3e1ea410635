"""Parse the text after ``/estimate`` into a command (pure; never raises on user text).

A new round::

    /estimate [ADR-12] <what>[: task; task; ...] [in hours|days|weeks|points]
              [phase <phase> | --phase <phase>] [by <when>] [@people ...]

The options ``in …``, ``phase …`` and ``by …`` are read from the end of the text, in any
order (``--phase`` anywhere); @mentions anywhere invite people and leave the topic. The
subcommands: ``list``, ``show E-3``, ``reveal E-3``, ``cancel E-3``, ``actual E-3 7d``,
``calibration [@person]``, ``help [all]``. A subcommand word followed by something that is not
its argument (``/estimate show page redesign``) is a topic: only a mistyped round number is an
error, and a mistyped verb followed by its argument (``shwo E-3``), which gets "did you mean".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.commands import CLOSE_IN_FREE_TEXT, unescape_refs, with_closest_verb
from bot.core.dates import END_OF_DAY, Unreadable, read_instant
from bot.core.render import escape, render, truncate
from storage.models import ConePhase, EstimateUnit

TASKS_MAX = 15
TASK_MAX = 200
TOPIC_MAX = 200
INVITEES_MAX = 50

# A mention as Slack sends it in an escaped command: <@U123|ana> (or <@U123>). Read before the
# text is unescaped, so a literal "<@U1>" the person typed (sent as &lt;@U1&gt;) never counts.
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,31})(?:\|[^<>]*)?>")
_ROUND = re.compile(r"^(?:e-?|#)?(\d{1,9})$", re.IGNORECASE)
_ROUND_LIKE = re.compile(r"^(?:e-?|#)?\d", re.IGNORECASE)  # a mistyped round number
_DECISION = re.compile(r"^adr-?(\d{1,9})(?=$|[\s:,])[:,]?\s*", re.IGNORECASE)
_MENTION_ONLY = re.compile(r"^<@([UW][A-Z0-9]{1,31})(?:\|[^<>]*)?>$")

UNIT_WORDS = {
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), EstimateUnit.HOURS),
    **dict.fromkeys(("days", "day", "d"), EstimateUnit.DAYS),
    **dict.fromkeys(("weeks", "week", "wks", "wk", "w"), EstimateUnit.WEEKS),
    **dict.fromkeys(("points", "point", "pts", "pt", "sp", "story points"), EstimateUnit.POINTS),
}
PHASE_WORDS = {
    **dict.fromkeys(("initial", "concept", "initial-concept", "idea"), ConePhase.INITIAL),
    **dict.fromkeys(("requirements", "reqs", "requirements-known"), ConePhase.REQUIREMENTS),
    **dict.fromkeys(("design", "design-done", "designed"), ConePhase.DESIGN),
    **dict.fromkeys(("building", "build", "construction", "coding"), ConePhase.BUILDING),
}
PHASE_HELP = "initial, requirements, design or building"

_UNIT_TAIL = re.compile(
    r"(?:^|\s)in\s+(" + "|".join(sorted(map(re.escape, UNIT_WORDS), key=len, reverse=True)) + r")$",
    re.IGNORECASE,
)
_PHASE_TAIL = re.compile(r"(?:^|\s)phase\s+(\S+)$", re.IGNORECASE)
_QUICK_TAIL = re.compile(r"(?:^|\s)(quick)$", re.IGNORECASE)
_QUICK_FLAG = re.compile(r"(?:^|\s)--quick(?=\s|$)", re.IGNORECASE)
_PHASE_FLAG = re.compile(r"(?:^|\s)--phase(?:\s+|=)(\S*)", re.IGNORECASE)
_WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
# What may follow "by" for it to be read as a deadline: a day word, a weekday, or a digit.
# ("Move billing by hand" stays a topic; "by next Friday" is a deadline phrase the listener
# cannot read, and says so.)
_DEADLINE_TAIL = re.compile(
    r"(?:^|\s)by\s+((?:(?:today|tonight|tomorrow|tmrw|next|this|eod|end|noon|midnight|"
    + "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
    + r")\b|\d)[^;]{0,40})$",
    re.IGNORECASE,
)

# The verbs `/estimate` reads, for "did you mean" (``_mistyped_verb``).
VERBS = ("help", "list", "show", "reveal", "cancel", "actual", "calibration", "sizes")

HELP = (
    "`/estimate Checkout redesign: API; UI; data migration in days by Friday 15:00 @ana @bo` — "
    "a blind round: tasks after a colon (up to 15, separated by ;), the unit (hours, days, "
    "weeks or points), a deadline that reveals automatically, the people invited."
)


@dataclass(frozen=True)
class EstimateCommand:
    """What ``/estimate`` was asked to do.

    ``name``: new | help | list | show | reveal | cancel | actual | calibration | invalid.
    For ``new``, ``topic`` is never empty; ``tasks`` is empty for a round of one task (named
    after the topic). For ``calibration``, ``invitees`` holds the person asked about (none:
    the asker and the team).
    """

    name: str
    topic: str = ""
    unit: EstimateUnit = EstimateUnit.DAYS
    tasks: tuple[str, ...] = ()
    invitees: tuple[str, ...] = ()  # user ids, in the order mentioned, no repeats
    deadline: str = ""  # the phrase after "by", as typed: see parse_deadline
    phase: ConePhase = ConePhase.INITIAL
    decision_number: int | None = None  # ADR-n the round informs
    number: int | None = None  # E-n for show, reveal, cancel, actual
    text: str = ""  # actual: the duration as typed ("7d"); sizes: what follows the verb
    quick: bool = False  # a quick round: one number or a T-shirt size per task
    error: str = ""  # for name == "invalid": a sentence for the user


def parse_round_number(raw: str) -> int | None:
    """``E-3``, ``e3``, ``#3`` or ``3`` -> 3."""
    match = _ROUND.match(raw.strip())
    return int(match.group(1)) if match else None


def _invalid(error: str) -> EstimateCommand:
    return EstimateCommand("invalid", error=error)


def parse_estimate(text: str) -> EstimateCommand:
    """Read the escaped text Slack sends after ``/estimate``. Empty text is ``help``."""
    raw = (text or "").replace("\x00", "").strip()  # NUL: unstorable in Postgres, untypeable
    mentions = list(dict.fromkeys(m.group(1) for m in _MENTION.finditer(raw)))
    words_only = _MENTION.sub(" ", raw)
    text = " ".join(unescape_refs(words_only).split())
    if not text and not mentions:
        return EstimateCommand("help")
    head, _, rest = text.partition(" ")
    verb = head.lower()
    rest = rest.strip()
    if verb in ("help", "?") and rest.lower() in ("", "all") and not mentions:
        return EstimateCommand("help", text=rest.lower())  # "all": every verb
    if verb == "list" and not rest and not mentions:
        return EstimateCommand("list")
    if verb == "calibration" and not rest:
        if len(mentions) > 1:
            return _invalid("One person at a time: `/estimate calibration @ana`.")
        return EstimateCommand("calibration", invitees=tuple(mentions))  # whose: none = yours
    if verb == "sizes" and not mentions and (not rest or _SIZES_ARGS.match(rest)):
        return EstimateCommand("sizes", text=rest)
    if verb in ("show", "reveal", "cancel", "actual"):
        command = _parse_numbered(verb, rest, has_mentions=bool(mentions))
        if command is not None:
            return command
    if not mentions:
        mistyped = _mistyped_verb(text)
        if mistyped is not None:
            return mistyped
    return _parse_new(text, mentions)


def _mistyped_verb(text: str) -> EstimateCommand | None:
    """``shwo E-3``: a sentence with the closest verb, instead of a round on the typo.

    Free text is a topic, so only a first word close to a verb whose rest is what that verb
    takes (``revael 3``, ``actaul E-3 7d``, ``hlep all``) reads as a mistyped command: no
    topic looks like that, and starting a round would post the typo in the channel. A word
    alone (``lsit``, "Lint") or any other rest stays a topic, as before."""
    corrected = with_closest_verb(text, VERBS, cutoff=CLOSE_IN_FREE_TEXT)
    if corrected is None or " " not in corrected:
        return None
    if parse_estimate(escape(corrected)).name in ("new", "invalid"):  # escaped as Slack sends
        return None
    return _invalid(
        render(
            "estimates/did_you_mean.md.j2",
            suggestion=truncate(corrected, 100),
            typed=truncate(text, 100),
        )
    )


def _parse_numbered(verb: str, rest: str, *, has_mentions: bool) -> EstimateCommand | None:
    """``show|reveal|cancel E-3`` and ``actual E-3 7d``; None when ``rest`` reads as a topic."""
    example = f"`/estimate {verb} E-3" + (" 7d`" if verb == "actual" else "`")
    first, _, more = rest.partition(" ")
    more = more.strip()
    if not rest:
        return None if has_mentions else _invalid(f"Which round? For example {example}.")
    number = parse_round_number(first)
    if number is None:
        if _ROUND_LIKE.match(first):
            return _invalid(f"Which round? For example {example}.")
        return None
    if has_mentions:
        return _invalid(f"Just the round, please: {example}.")
    if verb == "actual":
        if not more:
            return _invalid(
                f"How long did E-{number} really take? For example `/estimate actual E-{number} 7d`."
            )
        return EstimateCommand("actual", number=number, text=more[:100])
    if more:
        return _invalid(f"Just the round, please: `/estimate {verb} E-{number}`.")
    return EstimateCommand(verb, number=number)


def _parse_new(text: str, mentions: list[str]) -> EstimateCommand:
    if len(mentions) > INVITEES_MAX:
        return _invalid(f"At most {INVITEES_MAX} people per round (you mentioned {len(mentions)}).")
    decision: int | None = None
    match = _DECISION.match(text)
    if match:
        decision = int(match.group(1))
        text = text[match.end() :]
    phase = ConePhase.INITIAL
    flag = _PHASE_FLAG.search(text)
    if flag:
        found = PHASE_WORDS.get(flag.group(1).lower())
        if found is None:
            return _invalid(f"The phase is one of {PHASE_HELP}: `--phase design`.")
        phase = found
        text = (text[: flag.start()] + " " + text[flag.end() :]).strip()
    quick = False
    quick_flag = _QUICK_FLAG.search(text)
    if quick_flag:
        quick = True
        text = " ".join((text[: quick_flag.start()] + " " + text[quick_flag.end() :]).split())
    unit = EstimateUnit.DAYS
    deadline = ""
    # Peel the options off the end, in any order; each at most once.
    # The deadline's phrase runs to the end, so the unit and phase are tried before it.
    tails = {
        "quick": _QUICK_TAIL,
        "unit": _UNIT_TAIL,
        "phase": _PHASE_TAIL,
        "deadline": _DEADLINE_TAIL,
    }
    if flag:
        del tails["phase"]
    if quick:
        del tails["quick"]
    progress = True
    while progress:
        progress = False
        text = text.strip()
        for option, pattern in list(tails.items()):
            m = pattern.search(text)
            if m is None:
                continue
            value = m.group(1)
            if option == "phase":
                if value.lower() not in PHASE_WORDS:
                    continue  # "… phase two": part of the topic
                phase = PHASE_WORDS[value.lower()]
            elif option == "quick":
                if not text[: m.start()].strip():
                    continue  # "/estimate quick": the topic itself
                quick = True
            elif option == "unit":
                unit = UNIT_WORDS[" ".join(value.lower().split())]
            else:
                deadline = " ".join(value.split())
            text = text[: m.start()]
            del tails[option]
            progress = True
            break
    text = text.strip()
    topic, tasks_text = text, ""
    split = re.search(r":\s", text + " ")
    if split:
        topic, tasks_text = text[: split.start()].strip(), text[split.end() :].strip()
    tasks = list(dict.fromkeys(t.strip() for t in tasks_text.split(";") if t.strip()))
    if len(tasks) > TASKS_MAX:
        return _invalid(f"At most {TASKS_MAX} tasks per round (you listed {len(tasks)}).")
    long_task = next((t for t in tasks if len(t) > TASK_MAX), None)
    if long_task is not None:
        return _invalid(
            f"Keep each task to {TASK_MAX} characters (one has {len(long_task)}); "
            "details can go in the assumptions."
        )
    if len(topic) > TOPIC_MAX:
        return _invalid(f"Keep the topic to {TOPIC_MAX} characters (it has {len(topic)}).")
    if not topic and decision is not None:
        return _invalid(
            f"What should we estimate for ADR-{decision}? For example "
            f"`/estimate ADR-{decision} Migration to Postgres`."
        )
    if not topic:
        return _invalid("What should we estimate? For example `/estimate API cache @ana @bo`.")
    return EstimateCommand(
        "new",
        topic=topic,
        unit=unit,
        tasks=tuple(tasks),
        invitees=tuple(mentions),
        deadline=deadline,
        phase=phase,
        decision_number=decision,
        quick=quick,
    )


# -- T-shirt sizes ---------------------------------------------------------------------------

# `/estimate sizes`, `sizes points`, `sizes M 2d 3d 5d`, `sizes points M 3 5 8`
# (a short word then a number, so "sizes XXL 1 2 3" is refused as a size, not a round's topic)
_SIZES_ARGS = re.compile(r"^(?:points\b.*|(?:s|m|l|xl)\b.*|[a-z]{1,4}\s+\d.*)$", re.IGNORECASE)


# -- deadlines -------------------------------------------------------------------------------


def parse_deadline(phrase: str, now_local: datetime) -> datetime | None:
    """The instant ``phrase`` ("Friday 15:00", "2026-12-04 15:00", "tomorrow 9:00", "in 2
    weeks", "next tuesday") names, in ``now_local``'s time zone; None if unreadable. Read by
    the one parser every command uses (``bot.core.dates.read_instant``); a day without a time
    means 17:00. An explicit date is returned even if past: the caller says so."""
    now = now_local if now_local.tzinfo else now_local.replace(tzinfo=UTC)
    got = read_instant(phrase or "", now=now, default_time=END_OF_DAY)
    return None if isinstance(got, Unreadable) else got
