"""Request and response bodies of the JSON API (pydantic; the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

# The services strip input with str.strip(), whose whitespace includes \x1c-\x1f (not in regex \s): a text
# field needs one character outside both sets, or the service answers 400 to what the schema let through.
VISIBLE = r"[^\s\x1c-\x1f]"
_BLANK = r"[\s\x1c-\x1f]*"
#: SHA-256 as 64 hex digits, colons anywhere, surrounding blanks ignored; blank means "no pinning".
FINGERPRINT = rf"^{_BLANK}(?::*(?:[0-9A-Fa-f]:*){{64}}|:*){_BLANK}$"
#: A RouterOS menu path such as ``ip/hotspot`` or ``/ip/address/add/`` (what services.commands accepts).
COMMAND_PATH = rf"^{_BLANK}/?[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9.-]*)*/?{_BLANK}$"
#: GET, POST, PUT or DELETE in any letter case; empty means GET.
COMMAND_METHOD = r"^([Gg][Ee][Tt]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt]|[Dd][Ee][Ll][Ee][Tt][Ee])?$"


def _integral(value: Any) -> Any:
    # JSON has one number type: 225.0 is the integer 225 to JSON Schema (and to JavaScript clients).
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A TCP port that may arrive as ``8728.0``; strings, booleans and fractions are still refused.
Port = Annotated[int, Field(ge=1, le=65535), BeforeValidator(_integral)]
#: An object id that may be sent as 12 or 12.0 (JSON has one number type).
MaybeId = Annotated[int | None, BeforeValidator(_integral)]


def _no_default(schema: dict[str, Any]) -> None:
    """Leave a ``null`` default out of the document of a field that may be omitted but not sent as null."""
    schema.pop("default", None)


class StrictBody(BaseModel):
    """Base for request bodies: wrong types are errors, unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class LoginRequest(StrictBody):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024)


class ApiKeyLoginRequest(StrictBody):
    public_key: str = Field(min_length=1, max_length=128)
    private_key: str = Field(min_length=1, max_length=256)


class ApiKeyCreateRequest(StrictBody):
    name: str = Field(min_length=1, max_length=100, pattern=VISIBLE)


class TokenUser(BaseModel):
    id: int
    username: str
    role: Literal["owner", "operator", "cashier", "viewer"]


class TokenResponse(BaseModel):
    access: str
    refresh: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int
    user: TokenUser


class ApiKeyOut(BaseModel):
    id: int
    name: str
    public_key: str
    created_at: str | None
    last_used_at: str | None


class ApiKeyCreated(ApiKeyOut):
    private_key: str
    message: str


class AccessTokenResponse(BaseModel):
    access: str
    refresh: str = Field(description="The rotated refresh token: the one sent is spent, and sending it again "
                                     "revokes the whole login session")
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int
    user: TokenUser


class MeResponse(BaseModel):
    id: int
    username: str
    email: str | None
    role: Literal["owner", "operator", "cashier", "viewer"]
    team_owner_id: int


class MessageResponse(BaseModel):
    message: str



def _password_or_profile(schema: dict[str, Any]) -> None:
    # A router needs a password unless it follows a credential profile.
    schema["anyOf"] = [
        {"required": ["password"], "properties": {"password": {"type": "string"}}},
        {"required": ["credential_profile_id"], "properties": {"credential_profile_id": {"type": "integer"}}},
    ]


