"""The JSON API's blueprint object; the view modules attach their routes to it."""

from __future__ import annotations

from flask import Blueprint, request

from webapp.services.errors import Invalid
from webapp.services.pagination import MAX_PAGE

bp = Blueprint("api", __name__)


@bp.before_request
def _refuse_impossible_pages() -> None:
    # page_numbers() accepts any positive page; a huge one overflowed the driver's OFFSET (a 500).
    try:
        page = int(request.args.get("page") or 0)
    except ValueError:
        return  # not a number: page_numbers() answers that with its own 400
    if page > MAX_PAGE:
        raise Invalid(f"page must be at most {MAX_PAGE}", fields={"page": f"must be <= {MAX_PAGE}"})
