"""`/adr export` (and **Export** on `/adr show N`): the log as ADR files in the asker's DM.

The command acks at once and writes an ``adr.export`` outbox row with who asked and from which
channel; the dispatcher builds the files (``storage.adr_export``: the same visibility as
`/adr list` for that person there, so a private channel's decisions never reach an export
asked for elsewhere) and shares them with ``files.uploadV2`` in the DM with the bot — files
can't be ephemeral. One decision is one Markdown file; the whole log is a zip of
``NNNN-title.md`` files plus the ``README.md`` index.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import UTC

from slack_sdk.errors import SlackApiError

from bot.core.payloads import SlackPayload
from bot.core.render import counted
from bot.engine.registry import Job, Registry, WorkKind, raise_if_permanent
from storage.adr_export_files import export_files
from storage.db import Database
from storage.export_work import ExportWork, schedule_export
from storage.visibility import Viewer

# Every zip entry gets this time, so the same log gives the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def ask(
    db: Database, *, team: str, viewer: Viewer, number: int | None, fmt: str, trigger_id: str
) -> str:
    """Schedule the export (once per ``trigger_id``: a replayed request sends nothing more);
    the sentence that tells the person where it will arrive."""
    with db.session() as session:
        schedule_export(
            session, team_id=team, viewer=viewer, number=number, fmt=fmt, trigger_id=trigger_id
        )
    what = "the decision log as ADR files" if number is None else f"ADR-{number} as an ADR file"
    layout = "MADR" if fmt == "madr" else "adr-tools"
    return f"I'm sending you {what} ({layout} layout) in our DM with me."


def zipped(files: Iterable[tuple[str, str]]) -> tuple[bytes, int]:
    """The files (compressed, written as they come) in a zip, and how many there were."""
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files:
            info = zipfile.ZipInfo(f"decisions/{name}", ZIP_TIME)
            archive.writestr(info, text, compress_type=zipfile.ZIP_DEFLATED)
            count += 1
    return buffer.getvalue(), count


def _one_file(job: Job, viewer: Viewer, fmt: str, number: int) -> SlackPayload | None:
    """ADR-n's file, as files.uploadV2 arguments; None if the asker may not see it there."""
    with job.db.read() as session:
        files = list(
            export_files(
                session, team_id=job.item.team_id, fmt=fmt, visible_to=viewer, number=number
            )
        )
    if not files:
        return None
    [(name, text)] = files
    return {
        "content": text.encode(),
        "filename": name,
        "title": name,
        "initial_comment": f"ADR-{number}, as an ADR file.",
    }


def _the_log(job: Job, viewer: Viewer, fmt: str) -> SlackPayload:
    """Every decision the asker may see there, zipped with the index."""
    with job.db.read() as session:
        archive, written = zipped(
            export_files(session, team_id=job.item.team_id, fmt=fmt, visible_to=viewer)
        )
    day = job.now.astimezone(UTC).date().isoformat()
    return {
        "content": archive,
        "filename": f"decisions-{day}.zip",
        "title": f"Decision log, {day}",
        "initial_comment": (
            f"{counted(written - 1, 'decision')} as ADR files, with a `README.md` index. Unzip them into "
            "your repository's `docs/decisions` (or `doc/adr`); `decisionbot import` reads "
            "them back."
        ),
    }


def handle_export(job: Job) -> bool:
    p = job.payload
    user = str(p["user"])
    viewer = Viewer(user_id=user, channel_id=p.get("channel") or None, guest=bool(p.get("guest")))
    number = p.get("number")
    fmt = str(p.get("format") or "madr")
    upload = _the_log(job, viewer, fmt) if number is None else _one_file(job, viewer, fmt, number)
    try:
        dm = job.client.conversations_open(users=user)["channel"]["id"]
        if upload is None:
            job.client.chat_postMessage(
                channel=dm,
                text=f"I can't export ADR-{number}: there is no such decision, or it was posted "
                "in a private channel, so ask from there.",
            )
        else:
            job.client.files_upload_v2(channel=dm, **upload)
    except SlackApiError as exc:
        raise_if_permanent(exc, "share the export in your DM")
        raise
    return True


def register_work(registry: Registry) -> None:
    registry.register(WorkKind(ExportWork.SEND, handle_export))
