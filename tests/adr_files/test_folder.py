"""Hostile folders of ADR files (issue 18, finding 5), the pure part (adr_files/folder.py and
the front matter of adr_files/structure.py): a YAML alias bomb and a file over 1 MiB are
problems and the other files are read; symbolic links out of the folder are named and not
followed. No database, no Slack."""

from __future__ import annotations

from pathlib import Path

import pytest

from adr_files.parse import Problem, parse_text, read_tree
from adr_files.records import NotADecisionRecord
from tests.support.adr_files import BOMB_REASON, FOLDER_LINK_OUT, HUGE_REASON, LINK_OUT, alias_bomb

FINE = "# {n}. Fine\n\n## Decision\n\nYes.\n"


def _bytes_read() -> int | None:
    """What this process has read so far (Linux: /proc/self/io), None elsewhere."""
    try:
        io = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in io.splitlines() if line.startswith("rchar:")))


@pytest.mark.timeout(60)  # before: over 120 s of CPU for this one file
def test_a_yaml_alias_bomb_is_a_problem_and_the_other_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "0001-bomb.md").write_text(alias_bomb())
    (tmp_path / "0002-fine.md").write_text(FINE.format(n=2))
    files, problems = read_tree(tmp_path)
    assert [f.path for f in files] == ["0002-fine.md"]
    assert problems == [Problem("0001-bomb.md", f"{BOMB_REASON} (line 3)")]
    # an anchor alone repeats nothing, and is read
    record = parse_text("---\nstatus: &s accepted\n---\n# T\n\n## Decision\n\nx\n", file_name="t")
    assert record.status == "accepted"
    with pytest.raises(NotADecisionRecord, match=r"alias \(\*name\) is not read"):
        parse_text("---\nx: &x {a: 1}\ny:\n  <<: *x\n---\n# T\n\n## Decision\n\nx\n", file_name="t")


def test_a_file_over_1_mib_is_a_problem_and_is_not_read(tmp_path: Path) -> None:
    with (tmp_path / "0001-huge.md").open("wb") as huge:  # a record, then 64 MiB of nothing
        huge.write(FINE.format(n=1).encode())
        huge.truncate(64 * 1024 * 1024)  # sparse: takes no room
    (tmp_path / "0002-fine.md").write_text(FINE.format(n=2))
    before = _bytes_read()
    files, problems = read_tree(tmp_path)
    after = _bytes_read()
    assert [f.path for f in files] == ["0002-fine.md"]
    assert problems == [Problem("0001-huge.md", HUGE_REASON)]
    if before is not None and after is not None:
        assert after - before < 1024 * 1024


def test_links_out_of_the_folder_are_named_and_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0009-secret.md").write_text(FINE.format(n=9))
    root = tmp_path / "adr"
    (root / "drafts").mkdir(parents=True)
    (root / "0001-fine.md").write_text(FINE.format(n=1))
    (root / "drafts" / "linked.txt").write_text(FINE.format(n=2))
    (root / "0002-linked.md").symlink_to(root / "drafts" / "linked.txt")  # inside: read
    (root / "0003-relative.md").symlink_to(Path("..") / "outside" / "0009-secret.md")
    (root / "0004-absolute.md").symlink_to(outside / "0009-secret.md")
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    (root / "again").symlink_to(root / "drafts", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)

    files, problems = read_tree(root)
    assert [f.path for f in files] == ["0001-fine.md", "0002-linked.md"]
    assert files[1].record.number == 2
    inside = "a link to a folder: not followed (its files are read where they are)"
    assert problems == [
        Problem("0003-relative.md", LINK_OUT, warning=True),
        Problem("0004-absolute.md", LINK_OUT, warning=True),
        Problem("again", inside, warning=True),
        Problem("elsewhere", FOLDER_LINK_OUT, warning=True),
        Problem("loop", inside, warning=True),
    ]
