"""The hotspot business: packages (router user profiles), voucher batches, vouchers and sales.

Money is ``Numeric(10, 2)`` and ``Decimal`` in Python, never float. Times are naive UTC like every table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.core import Router
from webapp.timeutil import utcnow


class HotspotSettings(Model):
    """Per-owner hotspot preferences: the currency prices are shown in, the zone sales days are counted in."""

    __tablename__ = "hotspot_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    timezone: Mapped[str] = mapped_column(String(64), default="Africa/Nairobi")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HotspotSite(Model):
    """Per-router hotspot facts: the name printed on vouchers, the login DNS name, what expiry does."""

    __tablename__ = "hotspot_sites"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(100), default=None)
    dns_name: Mapped[str | None] = mapped_column(String(255), default=None)
    # "remove" deletes the router user of an expired voucher, "disable" keeps it disabled for inspection.
    expiry_action: Mapped[str] = mapped_column(String(8), default="remove")
    last_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sync_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # The free trial (RouterOS hotspot trial login): once per device per trial_reset_hours, for trial_minutes,
    # at the speed of trial_package (the router's default user profile when None).
    trial_enabled: Mapped[bool] = mapped_column(default=False)
    trial_minutes: Mapped[int] = mapped_column(default=30)
    trial_reset_hours: Mapped[int] = mapped_column(default=24)
    trial_package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id", ondelete="SET NULL"),
                                                         default=None)
    # "synced" once the router's hotspot server profiles carry the trial settings; "pending" until a sync can.
    trial_sync_state: Mapped[str] = mapped_column(String(16), default="synced")
    # What the last sync read from the router, to notice a reset or replaced device.
    router_serial: Mapped[str | None] = mapped_column(String(64), default=None)
    router_identity: Mapped[str | None] = mapped_column(String(255), default=None)
    replaced_at: Mapped[datetime | None] = mapped_column(default=None)
    replaced_note: Mapped[str | None] = mapped_column(String(500), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Package(Model):
    """A WiFi package sold on one router; on the router it is a hotspot user profile."""

    __tablename__ = "packages"
    __table_args__ = (
        UniqueConstraint("router_id", "name", name="uq_packages_router_name"),
        UniqueConstraint("router_id", "profile_name", name="uq_packages_router_profile"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    package_type: Mapped[str] = mapped_column(String(16))
    # Minutes are the one stored duration; the contract's whole-hours view is the property below.
    duration_minutes: Mapped[int]
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    download_speed_mbps: Mapped[int]
    upload_speed_mbps: Mapped[int]
    shared_users: Mapped[int] = mapped_column(default=1)
    # Megabytes up and down together (the profile's limit-bytes-total); None is unlimited.
    data_limit_mb: Mapped[int | None] = mapped_column(default=None)
    # A voucher must be first used within this many days of being issued; None is no limit.
    validity_days: Mapped[int | None] = mapped_column(default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    profile_name: Mapped[str] = mapped_column(String(64))
    # "synced" once the router holds what we hold; "pending" while a change waits for an offline router.
    sync_state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    sync_error: Mapped[str | None] = mapped_column(String(500), default=None)
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    router: Mapped[Router] = relationship()

    @property
    def duration_hours(self) -> int:
        """The contract's ``duration_hours``: whole hours, 0 for a package shorter than an hour."""
        return self.duration_minutes // 60

    @duration_hours.setter
    def duration_hours(self, hours: int) -> None:
        self.duration_minutes = hours * 60


class IssuedTerms:
    """The terms a voucher was issued with (price, currency, duration, speeds, data cap), frozen at issue time.

    A batch and each of its vouchers carry them; a package edit never reaches them, so a sale, a reprint and
    the batch page all say what the customer's slip says.
    """

    package_name: Mapped[str] = mapped_column(String(100), default="")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    duration_minutes: Mapped[int]
    download_speed_mbps: Mapped[int]
    upload_speed_mbps: Mapped[int]
    data_limit_mb: Mapped[int | None] = mapped_column(default=None)


class VoucherBatch(IssuedTerms, Model):
    """One generation run of vouchers for a package; its id rides in each router user's comment."""

    __tablename__ = "voucher_batches"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    count: Mapped[int]
    code_length: Mapped[int]
    mode: Mapped[str] = mapped_column(String(8))
    prefix: Mapped[str] = mapped_column(String(8), default="")
    shared_users: Mapped[int] = mapped_column(default=1)
    validity_days: Mapped[int | None] = mapped_column(default=None)
    # "pushed" when every voucher is on the router, "pending" while some wait for an offline router.
    push_state: Mapped[str] = mapped_column(String(16), default="pending")
    push_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # The last sync that compared this batch's usable vouchers with the router's users, and how many of them it
    # found missing (and pushed again).
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    missing_at_check: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    router: Mapped[Router] = relationship()
    package: Mapped[Package] = relationship()


class Voucher(IssuedTerms, Model):
    """A code a customer types at the hotspot login; unused → active → expired, or revoked."""

    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("router_id", "code", name="uq_vouchers_router_code"),
        Index("ix_vouchers_router_state", "router_id", "state"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("voucher_batches.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    password: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="unused")
    on_router: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    mac_address: Mapped[str | None] = mapped_column(String(17), default=None)
    # The latest moment of first use (issue time + the package's validity window); None is no limit.
    use_before: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    batch: Mapped[VoucherBatch] = relationship()
    package: Mapped[Package] = relationship()


class Sale(Model):
    """One voucher sold (recorded when it is first used); names are copied so history outlives edits."""

    __tablename__ = "sales"
    __table_args__ = (
        Index("ix_sales_user_sold", "user_id", "sold_at"),
        Index("ix_sales_router_sold", "router_id", "sold_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id", ondelete="SET NULL"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_batches.id", ondelete="SET NULL"))
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id", ondelete="SET NULL"), unique=True)
    #: The team member who issued the voucher (the batch's creator), kept when the member is removed as None.
    sold_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True,
                                                   default=None)
    package_name: Mapped[str] = mapped_column(String(100))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    sold_at: Mapped[datetime] = mapped_column(default=utcnow)
