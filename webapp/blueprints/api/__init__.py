"""The JSON API of the contract (``../shared/seeds/router-api-contract.txt``), bearer-token authenticated."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from werkzeug.exceptions import NotFound

from webapp.blueprints.api.common import MAX_ID

bp = Blueprint("api", __name__)


@bp.url_value_preprocessor
def _reject_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # An id past BIGINT overflows the database driver (a 500); no such object can exist, so it is a 404.
    if values and any(isinstance(value, int) and value > MAX_ID for value in values.values()):
        raise NotFound()

from webapp.blueprints.api import hotspot, monitoring, routers, users  # noqa: E402,F401  (routes register on import)
