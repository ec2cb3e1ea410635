"""The ``notice.dm`` work kind: one ready sentence DMed to one person. Failure hooks of every
feature schedule it to tell a human what could not be done."""

from __future__ import annotations

from bot.engine.registry import Job, Registry, WorkKind
from storage.notices import NoticeWork


def handle_notice(job: Job) -> bool:
    job.client.chat_postMessage(
        channel=job.payload["user"], text=job.payload["text"], unfurl_links=False
    )
    return True


def register_work(registry: Registry) -> None:
    registry.register(WorkKind(NoticeWork.DM, handle_notice))
