"""A workspace's settings cached per process (storage.review_settings.cached_settings, on
storage.expiring.Expiring): read once, this process's own change seen at once, another
process's once the entry expires."""

from __future__ import annotations

import time

from sqlalchemy import text

from storage import review_settings
from storage.db import Database
from storage.expiring import Expiring
from tests.support.statements import counting

TEAM = "TAAA"


def test_settings_are_read_once_then_from_the_cache(db: Database) -> None:
    review_settings.forget_cached()
    first = review_settings.cached_settings(db, team_id=TEAM)
    with counting() as sent:
        again = review_settings.cached_settings(db, team_id=TEAM)
    assert sent.total == 0
    assert (again.review_hour, again.timezone) == (first.review_hour, first.timezone) == (10, None)


def test_this_processs_change_is_seen_at_once(db: Database) -> None:
    review_settings.forget_cached()
    assert review_settings.cached_settings(db, team_id=TEAM).review_hour == 10
    with db.session() as session:
        review_settings.update_settings(
            session, team_id=TEAM, review_hour=14, timezone="Asia/Tokyo"
        )
    seen = review_settings.cached_settings(db, team_id=TEAM)
    assert (seen.review_hour, seen.timezone) == (14, "Asia/Tokyo")


def test_another_processs_change_is_seen_once_the_entry_expires(db: Database) -> None:
    review_settings.forget_cached()
    assert review_settings.cached_settings(db, team_id=TEAM).review_hour == 10
    # another process: a write this process's cache never hears of
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspace_settings (team_id, review_hour, nudge_after_days, "
                "max_nudges) VALUES (:t, 16, 3, 2)"
            ),
            {"t": TEAM},
        )
    assert review_settings.cached_settings(db, team_id=TEAM).review_hour == 10  # cached
    review_settings.forget_cached()  # what SETTINGS_TTL seconds do
    assert review_settings.cached_settings(db, team_id=TEAM).review_hour == 16


def test_an_entry_expires_after_its_ttl() -> None:
    cache: Expiring[str, int] = Expiring(0.05)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.get("k", load) == 1
    assert cache.get("k", load) == 1
    time.sleep(0.06)
    assert cache.get("k", load) == 2
    cache.forget("k")
    assert cache.get("k", load) == 3
