"""Addresses and views the public side of self-service sales needs in every face (portal pages, JSON, CLI, demo):
absolute URLs others can reach, the customer's view of a purchase, and which hotspot login URLs are safe."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for

from webapp.models import Payment, PortalSite
from webapp.services.hotspot_settings import site_of
from webapp.timeutil import isoformat_z

STATUS_MESSAGES = {
    "pending": "Check your phone and enter your M-Pesa PIN",
    "paid": "Paid: you are online",
    "failed": "The payment did not go through",
    "cancelled": "You cancelled the M-Pesa prompt",
    "expired": "The M-Pesa prompt timed out",
}


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL others (Safaricom, routers, customers) can reach: ``PUBLIC_BASE_URL`` when set."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, **values, _external=True)


def portal_url(site: PortalSite) -> str:
    """The public portal address of a selling router."""
    return external_url("portal.home", slug=site.slug)



def safe_login_url(raw: str | None, site: PortalSite | None = None) -> str:
    """``$(link-login-only)``/``$(link-orig)`` kept only when safe to send a voucher's credentials to.

    A plain http(s) URL with no credentials in it; with ``site``, its host must be the hotspot itself: a private
    address (the hotspot's own) or the hotspot's DNS name, so a crafted portal link cannot collect codes.
    """
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        host = parts.hostname
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return ""
    if site is not None and not _hotspot_host(site, host):
        return ""
    return raw[:500]


def _hotspot_host(site: PortalSite, host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        dns_name = (site_of(site.router).dns_name or "").lower().rstrip(".")
        return bool(dns_name) and host.lower().rstrip(".") == dns_name
    return address.is_private or address.is_loopback


def purchase_out(site: PortalSite, payment: Payment) -> dict[str, Any]:
    """The customer's view of a purchase (the voucher only once paid)."""
    body: dict[str, Any] = {
        "id": payment.public_id,
        "status": payment.status,
        "status_url": external_url("api.portal_purchase_status", slug=site.slug, public_id=payment.public_id),
        "amount": f"{payment.amount:.2f}",
        "currency": payment.currency,
        "package": payment.package_name,
        "message": STATUS_MESSAGES[payment.status] if not payment.flag else
        "The amount paid did not match the price; the hotspot owner will contact you",
        "voucher": None,
        "login_url": None,
    }
    if payment.status == "paid" and payment.voucher is not None:
        voucher = payment.voucher
        body["voucher"] = {"code": voucher.code, "password": voucher.password,
                           "expires": isoformat_z(voucher.expires_at)}
        body["login_url"] = payment.login_url or None
    return body


def sms_delivery_token() -> str:
    """The secret path part Africa's Talking's delivery reports carry (derived from SECRET_KEY)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"sms-delivery-reports", hashlib.sha256).hexdigest()[:32]
