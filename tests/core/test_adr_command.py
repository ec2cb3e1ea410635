"""The `/adr` parser (bot/core/adr_command.py): every verb, `/adr redact` and `/adr dm`, and a
sentence for what it cannot read. Pure: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.core.adr_command import AdrCommand, parse_adr
from storage.models import DecisionStatus

# -- /adr ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AdrCommand("new")),
        ("   ", AdrCommand("new")),
        ("new", AdrCommand("new")),
        ("new Use Postgres", AdrCommand("new", text="Use Postgres")),
        ("NEW   Use  Postgres ", AdrCommand("new", text="Use  Postgres")),
        ("help", AdrCommand("help")),
        ("?", AdrCommand("help")),
        ('search kafka "event store"', AdrCommand("search", text='kafka "event store"')),
        ("list", AdrCommand("list")),
        ("list accepted", AdrCommand("list", status=DecisionStatus.ACCEPTED)),
        ("list #DB", AdrCommand("list", tag="db")),
        ("list #infra Proposed", AdrCommand("list", status=DecisionStatus.PROPOSED, tag="infra")),
        ("show 7", AdrCommand("show", number=7)),
        ("show ADR-7", AdrCommand("show", number=7)),
        ("show adr7", AdrCommand("show", number=7)),
        ("show #7", AdrCommand("show", number=7)),
        ("accept 3", AdrCommand("accept", number=3)),
        ("accept 3 looks good", AdrCommand("accept", number=3, text="looks good")),
        (
            "accept 3 --override deadline is Friday",
            AdrCommand("accept", number=3, text="deadline is Friday", override=True),
        ),
        ("reject 4 too costly", AdrCommand("reject", number=4, text="too costly")),
        ("deprecate 5", AdrCommand("deprecate", number=5)),
        ("supersede 6", AdrCommand("supersede", number=6)),
        ("edit 12", AdrCommand("edit", number=12)),
        ("frobnicate 3", AdrCommand("unknown", text="frobnicate 3")),
        ("list #db\x00", AdrCommand("list", tag="db")),  # NUL can't reach Postgres
        ("digest", AdrCommand("digest")),
        ("digest Preview", AdrCommand("digest", text="preview")),
        ("digest off", AdrCommand("digest", text="off")),
        ("export", AdrCommand("export", text="madr")),
        ("export ADR-7", AdrCommand("export", number=7, text="madr")),
        ("export nygard 7", AdrCommand("export", number=7, text="nygard")),
        ("export 7 MADR", AdrCommand("export", number=7, text="madr")),
    ],
)
def test_parse_adr(text: str, expected: AdrCommand) -> None:
    assert parse_adr(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "search",
        "search   ",
        "show",
        "show x",
        "show -1",
        "show 1.5",
        "accept ADR-",
        "edit 1234567890",  # more digits than any decision number
        "list banana",
        "list #",
        "digest weekly",
        "export 7 8",
        "export pdf",
    ],
)
def test_parse_adr_invalid_gives_a_sentence(text: str) -> None:
    cmd = parse_adr(text)
    assert cmd.name == "invalid"
    assert cmd.error and cmd.error.endswith(".")
    assert "/adr" in cmd.error


def test_override_only_for_accept() -> None:
    assert parse_adr("reject 3 --override x") == AdrCommand("reject", number=3, text="--override x")
    assert parse_adr(None).name == "new"  # type: ignore[arg-type]


# -- /adr redact and /adr dm -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redact 7 title", AdrCommand("redact", number=7, field="title")),
        ("REDACT ADR-7 Context", AdrCommand("redact", number=7, field="context")),
        ("redact 7 success", AdrCommand("redact", number=7, field="success")),
        ("redact 7 success_criteria", AdrCommand("redact", number=7, field="success")),
        ("redact 7 tag", AdrCommand("redact", number=7, field="tags")),
        (
            "redact 7 stance <@UANA|ana>",
            AdrCommand("redact", number=7, field="stance", person="UANA"),
        ),
        ("redact 7 concern <@UANA>", AdrCommand("redact", number=7, field="stance", person="UANA")),
        ("dm", AdrCommand("dm")),
        ("dm Off", AdrCommand("dm", text="off")),
        ("dm on", AdrCommand("dm", text="on")),
    ],
)
def test_parse_redact_and_dm(text: str, expected: AdrCommand) -> None:
    assert parse_adr(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("redact", "Which decision?"),
        ("redact x title", "Which decision?"),
        ("redact 7", "Which field of ADR-7?"),
        ("redact 7 password", "Fields: title, context, options, decision, consequences"),
        ("redact 7 <!channel>", "&lt;!channel&gt;"),  # the echo is escaped
        ("redact 7 title now", "Just the field"),
        ("redact 7 stance", "Whose stance?"),
        ("redact 7 stance @ana", "Whose stance?"),  # a name Slack didn't turn into an id
        ("redact 7 stance <@UANA> <@UBOB>", "Whose stance?"),
        ("dm maybe", "`/adr dm off`"),
    ],
)
def test_parse_redact_and_dm_invalid_give_a_sentence(text: str, says: str) -> None:
    cmd = parse_adr(text)
    assert cmd.name == "invalid"
    assert says in cmd.error and cmd.error.endswith(".")
    assert "<!channel>" not in cmd.error


def test_a_channel_reference_is_a_tag_filter() -> None:
    cmd = parse_adr("list <#C0123|infra> accepted")
    assert (cmd.name, cmd.tag, cmd.status) == ("list", "infra", "accepted")
