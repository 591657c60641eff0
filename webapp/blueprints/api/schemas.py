"""Request and response bodies of the JSON API (pydantic; the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    name: str = Field(min_length=1, max_length=100)


class TokenUser(BaseModel):
    id: int
    username: str


class TokenResponse(BaseModel):
    access: str
    refresh: str
    token_type: str = "Bearer"
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



class RouterCreateRequest(StrictBody):
    name: str = Field(min_length=1, max_length=100)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=80, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=1, max_length=256)
    use_https: bool = False
    protocol: Literal["auto", "rest", "api", "api-ssl"] = "auto"
    verify_tls: bool = False
    tls_fingerprint: str | None = Field(default=None, max_length=95)


class RouterUpdateRequest(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    host: str | None = Field(default=None, min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1, max_length=50)
    password: str | None = Field(default=None, max_length=256)
    use_https: bool | None = None
    protocol: Literal["auto", "rest", "api", "api-ssl"] | None = None
    verify_tls: bool | None = None
    tls_fingerprint: str | None = Field(default=None, max_length=95)


Scalar = str | int | float | bool | None


class ExecuteCommandRequest(StrictBody):
    command: str = Field(min_length=1, max_length=200)
    method: str = Field(default="GET", max_length=8)
    params: dict[str, Scalar] | None = None
    data: dict[str, Scalar] | None = None
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


class ErrorResponse(BaseModel):
    error: str
    fields: dict[str, str] | None = None
