"""Owner pages for self-service sales: payments (list, detail, query now), M-Pesa settings, each router's portal."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.dashboard.blueprint import bp
from webapp.extensions import db
from webapp.permissions import Capability, policy
from webapp.services import hotspot_pages, payments, portal
from webapp.services.daraja import DarajaError
from webapp.services.errors import Conflict, Invalid, RouterError
from webapp.services.pagination import page_numbers
from webapp.services.portal_links import external_url, portal_url
from webapp.services.routers import get_router, list_routers


def _date(name: str) -> datetime | None:
    raw = request.args.get(name) or ""
    try:
        return datetime.combine(date.fromisoformat(raw), time()) if raw else None
    except ValueError:
        return None


@bp.get("/payments")
@policy(Capability.SALES)
def payments_page():  # type: ignore[no-untyped-def]
    router_arg = request.args.get("router") or ""
    router_id = int(router_arg) if router_arg.isdigit() else None
    if router_id is not None:
        get_router(current_user, router_id)
    filters = payments.PaymentFilters(status=request.args.get("status") or None, router_id=router_id,
                                      phone=request.args.get("phone") or None, since=_date("from"),
                                      until=_date("to"), flagged=request.args.get("flagged") == "1")
    if filters.status and filters.status not in payments.STATES:
        filters.status = None
    page, size = page_numbers(request.args.get("page"), "50")
    found = payments.list_payments(current_user, filters, page, size)
    return render_template("payments/list.html", page=found, filters=filters, states=payments.STATES,
                           routers=list(db.session.scalars(list_routers(current_user))), args=request.args)


@bp.get("/payments/<int:payment_id>")
@policy(Capability.SALES)
def payment_page(payment_id: int):  # type: ignore[no-untyped-def]
    payment = payments.get_payment(current_user, payment_id)
    return render_template("payments/detail.html", payment=payment, events=payments.events_of(payment))


@bp.post("/payments/<int:payment_id>/query")
@policy(Capability.SALES)
def payment_query_now(payment_id: int):  # type: ignore[no-untyped-def]
    payments.get_payment(current_user, payment_id)  # another team's payment is a 404, not a flash
    try:
        payment = payments.query_now(current_user, payment_id, request.remote_addr)
    except (DarajaError, Conflict, payments.PaymentsUnavailable) as exc:
        flash(exc.message, "error")
    else:
        flash(_("M-Pesa says: %(status)s.", status=payment.status), "success")
    return redirect(url_for("dashboard.payment_page", payment_id=payment_id), code=303)


def _settings_context(errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> dict[str, Any]:
    account = payments.account_of(payments.owner_id(current_user))
    view = payments.settings_view(account)
    view.update(values or {})
    callback = external_url("api.mpesa_callback", token=account.callback_token) if account else ""
    return {"settings": view, "errors": errors or {}, "callback_url": callback}


@bp.get("/payments/settings")
@policy(Capability.BILLING)
def payment_settings_page():  # type: ignore[no-untyped-def]
    return render_template("payments/settings.html", **_settings_context())


@bp.post("/payments/settings")
@policy(Capability.BILLING)
def payment_settings_save():  # type: ignore[no-untyped-def]
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in
                            ("consumer_key", "consumer_secret", "passkey", "shortcode", "till_number",
                             "transaction_type", "callback_allow_ips")}
    data["sms_receipts"] = form.get("sms_receipts") == "on"
    try:
        payments.update_settings(current_user, data, request.remote_addr)
    except Invalid as exc:
        shown = {k: v for k, v in data.items() if k not in ("consumer_key", "consumer_secret", "passkey")}
        return render_template("payments/settings.html", **_settings_context(exc.fields, shown)), 422
    flash(_("M-Pesa settings saved."), "success")
    return redirect(url_for("dashboard.payment_settings_page"), code=303)


def _portal_context(router_id: int, errors: dict[str, str] | None = None) -> dict[str, Any]:
    site = portal.portal_site(current_user, router_id)
    counts = portal.pool_counts(router_id)
    packages = [(package, counts.get(package.id, 0)) for package in portal.for_sale(site)]
    return {"site": site, "router": site.router, "portal_url": portal_url(site), "packages": packages,
            "errors": errors or {}}


@bp.get("/routers/<int:router_id>/portal")
@policy(Capability.READ)
def portal_page(router_id: int):  # type: ignore[no-untyped-def]
    return render_template("payments/portal.html", **_portal_context(router_id))


@bp.post("/routers/<int:router_id>/portal")
@policy(Capability.OPERATE)
def portal_save(router_id: int):  # type: ignore[no-untyped-def]
    form = request.form
    data: dict[str, Any] = {"enabled": form.get("enabled") == "on"}
    for name in ("title", "primary_color", "accent_color", "logo_url", "support_phone"):
        data[name] = form.get(name, "")
    for name in ("pool_size", "silence_hours"):
        raw = form.get(name, "")
        data[name] = int(raw) if raw.isdigit() else -1
    try:
        portal.update_site(current_user, router_id, data, request.remote_addr)
    except Invalid as exc:
        return render_template("payments/portal.html", **_portal_context(router_id, exc.fields)), 422
    portal.replenish_pool(router_id)
    flash(_("Portal saved."), "success")
    return redirect(url_for("dashboard.portal_page", router_id=router_id), code=303)


def _login_urls(router_id: int) -> tuple[str, str]:
    site = portal.portal_site(current_user, router_id)
    return external_url("portal.hotspot_login_html", slug=site.slug), portal_url(site)


@bp.get("/routers/<int:router_id>/portal/login-page")
@policy(Capability.READ)
def portal_login_page(router_id: int):  # type: ignore[no-untyped-def]
    try:
        plan = hotspot_pages.plan(current_user, router_id, *_login_urls(router_id))
    except RouterError as exc:
        return render_template("payments/_login_page.html", plan=None, router_id=router_id, error=exc.message)
    return render_template("payments/_login_page.html", plan=plan, router_id=router_id, error=None)


@bp.post("/routers/<int:router_id>/portal/login-page")
@policy(Capability.OPERATE)
def portal_login_page_install(router_id: int):  # type: ignore[no-untyped-def]
    try:
        hotspot_pages.install(current_user, router_id, *_login_urls(router_id), ip_address=request.remote_addr)
    except RouterError as exc:
        flash(_("The router could not install the login page: %(reason)s", reason=exc.message), "error")
    else:
        flash(_("The router now sends its hotspot's devices to the portal."), "success")
    return redirect(url_for("dashboard.portal_page", router_id=router_id), code=303)


@bp.post("/routers/<int:router_id>/portal/login-page/undo")
@policy(Capability.OPERATE)
def portal_login_page_uninstall(router_id: int):  # type: ignore[no-untyped-def]
    try:
        hotspot_pages.uninstall(current_user, router_id, request.remote_addr)
    except (RouterError, Conflict) as exc:
        flash(exc.message, "error")
    else:
        flash(_("The router's own login page is back."), "success")
    return redirect(url_for("dashboard.portal_page", router_id=router_id), code=303)
