"""Parse the text after ``/parkinglot`` into a command (pure; never raises on user text), and
the parking lot's small arithmetic: RICE and the timeline impact of an accepted item.

::

    /parkinglot                                   open the modal
    /parkinglot [ADR-12|E-3] <the request>        park it (up to 3000 characters)
    /parkinglot list [parked|accepted|deferred|declined|done|withdrawn|all] [by rice|by age]
    /parkinglot show P-12
    /parkinglot watch [on|off]                    the scope watch here (alone: is it on?)
    /parkinglot help [all]

Decided:
- **Mentions.** The first person mentioned in a request is its requester ("``/parkinglot
  @ana Export to CSV``": Ana asked; the person typing only parked it). That mention, when it
  leads the request, names the requester and is not part of the request ("Export to CSV");
  other mentions stay in the text as ``@name`` (plain words, never markup). Mentions are read
  before unescaping, so a literal ``<@U1>`` someone typed never counts. Without a mention the listener makes the
  person typing the requester. ``/parkinglot @ana`` (nothing else) opens the modal with Ana.
- **Links.** A leading ``ADR-12`` and/or ``E-3`` (either order, ``adr12`` works; ``E`` needs
  its dash, "E3" is too often a word) links the decision or estimate round; they are kept as
  numbers, the listener resolves them. A reference alone opens the modal with it filled in.
- **Subcommands vs. requests.** ``list``/``show``/``watch``/``help`` are commands only
  without mentions and when what follows reads as their arguments; ``list`` and ``watch``
  followed by one to three words that aren't (``list exprots``) are an error (parking a typo
  by accident would post it), anything longer is a request ("show the export button on
  mobile"). ``show`` followed by a mistyped number is an error, and so is a mistyped verb
  followed by that verb's arguments (``shwo P-12``, ``lsit accepted``): "did you mean".
- **Timeline impact** may be negative: accepting a request can swap out bigger work
  ("-2d"); zero means absorbed without moving the date.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.core import durations
from bot.core.commands import CLOSE_IN_FREE_TEXT, unescape_refs, with_closest_verb
from bot.core.render import render, truncate
from storage.models import ParkingState

REQUEST_MAX = 3000
TIMELINE_MAX_DAYS = 1250.0  # five working years either way
HOURS_PER_DAY = durations.HOURS_PER["days"]  # a working day is 8 hours, a week 5 days
SORTS = ("rice", "age")

# A mention as Slack sends it in an escaped command: <@U123|ana> (or <@U123>).
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,31})(?:\|([^<>|]*))?>")
_DECISION_REF = re.compile(r"^adr-?(\d{1,9})(?=$|[\s:,;.])[:,;.]?\s*", re.IGNORECASE)
_ROUND_REF = re.compile(r"^e-(\d{1,9})(?=$|[\s:,;.])[:,;.]?\s*", re.IGNORECASE)
_ITEM = re.compile(r"^(?:p-?|#)?(\d{1,9})$", re.IGNORECASE)
_ITEM_LIKE = re.compile(r"^(?:p-|#|p?\d)", re.IGNORECASE)  # a mistyped item number
_STATE_WORDS: dict[str, ParkingState | None] = {
    **{s.value: s for s in ParkingState},
    "all": None,
}
ARGUMENT_WORDS_MAX = 3  # list/watch followed by more words than this is a request

# The verbs `/parkinglot` reads, for "did you mean" (``_mistyped_verb``).
VERBS = ("help", "list", "show", "watch")

HELP = (
    "`/parkinglot Export to CSV for finance` parks a request; `/parkinglot` alone opens the form; "
    "`/parkinglot list [parked|accepted|deferred|declined|done|withdrawn|all] [by rice|by age]`, "
    "`/parkinglot show P-12`, `/parkinglot watch on|off`."
)


@dataclass(frozen=True)
class ParkCommand:
    """What ``/parkinglot`` was asked to do.

    ``name``: open | park | list | show | watch | help | invalid.
    - open: ``requester_id``, ``decision_number``, ``round_number`` prefill the modal.
    - park: ``text`` is the request (never empty, at most 3000 characters, mentions as
      ``@name``); ``requester_id`` the first person mentioned (None: whoever typed it);
      ``mentions`` every person mentioned, in order, no repeats.
    - list: ``state`` (None: all states) and ``sort`` ("rice" or "age").
    - show: ``number`` (P-n).
    - watch: ``watch`` is "on", "off" or "" (say whether it is on).
    - invalid: ``error`` is a sentence for the person.
    """

    name: str
    text: str = ""
    requester_id: str | None = None
    mentions: tuple[str, ...] = ()
    decision_number: int | None = None  # ADR-n
    round_number: int | None = None  # E-n
    state: ParkingState | None = ParkingState.PARKED
    sort: str = "rice"
    number: int | None = None  # P-n
    watch: str = ""
    error: str = ""


def _invalid(error: str) -> ParkCommand:
    return ParkCommand("invalid", error=error)


def parse_item_number(raw: str) -> int | None:
    """``P-12``, ``p12``, ``#12`` or ``12`` -> 12."""
    match = _ITEM.match((raw or "").strip())
    return int(match.group(1)) if match else None


