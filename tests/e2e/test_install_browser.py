"""The install pages in a real browser: headless Chromium driven by Selenium through Debian's
chromedriver. First each page alone (served from memory): its title, ``lang``, its button's
link, that it fits a phone's width, and a screenshot that is not blank. Then the whole way in
distributed mode: the landing page's Add to Slack link (client id, the manifest's scopes, a
state), the emulator's authorize page, back to /slack/oauth_redirect and the success page; and
the failure pages for Cancel, a reused link and a link opened without its cookie.

Bolt's state cookie is ``Secure``; Chromium keeps it for ``http://127.0.0.1`` (a secure
context), so the app is opened at the address the harness binds.

Skipped, with the reason, only where Chromium, its driver or Selenium is absent (``.ci/run``
installs them)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.runtime import pages

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)
DESKTOP = (1280, 900)

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
if not CHROMEDRIVER.exists():
    pytest.skip(
        f"no chromedriver at {CHROMEDRIVER} (apt-get install chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from storage import installations  # noqa: E402
from storage.db import Database  # noqa: E402
from tests.support.harness import CLIENT_ID, CLIENT_SECRET, BotServer  # noqa: E402
from tests.support.slack_emulator import AUTHORIZE_METHOD, SlackEmulator  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver: WebDriver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class _Site(ThreadingHTTPServer):
    pages: dict[str, str]


class _Pages(BaseHTTPRequestHandler):
    """Serves the site's pages (path -> HTML) from memory; anything else is a 404."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        assert isinstance(self.server, _Site)
        body = self.server.pages.get(self.path)
        if body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


AUTHORIZE = "https://slack.com/oauth/v2/authorize?client_id=1.2&scope=commands,chat:write&state=abc"
HOSTILE = '<script>document.title="owned"</script>Acme'
PAGES = {
    "/": pages.landing(authorize_url=AUTHORIZE, retention_days=30),
    "/single": pages.single_workspace(),
    "/success": pages.success(team_id="T0ACME", team_name=HOSTILE, app_id="A0BOT"),
    "/cancelled": pages.failure(reason="cancelled", install_url="/slack/install"),
    "/scope": pages.failure(reason="scope", install_url="/slack/install", detail="commands"),
}


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = _Site(("127.0.0.1", 0), _Pages)
    server.pages = PAGES
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def colours(png: bytes) -> int:
    """How many distinct colours a screenshot has (a blank page has one)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert found is not None
    return len(found)


def look(driver: WebDriver, name: str, folder: Path) -> None:
    """Screenshot the page into ``folder`` and check it shows something."""
    png = driver.get_screenshot_as_png()
    (folder / f"{name}.png").write_bytes(png)
    assert png.startswith(b"\x89PNG")
    assert colours(png) > 8, f"{name}: the screenshot is (nearly) blank"


def href(driver: WebDriver, element_id: str) -> str:
    """The link's address as the browser resolves it."""
    found = driver.find_element(By.ID, element_id).get_attribute("href")
    assert found is not None, f"#{element_id} has no href"
    return found


def fits(driver: WebDriver) -> bool:
    """No sideways scrolling: the page is no wider than the window."""
    return bool(
        driver.execute_script(
            "const e = document.documentElement; return e.scrollWidth <= e.clientWidth;"
        )
    )


@pytest.mark.parametrize(
    ("path", "title", "button", "target"),
    [
        ("/", "Decision Bot — Add to Slack", "add-to-slack", AUTHORIZE),
        ("/single", "Decision Bot — one workspace", None, None),
        (
            "/success",
            "Decision Bot is installed",
            "open-in-slack",
            "slack://app?team=T0ACME&id=A0BOT",
        ),
        ("/cancelled", "Decision Bot was not installed", "start-again", "/slack/install"),
        ("/scope", "Decision Bot was not installed", "start-again", "/slack/install"),
    ],
)
@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_each_page_in_a_real_browser(
    browser: WebDriver,
    site: str,
    tmp_path: Path,
    path: str,
    title: str,
    button: str | None,
    target: str | None,
    size: tuple[int, int],
) -> None:
    browser.set_window_size(*size)
    browser.get(site + path)
    assert browser.title == title
    assert browser.execute_script("return document.documentElement.lang") == "en"
    if button is not None:
        link = browser.find_element(By.ID, button)
        assert link.is_displayed()
        # the attribute as written, not resolved against the page's address
        assert browser.execute_script("return arguments[0].getAttribute('href')", link) == target
    assert fits(browser), f"{path} scrolls sideways at {size[0]}px"
    look(browser, f"{path.strip('/') or 'landing'}-{size[0]}", tmp_path)


def test_a_hostile_team_name_is_shown_as_text(browser: WebDriver, site: str) -> None:
    browser.get(site + "/success")
    assert browser.title == "Decision Bot is installed"  # the injected script never ran
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == f"Decision Bot is installed in {HOSTILE}."
    assert browser.find_elements(By.CSS_SELECTOR, "main script") == []


