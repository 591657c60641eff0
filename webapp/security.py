"""Session (flask-login) and token (flask-jwt-extended) plumbing shared by both faces."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, redirect, request, url_for
from flask_jwt_extended import create_access_token, create_refresh_token

from webapp.errors import error_response
from webapp.extensions import jwt, login_manager
from webapp.models import ApiKey, User
from webapp.services import accounts


def _lifetime(name: str) -> timedelta:
    value = current_app.config[name]
    return timedelta(seconds=value) if isinstance(value, int) else value


def issue_tokens(user: User, api_key: ApiKey | None = None) -> dict[str, Any]:
    """Open a login session and return the contract's token document."""
    access_lifetime = _lifetime("JWT_ACCESS_TOKEN_EXPIRES")
    session = accounts.open_token_session(user, _lifetime("JWT_REFRESH_TOKEN_EXPIRES"), api_key)
    claims = {"sid": session.id}
    return {
        "access": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh": create_refresh_token(identity=str(user.id), additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
        "user": {"id": user.id, "username": user.username},
    }


def refresh_access(user: User, session_id: str) -> dict[str, Any]:
    """A new access token in the same login session (the refresh token stays valid until logout or expiry)."""
    access_lifetime = _lifetime("JWT_ACCESS_TOKEN_EXPIRES")
    return {
        "access": create_access_token(identity=str(user.id), additional_claims={"sid": session_id}),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
        "user": {"id": user.id, "username": user.username},
    }


def init_app(app: Flask) -> None:
    """Wire the login manager's and the JWT manager's callbacks."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.after_request(_security_headers)


def _security_headers(response: Response) -> Response:
    # No framing (clickjacking on delete buttons and the console), no MIME sniffing, no full-URL referrers;
    # pages that show a secret once (a new API key) are never cached.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint in {"api.api_key_create", "dashboard.api_key_create"}:
        response.headers["Cache-Control"] = "no-store"
    return response


@login_manager.user_loader
def _load_session_user(user_id: str) -> User | None:
    return accounts.get_user(int(user_id)) if user_id.isdigit() else None


@login_manager.unauthorized_handler
def _session_required() -> Response:
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        # htmx would swap a 302's target page into a table cell; tell it to navigate instead.
        response = Response(status=401)
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    return redirect(login_url)  # type: ignore[return-value]


@jwt.user_lookup_loader
def _load_token_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    subject = str(payload.get("sub", ""))
    return accounts.get_user(int(subject)) if subject.isdigit() else None


@jwt.token_in_blocklist_loader
def _token_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    subject = str(payload.get("sub", ""))
    if not subject.isdigit():
        return True
    return not accounts.token_session_active(payload.get("sid"), int(subject))


@jwt.user_lookup_error_loader
def _token_user_gone(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return error_response(401, "The account behind this token no longer exists or is disabled")


@jwt.expired_token_loader
def _token_expired(_header: dict[str, Any], payload: dict[str, Any]) -> Response:
    kind = "Refresh" if payload.get("type") == "refresh" else "Access"
    return error_response(401, f"{kind} token has expired")


@jwt.revoked_token_loader
def _token_revoked_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return error_response(401, "Token has been revoked; log in again")


@jwt.invalid_token_loader
def _token_invalid(reason: str) -> Response:
    return error_response(401, f"Invalid token: {reason}")


@jwt.unauthorized_loader
def _token_missing(reason: str) -> Response:
    return error_response(401, f"Authentication required: {reason}")


@jwt.needs_fresh_token_loader
def _token_not_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return error_response(401, "A fresh login is required")


@jwt.token_verification_failed_loader
def _token_claims_failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
    return error_response(401, "Token claims verification failed")

