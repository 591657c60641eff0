"""Accounts, routers, command history and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.timeutil import utcnow


class User(UserMixin, Model):
    """An operator or hotspot owner; owns routers and API keys."""

    __tablename__ = "users"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Dashboard language ("en"/"sw") and IANA time zone; None follows the browser / the owner's zone.
    locale: Mapped[str | None] = mapped_column(String(8), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # flask-login asks this
        return self.is_active_account


class ApiKey(Model):
    """A named key pair: the public key is stored as is, the private key only as a SHA-256 digest."""

    __tablename__ = "api_keys"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(back_populates="api_keys")


class TokenSession(Model):
    """One JSON login: its access and refresh tokens carry this id, so logout revokes both at once."""

    __tablename__ = "token_sessions"
    __table_args__ = (Index("ix_token_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Router(Model):
    """A MikroTik router owned by one user; its password is stored only encrypted (MultiFernet)."""

    __tablename__ = "routers"
    __table_args__ = (
        Index("ix_routers_user_name", "user_id", "name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=80)
    username: Mapped[str] = mapped_column(String(50))
    encrypted_password: Mapped[bytes] = mapped_column(LargeBinary)
    use_https: Mapped[bool] = mapped_column(default=False)
    protocol: Mapped[str] = mapped_column(String(8), default="auto")
    # TLS trust for HTTPS/API-SSL: a pinned SHA-256 certificate fingerprint (self-signed routers are the
    # norm), else verification against system CAs when verify_tls, else encrypted but unverified.
    verify_tls: Mapped[bool] = mapped_column(default=False)
    tls_fingerprint: Mapped[str | None] = mapped_column(String(95), default=None)
    is_online: Mapped[bool] = mapped_column(default=False)
    last_checked: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(32), default=None)
    last_error_message: Mapped[str | None] = mapped_column(String(500), default=None)
    last_latency_ms: Mapped[float | None] = mapped_column(default=None)
    routeros_version: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_protocol: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CommandRun(Model):
    """One execution of a command on a router (OpenWISP-style command history)."""

    __tablename__ = "command_runs"
    __table_args__ = (
        Index("ix_command_runs_user_started", "user_id", "started_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), index=True)
    command: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    status_code: Mapped[int | None] = mapped_column(default=None)
    result: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    protocol: Mapped[str | None] = mapped_column(String(8), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    duration_ms: Mapped[float | None] = mapped_column(default=None)

    router: Mapped[Router] = relationship()
    user: Mapped[User] = relationship()

    #: The rows exactly as the router sent them, kept only in memory for the answer to the request that ran
    #: the command; the stored ``result`` (and ``params``/``data``) have secret-looking values masked.
    #: (Typed through a cast: a plain annotation would ask SQLAlchemy to map it.)
    live_result = cast("list[dict[str, str]] | None", None)

    @property
    def answer(self) -> Any:
        """What to show the person who just ran the command: the live rows, else the stored ones."""
        return self.live_result if self.live_result is not None else self.result


class AuditEvent(Model):
    """Who changed what, when and from where; details never hold secrets."""

    __tablename__ = "audit_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    router_id: Mapped[int | None] = mapped_column(ForeignKey("routers.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User | None] = relationship()
