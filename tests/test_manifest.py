"""manifest.yml is a valid Slack app manifest and matches what the app listens for."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.core.ids import Callback
from bot.runtime.installs import BOT_SCOPES

ROOT = Path(__file__).resolve().parent.parent
# Slack's published manifest schema, kept in the repository (licence beside it), so the test
# runs on any clone.
SCHEMA = Path(__file__).resolve().parent / "data" / "slack-manifest.schema.json"


MANIFESTS = ("manifest.yml", "manifest.distributed.yml")


@pytest.fixture(scope="module", params=MANIFESTS)
def manifest(request: pytest.FixtureRequest) -> dict:
    """Each manifest: one workspace with one token, and "Add to Slack" for many."""
    return yaml.safe_load((ROOT / request.param).read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA.read_text())


def test_manifest_validates_against_slacks_schema(manifest: dict, schema: dict) -> None:
    jsonschema.validate(manifest, schema)


def test_schema_rejects_a_broken_manifest(manifest: dict, schema: dict) -> None:
    broken = json.loads(json.dumps(manifest))
    broken["features"]["shortcuts"][0]["name"] = "A name far longer than twenty-four characters"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_manifest_declares_what_the_app_handles(manifest: dict) -> None:
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/adr", "/estimate", "/parkinglot"}
    callbacks = {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert Callback.LOG_MESSAGE_SHORTCUT.value in callbacks
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "im:write", "channels:read", "groups:read"} <= scopes
    for url in [c["url"] for c in manifest["features"]["slash_commands"]] + [
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
    ]:
        assert url.endswith("/slack/events")


def test_both_manifests_ask_for_the_scopes_the_install_link_asks_for(manifest: dict) -> None:
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_the_distributed_manifest_is_the_other_plus_install_and_leaving() -> None:
    single = yaml.safe_load((ROOT / "manifest.yml").read_text())
    shared = yaml.safe_load((ROOT / "manifest.distributed.yml").read_text())
    assert shared["oauth_config"]["redirect_urls"] == [
        "https://decisionbot.example.com/slack/oauth_redirect"
    ]
    events = shared["settings"]["event_subscriptions"]["bot_events"]
    leaving = ["app_uninstalled", "tokens_revoked", "team_access_granted", "team_access_revoked"]
    assert events[:4] == leaving
    # Enterprise Grid org-wide installs (issue 24): the distributed app only
    assert shared["settings"]["org_deploy_enabled"] is True
    shared["settings"]["org_deploy_enabled"] = single["settings"]["org_deploy_enabled"]
    # Token rotation (issue 24): the distributed app's tokens expire and are refreshed
    assert shared["settings"]["token_rotation_enabled"] is True
    shared["settings"]["token_rotation_enabled"] = single["settings"]["token_rotation_enabled"]
    # apart from those, the same app: a change to one manifest must be made to both
    shared["oauth_config"].pop("redirect_urls")
    shared["settings"]["event_subscriptions"]["bot_events"] = events[4:]
    assert shared == single
