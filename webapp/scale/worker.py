"""The Celery entry point: ``celery -A webapp.scale.worker worker -Q payments,routers,monitoring``."""

from __future__ import annotations

from webapp import create_app

flask_app = create_app()
if "celery" not in flask_app.extensions:
    raise RuntimeError("Celery workers need BROKER_URL (e.g. FLASK_BROKER_URL=redis://127.0.0.1:6379/0)")
celery = flask_app.extensions["celery"]
