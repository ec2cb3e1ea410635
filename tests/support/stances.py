"""Stances driven end to end: open a stance modal by its button, and read the Agree /
Disagree & commit / Block tally off a decision message."""

from __future__ import annotations

import re

from tests.support.adr import Adr, all_text


def _tally(call) -> tuple[int, int, int]:
    text = all_text(call.args["blocks"])
    m = re.search(r"Agree \*(\d+)\*.*Disagree & commit \*(\d+)\*.*Block \*(\d+)\*", text, re.S)
    assert m, text
    return int(m[1]), int(m[2]), int(m[3])


def _open_stance_form(adr: Adr, action: str, user: str, number: int = 1) -> dict:
    before = adr.slack.views_opened()
    reply = adr.slack.click(action, str(number), user=user)
    assert reply.status == 200 and reply.text == ""
    return adr.slack.opened_view(after=before)