# -- the whole way: the app in distributed mode, the emulator as Slack's authorize page --------

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def manifest_bot_scopes() -> list[str]:
    import yaml

    scopes = yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"]
    return [str(s) for s in scopes]


@pytest.fixture
def distributed(db: Database, emulator: SlackEmulator) -> Iterator[BotServer]:
    emulator.oauth_client = (CLIENT_ID, CLIENT_SECRET)  # the authorize page checks client_id
    server = BotServer(db, emulator, distributed=True).start()
    try:
        yield server
    finally:
        server.stop()


def add_to_slack(browser: WebDriver, server: BotServer, emulator: SlackEmulator) -> dict[str, str]:
    """Open the landing page, check it, and return the Add to Slack link's query."""
    browser.delete_all_cookies()
    browser.set_window_size(*DESKTOP)
    browser.get(server.url + "/")
    assert browser.title == "Decision Bot — Add to Slack"
    assert browser.execute_script("return document.documentElement.lang") == "en"
    link = href(browser, "add-to-slack")
    assert link.startswith(emulator.authorize_url + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_add_to_slack_through_the_authorize_page_to_the_success_page(
    browser: WebDriver,
    distributed: BotServer,
    emulator: SlackEmulator,
    db: Database,
    tmp_path: Path,
) -> None:
    query = add_to_slack(browser, distributed, emulator)
    assert query["client_id"] == CLIENT_ID
    assert query["scope"].split(",") == manifest_bot_scopes()
    assert query["state"]
    assert query["redirect_uri"] == distributed.url + "/slack/oauth_redirect"
    look(browser, "flow-landing", tmp_path)

    emulator.add_workspace("T0ACME", name="Acme <b>Inc</b>")
    emulator.next_install("T0ACME", user_id="U0ANA")
    browser.find_element(By.ID, "add-to-slack").click()
    WebDriverWait(browser, 60).until(ec.title_is("Decision Bot is installed"))

    [authorize] = emulator.calls(AUTHORIZE_METHOD)
    assert authorize.args["state"] == query["state"]
    assert urlsplit(browser.current_url).path == "/slack/oauth_redirect"
    assert browser.execute_script("return document.documentElement.lang") == "en"
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading == "Decision Bot is installed in Acme <b>Inc</b>."
    assert href(browser, "open-in-slack") == f"slack://app?team=T0ACME&id={emulator.app_id}"
    look(browser, "flow-success", tmp_path)

    with db.read() as session:
        [installed] = installations.summaries(session)
    assert (installed.team_id, installed.installer_user_id) == ("T0ACME", "U0ANA")
    assert installed.state == "active"


def test_cancel_on_the_authorize_page_shows_what_happened(
    browser: WebDriver,
    distributed: BotServer,
    emulator: SlackEmulator,
    db: Database,
    tmp_path: Path,
) -> None:
    add_to_slack(browser, distributed, emulator)
    emulator.next_install("T0ACME", cancel=True)
    browser.find_element(By.ID, "add-to-slack").click()
    WebDriverWait(browser, 60).until(ec.title_is("Decision Bot was not installed"))

    assert browser.execute_script("return document.documentElement.lang") == "en"
    assert "You cancelled in Slack, so nothing was installed." in browser.page_source
    assert href(browser, "start-again") == distributed.url + "/slack/install"
    look(browser, "flow-cancelled", tmp_path)
    with db.read() as session:
        assert installations.summaries(session) == []


def test_a_link_used_twice_gets_the_failure_page(
    browser: WebDriver, distributed: BotServer, emulator: SlackEmulator, db: Database
) -> None:
    add_to_slack(browser, distributed, emulator)
    link = href(browser, "add-to-slack")
    emulator.next_install("T0ACME")
    browser.get(link)
    WebDriverWait(browser, 60).until(ec.title_is("Decision Bot is installed"))

    emulator.next_install("T0ACME")
    browser.get(link)  # the same state again: refused
    WebDriverWait(browser, 60).until(ec.title_is("Decision Bot was not installed"))
    assert "This install link expired, was already used, or was changed." in browser.page_source
    with db.read() as session:
        assert [s.team_id for s in installations.summaries(session)] == ["T0ACME"]


def test_a_link_opened_without_its_cookie_says_start_again_in_this_browser(
    browser: WebDriver, distributed: BotServer, emulator: SlackEmulator, db: Database
) -> None:
    add_to_slack(browser, distributed, emulator)
    browser.delete_all_cookies()  # as if the link had been opened in another browser
    emulator.next_install("T0ACME")
    browser.find_element(By.ID, "add-to-slack").click()
    WebDriverWait(browser, 60).until(ec.title_is("Decision Bot was not installed"))
    assert "The install started in another browser" in browser.page_source
    with db.read() as session:
        assert installations.summaries(session) == []
