"""Accounts, routers, command history and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask_login import UserMixin
from sqlalchemy import JSON, Column, ForeignKey, Index, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.timeutil import utcnow

#: Roles a team member can hold; an account with no owner is an owner itself.
ROLES = ("owner", "operator", "cashier", "viewer")
STAFF_ROLES = ("operator", "cashier", "viewer")

router_assignments = Table(
    "router_assignments",
    Model.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("router_id", ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(UserMixin, Model):
    """An owner (owns routers and API keys) or a staff member of an owner's team, acting through a role."""

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
    #: The owner whose team this staff account belongs to; ``None`` for an owner.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                                 default=None)
    role: Mapped[str] = mapped_column(String(16), default="owner")
    #: A one-time invitation: the member sets their own password through a link carrying this token's digest.
    invitation_digest: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    invitation_expires_at: Mapped[datetime | None] = mapped_column(default=None)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="user", cascade="all, delete-orphan")
    assigned_routers: Mapped[list[Router]] = relationship(secondary=router_assignments, order_by="Router.id")

    #: The login session this request runs in (set by the session loaders, never stored on the row).
    login_session_id = cast("str | None", None)

    @property
    def is_active(self) -> bool:  # flask-login asks this
        return self.is_active_account

    @property
    def team_owner_id(self) -> int:
        """The id of the account that owns this user's routers: the one place staff map to their owner."""
        return self.owner_id if self.owner_id is not None else self.id

    @property
    def is_owner(self) -> bool:
        """True for an owner account (not a staff member)."""
        return self.owner_id is None

    def get_id(self) -> str:
        """What flask-login keeps in the session cookie: the server-side login session, never the user id."""
        return self.login_session_id or ""


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
    """One login, dashboard (``kind="web"``) or JSON (``"api"``): revoking the row ends it at once.

    JSON tokens carry its id as the ``sid`` claim; the dashboard's session and remember-me cookies carry it as
    flask-login's user id. The refresh token's ``jti`` in use is ``refresh_jti``: a refresh rotates it, and a
    refresh token that is no longer the current one revokes the whole session (its token family).
    """

    __tablename__ = "token_sessions"
    __table_args__ = (Index("ix_token_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(8), default="api")
    refresh_jti: Mapped[str | None] = mapped_column(String(36), default=None)
    ip_address: Mapped[str | None] = mapped_column(String(64), default=None)


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
    #: The team the event belongs to (the owner's id), so the owner's audit page sees staff actions too.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                                 default=None)
    actor_name: Mapped[str | None] = mapped_column(String(80), default=None)
    actor_role: Mapped[str | None] = mapped_column(String(16), default=None)
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class LoginFailure(Model):
    """Consecutive failed logins on one username (any address), driving the per-username backoff."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
