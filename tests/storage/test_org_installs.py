"""storage.org_installs on SQLite and a real Postgres: an org-wide install keyed by its
enterprise id, the token lookup that falls back from a workspace to its org's install, and
what granting and revoking one workspace of the org do (to it alone)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from storage import due_work, installations, org_installs
from storage.db import Database
from storage.models import utcnow
from storage.secrets import TokenCipher, new_key

ORG = "EORG"
SCHEDULED = frozenset({"review.open"})
CIPHER = TokenCipher([new_key()])


def save_org(db: Database, token: str = "xoxb-org") -> None:
    with db.session() as session:
        installations.save(
            session,
            cipher=CIPHER,
            team_id=ORG,
            enterprise_id=ORG,
            team_name="Org",
            is_enterprise_install=True,
            app_id="A1",
            bot_id="BORG",
            bot_user_id="UORGBOT",
            bot_token=token,
            bot_scopes=["commands", "chat:write"],
            installer_user_id="UADMIN",
        )


def save_own(db: Database, team: str, token: str) -> None:
    with db.session() as session:
        installations.save(
            session,
            cipher=CIPHER,
            team_id=team,
            enterprise_id=ORG,
            team_name=team,
            app_id="A1",
            bot_id="B1",
            bot_user_id="UBOT",
            bot_token=token,
            bot_scopes=["commands"],
            installer_user_id="U1",
        )


def token_of(db: Database, team: str) -> str | None:
    with db.read() as session:
        bot = org_installs.find_for_workspace(session, cipher=CIPHER, team_id=team)
    return bot.bot_token if bot is not None else None


def work(db: Database, team: str, kind: str, key: str) -> None:
    with db.session() as session:
        due_work.schedule(session, team_id=team, kind=kind, subject_id=1, key=key, due_at=utcnow())


def states(db: Database, team: str) -> dict[str, str]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT key, state FROM due_work WHERE team_id = :t AND kind != :p"),
            {"t": team, "p": installations.PURGE_KIND},
        )
        return dict(rows.all())


def test_an_org_install_is_one_row_keyed_by_the_enterprise(db: Database) -> None:
    save_org(db)
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT team_id, enterprise_id, is_enterprise_install FROM installations")
        ).all()
    assert [(r[0], r[1], bool(r[2])) for r in rows] == [(ORG, ORG, True)]
    with db.read() as session:
        org = installations.find(session, cipher=CIPHER, team_id=ORG)
    assert org is not None and org_installs.is_org(org)


def test_a_workspace_finds_its_own_install_else_its_orgs_else_none(db: Database) -> None:
    save_org(db)
    assert token_of(db, "TONE") is None  # not recorded: no org is known for it
    with db.session() as session:
        assert org_installs.join(session, team_id="TONE", enterprise_id=ORG)
        assert org_installs.join(session, team_id="TONE", enterprise_id=ORG)  # once
    assert token_of(db, "TONE") == "xoxb-org"
    save_own(db, "TOWN", "xoxb-own")
    with db.session() as session:
        org_installs.grant(session, team_id="TOWN", enterprise_id=ORG)
    assert token_of(db, "TOWN") == "xoxb-own"  # its own installation comes first
    # No org install: nothing to join.
    with db.session() as session:
        assert not org_installs.join(session, team_id="TX", enterprise_id="EOTHER")
    assert token_of(db, "TX") is None


def test_revoking_one_workspace_leaves_the_org_and_its_other_workspaces_alone(
    db: Database,
) -> None:
    save_org(db)
    with db.session() as session:
        org_installs.grant(session, team_id="TONE", enterprise_id=ORG)
        org_installs.grant(session, team_id="TTWO", enterprise_id=ORG)
    for team in ("TONE", "TTWO"):
        work(db, team, "review.open", f"{team}-review")
        work(db, team, "decision.post", f"{team}-post")

    with db.session() as session:
        left = org_installs.revoke(
            session,
            team_id="TONE",
            enterprise_id=ORG,
            retention=timedelta(days=30),
            scheduled_kinds=SCHEDULED,
        )
        again = org_installs.revoke(
            session,
            team_id="TONE",
            enterprise_id=ORG,
            retention=timedelta(days=30),
            scheduled_kinds=SCHEDULED,
        )
    assert left is not None and (left.cancelled, left.paused) == (1, 1)
    assert again is None  # a repeated event changes nothing
    assert states(db, "TONE") == {"TONE-review": "paused", "TONE-post": "cancelled"}
    assert states(db, "TTWO") == {"TTWO-review": "pending", "TTWO-post": "pending"}
    assert token_of(db, "TONE") is None
    assert token_of(db, "TTWO") == "xoxb-org"
    with db.read() as session:
        assert installations.find(session, cipher=CIPHER, team_id=ORG) is not None
        # The purge is planned for TONE as for an uninstall, and may run once due.
        assert installations.purge_due(session, team_id="TONE", now=utcnow() + timedelta(days=31))
        # A late request from TONE does not bring it back.
        assert not org_installs.join(session, team_id="TONE", enterprise_id=ORG)

    # Granted again: its paused work resumes and the purge is called off.
    with db.session() as session:
        resumed = org_installs.grant(session, team_id="TONE", enterprise_id=ORG)
    assert resumed == 1
    assert states(db, "TONE") == {"TONE-review": "pending", "TONE-post": "cancelled"}
    assert token_of(db, "TONE") == "xoxb-org"
    with db.read() as session:
        assert not installations.purge_due(
            session, team_id="TONE", now=utcnow() + timedelta(days=31)
        )


def test_the_org_install_leaving_revokes_every_workspace_it_served(db: Database) -> None:
    save_org(db)
    with db.session() as session:
        for team in ("TONE", "TTWO"):
            org_installs.grant(session, team_id=team, enterprise_id=ORG)
    save_own(db, "TOWN", "xoxb-own")  # a workspace of the org with its own install
    for team in ("TONE", "TTWO", "TOWN"):
        work(db, team, "review.open", f"{team}-review")
    with db.session() as session:
        installations.uninstall(
            session, team_id=ORG, retention=timedelta(days=1), scheduled_kinds=SCHEDULED
        )
        gone = org_installs.revoke_all(
            session, enterprise_id=ORG, retention=timedelta(days=1), scheduled_kinds=SCHEDULED
        )
    assert sorted(gone) == ["TONE", "TTWO"]
    assert states(db, "TONE") == {"TONE-review": "paused"}
    assert states(db, "TOWN") == {"TOWN-review": "pending"}
    assert token_of(db, "TOWN") == "xoxb-own"

    # The org installs again: a workspace it had served comes back with its first request.
    save_org(db, "xoxb-org-2")
    with db.session() as session:
        assert org_installs.join(session, team_id="TONE", enterprise_id=ORG)
    assert token_of(db, "TONE") == "xoxb-org-2"
    assert states(db, "TONE") == {"TONE-review": "pending"}
