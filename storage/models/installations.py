"""Installations of the app (distributed mode, "Add to Slack") and the one-time OAuth states
of installs in progress."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, _ts


class InstallState(StrEnum):
    ACTIVE = "active"
    UNINSTALLED = "uninstalled"  # tokens deleted; data kept until ``purge_after``


class Installation(SQLModel, table=True):
    """One workspace's installation: its bot and the bot's token, encrypted (Fernet, keys from
    ``DECISIONBOT_ENCRYPTION_KEY``). A workspace installs again over the same row.

    ``version`` goes up with every change, so a process's cached copy can tell it is stale.
    """

    __tablename__ = "installations"
    __table_args__ = (Index("ix_installations_purge", "state", "purge_after"),)

    # A workspace's id; for an org-wide install (Enterprise Grid), the org's enterprise id.
    team_id: str = Field(primary_key=True, max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    is_enterprise_install: bool = False
    team_name: str | None = Field(default=None, max_length=255)
    app_id: str = Field(default="", max_length=32)
    bot_id: str = Field(default="", max_length=32)
    bot_user_id: str = Field(default="", max_length=32)
    # Fernet tokens (base64 text); None once uninstalled or revoked.
    bot_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    bot_refresh_token: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    bot_token_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bot_scopes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    installer_user_id: str = Field(default="", max_length=32)
    state: str = Field(default=InstallState.ACTIVE, max_length=16)
    installed_at: datetime = _ts()
    uninstalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When an uninstalled workspace's data is purged (DECISIONBOT_RETENTION_DAYS after).
    purge_after: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    updated_at: datetime = _ts()


class OAuthState(SQLModel, table=True):
    """An OAuth ``state`` handed out with an "Add to Slack" link: used once, within its
    expiry (10 minutes). Belongs to no workspace yet."""

    __tablename__ = "oauth_states"

    state: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = _ts()


class OrgWorkspace(SQLModel, table=True):
    """A workspace of an Enterprise Grid org that an org-wide install serves (from
    ``team_access_granted``, or its first request): its outbox work takes the org's token.
    ``revoked`` once ``team_access_revoked`` took the app away from that workspace alone."""

    __tablename__ = "org_workspaces"
    __table_args__ = (Index("ix_org_workspaces_enterprise", "enterprise_id"),)

    team_id: str = Field(primary_key=True, max_length=32)
    enterprise_id: str = Field(max_length=32)
    state: str = Field(default=InstallState.ACTIVE, max_length=16)
    granted_at: datetime = _ts()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
