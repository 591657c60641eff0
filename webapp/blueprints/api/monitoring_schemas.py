"""Request and response bodies of the monitoring API (metrics, interfaces, alerts, rules, channels); the OpenAPI
source."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from webapp.blueprints.api.schemas import _integral
from webapp.services.pagination import MAX_ID

#: A whole number that may arrive as ``9.0`` (JSON has one number type; 9.0 is an integer to JSON Schema).
MaybeWhole = Annotated[int | None, BeforeValidator(_integral)]
Whole = Annotated[int, BeforeValidator(_integral)]
#: Alert rule kinds (``webapp.services.alerts.DEFAULT_RULES``).
RuleKind = Literal["offline", "cpu_high", "memory_low", "interface_down"]
#: An e-mail address of the usual shape; the service also refuses reserved domains such as ``.test``.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_RESERVED = "|".join(SPECIAL_USE_DOMAIN_NAMES)
EMAIL = (rf"^(?=[^@]{{1,64}}@)[A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*@(?!(?:[^@]*\.)?(?:{_RESERVED})$)"
         rf"(?:{_LABEL}\.)+[A-Za-z]{{2,24}}$")
#: An http(s) URL with a host.
WEBHOOK_URL = r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$"


class StrictForbidding(BaseModel):
    """Request bodies here: wrong types are errors and so are unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


class InterfaceChange(StrictForbidding):
    disabled: bool


class PollSettings(StrictForbidding):
    poll_interval: MaybeWhole = Field(default=None, ge=10, le=86400,
                                      description="Seconds between polls; null follows the global interval")


class AlertAck(StrictForbidding):
    state: Literal["acknowledged"] = Field(default="acknowledged",
                                           description="Alerts resolve by themselves when their condition clears")
    note: str | None = Field(default=None, max_length=500)


class RuleBody(StrictForbidding):
    kind: RuleKind
    router_id: MaybeWhole = Field(default=None, ge=1, le=MAX_ID, description="One router's rule; null: fleet-wide")
    threshold: float | None = Field(default=None, ge=0, le=100, description="A percentage (cpu_high, memory_low)")
    duration_minutes: MaybeWhole = Field(default=None, ge=0, le=10080,
                                         description="How long the condition must last (null: the default's)")
    enabled: bool = True


def _channel_schema(schema: dict[str, Any]) -> None:
    # The target's shape follows the kind.
    schema["anyOf"] = [
        {"properties": {"kind": {"const": "email"}, "target": {"pattern": EMAIL, "maxLength": 254}}},
        {"properties": {"kind": {"const": "webhook"}, "target": {"pattern": WEBHOOK_URL}}},
        {"properties": {"kind": {"const": "telegram"},
                        "target": {"pattern": r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$"},
                        "secret": {"type": "string", "pattern": r"^[0-9]{3,20}:[A-Za-z0-9_-]{20,100}$"}},
         "required": ["secret"]},
        {"properties": {"kind": {"const": "sms"}, "target": {"pattern": r"^\+[1-9][0-9]{7,14}$"}}},
    ]


class ChannelBody(StrictForbidding, json_schema_extra=_channel_schema):
    kind: Literal["email", "webhook", "telegram", "sms"]
    target: str = Field(max_length=500, description="An e-mail address (email), an http(s) URL (webhook), a chat "
                        "id or @channel (telegram) or a +country phone number (sms)")
    secret: str | None = Field(default=None, max_length=200,
                               description="telegram: the bot token (write-only, stored encrypted)")
    cooldown_minutes: Whole = Field(default=30, ge=0, le=10080,
                                    description="Minutes between two notifications about one alert")
    enabled: bool = True


class SeriesOut(BaseModel):
    router_id: int
    name: str
    interface: str | None
    unit: str
    from_: int = Field(alias="from", description="Unix seconds")
    to: int = Field(description="Unix seconds")
    step: int = Field(description="Seconds per point")
    source: Literal["raw", "5m", "1h"]
    rows_read: int
    # A list rather than a tuple: schemathesis turns 2020-12 ``prefixItems`` into an invalid ``items`` array.
    points: list[Annotated[list[float], Field(min_length=4, max_length=4)]] = Field(
        description="[ts, avg, min, max] per step (ts in Unix seconds)"
    )


class InterfaceOut(BaseModel):
    name: str
    id: str | None
    type: str | None
    mac_address: str | None
    comment: str | None
    running: bool
    disabled: bool
    rx_bps: float | None
    tx_bps: float | None
    rx_bytes: int | None
    tx_bytes: int | None
    down_since: str | None
    last_seen: str | None


class InterfacePage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[InterfaceOut]


class EventOut(BaseModel):
    id: int
    router_id: int
    kind: str
    message: str
    details: dict[str, Any]
    created_at: str | None


class EventPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[EventOut]


class PollSettingsOut(BaseModel):
    router_id: int
    poll_interval: int | None
    next_poll_at: str | None


class RouterCounts(BaseModel):
    total: int
    up: int
    down: int
    unknown: int


class BusyRouter(BaseModel):
    router_id: int
    name: str
    cpu_load: float | None
    memory_used: float | None


class DownRouter(BaseModel):
    router_id: int
    name: str
    reason: str | None
    down_since: str | None


class FleetOverviewOut(BaseModel):
    routers: RouterCounts
    open_alerts: int
    busiest: list[BusyRouter]
    down: list[DownRouter]


class AlertOut(BaseModel):
    id: int
    router_id: int
    router_name: str
    kind: str
    interface: str | None
    state: Literal["active", "acknowledged", "resolved"]
    severity: str
    message: str
    value: float | None
    note: str | None
    started_at: str | None
    acknowledged_at: str | None
    resolved_at: str | None


class AlertPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[AlertOut]


class RuleOut(BaseModel):
    id: int
    router_id: int | None
    kind: str
    threshold: float | None
    duration_minutes: int
    enabled: bool


class RuleDefaultOut(BaseModel):
    kind: str
    threshold: float | None
    duration_minutes: int
    severity: str
    description: str


class RuleList(BaseModel):
    defaults: list[RuleDefaultOut]
    results: list[RuleOut]


class ChannelOut(BaseModel):
    id: int
    kind: Literal["email", "webhook", "telegram", "sms"]
    target: str
    cooldown_minutes: int
    enabled: bool
