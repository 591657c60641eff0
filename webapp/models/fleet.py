"""Fleet operations: router groups (sites) with their defaults, tags, and configuration history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.timeutil import utcnow


class RouterGroup(Model):
    """A group of routers (a site): its members share defaults for polling and configuration backups."""

    __tablename__ = "router_groups"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_router_groups_user_name"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Seconds between polls of the group's routers; None follows POLL_INTERVAL.
    poll_interval_seconds: Mapped[int | None] = mapped_column(default=None)
    # A daily /export of every router of the group at this UTC hour; None turns the daily backup off.
    # (No column default: SQLAlchemy would put it in place of an explicit None.)
    backup_hour_utc: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RouterGroupMember(Model):
    """Which group a router belongs to (at most one); a row per grouped router."""

    __tablename__ = "router_group_members"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("router_groups.id", ondelete="CASCADE"), index=True)


class RouterTag(Model):
    """A free-form label on a router (``rooftop``, ``solar``, ``nairobi-east``)."""

    __tablename__ = "router_tags"
    __table_args__ = (Index("ix_router_tags_tag", "tag"),)

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


class ConfigVersion(Model):
    """One distinct ``/export`` of a router; a new export equal to the last (header lines aside) is not stored
    again, only ``last_seen_at`` moves."""

    __tablename__ = "config_versions"
    __table_args__ = (Index("ix_config_versions_router_id", "router_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    trigger: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    size: Mapped[int]
    routeros_version: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelSecret(Model):
    """A notification channel's secret (a Telegram bot token), encrypted like router passwords, write-only."""

    __tablename__ = "channel_secrets"

    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"),
                                            primary_key=True)
    encrypted: Mapped[bytes] = mapped_column(LargeBinary)


class SafeChange(Model):
    """A change applied with an automatic rollback armed on the router (a /system/scheduler entry that undoes
    it after ``rollback_minutes`` unless RouterDeck reaches the router again and disarms it)."""

    __tablename__ = "safe_changes"
    __table_args__ = (Index("ix_safe_changes_router", "router_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    command_id: Mapped[int | None] = mapped_column(ForeignKey("command_runs.id", ondelete="SET NULL"), default=None)
    command: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    undo: Mapped[str] = mapped_column(Text)
    scheduler_name: Mapped[str] = mapped_column(String(64))
    rollback_minutes: Mapped[int]
    # armed → confirmed (reached again, rollback removed) | pending (not reached: the router will undo it)
    # → rolled_back (the router ran the undo) | failed (the change itself was refused; rollback removed)
    state: Mapped[str] = mapped_column(String(16), default="armed")
    message: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rollback_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CredentialProfile(Model):
    """Shared router credentials (OpenWISP's "connection credentials"): the password only encrypted, never shown.

    Routers that use a profile get its username and encrypted password written into their own row, so every
    connection keeps reading the router row; changing the profile rewrites them.
    """

    __tablename__ = "credential_profiles"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_credential_profiles_user_name"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str] = mapped_column(String(50))
    encrypted_password: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RouterCredential(Model):
    """A router that uses a credential profile."""

    __tablename__ = "router_credentials"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("credential_profiles.id", ondelete="CASCADE"), index=True)


class GroupCredential(Model):
    """A group's default credential profile (routers joining the group without one take it)."""

    __tablename__ = "group_credentials"

    group_id: Mapped[int] = mapped_column(ForeignKey("router_groups.id", ondelete="CASCADE"), primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("credential_profiles.id", ondelete="CASCADE"), index=True)


class UpgradeInfo(Model):
    """What a router's /system/package/update said the last time RouterDeck asked."""

    __tablename__ = "upgrade_infos"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    installed_version: Mapped[str | None] = mapped_column(String(32), default=None)
    latest_version: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(200), default="")
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
