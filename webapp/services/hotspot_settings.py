"""Hotspot preferences: per owner (currency, the time zone sales days are counted in) and per router site."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from webapp.extensions import db
from webapp.models import HotspotSettings, HotspotSite, Router, User
from webapp.services import audit
from webapp.services.errors import Invalid
from webapp.services.routers import get_router

DEFAULT_CURRENCY = "KES"
DEFAULT_TIMEZONE = "Africa/Nairobi"
EXPIRY_ACTIONS = ("remove", "disable")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def owner_settings(user_id: int) -> HotspotSettings:
    """The owner's settings row (defaults when none was saved; not added to the session)."""
    found = db.session.get(HotspotSettings, user_id)
    return found or HotspotSettings(user_id=user_id, currency=DEFAULT_CURRENCY, timezone=DEFAULT_TIMEZONE)


def currency_for(user_id: int) -> str:
    """The currency this owner's prices and sales are in."""
    return owner_settings(user_id).currency or DEFAULT_CURRENCY


def zone_for(user_id: int) -> ZoneInfo:
    """The time zone this owner's sales days and months are counted in."""
    return ZoneInfo(owner_settings(user_id).timezone or DEFAULT_TIMEZONE)


def update_owner_settings(actor: User, data: dict[str, Any], ip_address: str | None = None) -> HotspotSettings:
    """Change the actor's currency and/or time zone.

    :raises Invalid: for an unknown currency code or time zone.
    """
    fields: dict[str, str] = {}
    currency = data.get("currency")
    zone = data.get("timezone")
    if currency is not None:
        currency = str(currency).strip().upper()
        if not _CURRENCY.match(currency):
            fields["currency"] = "Use a three-letter ISO 4217 code such as KES."
    if zone is not None:
        zone = str(zone).strip()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            fields["timezone"] = "Unknown time zone; use a name such as Africa/Nairobi."
    if fields:
        raise Invalid("Invalid settings", fields=fields)
    row = db.session.get(HotspotSettings, actor.team_owner_id)
    if row is None:
        row = HotspotSettings(user_id=actor.team_owner_id, currency=DEFAULT_CURRENCY, timezone=DEFAULT_TIMEZONE)
        db.session.add(row)
    if currency is not None:
        row.currency = currency
    if zone is not None:
        row.timezone = zone
    audit.record(actor, "hotspot.settings", "Hotspot settings changed",
                 details={"currency": row.currency, "timezone": row.timezone}, ip_address=ip_address, commit=False)
    db.session.commit()
    return row


def site_of(router: Router) -> HotspotSite:
    """The router's hotspot site row (defaults when none was saved; not added to the session)."""
    return db.session.get(HotspotSite, router.id) or HotspotSite(router_id=router.id, expiry_action="remove")


def get_site(actor: User, router_id: int) -> HotspotSite:
    """The hotspot settings of the actor's router.

    :raises NotFound: when the router is not the actor's.
    """
    return site_of(get_router(actor, router_id))


def stored_site(router: Router) -> HotspotSite:
    """The router's hotspot site row, created in the session when missing."""
    site = db.session.get(HotspotSite, router.id)
    if site is None:
        site = HotspotSite(router_id=router.id, expiry_action="remove")
        db.session.add(site)
    return site


def update_site(actor: User, router_id: int, data: dict[str, Any], ip_address: str | None = None) -> HotspotSite:
    """Change what vouchers print (hotspot name, login DNS name) and what expiry does on the router.

    :raises NotFound: when the router is not the actor's.
    :raises Invalid: for a malformed DNS name or unknown expiry action.
    """
    router = get_router(actor, router_id)
    fields: dict[str, str] = {}
    name = data.get("display_name")
    dns = data.get("dns_name")
    action = data.get("expiry_action")
    if name is not None:
        name = str(name).strip()
        if len(name) > 100:
            fields["display_name"] = "At most 100 characters."
    if dns is not None:
        dns = str(dns).strip().rstrip(".")
        if dns and not _DNS_NAME.match(dns):
            fields["dns_name"] = "A host name such as hotspot.example.net."
    if action is not None and action not in EXPIRY_ACTIONS:
        fields["expiry_action"] = "remove or disable"
    if fields:
        raise Invalid("Invalid hotspot settings", fields=fields)
    site = stored_site(router)
    if name is not None:
        site.display_name = name or None
    if dns is not None:
        site.dns_name = dns or None
    if action is not None:
        site.expiry_action = action
    audit.record(actor, "hotspot.site", f"Hotspot settings of {router.name} changed", router_id=router.id,
                 details={"display_name": site.display_name, "dns_name": site.dns_name,
                          "expiry_action": site.expiry_action}, ip_address=ip_address, commit=False)
    db.session.commit()
    return site


def money(amount: Decimal | int, currency: str) -> str:
    """``KES 1,500.00``: the way amounts are shown to people."""
    return f"{currency} {Decimal(amount).quantize(Decimal('0.01')):,.2f}"