def _mention_word(match: re.Match[str]) -> str:
    name = (match.group(2) or "").strip()
    return "@" + (name or match.group(1))


def parse_parkinglot(text: str) -> ParkCommand:
    """Read the escaped text Slack sends after ``/parkinglot``. Empty text opens the modal."""
    raw = (text or "").replace("\x00", "").strip()  # NUL: unstorable in Postgres, untypeable
    mentions = tuple(dict.fromkeys(m.group(1) for m in _MENTION.finditer(raw)))
    words = " ".join(unescape_refs(_MENTION.sub(" ", raw)).split())
    if not words:
        return ParkCommand(
            "open", requester_id=mentions[0] if mentions else None, mentions=mentions
        )
    if not mentions:
        command = _parse_subcommand(words) or _mistyped_verb(words)
        if command is not None:
            return command
    request = unescape_refs(_MENTION.sub(_mention_word, raw)).strip()
    first = _MENTION.search(raw)
    return _parse_park(request, mentions, requester_word=_mention_word(first) if first else "")


def _parse_subcommand(words: str) -> ParkCommand | None:
    head, _, rest = words.partition(" ")
    verb, rest = head.lower(), rest.strip()
    args = rest.split()
    if verb in ("help", "?") and rest.lower() in ("", "all"):
        return ParkCommand("help", text=rest.lower())  # "all": every verb
    if verb == "list" and len(args) <= ARGUMENT_WORDS_MAX:
        return _parse_list(args)
    if verb == "watch" and len(args) <= 1:
        if not args:
            return ParkCommand("watch")
        if args[0].lower() in ("on", "off"):
            return ParkCommand("watch", watch=args[0].lower())
        return _invalid("`/parkinglot watch on` or `off` (alone: whether it is on here).")
    if verb == "show":
        if not args:
            return _invalid("Which item? For example `/parkinglot show P-12`.")
        number = parse_item_number(args[0])
        if number is None:
            if _ITEM_LIKE.match(args[0]):
                return _invalid("Which item? For example `/parkinglot show P-12`.")
            return None  # "show the export button on mobile": a request
        if len(args) > 1:
            return _invalid(f"Just the item, please: `/parkinglot show P-{number}`.")
        return ParkCommand("show", number=number)
    return None


def _mistyped_verb(words: str) -> ParkCommand | None:
    """``shwo P-12``: a sentence with the closest verb, instead of parking the typo.

    Free text is a request, so only a first word close to a verb whose rest is what that verb
    takes (``lsit accepted``, ``wacth on``, ``hlep all``) reads as a mistyped command: parking
    it would post the typo in the channel. A word alone (``lsit``) or any other rest stays a
    request, as before."""
    corrected = with_closest_verb(words, VERBS, cutoff=CLOSE_IN_FREE_TEXT)
    if corrected is None or " " not in corrected:
        return None
    meant = _parse_subcommand(corrected)
    if meant is None or meant.name == "invalid":
        return None
    return _invalid(
        render(
            "parking/did_you_mean.md.j2",
            suggestion=truncate(corrected, 100),
            typed=truncate(words, 100),
        )
    )


def _parse_list(args: list[str]) -> ParkCommand:
    usage = (
        "`/parkinglot list [parked|accepted|deferred|declined|done|withdrawn|all] [by rice|by age]`"
    )
    state: ParkingState | None = ParkingState.PARKED
    sort = "rice"
    seen_state = seen_sort = False
    i = 0
    lowered = [a.lower() for a in args]
    while i < len(lowered):
        word = lowered[i]
        if word in _STATE_WORDS and not seen_state:
            state, seen_state = _STATE_WORDS[word], True
            i += 1
        elif word == "by" and not seen_sort and i + 1 < len(lowered) and lowered[i + 1] in SORTS:
            sort, seen_sort = lowered[i + 1], True
            i += 2
        else:
            return _invalid(f"I can list by state and order: {usage}.")
    return ParkCommand("list", state=state, sort=sort)


