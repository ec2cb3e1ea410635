"""People and channels: who is an admin or a guest, who muted DMs, what a channel is."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.models.base import _ts


class SlackUser(SQLModel, table=True):
    """What Slack says about a person, cached: `users.list` once, then `user_change` /
    `team_join` events, and a `users.info` lookup (after the ack) for anyone unknown.
    A person not in this table counts as a guest and not an admin."""

    __tablename__ = "slack_users"

    team_id: str = Field(primary_key=True, max_length=32)  # the workspace that asked
    user_id: str = Field(primary_key=True, max_length=32)
    # The person's own organisation (`user.team_id`): another one means a Slack Connect
    # outsider, whose is_admin means nothing here.
    home_team_id: str | None = Field(default=None, max_length=32)
    is_admin: bool = False
    is_owner: bool = False
    is_restricted: bool = False  # multi-channel guest
    is_ultra_restricted: bool = False  # single-channel guest
    is_bot: bool = False
    deleted: bool = False
    tz: str | None = Field(default=None, max_length=64)
    # how the person is shown in exported files and charts (display name, else real name)
    name: str | None = Field(default=None, max_length=200)
    updated_at: datetime = _ts()


class SettingsManager(SQLModel, table=True):
    """People a workspace admin named as allowed to change `/adr settings`."""

    __tablename__ = "settings_managers"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    named_by: str = Field(max_length=32)
    created_at: datetime = _ts()


class UserPreference(SQLModel, table=True):
    """Per-person choices: `/adr dm off` stops reminders and informed DMs to them."""

    __tablename__ = "user_preferences"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    dms_off: bool = False
    updated_at: datetime = _ts()


class Channel(SQLModel, table=True):
    """What the bot last learned about a channel (events, or a check when it posts there)."""

    __tablename__ = "channels"

    team_id: str = Field(primary_key=True, max_length=32)
    channel_id: str = Field(primary_key=True, max_length=32)
    is_private: bool = True
    is_shared: bool = False  # shared with another organisation (Slack Connect)
    is_archived: bool = False
    updated_at: datetime = _ts()
