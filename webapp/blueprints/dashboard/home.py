"""The dashboard's home page (fleet and sales at a glance) and the API key page."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.blueprints.dashboard.blueprint import bp
from webapp.forms import ApiKeyForm
from webapp.permissions import Capability, policy
from webapp.security import client_address
from webapp.services import accounts, poller, sales
from webapp.services.errors import ServiceError
from webapp.services.hotspot_settings import money
from webapp.timeutil import utcnow


@bp.get("/")
@policy(Capability.READ)
def home() -> ResponseReturnValue:
    now = utcnow()
    today = sales.report(current_user, period="daily", start=None, end=None, now=now)
    return render_template(
        "dashboard/home.html",
        fleet=poller.fleet_overview(current_user),
        sales_today=today.buckets[-1] if today.buckets else None,
        sales_month=today,
        money=money,
    )


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