def _parse_park(request: str, mentions: tuple[str, ...], *, requester_word: str) -> ParkCommand:
    """``requester_word``: the first mention as it reads in ``request`` (``@ana``); leading,
    it only names the requester and is taken out of the request's text."""
    decision: int | None = None
    round_number: int | None = None
    named = (
        re.compile(re.escape(requester_word) + r"(?=$|[\s:,;.])[:,;.]?\s*")
        if requester_word
        else None
    )
    for _ in range(3):
        match = _DECISION_REF.match(request) if decision is None else None
        if match:
            decision = int(match.group(1))
            request = request[match.end() :]
            continue
        match = _ROUND_REF.match(request) if round_number is None else None
        if match:
            round_number = int(match.group(1))
            request = request[match.end() :]
            continue
        match = named.match(request) if named is not None else None
        if match:
            named = None
            request = request[match.end() :]
            continue
        break
    request = request.strip()
    requester = mentions[0] if mentions else None
    if not request or not request.strip("@ "):
        if decision is None and round_number is None and not mentions:
            return _invalid("What should I park? For example `/parkinglot Export to CSV`.")
        return ParkCommand(
            "open",
            requester_id=requester,
            mentions=mentions,
            decision_number=decision,
            round_number=round_number,
        )
    if len(request) > REQUEST_MAX:
        return _invalid(
            f"Keep a request to {REQUEST_MAX} characters (it has {len(request)}); "
            "`/parkinglot` alone opens a form with room for why it matters."
        )
    return ParkCommand(
        "park",
        text=request,
        requester_id=requester,
        mentions=mentions,
        decision_number=decision,
        round_number=round_number,
    )


def parse_related(text: str) -> tuple[int | None, int | None]:
    """``ADR-12``, ``E-3``, both (``ADR-12, E-3``) or nothing -> (decision, round) numbers.
    Raises ValueError with a sentence for anything else."""
    rest = " ".join(unescape_refs((text or "").replace("\x00", "")).split())
    decision: int | None = None
    round_number: int | None = None
    while rest:
        rest = rest.lstrip(",;& ")
        if not rest:
            break
        d = _DECISION_REF.match(rest) if decision is None else None
        r = None if d else _ROUND_REF.match(rest) if round_number is None else None
        if d:
            decision, rest = int(d.group(1)), rest[d.end() :]
        elif r:
            round_number, rest = int(r.group(1)), rest[r.end() :]
        else:
            raise ValueError("Write a decision as ADR-12 or an estimate round as E-3 (or both).")
    return decision, round_number


# -- RICE and the timeline impact --------------------------------------------------------------


_TIMELINE = re.compile(
    r"^(?P<sign>[+\-−–]?)\s*(?P<number>\d+(?:[.,]\d*)?|[.,]\d+)\s*(?P<unit>[a-z][a-z ]*)?$"
)
_TIMELINE_UNITS = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(
        (
            "d",
            "day",
            "days",
            "wd",
            "working day",
            "working days",
            "business day",
            "business days",
        ),
        "days",
    ),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
}
_TIMELINE_TEXT_MAX = 40


def parse_timeline(text: str) -> float:
    """A timeline impact as typed ("+3d", "3 days", "+1.5w", "4h", "-2d", "0") in working
    days (a day is 8 hours, a week 5 days), rounded to 3 decimals. A plain number is days.
    Negative: the change removes work; zero: absorbed. Raises ValueError with a sentence."""
    cleaned = " ".join((text or "").replace("\x00", "").lower().split())
    if not cleaned:
        raise ValueError("How much does it move the timeline? For example +3d, 4h or 1.5w.")
    if len(cleaned) > _TIMELINE_TEXT_MAX:
        raise ValueError("That's too long: write something like +3d, 4h or 1.5w.")
    match = _TIMELINE.match(cleaned)
    if match is None:
        raise ValueError(
            f"Write a duration like +3d, 4h or 1.5w (“{(text or '').strip()[:20]}” isn't one)."
        )
    number = match.group("number").replace(",", ".")
    if len(number.partition(".")[2]) > 2:
        raise ValueError("Use at most 2 decimals, like 1.25 (no thousands separators).")
    unit_word = match.group("unit")
    unit = _TIMELINE_UNITS.get(unit_word.strip(), "") if unit_word else "days"
    if not unit:
        if unit_word.strip() in ("m", "mo", "mon", "month", "months"):
            raise ValueError("Write months in weeks (a month is about 4w).")
        raise ValueError(
            f"Use h, d or w (a day is 8 hours, a week 5 days), not “{unit_word.strip()[:12]}”."
        )
    days = durations.convert(float(number), unit, "days")
    if match.group("sign") in ("-", "−", "–"):
        days = -days
    if not math.isfinite(days) or abs(days) > TIMELINE_MAX_DAYS:
        raise ValueError("That's more than five years of work: is it really one request?")
    return round(days, 3) + 0.0  # + 0.0: never -0.0
