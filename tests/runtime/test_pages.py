"""The install pages as a browser reads them (parsed with the standard library's HTML parser):
each page's language, title and button link, and every value from a URL or from Slack shown
as text, never as markup. Pure: no server, no database."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from bot.runtime import pages

HOSTILE = '<script>alert("x")</script> & "quotes"'


class Page(HTMLParser):
    """What the tests read from a page: ``lang``, the title, the visible text, the links by id,
    and every tag seen (a script tag would show up here)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.title = ""
        self.text: list[str] = []
        self.links: dict[str, str] = {}
        self.tags: set[str] = set()
        self.meta: dict[str, str] = {}
        self._in: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self._in.append(tag)
        if tag == "html":
            self.lang = found.get("lang")
        if tag == "a" and "id" in found:
            self.links[found["id"]] = found.get("href", "")
        if tag == "meta" and "name" in found:
            self.meta[found["name"]] = found.get("content", "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
        elif "style" not in self._in:
            self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def _every_page() -> dict[str, str]:
    return {
        "landing": pages.landing(authorize_url="https://slack.example/a?x=1", retention_days=30),
        "single": pages.single_workspace(),
        "success": pages.success(team_id="T1", team_name="Acme", app_id="A1"),
        **{
            f"failure-{reason}": pages.failure(reason=reason, install_url="/slack/install")
            for reason in pages.FailureReason
        },
    }


@pytest.mark.parametrize("name", sorted(_every_page()))
def test_every_page_is_english_fits_a_phone_and_runs_no_script(name: str) -> None:
    page = Page(_every_page()[name])
    assert page.lang == "en"
    assert page.meta["viewport"] == "width=device-width, initial-scale=1"
    assert page.title.startswith("Decision Bot")
    assert "script" not in page.tags
    assert "link" not in page.tags and "img" not in page.tags  # nothing fetched from elsewhere


def test_landing_offers_add_to_slack_with_the_authorize_link() -> None:
    url = "https://slack.com/oauth/v2/authorize?client_id=1.2&scope=commands,chat:write&state=s"
    page = Page(pages.landing(authorize_url=url, retention_days=30))
    assert page.title == "Decision Bot — Add to Slack"
    assert page.links["add-to-slack"] == url  # the & came back from &amp; unchanged
    words = page.words
    assert "Add to Slack" in words
    for said in ("/adr", "/estimate", "/parkinglot", "review date", "weekly digest"):
        assert said in words
    assert "encrypted at rest" in words
    assert "Nothing is sent anywhere but Slack." in words
    assert "deleted 30 days later, or sooner if you ask" in words


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (0, "Uninstalling stops everything at once and deletes your workspace's data."),
        (1, "Your workspace's data is deleted 1 day later"),
    ],
)
def test_landing_says_when_data_is_deleted(days: int, said: str) -> None:
    assert said in Page(pages.landing(authorize_url="/x", retention_days=days)).words


def test_landing_link_is_escaped_in_the_markup() -> None:
    html = pages.landing(authorize_url='https://x/?a=1&b="2"><script>', retention_days=30)
    page = Page(html)
    assert page.links["add-to-slack"] == 'https://x/?a=1&b="2"><script>'
    assert "script" not in page.tags
    assert 'href="https://x/?a=1&amp;b=&#34;2&#34;&gt;&lt;script&gt;"' in html


def test_single_workspace_says_how_this_deployment_is_installed() -> None:
    page = Page(pages.single_workspace())
    assert "add-to-slack" not in page.links
    words = page.words
    assert "This Decision Bot serves one workspace." in words
    for said in ("manifest.yml", "SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        assert said in words
    assert "README" in words


def test_success_names_the_workspace_and_opens_the_app_in_slack() -> None:
    page = Page(pages.success(team_id="T0ACME", team_name="Acme Inc", app_id="A0BOT"))
    assert page.title == "Decision Bot is installed"
    assert "Decision Bot is installed in Acme Inc." in page.words
    assert page.links["open-in-slack"] == "slack://app?team=T0ACME&id=A0BOT"
    assert page.links["open-in-browser"] == "https://slack.com/app_redirect?app=A0BOT&team=T0ACME"
    for command in ("/adr new", "/estimate", "/parkinglot"):
        assert command in page.words


def test_success_shows_a_hostile_team_name_as_text() -> None:
    html = pages.success(team_id="T1&x=<b>", team_name=HOSTILE, app_id="A1")
    page = Page(html)
    assert "script" not in page.tags and "b" not in page.tags
    assert f"Decision Bot is installed in {HOSTILE}." in page.words
    assert page.links["open-in-slack"] == "slack://app?team=T1%26x%3D%3Cb%3E&id=A1"


def test_success_without_a_team_name() -> None:
    page = Page(pages.success(team_id="T1", team_name=None, app_id="A1"))
    assert "Decision Bot is installed in your workspace." in page.words


@pytest.mark.parametrize(
    ("reason", "detail", "said"),
    [
        ("cancelled", "", "You cancelled in Slack, so nothing was installed."),
        ("state", "", "This install link expired, was already used, or was changed."),
        ("browser", "", "The install started in another browser, or this browser blocks cookies."),
        ("scope", "chat:write, commands", "Missing: chat:write, commands"),
        ("error", "invalid_code", "Slack said: invalid_code"),
        ("no-such-reason", "oops", "Something went wrong while installing. Please try again."),
    ],
)
def test_failure_says_what_went_wrong_and_starts_again(reason: str, detail: str, said: str) -> None:
    page = Page(pages.failure(reason=reason, install_url="/slack/install?x=1&y=2", detail=detail))
    assert page.title == "Decision Bot was not installed"
    assert said in page.words
    assert page.links["start-again"] == "/slack/install?x=1&y=2"


def test_failure_shows_a_hostile_detail_as_text() -> None:
    for reason in ("scope", "error"):
        page = Page(pages.failure(reason=reason, install_url="/slack/install", detail=HOSTILE))
        assert "script" not in page.tags
        assert HOSTILE in page.words
