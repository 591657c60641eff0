"""``/users/...``: JSON login (password or API key pair), token refresh, logout and API keys."""

from __future__ import annotations

from flask import Response
from flask_jwt_extended import current_user, get_jwt, jwt_required

from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.schemas import (
    AccessTokenResponse,
    ApiKeyCreated,
    ApiKeyCreateRequest,
    ApiKeyLoginRequest,
    ApiKeyOut,
    LoginRequest,
    MeResponse,
    MessageResponse,
    PasswordChangeRequest,
    TokenResponse,
)
from webapp.models import ApiKey
from webapp.openapi import Doc, ErrorResponse, Tag, documented
from webapp.permissions import Capability, policy
from webapp.security import client_address, issue_tokens, login_limited, refresh_access
from webapp.services import accounts
from webapp.timeutil import isoformat_z

_AUTH = Tag("Accounts and tokens", "Log in with a password or an API key pair, refresh and revoke tokens, manage "
                                   "API keys.")


def _key_out(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "public_key": key.public_key,
        "created_at": isoformat_z(key.created_at),
        "last_used_at": isoformat_z(key.last_used_at),
    }


@bp.post("/users/login/")
@documented(Doc(
    "Log in with username and password",
    _AUTH,
    {200: TokenResponse, 429: ErrorResponse},
    request=LoginRequest,
    auth=None,
    extra_errors=(401,),
    description="Answers an access token and a refresh token of one login session. Rate limited.",
))
@login_limited()
@policy(Capability.PUBLIC)
def login() -> Response:
    body = json_body(LoginRequest)
    user = accounts.authenticate(body.username, body.password, ip_address=client_address(), face="api")
    return json_ok(issue_tokens(user))


@bp.post("/users/api-key-login/")
@documented(Doc(
    "Log in with an API key pair",
    _AUTH,
    {200: TokenResponse, 429: ErrorResponse},
    request=ApiKeyLoginRequest,
    auth=None,
    extra_errors=(401,),
    description="Both the public and the private key are required; answers the same tokens as a login.",
))
@login_limited()
@policy(Capability.PUBLIC)
def api_key_login() -> Response:
    body = json_body(ApiKeyLoginRequest)
    user, key = accounts.authenticate_api_key(body.public_key, body.private_key, ip_address=client_address())
    return json_ok(issue_tokens(user, key))


@bp.post("/users/token/refresh/")
@documented(Doc(
    "New access token from a refresh token",
    _AUTH,
    {200: AccessTokenResponse},
    auth="refresh",
    description="Send the **refresh** token as the bearer token. The answer carries a new refresh token: the one "
                "sent is spent, and presenting it again revokes the whole login session (token theft).",
))
@jwt_required(refresh=True)
@policy(Capability.SELF)
def token_refresh() -> Response:
    return json_ok(refresh_access(current_user, get_jwt()))


@bp.post("/users/logout/")
@documented(Doc(
    "Log out (revoke this login's tokens)",
    _AUTH,
    {200: MessageResponse},
    auth="any",
    description="Accepts the access or the refresh token; both tokens of the login session stop working.",
))
@jwt_required(verify_type=False)
@policy(Capability.SELF)
def logout() -> Response:
    accounts.close_token_session(get_jwt()["sid"], ip_address=client_address())
    return json_ok({"message": "Logged out; the access and refresh tokens of this login are revoked"})


@bp.get("/users/me/")
@documented(Doc("The logged-in account", _AUTH, {200: MeResponse}))
@jwt_required()
@policy(Capability.SELF)
def me() -> Response:
    return json_ok({"id": current_user.id, "username": current_user.username, "email": current_user.email,
                    "role": current_user.role, "team_owner_id": current_user.team_owner_id})


@bp.post("/users/me/password/")
@documented(Doc(
    "Change your password", _AUTH, {200: MessageResponse}, request=PasswordChangeRequest,
    description="Needs the current password (a wrong one is 400 with `fields.current_password`). Every other "
                "session and token of the account ends; this one keeps working.",
))
@jwt_required()
@policy(Capability.SELF)
def password_change() -> Response:
    body = json_body(PasswordChangeRequest)
    actor = current_user._get_current_object()
    actor.login_session_id = get_jwt()["sid"]
    accounts.change_password(actor, body.current_password, body.new_password, ip_address=client_address())
    return json_ok({"message": "Password changed; every other session and token of this account is revoked"})


@bp.get("/users/api-keys/")
@documented(Doc("List your API keys", _AUTH, {200: list[ApiKeyOut]}))
@jwt_required()
@policy(Capability.SELF)
def api_keys() -> Response:
    return json_ok([_key_out(key) for key in accounts.list_api_keys(current_user)])


@bp.post("/users/api-keys/")
@documented(Doc(
    "Create an API key",
    _AUTH,
    {201: ApiKeyCreated},
    request=ApiKeyCreateRequest,
    description="The private key is in this answer only; it is stored hashed.",
))
@jwt_required()
@policy(Capability.SELF)
def api_key_create() -> Response:
    body = json_body(ApiKeyCreateRequest)
    created = accounts.create_api_key(current_user, body.name, ip_address=client_address())
    out = _key_out(created.key)
    out["private_key"] = created.private_key
    out["message"] = "Store the private key now: it is shown only once"
    return json_ok(out, 201)


@bp.delete("/users/api-keys/<int:key_id>/")
@documented(Doc("Revoke an API key", _AUTH, {200: MessageResponse}))
@jwt_required()
@policy(Capability.SELF)
def api_key_revoke(key_id: int) -> Response:
    key = accounts.revoke_api_key(current_user, key_id, ip_address=client_address())
    return json_ok({"message": f'API key "{key.name}" has been revoked'})
