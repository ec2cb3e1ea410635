""" "Add to Slack" without a browser: the steps a person's browser takes, over real HTTP.

``Installer`` keeps cookies like a browser (the OAuth state is bound to one by a cookie),
opens the landing page, follows its Add to Slack link to the emulator's authorize page (which
answers as the person would: approve for a workspace, or cancel — ``emulator.next_install``)
and follows the redirect back to the app's ``/slack/oauth_redirect``.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from bot.core.ids import Field
from storage.db import Database
from storage.models import utcnow
from tests.support.adr import Adr
from tests.support.harness import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, BotServer
from tests.support.slack_emulator import SlackEmulator

_ADD = re.compile(
    r'<a[^>]*id="add-to-slack"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*id="add-to-slack"'
)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Page:
    status: int
    body: str
    headers: dict[str, str]

    @property
    def title(self) -> str:
        found = _TITLE.search(self.body)
        return html.unescape(found.group(1).strip()) if found else ""


class Installer:
    """One browser: its cookies for the app, no automatic redirects (each step is looked at).

    The state cookie is ``Secure``; a browser keeps such a cookie for ``http://127.0.0.1`` (a
    secure context) but ``http.cookiejar`` would not, so the app's cookies are kept here."""

    def __init__(self, server: BotServer, emulator: SlackEmulator) -> None:
        self.server = server
        self.emulator = emulator
        self.cookies: dict[str, str] = {}
        self._opener = urllib.request.build_opener(_NoRedirect())

    def get(self, url: str) -> Page:
        request = urllib.request.Request(url)
        if url.startswith(self.server.url) and self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            with self._opener.open(request, timeout=30) as resp:
                page = Page(resp.status, resp.read().decode(), dict(resp.headers))
                cookies = resp.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as err:
            page = Page(err.code, err.read().decode(), dict(err.headers))
            cookies = err.headers.get_all("Set-Cookie") or []
        if url.startswith(self.server.url):
            for cookie in cookies:
                name, _, rest = cookie.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return page

    def landing(self) -> Page:
        return self.get(self.server.url + "/")

    def add_to_slack_link(self, page: Page | None = None) -> str:
        page = page or self.landing()
        found = _ADD.search(page.body)
        assert found, "the landing page has no Add to Slack link"
        return html.unescape(found.group(1) or found.group(2))

    def authorize(self, link: str) -> str:
        """The emulator's authorize page: where it sends the browser back to."""
        page = self.get(link)
        assert page.status == 302, (page.status, page.body[:300])
        return page.headers["Location"]

    def install(self, team_id: str, *, cancel: bool = False, user_id: str = "UINSTALLER") -> Page:
        """The whole way, for ``team_id``: the page the person ends on."""
        self.emulator.next_install(team_id, cancel=cancel, user_id=user_id)
        back = self.authorize(self.add_to_slack_link())
        return self.get(back)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def decide(adr: Adr, team: str, channel: str, user: str, decider: str, title: str) -> int:
    """ADR-n in ``team`` with a decider and a review date 10 days on (inside the retention
    window, so a pause and a resume happen before any purge)."""
    review_day = (utcnow() + timedelta(days=10)).date().isoformat()
    return adr.new(
        title,
        team=team,
        channel=channel,
        user=user,
        values={Field.DECIDERS: [decider], Field.REVIEW_DATE: review_day},
    )


def instant(value: object) -> datetime:
    """A timestamp read back with raw SQL (SQLite gives text or a naive value) as aware UTC."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(when, datetime), value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def review_due(adr: Adr, team: str) -> datetime:
    [row] = adr.rows("SELECT due_at FROM reviews WHERE team_id = :t", t=team)
    return instant(row["due_at"])


def operator(db: Database, emulator: SlackEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    """`decisionbot ...` as an operator runs it against a distributed deployment."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "DECISIONBOT_"))
    }
    env = {
        **base,
        "DATABASE_URL": db.url,
        "SLACK_API_URL": emulator.url,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "DECISIONBOT_ENCRYPTION_KEY": ENCRYPTION_KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
