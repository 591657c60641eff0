"""Request and response bodies of the payments, portal and M-Pesa settings API; the OpenAPI source."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from webapp.blueprints.api.hotspot_schemas import MaybeWhole
from webapp.blueprints.api.schemas import StrictBody

_SEP = r"[ ()\-.]*"
#: 07xx…, 01xx…, +2547…, 2547… with spaces, dashes, dots or brackets between the digits.
PHONE = rf"^{_SEP}(?:\+?254|0){_SEP}[17](?:{_SEP}[0-9]){{8}}{_SEP}$"
MAC = r"^[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}$"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_NETWORK = rf"{IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?"
ALLOW_LIST = rf"^(?:[ ]*{_NETWORK}[ ]*(?:,[ ]*{_NETWORK}[ ]*)*)?$"

PaymentStatus = Literal["pending", "paid", "failed", "cancelled", "expired"]


class PurchaseRequest(BaseModel):
    """What a portal (RouterDeck's own page, or a login page on the router) sends to buy a package."""

    package_id: int = Field(ge=1, description="A package of this hotspot (see the portal's packages)")
    phone: str = Field(max_length=32, pattern=PHONE,
                       description="07xx, 01xx, +2547…, 2547…: normalised to 2547XXXXXXXX")
    mac: str | None = Field(default=None, pattern=MAC, description="The device's $(mac) from the hotspot")
    ip: str | None = Field(default=None, pattern=rf"^{IPV4}$", description="The device's $(ip) from the hotspot")
    link_login_only: str | None = Field(default=None, max_length=500, description="The hotspot's $(link-login-only)")
    link_orig: str | None = Field(default=None, max_length=500, description="The hotspot's $(link-orig)")


class VoucherIssued(BaseModel):
    code: str
    password: str
    expires: str | None


class PurchaseStatus(BaseModel):
    id: str
    status: PaymentStatus
    status_url: str
    amount: str
    currency: str
    package: str
    message: str
    voucher: VoucherIssued | None = None
    login_url: str | None = None


class PortalPackage(BaseModel):
    id: int
    name: str
    price: str
    currency: str
    duration_hours: int
    duration_minutes: int
    duration_display: str
    download_speed_mbps: int
    upload_speed_mbps: int
    data_limit_mb: int | None
    shared_users: int


class PortalInfo(BaseModel):
    title: str
    portal_url: str
    purchases_url: str
    support_phone: str
    selling: bool
    packages: list[PortalPackage]


class PaymentOut(BaseModel):
    id: int
    router_id: int
    package_id: int | None
    package_name: str
    amount: str
    currency: str
    phone: str
    mac: str
    ip: str
    status: PaymentStatus
    result_code: int | None
    result_desc: str | None
    checkout_request_id: str | None
    merchant_request_id: str | None
    mpesa_receipt: str | None
    paid_amount: str | None
    flag: str | None
    settled_by: str | None
    voucher_id: int | None
    voucher_code: str | None
    sale_id: int | None
    router_login: str | None
    sms_status: str | None
    created_at: str | None
    settled_at: str | None


class PaymentEventOut(BaseModel):
    id: int
    kind: str
    source_ip: str | None
    note: str
    body: dict | list | None
    created_at: str | None


class PaymentDetail(PaymentOut):
    events: list[PaymentEventOut]
    sms: dict | None


class PaymentPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[PaymentOut]


class MpesaSettings(BaseModel):
    shortcode: str
    till_number: str
    transaction_type: Literal["CustomerPayBillOnline", "CustomerBuyGoodsOnline"]
    has_consumer_key: bool
    has_consumer_secret: bool
    has_passkey: bool
    configured: bool
    callback_allow_ips: str
    sms_receipts: bool
    callback_url: str


class MpesaSettingsRequest(StrictBody):
    consumer_key: str | None = Field(default=None, max_length=200, description="Write-only; blank keeps the stored one")
    consumer_secret: str | None = Field(default=None, max_length=200, description="Write-only; blank keeps it")
    passkey: str | None = Field(default=None, max_length=200, description="Write-only; blank keeps it")
    shortcode: str | None = Field(default=None, pattern=r"^[0-9]{5,7}$", description="Paybill/store number")
    till_number: str | None = Field(default=None, pattern=r"^(?:[0-9]{5,7})?$",
                                    description="The till customers pay (buy goods)")
    transaction_type: Literal["CustomerPayBillOnline", "CustomerBuyGoodsOnline"] | None = None
    callback_allow_ips: str | None = Field(default=None, max_length=2000, pattern=ALLOW_LIST,
                                           description="Comma-separated IPv4 addresses/networks callbacks may "
                                           "come from; blank allows any")
    sms_receipts: bool | None = None


class PortalSettings(BaseModel):
    router_id: int
    slug: str
    portal_url: str
    enabled: bool
    title: str
    primary_color: str
    accent_color: str
    logo_url: str
    support_phone: str
    pool_size: int
    silence_hours: int
    pool: dict[str, int]


class PortalSettingsRequest(StrictBody):
    enabled: bool | None = None
    title: str | None = Field(default=None, max_length=100)
    primary_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    accent_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    logo_url: str | None = Field(default=None, max_length=500, pattern=r"^(?:https://[^\s]+)?$")
    support_phone: str | None = Field(default=None, pattern=r"^[0-9+ ]{0,20}$")
    pool_size: MaybeWhole = Field(default=None, ge=0, le=20)
    silence_hours: MaybeWhole = Field(default=None, ge=0, le=168)


class CallbackAck(BaseModel):
    ResultCode: int
    ResultDesc: str


class LoginPage(BaseModel):
    router_id: int
    installed: bool
    html_directory: str
    login_url: str
    walled_garden_host: str
    commands: list[str]
    html: str
