"""The report of an import (``storage.adr_import``): what it created (and renumbered), left
unchanged, did not overwrite, skipped, could not import and warns about; ``lines`` is what
`decisionbot import` prints."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do). Paths are relative to the folder."""

    dry_run: bool = False
    created: list[tuple[str, str, int | None]] = field(default_factory=list)  # path, ref, file no.
    renumbered: list[tuple[str, int | None, int]] = field(default_factory=list)  # path, old, new
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # path, reason
    warnings: list[tuple[str, str]] = field(default_factory=list)  # path, what
    skipped: list[tuple[str, str]] = field(default_factory=list)  # an index, a template: why
    decision_ids: list[int] = field(default_factory=list)  # created, in number order

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The report as printed by `decisionbot import`."""
        out = ["Dry run: nothing was written."] if self.dry_run else []
        new = {path: (old, number) for path, old, number in self.renumbered}
        verb = "would create" if self.dry_run else "created"
        for path, ref, _original in self.created:
            if path in new:
                old, number = new[path]
                why = (
                    f"file number {old} was taken; renumbered {old} -> {number}"
                    if old is not None
                    else "the file has no number"
                )
                out.append(f"{verb} {ref} from {path} ({why})")
            else:
                out.append(f"{verb} {ref} from {path}")
        out += [f"unchanged: {path}" for path in self.unchanged]
        out += [
            f"changed, not overwritten: {path} (imported before from an earlier version; "
            "change the decision in Slack with /adr edit)"
            for path in self.changed
        ]
        out += [f"skipped: {path}: {reason}" for path, reason in self.skipped]
        out += [f"problem: {path}: {reason}" for path, reason in self.problems]
        out += [f"warning: {path}: {what}" for path, what in self.warnings]
        out.append(
            f"{verb} {len(self.created)} ({len(self.renumbered)} renumbered), "
            f"{len(self.unchanged)} unchanged, {len(self.changed)} changed (not overwritten), "
            f"{len(self.problems)} with problems, {len(self.warnings)} warnings"
        )
        return out


__all__ = ["ImportReport"]
