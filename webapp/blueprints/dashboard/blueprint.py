"""The dashboard's blueprint object: every page needs a logged-in user; the page modules attach their routes."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("dashboard", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    """Every dashboard page needs a logged-in user."""
