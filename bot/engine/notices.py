"""Notices: ``notice.dm``, one ready sentence DMed to one person (failure hooks of every
feature schedule it to tell a human what could not be done), and ``notice.confirm``, the
confirmation that something someone made exists, where they asked or else by DM."""

from __future__ import annotations

import logging

from bot.core.slack_api import DISPATCH_TIMEOUT
from bot.core.transport import PooledWebhookClient
from bot.engine.registry import Job, Registry, WorkKind
from storage.notices import NoticeWork

log = logging.getLogger(__name__)


def handle_notice(job: Job) -> bool:
    job.client.chat_postMessage(
        channel=job.payload["user"], text=job.payload["text"], unfurl_links=False
    )
    return True


def handle_confirm(job: Job) -> bool:
    """Answer privately through the response_url while it takes answers; if it is gone (or
    Slack refuses it), the same sentence by DM."""
    user, text = str(job.payload["user"]), str(job.payload["text"])
    response_url = str(job.payload.get("response_url") or "")
    if response_url:
        sent = PooledWebhookClient(response_url, timeout=DISPATCH_TIMEOUT).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        if sent.status_code == 200:
            return True
        log.info("response_url answered %s; confirming by DM instead", sent.status_code)
    job.client.chat_postMessage(channel=user, text=text, unfurl_links=False)
    return True


def register_work(registry: Registry) -> None:
    registry.register(
        WorkKind(NoticeWork.DM, handle_notice),
        WorkKind(NoticeWork.CONFIRM, handle_confirm),
    )
