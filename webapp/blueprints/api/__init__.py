"""The JSON API of the contract (``../shared/seeds/router-api-contract.txt``), bearer-token authenticated."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from werkzeug.exceptions import NotFound

from webapp.blueprints.api.common import MAX_ID, MAX_PAGE
from webapp.services.errors import Invalid

bp = Blueprint("api", __name__)


@bp.url_value_preprocessor
def _reject_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    # An id past BIGINT overflows the database driver (a 500); no such object can exist, so it is a 404.
    if values and any(isinstance(value, int) and value > MAX_ID for value in values.values()):
        raise NotFound()


@bp.before_request
def _refuse_impossible_pages() -> None:
    # page_numbers() accepts any positive page; a huge one overflowed the driver's OFFSET (a 500).
    try:
        page = int(request.args.get("page") or 0)
    except ValueError:
        return  # not a number: page_numbers() answers that with its own 400
    if page > MAX_PAGE:
        raise Invalid(f"page must be at most {MAX_PAGE}", fields={"page": f"must be <= {MAX_PAGE}"})

from webapp.blueprints.api import hotspot, monitoring, routers, users  # noqa: E402,F401  (routes register on import)
