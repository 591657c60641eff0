"""The JSON API of the contract (``../shared/seeds/router-api-contract.txt``), bearer-token authenticated."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.blueprints.api import hotspot, routers, users  # noqa: E402,F401  (routes register on import)
