"""Request and response bodies of the JSON API (pydantic; the OpenAPI document is generated from these)."""

from __future__ import annotations

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
