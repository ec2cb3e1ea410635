"""The web pages a person sees when installing Decision Bot: the landing page with "Add to
Slack", the success page and the failure pages (templates in prompts/pages/).

Pure functions that return whole HTML documents, so the routes only pick one and the tests read
them without a server. Their own Jinja2 environment escapes for HTML (the one in
bot.core.render escapes for Slack's mrkdwn), and every value from a URL or from Slack (a team
name, an error code) goes through it.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.core.render import PROMPTS_DIR


class FailureReason(StrEnum):
    """Why an install did not finish; each has its own sentence on the failure page."""

    CANCELLED = "cancelled"  # the person clicked Cancel in Slack
    STATE = "state"  # the state expired, was used already, or was changed
    BROWSER = "browser"  # the state cookie is missing: another browser, or cookies blocked
    SCOPE = "scope"  # Slack granted fewer scopes than the manifest asks for
    ERROR = "error"  # anything else: Slack's error code in ``detail``


_REASONS = {r.value: r for r in FailureReason}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(PROMPTS_DIR / "pages"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(template: str, **context: object) -> str:
    return _environment().get_template(template).render(**context)


def landing(*, authorize_url: str, retention_days: int) -> str:
    """``/`` in distributed mode: what Decision Bot does, Add to Slack, and what is kept."""
    return _page("landing.html.j2", authorize_url=authorize_url, retention_days=retention_days)


def single_workspace() -> str:
    """``/`` in single-workspace mode: how this deployment is installed instead."""
    return _page("single_workspace.html.j2")


def success(*, team_id: str, team_name: str | None, app_id: str) -> str:
    """After a finished install: a link that opens the app in the Slack client, and the same
    in the browser for a machine without the client."""
    return _page(
        "success.html.j2",
        team_name=team_name,
        slack_url="slack://app?" + urlencode({"team": team_id, "id": app_id}),
        web_url="https://slack.com/app_redirect?" + urlencode({"app": app_id, "team": team_id}),
        manage_url=None,
    )


def org_success(*, enterprise_id: str, enterprise_name: str | None, app_id: str) -> str:
    """After an org-wide install (Enterprise Grid): there is no workspace to open yet (the
    app is in none until an admin adds it to some), so the link is the org's app management
    page, where workspaces are added (Slack's "org-wide app" documentation gives this URL)."""
    return _page(
        "success.html.j2",
        team_name=enterprise_name,
        slack_url=None,
        web_url=None,
        manage_url=(
            f"https://app.slack.com/manage/{quote(enterprise_id, safe='')}"
            f"/integrations/profile/{quote(app_id, safe='')}/workspaces/add"
        ),
    )


def failure(*, reason: str, install_url: str, detail: str = "") -> str:
    """An install that did not finish: what went wrong in one sentence, and Start again.
    ``detail`` is the missing scopes for ``scope`` and Slack's error code for ``error``."""
    return _page(
        "failure.html.j2",
        reason=_REASONS.get(reason, FailureReason.ERROR),
        install_url=install_url,
        detail=detail,
    )
