"""Blueprints: parse input, call one service, render. Nothing else lives here."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Attach every blueprint to ``app``."""
    from webapp.blueprints.api import bp as api_bp
    from webapp.blueprints.auth import bp as auth_bp
    from webapp.blueprints.dashboard import bp as dashboard_bp
    from webapp.blueprints.docs import bp as docs_bp
    from webapp.extensions import csrf

    # The JSON face authenticates with bearer tokens, never cookies, so there is no CSRF to forge.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp, url_prefix="/dashboard")
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(docs_bp)

    from flask import redirect, url_for
    from flask_login import current_user

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.home"))
        return redirect(url_for("auth.login"))
