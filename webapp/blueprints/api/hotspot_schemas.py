"""Request and response bodies of the hotspot API (packages, vouchers, sessions, sales); the OpenAPI source."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from webapp.blueprints.api.schemas import StrictBody

#: A price as the contract prints it ("2.50"); requests may also send a JSON number.
Price = str | int | float


class PackageWriteRequest(StrictBody):
    """Create (all required fields) or change (only the fields sent) a package."""

    name: str | None = Field(default=None, max_length=100)
    package_type: Literal["hourly", "monthly"] | None = None
    duration_hours: int | None = Field(default=None, description="hourly: 1-24; monthly: 720 (the default)")
    price: Price | None = Field(default=None, description="At least 0.01, at most two decimals, e.g. \"2.50\"")
    download_speed_mbps: int | None = None
    upload_speed_mbps: int | None = None
    shared_users: int | None = Field(default=None, description="Devices per voucher at once (default 1)")
    description: str | None = Field(default=None, max_length=1000)
    is_active: bool | None = None


class PackageOut(BaseModel):
    id: int
    name: str
    package_type: str
    package_type_display: str
    duration_hours: int
    duration_display: str
    price: str
    currency: str
    download_speed_mbps: int
    upload_speed_mbps: int
    download_speed_display: str
    upload_speed_display: str
    speed_display: str
    description: str
    is_active: bool
    router_id: int
    shared_users: int
    profile_name: str
    rate_limit: str
    sync_state: Literal["synced", "pending", "error"]
    sync_error: str | None
    synced_at: str | None
    created_at: str | None
    updated_at: str | None


class PackageListResponse(BaseModel):
    router_id: int
    router_name: str
    packages: list[PackageOut]
    message: str


class RouterCommandOut(BaseModel):
    action: Literal["add", "set", "remove"]
    path: str
    target: str | None
    values: dict[str, str]
    text: str = Field(description="The RouterOS console line the command amounts to")


class PackageChangeResponse(BaseModel):
    package: PackageOut | None
    commands: list[RouterCommandOut]
    dry_run: bool
    router_checked: bool = Field(description="False when a dry run could not read the router and guessed")
    synced: bool
    sync_error: str | None
    message: str


class DriftItemOut(BaseModel):
    kind: Literal["missing", "different", "extra"]
    profile: str
    package_id: int | None
    package_name: str | None
    ours: dict[str, str]
    router: dict[str, str]
    differences: dict[str, dict[str, str]]


class DriftResponse(BaseModel):
    router_id: int
    router_name: str
    in_sync: bool
    items: list[DriftItemOut]


class ReconcileRequest(StrictBody):
    direction: Literal["push", "pull"]
    profiles: list[str] | None = Field(default=None, description="Only these profiles (default: every drift item)")
    price: Price | None = Field(default=None, description="Price of packages imported from extra profiles (pull)")


class ReconcileResponse(BaseModel):
    direction: str
    commands: list[RouterCommandOut]
    packages: list[PackageOut]
    message: str


class BatchCreateRequest(StrictBody):
    package_id: int
    count: int = Field(description="1-1,000 vouchers")
    code_length: int = Field(default=8, description="4-16 characters after the prefix")
    mode: Literal["same", "pin"] = Field(default="same", description="same: code = username = password; "
                                                                      "pin: username + numeric PIN")
    prefix: str = Field(default="", max_length=6)
    pin_length: int = Field(default=6, description="4-8 digits (mode pin)")


class VoucherOut(BaseModel):
    id: int
    code: str
    password: str
    state: Literal["unused", "active", "expired", "revoked"]
    router_id: int
    batch_id: int
    package_id: int
    package_name: str
    on_router: bool
    activated_at: str | None
    expires_at: str | None
    ended_at: str | None
    mac_address: str | None
    created_at: str | None


class BatchOut(BaseModel):
    id: int
    router_id: int
    package_id: int
    package_name: str
    count: int
    code_length: int
    mode: str
    prefix: str
    push_state: Literal["pushed", "pending"]
    push_error: str | None
    created_at: str | None
    counts: dict[str, int]


class BatchCreated(BatchOut):
    pushed: int
    vouchers: list[VoucherOut]


class BatchPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[BatchOut]


class VoucherPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[VoucherOut]


class SyncResponse(BaseModel):
    router_id: int
    activated: list[str]
    expired: list[str]
    sales: int
    cleaned: int
    pushed_packages: int
    pushed_vouchers: int
    synced_at: str | None
    message: str


class SessionOut(BaseModel):
    id: str
    user: str
    address: str
    mac_address: str
    uptime_seconds: int
    bytes_in: int
    bytes_out: int
    voucher_id: int | None


class SessionsResponse(BaseModel):
    router_id: int
    router_name: str
    sessions: list[SessionOut]


class SiteSettings(BaseModel):
    router_id: int
    display_name: str | None
    dns_name: str | None
    expiry_action: Literal["remove", "disable"]
    last_sync_at: str | None
    last_sync_error: str | None


class SiteSettingsRequest(StrictBody):
    display_name: str | None = Field(default=None, max_length=100, description="Printed on vouchers")
    dns_name: str | None = Field(default=None, max_length=255, description="Host of the QR auto-login URL")
    expiry_action: Literal["remove", "disable"] | None = None


class OwnerSettings(BaseModel):
    currency: str
    timezone: str


class OwnerSettingsRequest(StrictBody):
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    timezone: str | None = Field(default=None, max_length=64)


class SaleOut(BaseModel):
    id: int
    router_id: int
    package_id: int | None
    package_name: str
    batch_id: int | None
    voucher_id: int | None
    price: str
    currency: str
    price_display: str
    sold_at: str | None


class SalePage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[SaleOut]


class BucketOut(BaseModel):
    key: str
    label: str
    count: int
    total: str
    total_display: str


class RouterTotalOut(BaseModel):
    router_id: int
    router_name: str
    count: int
    total: str
    total_display: str


class SalesSummary(BaseModel):
    period: Literal["daily", "monthly"]
    currency: str
    timezone: str
    start: str
    end: str
    count: int
    total: str
    total_display: str
    buckets: list[BucketOut]
    routers: list[RouterTotalOut]
    other_currencies: dict[str, str]
