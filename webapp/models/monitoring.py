"""Fleet monitoring: poll state, metric history (raw and compacted), interfaces, alerts, events, notices.

Metric tables key on integer Unix seconds (``ts``) rather than datetimes so time buckets are plain integer
arithmetic (``ts / 300 * 300``) that SQLite and PostgreSQL compute the same way, inside the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.core import Router
from webapp.timeutil import utcnow


class PollState(Model):
    """What the poller knows about one router between cycles (one row per polled router)."""

    __tablename__ = "poll_states"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    # Per-router poll interval in seconds; None follows POLL_INTERVAL.
    interval_seconds: Mapped[int | None] = mapped_column(default=None)
    next_poll_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    down_since: Mapped[datetime | None] = mapped_column(default=None)
    failures: Mapped[int] = mapped_column(default=0)
    last_uptime_seconds: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_version: Mapped[str | None] = mapped_column(String(64), default=None)
    last_poll_ms: Mapped[float | None] = mapped_column(default=None)
    cpu_load: Mapped[float | None] = mapped_column(default=None)
    memory_used_pct: Mapped[float | None] = mapped_column(default=None)
    # Highest audit event id already turned into "config changed" events.
    audit_seen_id: Mapped[int] = mapped_column(default=0)
    # Which worker holds this router's poll, until when (scale mode: no router is polled by two workers).
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)

    router: Mapped[Router] = relationship()


class MetricPoint(Model):
    """One raw measurement (kept 48 hours); ``subject`` names the interface for per-interface metrics."""

    __tablename__ = "metric_points"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float]

    __table_args__ = (Index("ix_metric_points_ts", "ts"),)


class MetricRollup(Model):
    """A compacted bucket: ``resolution`` 300 (kept 30 days) or 3600 (kept a year) seconds."""

    __tablename__ = "metric_rollups"

    resolution: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    avg: Mapped[float]
    min: Mapped[float]
    max: Mapped[float]
    samples: Mapped[int]

    __table_args__ = (Index("ix_metric_rollups_resolution_ts", "resolution", "ts"),)


class CompactionMark(Model):
    """How far raw points (resolution 300) and 5-minute buckets (resolution 3600) have been rolled up."""

    __tablename__ = "metric_compactions"

    resolution: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    done_until: Mapped[int] = mapped_column(BigInteger)


class MonitoredInterface(Model):
    """One interface of a router as the last poll saw it (LibreNMS "ports")."""

    __tablename__ = "monitored_interfaces"
    __table_args__ = (
        Index("ix_monitored_interfaces_router_name", "router_id", "name", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    ros_id: Mapped[str | None] = mapped_column(String(16), default=None)
    type: Mapped[str | None] = mapped_column(String(32), default=None)
    mac_address: Mapped[str | None] = mapped_column(String(32), default=None)
    comment: Mapped[str | None] = mapped_column(String(255), default=None)
    running: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    # Raw 64-bit counters as decimal text: they can exceed a signed BIGINT.
    rx_counter: Mapped[str | None] = mapped_column(String(24), default=None)
    tx_counter: Mapped[str | None] = mapped_column(String(24), default=None)
    counters_ts: Mapped[int | None] = mapped_column(BigInteger, default=None)
    rx_bps: Mapped[float | None] = mapped_column(default=None)
    tx_bps: Mapped[float | None] = mapped_column(default=None)
    down_since: Mapped[datetime | None] = mapped_column(default=None)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRule(Model):
    """A user's threshold for one kind of alert: ``router_id`` None applies to all their routers."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        Index("ix_alert_rules_user_router", "user_id", "router_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    router_id: Mapped[int | None] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float | None] = mapped_column(default=None)
    duration_minutes: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Model):
    """One alert: active → acknowledged → resolved."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_user_state", "user_id", "state"),
        Index("ix_alerts_router_kind", "router_id", "kind", "subject"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="active")
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    router: Mapped[Router] = relationship()


class MonitorEvent(Model):
    """A line of a router's event log: went down, came back, rebooted, version or config changed."""

    __tablename__ = "monitor_events"
    __table_args__ = (
        Index("ix_monitor_events_router_created", "router_id", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    router: Mapped[Router] = relationship()


class NotificationChannel(Model):
    """Where a user's alerts are sent: an email address (over the configured SMTP server) or a webhook URL."""

    __tablename__ = "notification_channels"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(500))
    cooldown_minutes: Mapped[int] = mapped_column(default=30)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Model):
    """One delivery attempt; the cooldown looks at the last success per channel, router and alert kind."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_channel_sent", "channel_id", "router_id", "kind", "sent_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), default=None)
    router_id: Mapped[int | None] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), default="")
    event: Mapped[str] = mapped_column(String(16))
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
