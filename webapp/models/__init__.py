"""Database models (SQLAlchemy 2 typed mappings), one module per domain; schema changes go through Flask-Migrate.

Every module is imported here so ``db.metadata`` is complete for migrations and for ``from webapp.models import X``.
"""

from __future__ import annotations

from webapp.models.core import ApiKey, AuditEvent, CommandRun, LoginFailure, Router, TokenSession, User
from webapp.models.fleet import (
    ChannelSecret,
    ConfigVersion,
    CredentialProfile,
    GroupCredential,
    RouterCredential,
    RouterGroup,
    RouterGroupMember,
    RouterTag,
    SafeChange,
    UpgradeInfo,
)
from webapp.models.hotspot import HotspotSettings, HotspotSite, Package, Sale, Voucher, VoucherBatch
from webapp.models.jobs import Job
from webapp.models.monitoring import (
                                      Alert,
                                      AlertRule,
                                      CompactionMark,
                                      MetricPoint,
                                      MetricRollup,
                                      MonitoredInterface,
                                      MonitorEvent,
                                      Notification,
                                      NotificationChannel,
                                      PollState,
)
from webapp.models.payments import MpesaAccount, Payment, PaymentEvent, PoolVoucher, PortalSite, SmsMessage
from webapp.models.scale import MetricChunk, WorkerHeartbeat

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CommandRun",
    "HotspotSettings",
    "HotspotSite",
    "Job",
    "LoginFailure",
    "Package",
    "Router",
    "Sale",
    "TokenSession",
    "User",
    "Voucher",
    "VoucherBatch",
]
__all__ += ["Alert", "AlertRule", "CompactionMark", "MetricPoint", "MetricRollup", "MonitorEvent", "MonitoredInterface",
            "Notification", "NotificationChannel", "PollState"]
__all__ += ["MetricChunk", "WorkerHeartbeat"]
__all__ += ["CredentialProfile", "GroupCredential", "RouterCredential", "UpgradeInfo"]
__all__ += ["ChannelSecret", "ConfigVersion", "RouterGroup", "RouterGroupMember", "RouterTag", "SafeChange"]
__all__ += ["MpesaAccount", "Payment", "PaymentEvent", "PoolVoucher", "PortalSite", "SmsMessage"]
