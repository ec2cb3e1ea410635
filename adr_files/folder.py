"""The files of a folder of decision records (pure: the file system only), read with care:
an import runs on a folder someone else may have written.

- Symbolic links: a link to a file is read only if the file it leads to is inside the folder;
  a link to a folder is never followed (its files, if inside, are read where they are; a
  folder outside is not the import's; a loop would never end). Each link not read is named,
  with why, so the operator sees it.
- Size: a file over ``MAX_BYTES`` (1 MiB; the longest real record is a few dozen KiB) is
  refused from its size, before any of it is read, and a file that grows meanwhile is read no
  further than the limit. Only regular files are read (a FIFO named ``x.md`` would block).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_BYTES = 1024 * 1024
SUFFIXES = (".md", ".markdown")


class TooLarge(Exception):
    """A file over ``MAX_BYTES``; the message says how large, for the operator."""


def markdown_files(root: Path) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """The Markdown files to read under ``root``, as (path relative to it with "/", path),
    sorted; and the symbolic links left alone, as (relative path, why)."""
    inside = root.resolve()
    files: list[tuple[str, Path]] = []
    links: list[tuple[str, str]] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for name in dirs:
            if (here / name).is_symlink():
                relative = (here / name).relative_to(root).as_posix()
                links.append((relative, _folder_link(here / name, inside)))
        for name in names:
            path = here / name
            if path.suffix.lower() not in SUFFIXES:
                continue
            relative = path.relative_to(root).as_posix()
            if path.is_symlink() and not path.resolve().is_relative_to(inside):
                links.append((relative, "a link to a file outside the folder: not read"))
            elif path.is_file():
                files.append((relative, path))
    return sorted(files), sorted(links)


def _folder_link(path: Path, inside: Path) -> str:
    if path.resolve().is_relative_to(inside):
        return "a link to a folder: not followed (its files are read where they are)"
    return "a link to a folder outside the folder: not followed"


def read_file(path: Path) -> bytes:
    """The bytes of the regular file at ``path`` (links resolved). Raises ``TooLarge`` for
    one over ``MAX_BYTES`` before reading it, and ``OSError`` when it cannot be read."""
    # no link may replace the file between the check above and here, nor a FIFO block us
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path.resolve(), flags | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as file:
        facts = os.fstat(file.fileno())
        if not stat.S_ISREG(facts.st_mode):
            raise OSError("not a regular file")
        if facts.st_size > MAX_BYTES:
            raise TooLarge(f"larger than 1 MiB ({facts.st_size:,} bytes): not read")
        data = file.read(MAX_BYTES + 1)  # it may have grown since
    if len(data) > MAX_BYTES:
        raise TooLarge("larger than 1 MiB: not read")
    return data


__all__ = ["MAX_BYTES", "TooLarge", "markdown_files", "read_file"]
