"""storage.installations on SQLite and a real Postgres: tokens encrypted at rest, one-time
OAuth states, and what leaving and coming back do to a workspace's outbox rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from storage import due_work, installations
from storage.db import Database
from storage.models import utcnow
from storage.secrets import BadKey, TokenCipher, UnreadableToken, new_key, parse_keys

SCHEDULED = frozenset({"review.open"})


def save(db: Database, cipher: TokenCipher, team: str, token: str) -> int:
    with db.session() as session:
        return installations.save(
            session,
            cipher=cipher,
            team_id=team,
            enterprise_id=None,
            team_name=f"Team {team}",
            app_id="A1",
            bot_id="B1",
            bot_user_id="UBOT",
            bot_token=token,
            bot_scopes=["commands", "chat:write"],
            installer_user_id="UINSTALLER",
        )


def work(db: Database, team: str, kind: str, key: str) -> None:
    with db.session() as session:
        due_work.schedule(session, team_id=team, kind=kind, subject_id=1, key=key, due_at=utcnow())


def states(db: Database, team: str) -> dict[str, str]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, state FROM due_work WHERE team_id = :t"), {"t": team})
        return dict(rows.all())


def test_a_token_is_stored_encrypted_and_read_back_with_the_key(db: Database) -> None:
    cipher = TokenCipher([new_key()])
    save(db, cipher, "T1", "xoxb-1-secret")
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT bot_token FROM installations")).scalar_one()
    assert "xoxb" not in stored
    with db.read() as session:
        bot = installations.find(session, cipher=cipher, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-1-secret"
        assert bot.bot_scopes == ("commands", "chat:write")
        with pytest.raises(UnreadableToken):
            installations.find(session, cipher=TokenCipher([new_key()]), team_id="T1")


def test_rotating_the_key_keeps_every_token_readable_under_the_new_one(db: Database) -> None:
    old, new = new_key(), new_key()
    save(db, TokenCipher([old]), "T1", "xoxb-1")
    save(db, TokenCipher([old]), "T2", "xoxb-2")
    with db.session() as session:
        assert installations.rotate_tokens(session, cipher=TokenCipher([new, old])) == 2
    with db.read() as session:
        found = installations.find(session, cipher=TokenCipher([new]), team_id="T2")
        assert found is not None and found.bot_token == "xoxb-2"


def test_keys_are_checked_and_named_by_position_never_shown() -> None:
    good = new_key()
    assert parse_keys(f" {good} , {new_key()} ")[0] == good
    with pytest.raises(BadKey) as err:
        parse_keys(f"{good},not-a-key")
    assert "key 2 of 2" in str(err.value) and "not-a-key" not in str(err.value)


def test_a_state_works_once_and_only_within_ten_minutes(db: Database) -> None:
    with db.session() as session:
        state = installations.issue_state(session)
        old = installations.issue_state(session, now=utcnow() - timedelta(minutes=11))
    with db.session() as session:
        assert installations.consume_state(session, state=state)
    with db.session() as session:
        assert not installations.consume_state(session, state=state)  # used
        assert not installations.consume_state(session, state=old)  # expired
        assert not installations.consume_state(session, state="made-up")


def test_leaving_cancels_deliveries_pauses_scheduled_work_and_a_return_resumes_it(
    db: Database,
) -> None:
    cipher = TokenCipher([new_key()])
    save(db, cipher, "T1", "xoxb-1")
    save(db, cipher, "T2", "xoxb-2")
    work(db, "T1", "decision.post", "post")
    work(db, "T1", "review.open", "review")
    work(db, "T2", "review.open", "review")
    with db.session() as session:
        left = installations.uninstall(
            session, team_id="T1", retention=timedelta(days=30), scheduled_kinds=SCHEDULED
        )
    assert left is not None and (left.cancelled, left.paused) == (1, 1)
    purge = [k for k in states(db, "T1") if k.startswith("purge:")]
    assert states(db, "T1") == {"post": "cancelled", "review": "paused", purge[0]: "pending"}
    assert states(db, "T2") == {"review": "pending"}  # the other workspace untouched
    with db.session() as session:  # a repeated event changes nothing
        assert (
            installations.uninstall(
                session, team_id="T1", retention=timedelta(days=30), scheduled_kinds=SCHEDULED
            )
            is None
        )
    with db.read() as session:
        assert installations.find(session, cipher=cipher, team_id="T1") is None

    assert save(db, cipher, "T1", "xoxb-1b") == 1  # one paused row resumed
    assert states(db, "T1") == {"post": "cancelled", "review": "pending", purge[0]: "cancelled"}


def test_a_claimed_row_of_a_workspace_that_left_is_paused_unless_it_came_back(
    db: Database,
) -> None:
    cipher = TokenCipher([new_key()])
    save(db, cipher, "T1", "xoxb-1")
    work(db, "T1", "review.open", "a")
    work(db, "T1", "review.open", "b")
    with db.session() as session:
        claimed = due_work.claim(
            session, now=utcnow(), owner="me", limit=10, lease=timedelta(minutes=5)
        )
    assert len(claimed) == 2
    first, second = sorted(claimed, key=lambda r: r.key)
    with db.session() as session:
        installations.uninstall(
            session, team_id="T1", retention=timedelta(days=1), scheduled_kinds=SCHEDULED
        )
    with db.session() as session:
        assert installations.pause(session, item_id=first.id or 0, owner="me", team_id="T1")
    save(db, cipher, "T1", "xoxb-1b")  # back: the paused row resumes
    with db.session() as session:  # the other, still claimed, is not paused behind the return
        assert not installations.pause(session, item_id=second.id or 0, owner="me", team_id="T1")
    assert {k: v for k, v in states(db, "T1").items() if not k.startswith("purge:")} == {
        "a": "pending",
        "b": "pending",
    }
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT key, attempts FROM due_work WHERE key IN ('a', 'b')"))
        attempts = dict(rows.all())
    assert attempts == {"a": 0, "b": 0}  # refunded
