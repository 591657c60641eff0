"""Dashboard login and logout (flask-login sessions)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from webapp.blueprints.htmx import safe_next
from webapp.extensions import limiter
from webapp.forms import ConfirmForm, LoginForm
from webapp.services import accounts
from webapp.services.errors import Unauthorized

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _form_name_key() -> str:
    return "login-name:" + (request.form.get("username") or "").strip().lower()[:128]


def _too_many_attempts(limit: RequestLimit) -> Response:
    form = LoginForm()
    message = _("Too many login attempts (%(limit)s). Wait a minute and try again.", limit=limit.limit)
    return make_response(render_template("auth/login.html", form=form, error=message), 429)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=get_remote_address, methods=["POST"], on_breach=_too_many_attempts)
@limiter.limit(_login_limit, key_func=_form_name_key, methods=["POST"], on_breach=_too_many_attempts)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.username.data or "", form.password.data or "")
        except Unauthorized as exc:
            error, status = exc.message, 401
        else:
            login_user(user, remember=bool(form.remember.data))
            flash(_("Welcome, %(name)s.", name=user.username), "success")
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.home")))
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
        flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))
