"""What the OpenAPI document says about the portal and payments endpoints (merged into ``OPERATIONS``)."""

from __future__ import annotations

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
from webapp.blueprints.api.schemas import ErrorResponse, MessageResponse
from webapp.openapi import OPERATIONS, PAGINATION, Doc, Param
from webapp.services.payments import STATES

_PORTAL = "Captive portal (public)"
_PAYMENTS = "Payments"
_ROUTER = Param("router", {"type": "integer", "minimum": 1}, "Only this router's (404 if not yours).")
_PROVIDER = {409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse}

PAYMENT_OPERATIONS: dict[str, Doc] = {
    "api.portal_packages": Doc(
        "A hotspot's packages for sale", _PORTAL, {200: PortalInfo}, auth=None, extra_errors=(404,),
        description="Public: what the portal at `portal_url` sells, with prices in the owner's currency.",
    ),
    "api.portal_purchase": Doc(
        "Buy a package with M-Pesa (STK Push)", _PORTAL, {202: PurchaseStatus, 429: ErrorResponse, **_PROVIDER},
        request=PurchaseRequest, auth=None, extra_errors=(404,),
        description="Public. Sends the M-Pesa prompt to `phone` and answers 202 with `id`, `status` (`pending`) "
        "and `status_url`. Rate limited per phone, per device MAC and per client address (429 with "
        "`Retry-After`). 404 for a package not on sale here; 409 with `reason` when the hotspot does not "
        "sell online (portal off, M-Pesa not set up); 502/504 with `reason` when M-Pesa refuses "
        "or cannot be reached.",
    ),
    "api.portal_purchase_status": Doc(
        "How a purchase is going", _PORTAL, {200: PurchaseStatus}, auth=None,
        description="Public (the id is unguessable). `status` is pending|paid|failed|cancelled|expired; once "
        "paid, `voucher` has `code`, `password` and `expires`, and `login_url` is the hotspot's login address.",
    ),
    "api.mpesa_callback": Doc(
        "M-Pesa STK callback (Safaricom calls this)", _PAYMENTS, {200: CallbackAck, 403: ErrorResponse},
        auth=None, extra_errors=(400, 404),
        description="The URL carries the owner's unguessable token (see `callback_url` in the settings); an "
        "optional allow-list restricts source addresses. Everything received is kept; refusals are logged.",
    ),
    "api.sms_delivery": Doc(
        "SMS delivery report (Africa's Talking calls this)", _PAYMENTS, {200: MessageResponse}, auth=None,
        extra_errors=(404,), description="Form-encoded `id`, `status`, `phoneNumber`, `failureReason`.",
    ),
    "api.payment_list": Doc(
        "Your payments", _PAYMENTS, {200: PaymentPage},
        query=(*PAGINATION, _ROUTER,
               Param("status", {"type": "string", "enum": list(STATES)}, "Only payments in this status."),
               Param("phone", {"type": "string"}, "Phone number contains (07… or 2547…)."),
               Param("flagged", {"type": "boolean"}, "Only payments that need a person (wrong amount)."),
               Param("created__gte", {"type": "string", "format": "date-time"}, "Created at or after."),
               Param("created__lt", {"type": "string", "format": "date-time"}, "Created before.")),
        extra_errors=(404,),
    ),
    "api.payment_detail": Doc("One payment, with its raw callbacks and SMS", _PAYMENTS, {200: PaymentDetail}),
    "api.payment_query": Doc(
        "Ask M-Pesa now how a pending payment ended", _PAYMENTS, {200: PaymentDetail, 409: ErrorResponse,
                                                                  **_PROVIDER},
        description="STK Push Query; a final answer settles the payment through the same claim as callbacks.",
    ),
    "api.mpesa_settings": Doc("Your M-Pesa settings", _PAYMENTS, {200: MpesaSettings},
                              description="Secrets are write-only: only `has_…` flags are answered."),
    "api.mpesa_settings_update": Doc(
        "Set your M-Pesa (Daraja) account", _PAYMENTS, {200: MpesaSettings}, request=MpesaSettingsRequest,
        description="`consumer_key`, `consumer_secret` and `passkey` are encrypted at rest; leave them out or "
        "blank to keep the stored ones. `CustomerBuyGoodsOnline` needs `till_number` (sent now or stored): "
        "400 otherwise.",
    ),
    "api.portal_login_page": Doc(
        "Preview the router's portal login page", _PORTAL, {200: LoginPage, 502: ErrorResponse, 504: ErrorResponse},
        description="Reads the hotspot's html-directory from the router; answers the generated `login.html` and the "
        "commands an install runs (`/tool fetch` from RouterDeck, walled-garden entries for RouterDeck's host).",
    ),
    "api.portal_login_page_install": Doc(
        "Install the portal login page on the router", _PORTAL,
        {200: LoginPage, 400: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse},
        description="The router downloads the page from `login_url` into its hotspot directory (the router must "
        "reach RouterDeck: set `PUBLIC_BASE_URL`); its own page is kept for undo. Repeating is harmless.",
    ),
    "api.portal_login_page_uninstall": Doc(
        "Undo: the router's own login page back", _PORTAL,
        {200: MessageResponse, 409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse},
        description="409 when nothing is installed.",
    ),
    "api.portal_settings": Doc("A router's portal settings", _PORTAL, {200: PortalSettings}),
    "api.portal_settings_update": Doc("Change a router's portal", _PORTAL, {200: PortalSettings},
                                      request=PortalSettingsRequest),
}


def register() -> None:
    """Add the portal and payments endpoints to the OpenAPI table (idempotent)."""
    OPERATIONS.update(PAYMENT_OPERATIONS)
