"""Settings read once from the environment.

A missing or bad value raises :class:`ConfigError` whose message names the variable and says
what to do; the CLI prints that one line and exits with status 2 (never a traceback).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

DEFAULT_DATABASE_URL = "sqlite:///./decisionbot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
SINGLE = "single"  # one workspace, one bot token (SLACK_BOT_TOKEN)
DISTRIBUTED = "distributed"  # "Add to Slack": many workspaces, a token each, from the database

WHERE_TOKENS = "find it at https://api.slack.com/apps -> your app -> "


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SECRETS = frozenset(
    {"slack_bot_token", "slack_signing_secret", "slack_app_token", "slack_client_secret"}
)
# user:password@ in a URL, and password=... in its query string
_URL_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*(@)|((?:^|[?&])password=)[^&]*", re.I)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for logs and reprs."""
    return _URL_PASSWORD.sub(
        lambda m: f"{m.group(1)}***{m.group(2)}" if m.group(1) else f"{m.group(3)}***", url
    )


def _redacted(secret: str) -> str:
    # The prefix says which kind of token is set (xoxb-, xapp-) without revealing it.
    prefix = secret.split("-", 1)[0] + "-" if secret.startswith(("xoxb-", "xapp-")) else ""
    return f"{prefix}***"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is meant for the operator, verbatim."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    # gunicorn worker processes for `decisionbot serve` (WEB_CONCURRENCY, as Heroku sets it)
    web_concurrency: int = 2
    scheduler_interval_seconds: int = 30
    # The outbox dispatcher: "embedded" in serve/socket, or "off" when a worker runs.
    dispatcher: str = "embedded"
    dispatch_concurrency: int = 16
    lease_seconds: int = 300
    shutdown_grace_seconds: int = 8
    # Postgres: how long to wait for a connection, and the longest a statement may run.
    db_connect_timeout: int = 5
    db_statement_timeout: int = 10
    # Postgres connections each process keeps for requests (the dispatcher has its own).
    db_pool_size: int = 10
    log_format: str = "text"
    log_level: str = "INFO"
    # Distributed mode ("Add to Slack"): the app's client credentials, the keys tokens are
    # encrypted with (newest first), how long a workspace that left keeps its data.
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    encryption_keys: tuple[str, ...] = ()
    retention_days: int = 30
    slack_authorize_url: str = DEFAULT_AUTHORIZE_URL
    slack_redirect_uri: str | None = None

    @property
    def mode(self) -> str:
        """``distributed`` when client credentials are set, else ``single``."""
        return DISTRIBUTED if self.slack_client_id else SINGLE

    @property
    def distributed(self) -> bool:
        return self.mode == DISTRIBUTED

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: never show a token, the signing secret or
        # a database password.
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRETS and value:
                value = _redacted(value)
            elif item.name == "encryption_keys":
                value = tuple("***" for _ in value)
            elif item.name == "database_url":
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value and value.strip() else None

        database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+", "postgres:")):
            raise ConfigError(
                "DATABASE_URL must be a SQLAlchemy URL starting with sqlite:/// or "
                f"postgresql:// (got {database_url.split(':', 1)[0]!r}); unset it to use "
                f"the embedded default {DEFAULT_DATABASE_URL}"
            )
        api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(
                "SLACK_API_URL must be an http(s) URL such as https://slack.com/api/; "
                "unset it to talk to Slack"
            )
        if not api_url.endswith("/"):
            api_url += "/"
        port = _int(get("PORT"), "PORT", 3000, lo=1, hi=65535)
        web_concurrency = _int(get("WEB_CONCURRENCY"), "WEB_CONCURRENCY", 2, lo=1, hi=256)
        interval = _int(
            get("DECISIONBOT_TICK_SECONDS"), "DECISIONBOT_TICK_SECONDS", 30, lo=1, hi=3600
        )
        dispatcher = (get("DECISIONBOT_DISPATCHER") or "embedded").lower()
        if dispatcher not in ("embedded", "off"):
            raise ConfigError(
                "DECISIONBOT_DISPATCHER must be embedded (serve/socket deliver Slack work "
                "themselves) or off (a separate `decisionbot worker` does), "
                f"got {dispatcher!r}"
            )
        log_format = (get("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(
                "LOG_FORMAT must be text (human-readable lines) or json (one JSON object per "
                f"line, for a log platform), got {log_format!r}"
            )
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(
                f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level.lower()!r}"
            )
        bot_token = get("SLACK_BOT_TOKEN")
        client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
        if bot_token and (client_id or client_secret):
            # Bolt reads these variables by itself and would quietly pick one of the modes.
            raise ConfigError(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET are both set: unset "
                "SLACK_BOT_TOKEN to serve many workspaces (Add to Slack), or the client "
                "credentials to serve one"
            )
        if bool(client_id) != bool(client_secret):
            missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
            raise ConfigError(
                f"{missing} is not set: "
                + WHERE_TOKENS
                + "Basic Information -> App Credentials (both the client id and secret are "
                "needed for Add to Slack)"
            )
        keys: tuple[str, ...] = ()
        raw_keys = get("DECISIONBOT_ENCRYPTION_KEY")
        if raw_keys:
            from storage.secrets import BadKey, parse_keys

            try:
                keys = tuple(parse_keys(raw_keys))
            except BadKey as exc:
                raise ConfigError(f"DECISIONBOT_ENCRYPTION_KEY: {exc}") from None
        if client_id and not keys:
            raise ConfigError(
                "DECISIONBOT_ENCRYPTION_KEY is not set: Add to Slack stores each workspace's "
                "token encrypted; make a key with `decisionbot new-key` and keep it secret"
            )
        authorize_url = get("SLACK_AUTHORIZE_URL") or DEFAULT_AUTHORIZE_URL
        redirect_uri = get("SLACK_REDIRECT_URI")
        for name, url in (
            ("SLACK_AUTHORIZE_URL", authorize_url),
            ("SLACK_REDIRECT_URI", redirect_uri),
        ):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ConfigError(f"{name} must be an http(s) URL, got {url!r}")
        return cls(
            slack_client_id=client_id,
            slack_client_secret=client_secret,
            encryption_keys=keys,
            retention_days=_int(
                get("DECISIONBOT_RETENTION_DAYS"), "DECISIONBOT_RETENTION_DAYS", 30, lo=0, hi=3650
            ),
            slack_authorize_url=authorize_url,
            slack_redirect_uri=redirect_uri,
            db_connect_timeout=_int(
                get("DECISIONBOT_DB_CONNECT_TIMEOUT"),
                "DECISIONBOT_DB_CONNECT_TIMEOUT",
                5,
                lo=2,
                hi=300,
            ),
            db_statement_timeout=_int(
                get("DECISIONBOT_DB_STATEMENT_TIMEOUT"),
                "DECISIONBOT_DB_STATEMENT_TIMEOUT",
                10,
                lo=1,
                hi=3600,
            ),
            db_pool_size=_int(
                get("DECISIONBOT_DB_POOL_SIZE"), "DECISIONBOT_DB_POOL_SIZE", 10, lo=1, hi=100
            ),
            log_format=log_format,
            log_level=log_level,
            dispatcher=dispatcher,
            dispatch_concurrency=_int(
                get("DECISIONBOT_CONCURRENCY"), "DECISIONBOT_CONCURRENCY", 16, lo=1, hi=64
            ),
            lease_seconds=_int(
                get("DECISIONBOT_LEASE_SECONDS"), "DECISIONBOT_LEASE_SECONDS", 300, lo=1, hi=86400
            ),
            shutdown_grace_seconds=_int(
                get("DECISIONBOT_SHUTDOWN_GRACE"), "DECISIONBOT_SHUTDOWN_GRACE", 8, lo=0, hi=300
            ),
            database_url=_normalise_db_url(database_url),
            slack_bot_token=bot_token,
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=api_url,
            port=port,
            web_concurrency=web_concurrency,
            scheduler_interval_seconds=interval,
        )

    def require_http(self) -> None:
        """Check what `decisionbot serve` needs."""
        self.require_slack()
        if not self.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: "
                + WHERE_TOKENS
                + "Basic Information -> App Credentials -> Signing Secret"
            )

    def require_socket(self) -> str:
        """Check what `decisionbot socket` needs; returns the app-level token."""
        if self.distributed:
            raise ConfigError(
                "SLACK_CLIENT_ID is set: Add to Slack (many workspaces) runs over HTTP with "
                "`decisionbot serve`; Socket Mode serves one workspace with SLACK_BOT_TOKEN"
            )
        self.require_bot_token()
        if not self.slack_app_token:
            raise ConfigError(
                "SLACK_APP_TOKEN is not set: "
                + WHERE_TOKENS
                + "Basic Information -> App-Level Tokens (scope connections:write); "
                "it starts with xapp-"
            )
        if not self.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must start with xapp- (an app-level token)")
        return self.slack_app_token

    def require_slack(self) -> None:
        """A way to call Slack: a bot token (one workspace) or client credentials (many)."""
        if not self.distributed:
            self.require_bot_token()

    def require_bot_token(self) -> None:
        if not self.slack_bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set: "
                + WHERE_TOKENS
                + "OAuth & Permissions -> Bot User OAuth Token (install the app first); "
                "it starts with xoxb- (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to let "
                "any workspace install it)"
            )
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must start with xoxb- (the Bot User OAuth Token)")


def _int(raw: str | None, name: str, default: int, *, lo: int, hi: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _normalise_db_url(url: str) -> str:
    # Heroku-style postgres:// URLs; we always drive Postgres through psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
