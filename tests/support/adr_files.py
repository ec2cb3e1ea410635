"""For the ADR file tests: the fixture folders (tests/data/adr_files), a hypothesis strategy
for the people an ADR names (a name, a Slack id, or both; raw HTML in names too, typed in
Slack or read from a file), and hostile files (an alias bomb, a folder of them)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import strategies as st

from adr_files.records import PersonRef

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "adr_files"
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZàéîõüßÇ"
_NAME = st.builds(
    lambda first, rest: (first + rest).strip(),
    st.sampled_from(_LETTERS),
    st.text(_LETTERS + " .'-", max_size=20)
    | st.sampled_from([" <img src=x onerror=alert(1)>", " &lt;b&gt; &#60; R&D", " `<b>`"]),
)
_USER_ID = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=8).map("U{}".format)


@st.composite
def people(draw: st.DrawFn) -> PersonRef:
    name, user_id, as_read = draw(_NAME), draw(st.none() | _USER_ID), draw(st.booleans())
    if user_id is None:
        return replace(PersonRef.parse(name), as_read=as_read)
    text = draw(st.sampled_from([f"{name} (@{user_id})", f"@{user_id}"]))
    return replace(PersonRef.parse(text), as_read=as_read)


def alias_bomb(levels: int = 9) -> str:
    """A decision record whose YAML front matter (about 500 bytes) nests aliases ``levels``
    deep, nine to a list: read as text, it is 9**levels values (387 million for 9)."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"{names[i]}: &{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]")
    lines.append(f"status: *{names[levels - 1]}")
    return "---\n" + "\n".join(lines) + "\n---\n\n# Bomb\n\n## Decision\n\nBoom.\n"


def hostile_folder(root: Path) -> Path:
    """A folder to import with, beside two good records: an alias bomb, a file over 1 MiB
    (sparse: 64 MiB that take no room), a link to a record outside the folder, a link to a
    folder outside it, and a link to a file inside it (read). Returns the folder."""
    outside = root / "outside"
    outside.mkdir(parents=True)
    (outside / "0009-secret.md").write_text("# Secret\n\n## Decision\n\nNot yours.\n")
    folder = root / "adr"
    (folder / "source").mkdir(parents=True)
    (folder / "0001-fine.md").write_text("# 1. Fine\n\n## Decision\n\nYes.\n")
    (folder / "0002-bomb.md").write_text(alias_bomb())
    with (folder / "0003-huge.md").open("wb") as huge:
        huge.write(b"# 3. Huge\n\n## Decision\n\nYes.\n")
        huge.truncate(64 * 1024 * 1024)
    (folder / "0004-secret.md").symlink_to(outside / "0009-secret.md")
    (folder / "source" / "linked.txt").write_text("# 5. Linked\n\n## Decision\n\nAlso yes.\n")
    (folder / "0005-linked.md").symlink_to(folder / "source" / "linked.txt")
    (folder / "elsewhere").symlink_to(outside, target_is_directory=True)
    return folder


BOMB_REASON = "front matter is not valid YAML: an alias (*name) is not read in front matter"
HUGE_REASON = "larger than 1 MiB (67,108,864 bytes): not read"
LINK_OUT = "a link to a file outside the folder: not read"
FOLDER_LINK_OUT = "a link to a folder outside the folder: not followed"
