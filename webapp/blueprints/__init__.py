"""Blueprints: parse input, call one service, render. Nothing else lives here."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

from webapp.permissions import Capability, policy
from webapp.services.pagination import MAX_ID


def _reject_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # An id past BIGINT overflows the database driver (a 500); no such object can exist, so it is a 404,
    # in either face.
    if values and any(isinstance(value, int) and value > MAX_ID for value in values.values()):
        raise NotFound()


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to ``app``."""
    from webapp.blueprints.api import bp as api_bp
    from webapp.blueprints.auth import bp as auth_bp
    from webapp.blueprints.dashboard import bp as dashboard_bp
    from webapp.blueprints.docs import bp as docs_bp
    from webapp.blueprints.ops import bp as ops_bp
    from webapp.blueprints.portal import bp as portal_bp
    from webapp.blueprints.preferences import bp as preferences_bp
    from webapp.extensions import csrf

    # The JSON face authenticates with bearer tokens, never cookies, so there is no CSRF to forge.
    app.url_value_preprocessor(_reject_impossible_ids)
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp, url_prefix="/dashboard")
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(docs_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(preferences_bp, url_prefix="/dashboard")
    app.register_blueprint(portal_bp)

    from flask import redirect, url_for
    from flask_login import current_user

    @app.get("/")
    @policy(Capability.PUBLIC)
    def index() -> ResponseReturnValue:
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.home"))
        return redirect(url_for("auth.login"))
