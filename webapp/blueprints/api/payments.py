"""Payments in JSON: the public portal (packages, purchases, status), M-Pesa and SMS callbacks, and the owner's
payments, M-Pesa settings and portal settings."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Response, current_app, request
from flask_jwt_extended import current_user, jwt_required

from webapp.blueprints import query
from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.payments_schemas import (
    CallbackAck,
    LoginPage,
    MpesaSettings,
    MpesaSettingsRequest,
    PaymentDetail,
    PaymentPage,
    PortalInfo,
    PortalSettings,
    PortalSettingsRequest,
    PurchaseRequest,
    PurchaseStatus,
)
from webapp.blueprints.api.presenters import page_out
from webapp.blueprints.api.schemas import MessageResponse
from webapp.errors import error_response
from webapp.extensions import db
from webapp.models import Payment, PortalSite, SmsMessage
from webapp.openapi import ID_SCHEMA, PAGINATION, Doc, ErrorResponse, Param, Tag, documented
from webapp.permissions import Capability, policy
from webapp.services import hotspot_pages, payments, portal, sms
from webapp.services.daraja import DarajaError
from webapp.services.errors import Invalid, ServiceError
from webapp.services.hotspot_settings import currency_for
from webapp.services.pagination import MAX_ID, page_numbers
from webapp.services.phones import masked
from webapp.services.portal_links import external_url, portal_url, purchase_out, safe_login_url, sms_delivery_token
from webapp.services.routers import get_router
from webapp.timeutil import isoformat_z

_PORTAL = Tag("Captive portal", "The public pages customers buy from (no login; ids are unguessable) and each "
              "router's portal settings and login page.")
_PAYMENTS = Tag("Payments", "M-Pesa STK payments, their raw callbacks, the owner's M-Pesa account and the "
                "providers' callbacks.")
_PROVIDER = {409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse}
_ROUTER = Param("router", ID_SCHEMA, "Only this router's (404 if not yours).")



def _client_ip() -> str:
    return request.remote_addr or ""


def _service_error(exc: ServiceError) -> Response:
    extra: dict[str, Any] = {}
    if exc.fields:
        extra["fields"] = exc.fields
    reason = getattr(exc, "reason", None)
    if reason:
        extra["reason"] = reason
    response = error_response(exc.status, exc.message, **extra)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


# -- public portal -------------------------------------------------------------------------------------------


@bp.get("/portal/<slug>/packages/")
@documented(Doc(
        "A hotspot's packages for sale", _PORTAL, {200: PortalInfo}, auth=None, extra_errors=(404,),
        description="Public: what the portal at `portal_url` sells, with prices in the owner's currency.",
    ))
@policy(Capability.PUBLIC)
def portal_packages(slug: str) -> Response:
    site = portal.site_by_slug(slug)
    account = payments.account_of(site.router.user_id)
    currency = currency_for(site.router.user_id)
    return json_ok({
        "title": portal.title_of(site),
        "portal_url": portal_url(site),
        "purchases_url": external_url("api.portal_purchase", slug=site.slug),
        "support_phone": site.support_phone,
        "selling": bool(site.enabled and account is not None and account.configured),
        "packages": [{**portal.package_view(p), "currency": currency} for p in portal.for_sale(site)],
    })


@bp.post("/portal/<slug>/purchases/")
@documented(Doc(
        "Buy a package with M-Pesa (STK Push)", _PORTAL, {202: PurchaseStatus, 429: ErrorResponse, **_PROVIDER},
        request=PurchaseRequest, auth=None, extra_errors=(404,),
        description="Public. Sends the M-Pesa prompt to `phone` and answers 202 with `id`, `status` (`pending`) "
        "and `status_url`. Rate limited per phone, per device MAC and per client address (429 with "
        "`Retry-After`). 404 for a package not on sale here; 409 with `reason` when the hotspot does not "
        "sell online (portal off, M-Pesa not set up); 502/504 with `reason` when M-Pesa refuses "
        "or cannot be reached.",
    ))
@policy(Capability.PUBLIC)
def portal_purchase(slug: str) -> Response:
    site = portal.site_by_slug(slug)
    body = json_body(PurchaseRequest)
    purchase = payments.PurchaseRequest(
        package_id=body.package_id, phone=body.phone, mac=body.mac or "", ip=body.ip or "", client_ip=_client_ip(),
        login_url=safe_login_url(body.link_login_only, site), orig_url=safe_login_url(body.link_orig))
    try:
        payment = payments.start_purchase(
            site, purchase, lambda token: external_url("api.mpesa_callback", token=token))
    except (payments.RateLimited, payments.PaymentsUnavailable, DarajaError) as exc:
        return _service_error(exc)
    answer = purchase_out(site, payment)
    response = json_ok({"id": answer["id"], "status": answer["status"], "status_url": answer["status_url"],
                        "message": answer["message"]}, 202)
    response.headers["Location"] = answer["status_url"]
    return response


@bp.get("/portal/<slug>/purchases/<public_id>/")
@documented(Doc(
        "How a purchase is going", _PORTAL, {200: PurchaseStatus}, auth=None,
        description="Public (the id is unguessable). `status` is pending|paid|failed|cancelled|expired; once "
        "paid, `voucher` has `code`, `password` and `expires`, and `login_url` is the hotspot's login address.",
    ))
@policy(Capability.PUBLIC)
def portal_purchase_status(slug: str, public_id: str) -> Response:
    site = portal.site_by_slug(slug)
    payment = payments.public_payment(site, public_id)
    response = json_ok(purchase_out(site, payment))
    response.headers["Cache-Control"] = "no-store"
    return response


# -- provider callbacks --------------------------------------------------------------------------------------


@bp.post("/payments/mpesa/callback/<token>/")
@documented(Doc(
        "M-Pesa STK callback (Safaricom calls this)", _PAYMENTS, {200: CallbackAck, 403: ErrorResponse},
        auth=None, extra_errors=(400, 404),
        description="The URL carries the owner's unguessable token (see `callback_url` in the settings); an "
        "optional allow-list restricts source addresses. Everything received is kept; refusals are logged.",
    ))
@policy(Capability.PUBLIC)
def mpesa_callback(token: str) -> Response:
    body = request.get_json(silent=True, force=True)
    status, answer = payments.handle_callback(token, body, request.remote_addr)
    return json_ok(answer, status)




@bp.post("/sms/delivery/<token>/")
@documented(Doc(
        "SMS delivery report (Africa's Talking calls this)", _PAYMENTS, {200: MessageResponse}, auth=None,
        extra_errors=(404,), description="Form-encoded `id`, `status`, `phoneNumber`, `failureReason`.",
    ))
@policy(Capability.PUBLIC)
def sms_delivery(token: str) -> Response:
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), sms_delivery_token().encode()):
        current_app.logger.warning("SMS delivery report refused from %s: wrong token", request.remote_addr)
        return error_response(404)
    known = sms.delivery_report({k: str(v) for k, v in request.form.items()})
    return json_ok({"message": "recorded" if known else "unknown message id"})


# -- owners --------------------------------------------------------------------------------------------------


def payment_out(payment: Payment) -> dict[str, Any]:
    message = db.session.query(SmsMessage.status).filter(SmsMessage.payment_id == payment.id).scalar()
    return {
        "id": payment.id,
        "router_id": payment.router_id,
        "package_id": payment.package_id,
        "package_name": payment.package_name,
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
        "phone": payment.phone,
        "mac": payment.mac,
        "ip": payment.ip,
        "status": payment.status,
        "result_code": payment.result_code,
        "result_desc": payment.result_desc,
        "checkout_request_id": payment.checkout_request_id,
        "merchant_request_id": payment.merchant_request_id,
        "mpesa_receipt": payment.mpesa_receipt,
        "paid_amount": f"{payment.paid_amount:.2f}" if payment.paid_amount is not None else None,
        "flag": payment.flag,
        "settled_by": payment.settled_by,
        "voucher_id": payment.voucher_id,
        "voucher_code": payment.voucher.code if payment.voucher is not None else None,
        "sale_id": payment.sale_id,
        "router_login": payment.router_login,
        "sms_status": message,
        "created_at": isoformat_z(payment.created_at),
        "settled_at": isoformat_z(payment.settled_at),
    }


def payment_detail_out(payment: Payment) -> dict[str, Any]:
    message = db.session.query(SmsMessage).filter(SmsMessage.payment_id == payment.id).one_or_none()
    return {
        **payment_out(payment),
        "events": [{"id": e.id, "kind": e.kind, "source_ip": e.source_ip, "note": e.note, "body": e.body,
                    "created_at": isoformat_z(e.created_at)} for e in payments.events_of(payment)],
        "sms": None if message is None else {
            "phone": message.phone, "status": message.status, "provider_status": message.provider_status,
            "message_id": message.message_id, "cost": message.cost, "failure_reason": message.failure_reason,
            "sent_at": isoformat_z(message.created_at)},
    }


def _filters() -> payments.PaymentFilters:
    router = request.args.get("router")
    router_id = None
    if router:
        if not (router.isascii() and router.isdigit()) or int(router) > MAX_ID:
            raise Invalid("router must be an id", fields={"router": "integer"})
        router_id = get_router(current_user, int(router)).id
    flagged = (request.args.get("flagged") or "").lower()
    if flagged not in ("", "true", "false", "1", "0"):
        raise Invalid("flagged must be true or false", fields={"flagged": "true or false"})
    return payments.PaymentFilters(status=request.args.get("status") or None, router_id=router_id,
                                   phone=request.args.get("phone") or None, since=query.moment("created__gte"),
                                   until=query.moment("created__lt"), flagged=flagged in ("true", "1"))


@bp.get("/payments/")
@documented(Doc(
        "Your payments", _PAYMENTS, {200: PaymentPage},
        query=(*PAGINATION, _ROUTER,
               Param("status", {"type": "string", "enum": list(payments.STATES)}, "Only payments in this status."),
               Param("phone", {"type": "string"}, "Phone number contains (07… or 2547…)."),
               Param("flagged", {"type": "boolean"}, "Only payments that need a person (wrong amount)."),
               Param("created__gte", {"type": "string", "format": "date-time"}, "Created at or after."),
               Param("created__lt", {"type": "string", "format": "date-time"}, "Created before.")),
        extra_errors=(404,),
    ))
@jwt_required()
@policy(Capability.SALES)
def payment_list() -> Response:
    page, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    found = payments.list_payments(current_user, _filters(), page, size)
    return json_ok(page_out(found, [payment_out(p) for p in found.items]))


@bp.get("/payments/<int:payment_id>/")
@documented(Doc("One payment, with its raw callbacks and SMS", _PAYMENTS, {200: PaymentDetail}))
@jwt_required()
@policy(Capability.SALES)
def payment_detail(payment_id: int) -> Response:
    return json_ok(payment_detail_out(payments.get_payment(current_user, payment_id)))


@bp.post("/payments/<int:payment_id>/query/")
@documented(Doc(
        "Ask M-Pesa now how a pending payment ended", _PAYMENTS, {200: PaymentDetail, 409: ErrorResponse,
                                                                  **_PROVIDER},
        description="STK Push Query; a final answer settles the payment through the same claim as callbacks.",
    ))
@jwt_required()
@policy(Capability.SALES)
def payment_query(payment_id: int) -> Response:
    try:
        payment = payments.query_now(current_user, payment_id, request.remote_addr)
    except DarajaError as exc:
        return _service_error(exc)
    return json_ok(payment_detail_out(payment))


def settings_out() -> dict[str, Any]:
    account = payments.account_of(payments.owner_id(current_user))
    view = payments.settings_view(account)
    view["callback_url"] = external_url("api.mpesa_callback", token=account.callback_token) if account else ""
    return view


@bp.get("/payments/settings/")
@documented(Doc("Your M-Pesa settings", _PAYMENTS, {200: MpesaSettings},
                              description="Secrets are write-only: only `has_…` flags are answered."))
@jwt_required()
@policy(Capability.BILLING)
def mpesa_settings() -> Response:
    return json_ok(settings_out())


@bp.put("/payments/settings/")
@bp.patch("/payments/settings/")
@documented(Doc(
        "Set your M-Pesa (Daraja) account", _PAYMENTS, {200: MpesaSettings}, request=MpesaSettingsRequest,
        description="`consumer_key`, `consumer_secret` and `passkey` are encrypted at rest; leave them out or "
        "blank to keep the stored ones. `CustomerBuyGoodsOnline` needs `till_number` (sent now or stored): "
        "400 otherwise.",
    ))
@jwt_required()
@policy(Capability.BILLING)
def mpesa_settings_update() -> Response:
    body = json_body(MpesaSettingsRequest)
    payments.update_settings(current_user, body.model_dump(exclude_unset=True), request.remote_addr)
    return json_ok(settings_out())


def portal_settings_out(site: PortalSite) -> dict[str, Any]:
    return {
        "router_id": site.router_id, "slug": site.slug, "portal_url": portal_url(site), "enabled": site.enabled,
        "title": site.title, "primary_color": site.primary_color, "accent_color": site.accent_color,
        "logo_url": site.logo_url, "support_phone": site.support_phone, "pool_size": site.pool_size,
        "silence_hours": site.silence_hours,
        "pool": {str(k): v for k, v in portal.pool_counts(site.router_id).items()},
    }


@bp.get("/routers/<int:router_id>/portal/")
@documented(Doc("A router's portal settings", _PORTAL, {200: PortalSettings}))
@jwt_required()
@policy(Capability.READ)
def portal_settings(router_id: int) -> Response:
    return json_ok(portal_settings_out(portal.portal_site(current_user, router_id)))


@bp.put("/routers/<int:router_id>/portal/")
@bp.patch("/routers/<int:router_id>/portal/")
@documented(Doc("Change a router's portal", _PORTAL, {200: PortalSettings},
                                      request=PortalSettingsRequest))
@jwt_required()
@policy(Capability.OPERATE)
def portal_settings_update(router_id: int) -> Response:
    body = json_body(PortalSettingsRequest)
    site = portal.update_site(current_user, router_id, body.model_dump(exclude_unset=True), request.remote_addr)
    return json_ok(portal_settings_out(site))


def login_page_out(plan: hotspot_pages.InstallPlan) -> dict[str, Any]:
    return {"router_id": plan.router.id, "installed": plan.installed, "html_directory": plan.html_directory,
            "login_url": plan.login_url, "walled_garden_host": plan.host, "commands": plan.commands,
            "html": plan.html}


def _login_urls(site: PortalSite) -> tuple[str, str]:
    return external_url("portal.hotspot_login_html", slug=site.slug), portal_url(site)


@bp.get("/routers/<int:router_id>/portal/login-page/")
@documented(Doc(
        "Preview the router's portal login page", _PORTAL, {200: LoginPage, 502: ErrorResponse, 504: ErrorResponse},
        description="Reads the hotspot's html-directory from the router; answers the generated `login.html` and the "
        "commands an install runs (`/tool fetch` from RouterDeck, walled-garden entries for RouterDeck's host).",
    ))
@jwt_required()
@policy(Capability.READ)
def portal_login_page(router_id: int) -> Response:
    site = portal.portal_site(current_user, router_id)
    return json_ok(login_page_out(hotspot_pages.plan(current_user, router_id, *_login_urls(site))))


@bp.post("/routers/<int:router_id>/portal/login-page/")
@documented(Doc(
        "Install the portal login page on the router", _PORTAL,
        {200: LoginPage, 400: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse},
        description="The router downloads the page from `login_url` into its hotspot directory (the router must "
        "reach RouterDeck: set `PUBLIC_BASE_URL`); its own page is kept for undo. Repeating is harmless.",
    ))
@jwt_required()
@policy(Capability.OPERATE)
def portal_login_page_install(router_id: int) -> Response:
    site = portal.portal_site(current_user, router_id)
    plan = hotspot_pages.install(current_user, router_id, *_login_urls(site), ip_address=request.remote_addr)
    return json_ok(login_page_out(plan))


@bp.delete("/routers/<int:router_id>/portal/login-page/")
@documented(Doc(
        "Undo: the router's own login page back", _PORTAL,
        {200: MessageResponse, 409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse},
        description="409 when nothing is installed.",
    ))
@jwt_required()
@policy(Capability.OPERATE)
def portal_login_page_uninstall(router_id: int) -> Response:
    hotspot_pages.uninstall(current_user, router_id, request.remote_addr)
    return json_ok({"message": "The router's own login page is back; RouterDeck's walled-garden entries are gone"})


def masked_phone(payment: Payment) -> str:
    """The phone as a customer-facing page may show it."""
    return masked(payment.phone)

