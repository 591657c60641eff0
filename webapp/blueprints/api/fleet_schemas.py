"""JSON shapes of the fleet endpoints: groups, configuration versions and diffs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field
from pydantic.json_schema import SkipJsonSchema

from webapp.blueprints.api.schemas import (
    COMMAND_METHOD,
    COMMAND_PATH,
    VISIBLE,
    MaybeId,
    StrictBody,
    _integral,
    _no_default,
)

_NAME = Annotated[str, Field(min_length=1, max_length=100, pattern=VISIBLE)]
# _integral: JSON has one number type, so 60.0 is an integer to the document and must be one to us too.
_INTERVAL = Annotated[int, Field(ge=10, le=86400), BeforeValidator(_integral)]
_HOUR = Annotated[int, Field(ge=0, le=23), BeforeValidator(_integral)]
_ID = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(_integral)]


class GroupCreate(StrictBody):
    name: _NAME
    description: str = Field(default="", max_length=500)
    poll_interval_seconds: _INTERVAL | None = Field(
        default=None, description="Seconds between polls of the group's routers; null follows the server's default")
    backup_hour_utc: _HOUR | None = Field(
        default=2, description="Hour (UTC) of the daily configuration export of every router; null: no daily export")
    credential_profile_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1,
                                           description="Routers joining the group without a profile take this one")


class GroupUpdate(StrictBody):
    name: _NAME | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    description: Annotated[str, Field(max_length=500)] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default)
    poll_interval_seconds: _INTERVAL | None = None
    backup_hour_utc: _HOUR | None = None
    credential_profile_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1)


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    poll_interval_seconds: int | None
    backup_hour_utc: int | None
    router_count: int
    credential_profile_id: int | None
    created_at: str
    updated_at: str


class ConfigVersionOut(BaseModel):
    id: int
    router_id: int
    trigger: str
    digest: str
    size: int
    routeros_version: str | None
    created_at: str
    last_seen_at: str


class ConfigVersionDetail(ConfigVersionOut):
    content: str


class ConfigVersionPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[ConfigVersionOut]


class SnapshotOut(BaseModel):
    created: bool
    message: str
    version: ConfigVersionOut


class DiffOut(BaseModel):
    router_id: int
    version_id: int
    against: int
    against_router_id: int
    added: int
    removed: int
    identical: bool
    diff: str


class AcknowledgeMany(StrictBody):
    alert_ids: list[_ID] | None = Field(default=None, max_length=1000)
    incident_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1)
    all: bool = Field(default=False, description="Every active alert of yours")
    note: str | None = Field(default=None, max_length=500)


class AcknowledgedOut(BaseModel):
    acknowledged: int
    message: str


class IncidentAlertOut(BaseModel):
    id: int
    router_id: int
    router_name: str
    state: str
    severity: str
    message: str
    started_at: str


class IncidentOut(BaseModel):
    id: int
    kind: str
    title: str
    state: str
    group_id: int | None
    group_name: str | None
    started_at: str
    routers: list[str]
    alerts: list[IncidentAlertOut]


class ChannelTestOut(BaseModel):
    ok: bool
    error: str | None


class SafeChangeRequest(StrictBody):
    command: str = Field(min_length=1, max_length=200, pattern=COMMAND_PATH,
                         description="As execute-command: ip/service/set...")
    method: str = Field(default="POST", max_length=8, pattern=COMMAND_METHOD)
    params: dict[Annotated[str, Field(min_length=1, max_length=100)], str | int | float | bool | None] | None = Field(
        default=None, max_length=100)
    data: dict[Annotated[str, Field(min_length=1, max_length=100)], str | int | float | bool | None] | None = Field(
        default=None, max_length=100)
    confirm: bool = False
    rollback_minutes: Annotated[int, BeforeValidator(_integral)] = Field(default=5, ge=1, le=60,
                                  description="The router undoes the change after this long unless RouterDeck "
                                  "reaches it again and disarms the rollback")


class SafeChangeOut(BaseModel):
    id: int
    router_id: int
    command: str
    method: str
    command_id: int | None
    undo: str
    scheduler_name: str
    rollback_minutes: int
    state: str
    message: str | None
    created_at: str
    rollback_at: str


_RO_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"


class WireGuardIn(StrictBody):
    endpoint: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.:-]+$",
                          description="RouterDeck's public host or address")
    port: Annotated[int, BeforeValidator(_integral)] = Field(default=51820, ge=1, le=65535)
    public_key: str = Field(min_length=44, max_length=44, pattern=r"^[A-Za-z0-9+/]{43}=$",
                            description="RouterDeck's WireGuard public key")


class OnboardingRequest(StrictBody):
    routerdeck_address: str = Field(min_length=7, max_length=15, json_schema_extra={"format": "ipv4"},
                                    description="RouterDeck's IPv4 address as the router sees it")
    protocol: str = Field(default="api-ssl", pattern="^(api-ssl|api|rest)$")
    routeros_major: Annotated[int, BeforeValidator(_integral)] = Field(default=7, ge=6, le=7)
    username: str = Field(default="routerdeck", min_length=1, max_length=32, pattern=_RO_NAME)
    identity: str | None = Field(default=None, max_length=32, pattern=_RO_NAME)
    wireguard: WireGuardIn | None = None


class OnboardingOut(BaseModel):
    script: str
    username: str
    password: str
    protocol: str
    port: int
    host_hint: str | None


class AvailabilityOut(BaseModel):
    router_id: int
    name: str
    is_online: bool
    uptime_pct: dict[str, float | None]
    down_seconds: dict[str, int]
    latency_ms_24h: float | None
    last_latency_ms: float | None


class ProfileCreate(StrictBody):
    name: _NAME
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=256, description="Write-only; stored encrypted")


class ProfileUpdate(StrictBody):
    name: _NAME | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    username: Annotated[str, Field(min_length=1, max_length=50)] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default)
    password: str | None = Field(default=None, max_length=256, description="Blank or missing keeps it")


class ProfileOut(BaseModel):
    id: int
    name: str
    username: str
    router_count: int
    created_at: str
    updated_at: str


class VersionRowOut(BaseModel):
    router_id: int
    name: str
    installed: str | None
    available: str | None
    behind: bool
    channel: str | None
    status: str | None
    checked_at: str | None


class UpgradeOverviewOut(BaseModel):
    routers: list[VersionRowOut]
    total: int
    behind: int
    unchecked: int
    installed_versions: dict[str, int]
class BulkCommandRequest(StrictBody):
    command: str = Field(min_length=1, max_length=200, description="As execute-command")
    method: str = Field(default="GET", max_length=8)
    params: dict[str, str | int | float | bool | None] | None = Field(default=None, max_length=100)
    data: dict[str, str | int | float | bool | None] | None = Field(default=None, max_length=100)
    confirm: bool = False
    router_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(default=None, max_length=5000)
    group_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    tag: str | None = Field(default=None, max_length=50)
    concurrency: int = Field(default=4, ge=1, le=16, description="Routers worked on at once")


class JobRef(BaseModel):
    id: int
    state: str
    done: int
    total: int
    url: str


class BulkAccepted(BaseModel):
    message: str
    routers: int
    job: JobRef
