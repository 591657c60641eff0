"""The dashboard's home page (fleet and sales at a glance) and the API key page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.blueprints.dashboard.blueprint import bp
from webapp.blueprints.query import parse_id
from webapp.forms import ApiKeyForm
from webapp.permissions import Capability, policy
from webapp.security import client_address
from webapp.services import accounts, fleet_view, groups
from webapp.services.errors import ServiceError

FLEET_PER_PAGE = 50


def _fleet_context() -> dict[str, Any]:
    """The overview's fleet table for the query string: q, status, group, sort (``-`` = descending), page."""
    raw_sort = request.args.get("sort") or "name"
    descending = raw_sort.startswith("-")
    sort = raw_sort.lstrip("-") if raw_sort.lstrip("-") in fleet_view.SORTS else "name"
    search = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status") or ""
    status = status if status in fleet_view.STATUSES else ""
    group = parse_id(request.args.get("group"))
    query: dict[str, Any] = {"q": search, "status": status, "group": group, "sort": ("-" if descending else "") + sort}
    table = fleet_view.fleet_page(
        current_user, search=search or None, status=status or None, group_id=group,
        sort=sort, descending=descending, page=parse_id(request.args.get("page")) or 1, page_size=FLEET_PER_PAGE,
    )
    return {"table": table, "query": {k: v for k, v in query.items() if v and v != "name"},
            "sort": sort, "descending": descending, "groups": groups.list_groups(current_user)}


@bp.get("/")
@policy(Capability.READ)
def home() -> ResponseReturnValue:
    return render_template("dashboard/home.html", **_fleet_context())


@bp.get("/fleet/rows")
@policy(Capability.READ)
def fleet_rows() -> ResponseReturnValue:
    """The overview's fleet table alone (filters, sorting and pages swap it in place)."""
    return render_template("dashboard/_fleet.html", **_fleet_context())


@bp.get("/api-keys")
@policy(Capability.SELF)
def api_keys() -> ResponseReturnValue:
    return render_template(
        "dashboard/api_keys.html", keys=accounts.list_api_keys(current_user), form=ApiKeyForm(), created=None
    )


@bp.post("/api-keys")
@policy(Capability.SELF)
def api_key_create() -> ResponseReturnValue:
    form = ApiKeyForm()
    created = None
    status = 200
    if form.validate_on_submit():
        try:
            created = accounts.create_api_key(current_user, form.name.data or "", ip_address=client_address())
        except ServiceError as exc:
            form.name.errors = [*form.name.errors, exc.fields.get("name", exc.message)]
            status = 422
        else:
            form = ApiKeyForm(formdata=None)
    else:
        status = 422
    keys = accounts.list_api_keys(current_user)
    return render_template("dashboard/_api_keys.html", keys=keys, form=form, created=created), status


@bp.post("/api-keys/<int:key_id>/revoke")
@policy(Capability.SELF)
def api_key_revoke(key_id: int) -> ResponseReturnValue:
    accounts.revoke_api_key(current_user, key_id, ip_address=client_address())
    keys = accounts.list_api_keys(current_user)
    return render_template("dashboard/_api_keys.html", keys=keys, form=ApiKeyForm(formdata=None), created=None)
