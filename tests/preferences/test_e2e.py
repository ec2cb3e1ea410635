"""`/adr dm off|on` end to end over signed HTTP, on SQLite and Postgres: someone who turned DMs
off gets no informed DM, review question or reminder; the author is told who was skipped; answers
to what that person did themselves still reach them.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.ids import Field
from tests.support.adr import Adr
from tests.support.delivery import aware, posts_to, settle, sweep
from tests.support.reviews import asks_in, new_decision, reviews


def _notices_to(adr: Adr, user: str) -> list[str]:
    """Text-only DMs (notices) the bot sent ``user``."""
    return [c.args["text"] for c in posts_to(adr.emulator, user) if not c.args.get("blocks")]


def test_dm_off_stops_informed_dms_and_the_author_is_told(adr: Adr, slack, emulator):
    assert "My DMs to you are *on*" in adr.run("dm", user="UIAN")
    assert "I won't DM you" in adr.run("dm off", user="UIAN")
    assert "My DMs to you are *off*" in adr.run("dm", user="UIAN")
    assert "I won't DM you" in adr.run("dm OFF", user="UIAN")  # again: still off, no error
    assert [
        (r["user_id"], bool(r["dms_off"])) for r in adr.rows("SELECT * FROM user_preferences")
    ] == [("UIAN", True)]
    assert "`/adr dm off`" in adr.run("dm maybe", user="UIAN")

    adr.new("Move standup to 10:00", values={Field.INFORMED: ["UIAN", "UJO"]})
    emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UJO")
    [notice] = emulator.wait_for(
        "chat.postMessage",
        where=lambda c: c.args["channel"] == "UALICE" and "DMs off" in c.args.get("text", ""),
    )
    assert "I didn't DM <@UIAN> about *ADR-1*" in notice.args["text"]
    assert "<@UJO>" not in notice.args["text"]
    settle(slack)
    assert posts_to(emulator, "UIAN") == []
    assert len(_notices_to(adr, "UALICE")) == 1

    # answers to what Ian does himself still reach him: a notice that his own post failed
    emulator.set_channel("CLOCKED", is_member=False)
    adr.new("Ian's own decision", user="UIAN", post_in="CLOCKED", posted=False)
    [failed] = emulator.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "UIAN")
    assert "ADR-2 is saved, but I couldn't post it" in failed.args["text"]

    # back on: informed again
    assert "back on" in adr.run("dm on", user="UIAN")
    adr.new("Move retro to Friday", values={Field.INFORMED: ["UIAN"]})
    [dm] = emulator.wait_for(
        "chat.postMessage",
        where=lambda c: c.args["channel"] == "UIAN" and "listed you as informed" in c.args["text"],
    )
    assert "ADR-3" in dm.args["text"]
    settle(slack)
    assert len(_notices_to(adr, "UALICE")) == 1  # nobody skipped this time


def test_dm_off_skips_review_questions_and_reminders(adr: Adr, slack, emulator, db):
    adr.run("dm off", user="UBOB")
    number = new_decision(adr, deciders=("UBOB", "UCAROL"))
    message_ts = adr.decision(number)["message_ts"]
    assert adr.run(f"review {number}").startswith("Asking")
    for asked in ("UALICE", "UCAROL"):
        emulator.wait_for(
            "chat.postMessage", where=lambda c, u=asked: c.args["channel"] == u and asks_in([c])
        )
    [notice] = emulator.wait_for(
        "chat.postMessage",
        where=lambda c: c.args["channel"] == "UALICE" and "DMs off" in c.args.get("text", ""),
    )
    assert f"The review of *ADR-{number}* is open, but I didn't ask <@UBOB>" in notice.args["text"]
    assert "<@UCAROL>" not in notice.args["text"]
    [thread] = emulator.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("thread_ts") == message_ts
    )
    assert "<@UALICE>" in thread.args["text"] and "<@UBOB>" not in thread.args["text"]
    settle(slack)
    assert posts_to(emulator, "UBOB") == []
    # Bob's ask stays: App Home shows it waiting for him
    r, planned = reviews(db, number)  # asked now; the planned review stays for its day
    assert {a["user_id"] for a in adr.rows("SELECT * FROM review_asks")} == {
        "UALICE",
        "UBOB",
        "UCAROL",
    }

    # Carol turns DMs off after her question: no reminder for her (nor Bob); Alice gets one
    adr.run("dm off", user="UCAROL")
    sweep(slack, db, aware(planned.due_at) - timedelta(minutes=1))  # the first reminders
    assert len(asks_in(posts_to(emulator, "UALICE"))) == 2
    assert len(asks_in(posts_to(emulator, "UCAROL"))) == 1
    assert posts_to(emulator, "UBOB") == []
    assert len(_notices_to(adr, "UALICE")) == 1  # told once, at the opening
