"""Self-service sales: the owner's M-Pesa account, each router's portal, STK payments, the voucher pool, SMS.

Money is ``Numeric(10, 2)`` / ``Decimal``. Provider ids are unique (``CheckoutRequestID``, the M-Pesa receipt,
the SMS message id), so a repeated confirmation can never create a second row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import Model
from webapp.models.core import Router
from webapp.models.hotspot import Package, Sale, Voucher
from webapp.timeutil import utcnow

PAYMENT_STATES = ("pending", "paid", "failed", "cancelled", "expired")


class MpesaAccount(Model):
    """One owner's Daraja credentials (encrypted like router passwords) and callback token."""

    __tablename__ = "mpesa_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    encrypted_consumer_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    encrypted_consumer_secret: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    encrypted_passkey: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    shortcode: Mapped[str] = mapped_column(String(16), default="")
    # PartyB of CustomerBuyGoodsOnline (the till); the paybill is its own PartyB.
    till_number: Mapped[str] = mapped_column(String(16), default="")
    transaction_type: Mapped[str] = mapped_column(String(32), default="CustomerPayBillOnline")
    # Unguessable: the callback URL carries it, so only Safaricom (told the URL by us) can reach the endpoint.
    callback_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Optional comma-separated addresses/networks Daraja calls back from; empty means any.
    callback_allow_ips: Mapped[str] = mapped_column(Text, default="")
    sms_receipts: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def configured(self) -> bool:
        return bool(self.encrypted_consumer_key and self.encrypted_consumer_secret and self.encrypted_passkey
                    and self.shortcode)


class PortalSite(Model):
    """A router's public captive portal: its slug, look and the size of its voucher pool."""

    __tablename__ = "portal_sites"

    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    title: Mapped[str] = mapped_column(String(100), default="")
    primary_color: Mapped[str] = mapped_column(String(7), default="#1e7b34")
    accent_color: Mapped[str] = mapped_column(String(7), default="#f4b400")
    logo_url: Mapped[str] = mapped_column(String(500), default="")
    support_phone: Mapped[str] = mapped_column(String(20), default="")
    pool_size: Mapped[int] = mapped_column(default=3)
    # Hours without a sale (while online) after which a router that usually sells raises an alert; 0 = off.
    silence_hours: Mapped[int] = mapped_column(default=6)
    silence_alerted_at: Mapped[datetime | None] = mapped_column(default=None)
    # The login page RouterDeck installed (for undo): what the router had before, and when.
    installed_at: Mapped[datetime | None] = mapped_column(default=None)
    previous_html_directory: Mapped[str | None] = mapped_column(String(120), default=None)
    # The router's own login.html before RouterDeck replaced it (None: it had none), for undo.
    previous_login_html: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    router: Mapped[Router] = relationship()


class Payment(Model):
    """One STK Push request and what became of it; at most one voucher and one sale."""

    __tablename__ = "payments"
    __table_args__ = (
        Index("ix_payments_user_created", "user_id", "created_at"),
        Index("ix_payments_status_created", "status", "created_at"),
        Index("ix_payments_phone_created", "phone", "created_at"),
        Index("ix_payments_mac_created", "mac", "created_at"),
        Index("ix_payments_ip_created", "ip", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the customer's status URL carries: ids are guessable, this is not.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id", ondelete="SET NULL"))
    package_name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    phone: Mapped[str] = mapped_column(String(12))
    mac: Mapped[str] = mapped_column(String(17), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    client_ip: Mapped[str] = mapped_column(String(45), default="")
    # Where the customer's browser logs in ($(link-login-only)) and then goes ($(link-orig)).
    login_url: Mapped[str] = mapped_column(String(500), default="")
    orig_url: Mapped[str] = mapped_column(String(500), default="")
    transaction_type: Mapped[str] = mapped_column(String(32), default="CustomerPayBillOnline")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    result_code: Mapped[int | None] = mapped_column(default=None)
    result_desc: Mapped[str | None] = mapped_column(String(255), default=None)
    merchant_request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    checkout_request_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    mpesa_receipt: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), default=None)
    # Why a settled payment needs a person: "amount_mismatch" (money came in, nothing was sold).
    flag: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    settled_by: Mapped[str | None] = mapped_column(String(16), default=None)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id", ondelete="SET NULL"), unique=True)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id", ondelete="SET NULL"), unique=True)
    router_login: Mapped[str | None] = mapped_column(String(255), default=None)
    query_count: Mapped[int] = mapped_column(default=0)
    last_query_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)

    router: Mapped[Router] = relationship()
    package: Mapped[Package | None] = relationship()
    voucher: Mapped[Voucher | None] = relationship()
    sale: Mapped[Sale | None] = relationship()


class PaymentEvent(Model):
    """Everything a provider told us about payments, kept raw for audit (refused calls too)."""

    __tablename__ = "payment_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    # callback | query | refused
    kind: Mapped[str] = mapped_column(String(16))
    checkout_request_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    source_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    body: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PoolVoucher(Model):
    """A voucher kept unsold on a selling router, so a payment can hand one out without reaching the router."""

    __tablename__ = "portal_pool"
    __table_args__ = (Index("ix_portal_pool_pick", "router_id", "package_id", "state"),)

    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id", ondelete="CASCADE"), primary_key=True)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"))
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id", ondelete="CASCADE"))
    # available → assigned (to exactly one payment)
    state: Mapped[str] = mapped_column(String(16), default="available")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    voucher: Mapped[Voucher] = relationship()


class SmsMessage(Model):
    """One SMS receipt: what the provider said when sending, and its delivery report."""

    __tablename__ = "sms_messages"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"), unique=True)
    phone: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(String(480))
    # queued → sent → delivered | failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    provider_status: Mapped[str | None] = mapped_column(String(32), default=None)
    message_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    cost: Mapped[str | None] = mapped_column(String(32), default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