class RouterCreateRequest(StrictBody, json_schema_extra=_password_or_profile):
    name: str = Field(min_length=1, max_length=100, pattern=VISIBLE)
    host: str = Field(min_length=1, max_length=255, description="An IP address or a DNS name")
    # None: 80 as the contract says, or the protocol's own port (8728 api, 8729 api-ssl, 443 HTTPS).
    port: Port | None = None
    username: str = Field(min_length=1, max_length=50, pattern=VISIBLE)
    password: str | None = Field(default=None, min_length=1, max_length=256,
                                 description="Required unless credential_profile_id is given")
    use_https: bool = False
    protocol: Literal["auto", "rest", "api", "api-ssl"] = "auto"
    verify_tls: bool = False
    tls_fingerprint: str | None = Field(default=None, max_length=95, pattern=FINGERPRINT)
    group_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1, description="The router's group (site)")
    credential_profile_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1,
                                              description="Use a credential profile's username and password")
    tags: list[Annotated[str, Field(max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}$")]] | None = Field(
        default=None, max_length=20, description="Labels: letters, digits, _ . : - (1-50 each)"
    )


class RouterUpdateRequest(StrictBody):
    # null passes this model but the service refuses it for name, host and username (400): the document
    # leaves null out of those three so that what it promises is what the endpoint accepts.
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=VISIBLE)] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default
    )
    host: Annotated[str, Field(min_length=1, max_length=255)] | SkipJsonSchema[None] = Field(
        default=None, description="An IP address or a DNS name", json_schema_extra=_no_default
    )
    port: Port | None = None
    username: Annotated[str, Field(min_length=1, max_length=50, pattern=VISIBLE)] | SkipJsonSchema[None] = (
        Field(default=None, json_schema_extra=_no_default)
    )
    password: str | None = Field(default=None, max_length=256)
    use_https: bool | None = None
    protocol: Literal["auto", "rest", "api", "api-ssl"] | None = None
    verify_tls: bool | None = None
    tls_fingerprint: str | None = Field(default=None, max_length=95, pattern=FINGERPRINT)
    group_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1, description="null takes it out of its group")
    credential_profile_id: MaybeId = Field(default=None, ge=1, le=2**63 - 1,
                                              description="null stops following the profile (keeps its credentials)")
    tags: list[Annotated[str, Field(max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}$")]] | None = Field(
        default=None, max_length=20, description="Replaces the router's tags; [] or null removes them all"
    )


Scalar = Annotated[str, Field(max_length=4096)] | int | float | bool | None
ArgumentName = Annotated[str, Field(min_length=1, max_length=100)]


class ExecuteCommandRequest(StrictBody):
    command: str = Field(min_length=1, max_length=200, pattern=COMMAND_PATH)
    method: str = Field(default="GET", max_length=8, pattern=COMMAND_METHOD)
    params: dict[ArgumentName, Scalar] | None = Field(default=None, max_length=100)
    data: dict[ArgumentName, Scalar] | None = Field(default=None, max_length=100)
    confirm: bool = False


class RerunRequest(StrictBody):
    confirm: bool = False


class RouterOut(BaseModel):
    id: int
    name: str
    host: str
    port: int
    username: str
    use_https: bool
    is_online: bool
    last_checked: str | None
    created_at: str
    updated_at: str
    protocol: str
    verify_tls: bool
    tls_fingerprint: str | None
    routeros_version: str | None
    last_error: str | None
    last_error_message: str | None
    last_latency_ms: float | None
    group_id: int | None
    tags: list[str]
    credential_profile_id: int | None


class RouterPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[RouterOut]


class DeleteResponse(BaseModel):
    message: str


class ConnectionTestResponse(BaseModel):
    router_id: int
    is_online: bool
    message: str
    reason: str | None
    error_message: str | None
    latency_ms: float | None
    routeros_version: str | None
    protocol: str | None
    identity: str | None
    last_checked: str | None


class ExecuteCommandResponse(BaseModel):
    router_id: int
    command: str
    method: str
    result: Any
    message: str
    command_id: int
    protocol: str | None
    duration_ms: float | None


class ExecuteCommandError(BaseModel):
    router_id: int
    command: str
    method: str
    error: str
    status_code: int
    command_id: int
    reason: str | None


class DeviceInfoOut(BaseModel):
    identity: str | None
    cpu_load: str | None
    free_memory: str | None
    total_memory: str | None
    free_hdd_space: str | None
    total_hdd_space: str | None
    version: str | None
    uptime: str | None
    uptime_seconds: int | None
    board_name: str | None
    model: str | None
    serial_number: str | None
    firmware: str | None
    architecture: str | None
    platform: str | None
    cpu: str | None
    cpu_count: int | None
    cpu_frequency_mhz: int | None
    license_level: str | None
    temperature_c: str | None
    voltage_v: str | None
    protocol: str | None


class DeviceInfoResponse(BaseModel):
    router_id: int
    device_info: DeviceInfoOut
    message: str


class CommandOut(BaseModel):
    id: int
    router_id: int
    router_name: str
    user: str | None
    command: str
    method: str
    params: dict[str, Any]
    data: dict[str, Any]
    status: str
    status_code: int | None
    result: Any
    error: str | None
    protocol: str | None
    started_at: str
    finished_at: str | None
    duration_ms: float | None


class CommandPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[CommandOut]


class AuditOut(BaseModel):
    id: int
    action: str
    summary: str
    details: dict[str, Any]
    ip_address: str | None
    user: str | None
    created_at: str


class AuditPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[AuditOut]


class PasswordChangeRequest(StrictBody):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


StaffRole = Literal["operator", "cashier", "viewer"]
#: An id that a database integer column can hold.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class TeamMemberCreate(StrictBody):
    """A new staff account: with ``password`` the owner sets it; without, an invitation link is returned."""

    username: str = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@-]{3,80}$")
    email: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    role: StaffRole
    router_ids: list[ObjectId] = Field(default_factory=list, max_length=10000)


class TeamMemberUpdate(StrictBody):
    """Change a member; ``password`` resets it (every session of the member ends)."""

    email: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    role: StaffRole | None = None
    router_ids: list[ObjectId] | None = Field(default=None, max_length=10000)
    is_active: bool | None = None


class TeamMemberOut(BaseModel):
    id: int
    username: str
    email: str | None
    role: StaffRole
    router_ids: list[int] = Field(description="Routers a cashier works on (empty for other roles)")
    is_active: bool
    invitation_pending: bool
    created_at: str


class TeamMemberCreated(TeamMemberOut):
    invitation_url: str | None = Field(default=None, json_schema_extra=_no_default,
                                       description="Only when no password was given; shown once")
    message: str | None = Field(default=None, json_schema_extra=_no_default)


class TeamAuditEventOut(BaseModel):
    id: int
    created_at: str
    actor: str | None
    actor_id: int | None
    role: str | None
    action: str
    target: str | None
    router_id: int | None
    outcome: str
    ip_address: str | None
    summary: str
    details: dict[str, Any]


class TeamAuditPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[TeamAuditEventOut]
