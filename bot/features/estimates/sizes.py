"""`/estimate sizes`: the T-shirt sizes quick rounds read (S, M, L, XL as best–likely–worst).

Everyone may read them; the people who may change `/adr settings` (workspace admins and
owners, and the people an admin named) may change them. A change applies to estimates saved
from then on; an estimate already saved keeps the range it was saved with.
"""

from __future__ import annotations

from bot.core import durations
from bot.features.estimates.forms import DEFAULT_SIZES, number_text, sizes_for, sizes_text
from storage import estimates as repo
from storage import people as people_repo
from storage.db import Database
from storage.errors import InvalidInput, NotAllowed
from storage.models import SIZES, SizeScale
from storage.people import Person

USAGE = (
    "Change one with `/estimate sizes M 2d 3d 5d` (best, most likely, worst; a plain number "
    "is days) or, for rounds in points, `/estimate sizes points M 3 5 8`."
)


def sizes_command(db: Database, *, team: str, text: str, person: Person) -> str:
    """Show the sizes (``text`` empty or ``points``) or change one."""
    words = text.split()
    scale = SizeScale.TIME
    if words and words[0].lower() == "points":
        scale = SizeScale.POINTS
        words = words[1:]
    unit = "points" if scale == SizeScale.POINTS else "days"
    with db.read() as session:
        team_sizes = repo.team_sizes(session, team_id=team, scale=scale)
        allowed = people_repo.may_change_settings(session, team_id=team, person=person)
    if not words:
        shown = sizes_text(sizes_for(unit, team_sizes), unit)
        other = (
            "" if scale == SizeScale.POINTS else " `/estimate sizes points` shows the points ones."
        )
        tail = USAGE if allowed else "Workspace admins (and the people they named) can change them."
        return (
            f"Quick rounds read a size as this range (best–likely–worst): {shown}.{other}\n{tail}"
        )
    if not allowed:
        raise NotAllowed(
            "Only workspace admins and the people they named in `/adr settings` can change "
            "the sizes; `/estimate sizes` shows them."
        )
    size = words[0].upper()
    if size not in SIZES or len(words) != 4:
        raise InvalidInput(f"Name a size (S, M, L or XL) and three numbers. {USAGE}")
    try:
        values = tuple(durations.parse_duration(w, unit) for w in words[1:])
    except ValueError as exc:
        raise InvalidInput(f"{exc} {USAGE}") from None
    best, likely, worst = values
    if not best <= likely <= worst:
        raise InvalidInput("Best, most likely and worst go from smallest to largest: `2d 3d 5d`.")
    with db.session() as session:
        before = repo.set_size(
            session,
            team_id=team,
            scale=scale,
            size=size,
            values=(best, likely, worst),
            user_id=person.user_id,
        )
    was = before or DEFAULT_SIZES[scale][size]
    shown = "–".join(number_text(v, 2) for v in (best, likely, worst))
    old = "–".join(number_text(v, 2) for v in was)
    return (
        f"{size} is now {shown} {unit} (it was {old}{'' if before else ', the default'}). "
        "Quick-round estimates saved from now on read it so; saved ones keep theirs."
    )
