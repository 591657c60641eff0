"""Session (flask-login) and token (flask-jwt-extended) plumbing shared by both faces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, Response, current_app, request
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import login_user, logout_user

from webapp.errors import error_response
from webapp.extensions import jwt, limiter, login_manager
from webapp.models import ApiKey, User
from webapp.services import accounts

F = TypeVar("F", bound=Callable[..., Any])


def _lifetime(name: str) -> timedelta:
    value = current_app.config[name]
    return timedelta(seconds=value) if isinstance(value, int) else value


def client_address() -> str:
    """The caller's address as the rate limits see it (audit records the same value)."""
    return get_remote_address() or ""


def _user_out(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role}


def issue_tokens(user: User, api_key: ApiKey | None = None) -> dict[str, Any]:
    """Open a login session and return the contract's token document."""
    access_lifetime = _lifetime("JWT_ACCESS_TOKEN_EXPIRES")
    session = accounts.open_token_session(user, _lifetime("JWT_REFRESH_TOKEN_EXPIRES"), api_key,
                                          ip_address=client_address())
    claims = {"sid": session.id}
    return {
        "access": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh": create_refresh_token(identity=str(user.id),
                                        additional_claims={**claims, "jti": session.refresh_jti}),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
        "user": _user_out(user),
    }


def refresh_access(user: User, payload: dict[str, Any]) -> dict[str, Any]:
    """Rotate the refresh token: a new access token and a new refresh token in the same login session.

    The presented refresh token is spent; presenting it again revokes the session (see ``rotate_refresh``).

    :raises Unauthorized: for a revoked session or a refresh token used before.
    """
    session_id = str(payload["sid"])
    new_jti = accounts.rotate_refresh(session_id, user.id, str(payload.get("jti", "")))
    access_lifetime = _lifetime("JWT_ACCESS_TOKEN_EXPIRES")
    claims = {"sid": session_id}
    return {
        "access": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh": create_refresh_token(identity=str(user.id), additional_claims={**claims, "jti": new_jti}),
        "token_type": "Bearer",
        "expires_in": int(access_lifetime.total_seconds()),
        "user": _user_out(user),
    }


def login_web(user: User, remember: bool) -> None:
    """Open a server-side dashboard session and put its (fresh, random) id in the session cookie.

    With ``remember`` the session lasts ``REMEMBER_COOKIE_DURATION`` (at most 30 days) and the remember-me
    cookie carries the same id, so logging out ends both.
    """
    lifetime = _lifetime("REMEMBER_COOKIE_DURATION") if remember else _lifetime("WEB_SESSION_LIFETIME")
    accounts.open_session(user, lifetime, kind="web", ip_address=client_address())
    login_user(user, remember=remember, duration=lifetime if remember else None)


def logout_web(user: User) -> None:
    """End this dashboard session on the server, then drop the cookies."""
    if user.login_session_id:
        accounts.close_token_session(user.login_session_id, ip_address=client_address())
    logout_user()


def init_app(app: Flask) -> None:
    """Wire the login manager's and the JWT manager's callbacks."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.after_request(_security_headers)


#: No inline script anywhere (scripts are files under /static); styles may be inline (htmx's indicator style).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _security_headers(response: Response) -> Response:
    # No framing (clickjacking on delete buttons and the console), no MIME sniffing, no full-URL referrers,
    # no inline script. Every page and JSON answer can carry voucher codes, keys or router data: none of it
    # is stored by browsers or proxies; only the static files are cacheable.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    endpoint = request.endpoint or ""
    if endpoint != "static" and not endpoint.endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
    return response


@login_manager.user_loader
def _load_session_user(session_id: str) -> User | None:
    # The cookie names a server-side login session, so logout, a password or role change and account
    # removal end it at once (the old integer user ids of cookies from before sessions were server-side
    # name no session and log out).
    return accounts.session_user(session_id, "web")


@login_manager.unauthorized_handler
def _session_required() -> Response:
    # htmx gets HX-Redirect (never a 302 swapped into a cell); everyone comes back to where they were.
    from webapp.session_expiry import login_redirect

    return login_redirect()


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



def _attempted_name() -> str:
    """The account a login request tries (username, or an API key's public key), from a form or JSON."""
    if request.is_json:
        payload = request.get_json(silent=True)
        name = ""
        if isinstance(payload, dict):
            name = str(payload.get("username") or payload.get("public_key") or "")
    else:
        name = request.form.get("username") or ""
    return name.strip().lower()[:128]


def _name_address_key() -> str:
    return f"{_attempted_name()}|{client_address()}"


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _login_ip_limit() -> str:
    return str(current_app.config["LOGIN_IP_RATE_LIMIT"])


def login_limited(on_breach: Callable[[RequestLimit], Response] | None = None) -> Callable[[F], F]:
    """Apply the login limits, shared by every login endpoint of both faces: per username+address and per
    address (one counter each, whichever face the attempt came through)."""

    def decorate(view: F) -> F:
        limited = limiter.shared_limit(_login_limit, scope="login-name-address", key_func=_name_address_key,
                                       methods=["POST"], on_breach=on_breach)(view)
        return limiter.shared_limit(_login_ip_limit, scope="login-address", key_func=client_address,  # type: ignore[return-value]
                                    methods=["POST"], on_breach=on_breach)(limited)

    return decorate
