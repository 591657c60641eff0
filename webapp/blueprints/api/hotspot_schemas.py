"""Request and response bodies of the hotspot API (packages, vouchers, sessions, sales); the OpenAPI source."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from webapp.blueprints.api.jobs_schemas import JobRef
from webapp.blueprints.api.schemas import _BLANK, VISIBLE, StrictBody, _integral, _no_default
from webapp.services.hotspot_trial import MAX_TRIAL_MINUTES, MAX_TRIAL_RESET_HOURS
from webapp.services.packages import (
    MAX_DATA_LIMIT_MB,
    MAX_DURATION_MINUTES,
    MAX_SHARED_USERS,
    MAX_SPEED_MBPS,
    MAX_VALIDITY_DAYS,
    MIN_DURATION_MINUTES,
)
from webapp.services.pagination import MAX_ID
from webapp.services.vouchers import MAX_BATCH

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: A host name (trailing dots and surrounding blanks are dropped), or blank for none.
DNS_NAME = rf"^{_BLANK}(?:{_LABEL}(?:\.{_LABEL})*)?\.*{_BLANK}$"
#: The IANA time zones this machine knows (``zoneinfo``), the names the service can count sales days in.
#: (A Literal built at run time, so the document lists them; the checker sees a string.)
if TYPE_CHECKING:
    TimeZoneName = str
else:
    TimeZoneName = Literal[tuple(sorted(available_timezones()))]

#: A whole number that may arrive as ``9.0`` (JSON has one number type; 9.0 is an integer to JSON Schema).
Whole = Annotated[int, BeforeValidator(_integral)]
MaybeWhole = Annotated[int | None, BeforeValidator(_integral)]

#: An amount greater than 0.01 (the contract) up to 99,999,999.99 with at most two decimals, blanks around it
#: ignored (the service strips).
PRICE_TEXT = rf"^{_BLANK}(?:0*[1-9][0-9]{{0,7}}(?:\.[0-9]{{0,2}})?|0*\.(?:0[2-9]|[1-9][0-9]?)){_BLANK}$"
# What the body model lets through to the service, which then checks the amount itself (above 0.01, two
# decimals) and answers with the other fields' messages too; signs, exponents and `1_000` stop here.
_AMOUNT_SYNTAX = re.compile(rf"^{_BLANK}[0-9]*(?:\.[0-9]*)?{_BLANK}$")


def _price(value: Any) -> Any:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float):
        # A JSON number is a binary double: 0.57 may arrive as 0.5700000000000001. One that is a whole
        # number of cents up to float precision is that amount; anything else keeps its digits (and fails).
        # (value * 100 overflows to infinity for doubles near the maximum, so that is what is checked.)
        cents = round(value * 100) if math.isfinite(value * 100) else None
        if cents is not None and math.isclose(value, cents / 100, rel_tol=1e-12, abs_tol=0.0):
            return f"{cents / 100:.2f}"
        return value
    if isinstance(value, str) and _AMOUNT_SYNTAX.match(value) and any(c.isdigit() for c in value):
        return value
    raise ValueError("must be an amount such as 2.50")


_PRICE_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": PRICE_TEXT},
        {"type": "number", "exclusiveMinimum": 0.01, "maximum": 99999999.99, "multipleOf": 0.01},
    ],
    "description": "Greater than 0.01 (the contract), at most 99,999,999.99 and two decimals: \"2.50\" (as the "
    "contract prints it) or a JSON number",
}
#: A price as the contract prints it ("2.50"); requests may also send a JSON number.
Price = Annotated[Any, BeforeValidator(_price), WithJsonSchema(_PRICE_SCHEMA)]
NullablePrice = Annotated[Any, BeforeValidator(_price),
                          WithJsonSchema({**_PRICE_SCHEMA, "anyOf": [*_PRICE_SCHEMA["anyOf"], {"type": "null"}]})]
_SPEED = {"type": "integer", "minimum": 1, "maximum": MAX_SPEED_MBPS}
_SHARED_USERS = {"type": "integer", "minimum": 1, "maximum": MAX_SHARED_USERS}
_NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": VISIBLE}
_MINUTES = {"type": "integer", "minimum": MIN_DURATION_MINUTES, "maximum": MAX_DURATION_MINUTES}
_HOURS = {"type": "integer", "minimum": 0, "maximum": MAX_DURATION_MINUTES // 60}
_DATA_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_DATA_LIMIT_MB}
_VALIDITY = {"type": "integer", "minimum": 1, "maximum": MAX_VALIDITY_DAYS}
DURATION_RULES = (
    "The duration follows `package_type`: minutes 10-1,440 minutes; hourly 1-24 hours; daily 1-365 days; weekly "
    "1-52 weeks; monthly 1-12 months of 30 days (720 hours). Send `duration_minutes`, or the contract's "
    "`duration_hours` (whole hours); both together must agree (`duration_hours` = whole hours of "
    "`duration_minutes`, so what was read may be sent back). A rule that relates two fields answers 400."
)


def _nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], "description": description}


def _plan_properties(properties: dict[str, Any], *, create: bool) -> None:
    # The service checks what the model lets through (so a bad body answers every field's message at once);
    # the per-type duration rules relate two fields, so the document states each field's own bounds and the
    # description the rest.
    properties["name"] = {**_NAME, "description": "Unique per router (409 when taken)"}
    hours_text, minutes_text = "The contract's whole hours (0 under an hour)", "The duration in minutes"
    properties["duration_hours"] = (_nullable(_HOURS, hours_text) if create
                                    else {**_HOURS, "description": hours_text})
    properties["duration_minutes"] = (_nullable(_MINUTES, minutes_text) if create
                                      else {**_MINUTES, "description": minutes_text})
    properties["download_speed_mbps"] = _SPEED
    properties["upload_speed_mbps"] = _SPEED
    properties["shared_users"] = _nullable(_SHARED_USERS, "Devices per voucher at once (default 1)")
    properties["data_limit_mb"] = _nullable(_DATA_LIMIT, "Data cap per voucher in MB of 1,048,576 bytes, up and "
                                                         "down together (the router user's limit-bytes-total); "
                                                         "null is unlimited")
    properties["validity_days"] = _nullable(_VALIDITY, "A voucher must be first used within this many days of "
                                                       "being issued; null is no limit")


def _create_schema(schema: dict[str, Any]) -> None:
    _plan_properties(schema["properties"], create=True)
    schema["properties"]["price"].pop("default", None)
    schema["required"] = ["name", "price", "download_speed_mbps", "upload_speed_mbps"]


class PackageCreateRequest(StrictBody, json_schema_extra=_create_schema):
    """A new package: name, price and both speeds; a duration unless the type has a default (daily, weekly and
    monthly: one unit)."""

    name: str | None = None
    package_type: Literal["minutes", "hourly", "daily", "weekly", "monthly"] | None = None
    duration_minutes: MaybeWhole = None
    duration_hours: MaybeWhole = None
    price: Price = None
    download_speed_mbps: MaybeWhole = None
    upload_speed_mbps: MaybeWhole = None
    shared_users: MaybeWhole = None
    data_limit_mb: MaybeWhole = None
    validity_days: MaybeWhole = None
    description: str | None = Field(default=None, max_length=1000)
    is_active: bool | None = None


def _update_schema(schema: dict[str, Any]) -> None:
    _plan_properties(schema["properties"], create=False)


# null passes this model for the fields below, but the service refuses it (a package always has them), so
# the document leaves null out: what it promises is what the endpoint accepts.
class PackageWriteRequest(StrictBody, json_schema_extra=_update_schema):
    """Change a package: only the fields sent change."""

    name: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    package_type: Literal["minutes", "hourly", "daily", "weekly", "monthly"] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default)
    duration_minutes: Whole | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    duration_hours: Whole | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    price: Price = Field(default=None, json_schema_extra=_no_default)
    download_speed_mbps: Whole | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    upload_speed_mbps: Whole | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    shared_users: MaybeWhole = None
    data_limit_mb: MaybeWhole = None
    validity_days: MaybeWhole = None
    description: str | None = Field(default=None, max_length=1000)
    is_active: bool | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)


class PackageOut(BaseModel):
    id: int | None = Field(description="null only in the answer to a dry run of a create (nothing was saved)")
    name: str
    package_type: str
    package_type_display: str
    duration_hours: int = Field(description="Whole hours (0 for a package shorter than an hour)")
    duration_minutes: int
    duration_display: str = Field(description='"30 minutes", "1 hour", "1 day", "1 week", "1 month"')
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
    data_limit_mb: int | None
    validity_days: int | None
    profile_name: str
    rate_limit: str
    sync_state: Literal["synced", "pending", "error"] | None = Field(description="null in a dry run of a create")
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
    price: NullablePrice = Field(default=None, description="Price of packages imported from extra profiles (pull)")


class ReconcileResponse(BaseModel):
    direction: str
    commands: list[RouterCommandOut]
    packages: list[PackageOut]
    message: str


class ReconcileAccepted(ReconcileResponse):
    job: JobRef


def _batch_schema(schema: dict[str, Any]) -> None:
    # The service keeps the code space 1,000 times the batch: 4-character codes (31**4) allow 923 vouchers.
    schema["anyOf"] = [{"properties": {"code_length": {"minimum": 5}}},
                       {"properties": {"count": {"maximum": 923}}}]


class BatchCreateRequest(StrictBody, json_schema_extra=_batch_schema):
    package_id: Whole = Field(ge=1, le=MAX_ID, description="An active package of this router")
    count: Whole = Field(ge=1, le=MAX_BATCH, description="1-1,000 vouchers (at most 923 with 4-character codes)")
    code_length: Whole = Field(default=8, ge=4, le=16, description="4-16 characters after the prefix")
    mode: Literal["same", "pin"] = Field(default="same", description="same: code = username = password; "
                                                                      "pin: username + numeric PIN")
    prefix: str = Field(default="", max_length=6, pattern=rf"^{_BLANK}[A-Za-z0-9]*{_BLANK}$",
                        description="Letters and digits (stored upper-case)")
    pin_length: Whole = Field(default=6, ge=4, le=8, description="4-8 digits (mode pin)")


class IssuedTermsOut(BaseModel):
    package_name: str = Field(description="The package's name when the voucher was issued")
    price: str = Field(description='The price printed on the voucher and recorded when it sells ("20.00")')
    currency: str
    price_display: str
    duration_minutes: int
    duration_display: str
    download_speed_mbps: int
    upload_speed_mbps: int
    data_limit_mb: int | None = Field(description="Data cap (MB up and down together); null is unlimited")


class VoucherOut(IssuedTermsOut):
    id: int
    code: str
    password: str
    state: Literal["unused", "active", "expired", "revoked"]
    router_id: int
    batch_id: int
    package_id: int
    use_before: str | None = Field(description="It must be first used before this (UTC); null is no limit")
    on_router: bool
    activated_at: str | None
    expires_at: str | None
    ended_at: str | None
    mac_address: str | None
    created_at: str | None


class BatchOut(IssuedTermsOut):
    id: int
    router_id: int
    package_id: int
    shared_users: int
    validity_days: int | None
    count: int
    code_length: int
    mode: str
    prefix: str
    push_state: Literal["pushed", "pending", "pushing"]
    push_error: str | None
    checked_at: str | None = Field(description="When a sync last compared its usable vouchers with the router")
    missing_at_check: int = Field(description="How many of them that check found missing (and pushed again)")
    created_at: str | None
    counts: dict[str, int]


class BatchCreated(BatchOut):
    pushed: int
    vouchers: list[VoucherOut]
    job: JobRef


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
    activated: list[str] | None
    expired: list[str] | None
    sales: int | None
    cleaned: int | None
    pushed_packages: int | None
    pushed_vouchers: int | None
    missing: list[str] | None = Field(default=None, description="Codes of usable vouchers the router had lost")
    restored: int | None = Field(default=None, description="How many of those this sync pushed again")
    profile_fixed: int | None = Field(default=None, description="Voucher users whose profile was set right")
    missing_profiles: list[str] | None = Field(default=None, description="Package profiles the router had lost "
                                                                          "(pushed again)")
    replaced: str | None = Field(default=None, description="Set when the router's serial or identity changed")
    synced_at: str | None
    message: str
    job: JobRef


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
    portal_url: str
    trial_enabled: bool
    trial_minutes: int
    trial_reset_hours: int
    trial_package_id: int | None
    trial_sync_state: Literal["synced", "pending"]
    router_serial: str | None
    router_identity: str | None
    replaced_at: str | None = Field(description="When a sync found the serial or identity changed")
    replaced_note: str | None


TrialMinutes = Annotated[int, Field(ge=1, le=MAX_TRIAL_MINUTES), BeforeValidator(_integral)]
TrialResetHours = Annotated[int, Field(ge=1, le=MAX_TRIAL_RESET_HOURS), BeforeValidator(_integral)]
PackageId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]


class TrialSettingsRequest(StrictBody):
    trial_enabled: bool | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default,
                                                       description="The hotspot trial login on or off")
    trial_minutes: TrialMinutes | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default,
                                                               description="Minutes of free browsing per trial")
    trial_reset_hours: TrialResetHours | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default,
        description="Hours before the same device may have another trial (24: once per device per day)")
    trial_package_id: PackageId | None = Field(default=None, description="Package whose speed trials get (null: "
                                                                         "the default profile)")


class TrialSettings(SiteSettings):
    commands: list[RouterCommandOut]
    sync_error: str | None = Field(description="Why the router was not updated now (the next sync does it)")


class SiteSettingsRequest(StrictBody):
    display_name: str | None = Field(default=None, max_length=100, description="Printed on vouchers")
    dns_name: str | None = Field(default=None, max_length=253, pattern=DNS_NAME,
                                 description="Host of the QR auto-login URL; blank removes it")
    expiry_action: Literal["remove", "disable"] | None = None


class OwnerSettings(BaseModel):
    currency: str
    timezone: str


class OwnerSettingsRequest(StrictBody):
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$",
                                 description="ISO 4217 code such as KES (stored upper-case)")
    timezone: TimeZoneName | None = Field(default=None, description="IANA time zone such as Africa/Nairobi")


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
