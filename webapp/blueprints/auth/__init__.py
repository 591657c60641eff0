"""Dashboard login and logout (server-side sessions behind flask-login), password change and invitations."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.blueprints.htmx import safe_next
from webapp.forms import ConfirmForm, InvitationForm, LoginForm, PasswordChangeForm
from webapp.permissions import Capability, policy
from webapp.security import client_address, login_limited, login_web, logout_web
from webapp.services import accounts, teams
from webapp.services.errors import Invalid, ServiceError, TooManyAttempts, Unauthorized

bp = Blueprint("auth", __name__)

#: A browser that logged in as a user before carries this signed cookie; it skips that user's login backoff,
#: so an attacker guessing from elsewhere cannot keep the owner out (OWASP's "device cookie").
DEVICE_COOKIE = "rd_device"
DEVICE_COOKIE_DAYS = 90


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="routerdeck-device")


def _trusted_device(username: str) -> bool:
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        known = _device_serializer().loads(cookie, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadSignature:
        return False
    return isinstance(known, str) and known == username.strip().lower()


def _too_many_attempts(limit: RequestLimit) -> Response:
    form = LoginForm()
    message = _("Too many login attempts (%(limit)s). Wait a minute and try again.", limit=limit.limit)
    return make_response(render_template("auth/login.html", form=form, error=message), 429)


@bp.route("/login", methods=["GET", "POST"])
@login_limited(on_breach=_too_many_attempts)
@policy(Capability.PUBLIC)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    error = None
    status = 200
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        username = form.username.data or ""
        try:
            user = accounts.authenticate(username, form.password.data or "", ip_address=client_address(),
                                         face="dashboard", trusted_device=_trusted_device(username))
        except TooManyAttempts as exc:
            error, status, headers = exc.message, 429, {"Retry-After": str(exc.retry_after)}
        except Unauthorized as exc:
            error, status = exc.message, 401
        else:
            login_web(user, remember=bool(form.remember.data))
            flash(_("Welcome, %(name)s.", name=user.username), "success")
            response = redirect(safe_next(request.args.get("next"), url_for("dashboard.home")))
            response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(user.username.lower()),
                                max_age=DEVICE_COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                                secure=request.is_secure, path=url_for("auth.login"))
            return response
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form, error=error), status, headers


@bp.post("/logout")
@policy(Capability.PUBLIC)
def logout() -> ResponseReturnValue:
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        logout_web(current_user._get_current_object())
        flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@policy(Capability.SELF)
def password():  # type: ignore[no-untyped-def]
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data or "", form.new_password.data or "",
                                     ip_address=client_address())
        except Invalid as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
            status = 422
        else:
            flash("Your password has been changed; every other session has been logged out.", "success")
            return redirect(url_for("dashboard.home"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/password.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@policy(Capability.PUBLIC)
def invitation(token: str):  # type: ignore[no-untyped-def]
    member = teams.member_for_invitation(token)
    form = InvitationForm()
    status = 200
    if form.validate_on_submit():
        try:
            teams.accept_invitation(token, form.new_password.data or "", ip_address=client_address())
        except ServiceError as exc:
            form.new_password.errors = [*form.new_password.errors, exc.fields.get("password", exc.message)]
            status = 422
        else:
            flash("Your password is set; log in with it.", "success")
            return redirect(url_for("auth.login"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/invitation.html", form=form, member=member), status
