"""The demo's selling router: packages, an M-Pesa account on the Daraja simulator, a portal with a voucher pool."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Package, PortalSite, Router, User
from webapp.services import packages, payments, portal
from webapp.services.errors import ServiceError

#: What the demo hotspot sells (name, hours, KES).
DEMO_PACKAGES = (("1 Hour", 1, "20.00"), ("3 Hours", 3, "50.00"), ("24 Hours", 24, "100.00"))


def prepare_shop(user: User, router_name: str, *, consumer_key: str, consumer_secret: str, passkey: str,
                 shortcode: str) -> PortalSite:
    """Make ``router_name`` a selling router of ``user`` (idempotent): packages, M-Pesa settings, portal, pool.

    :raises LookupError: when the user has no router of that name.
    """
    router = db.session.scalar(select(Router).where(Router.user_id == user.id, Router.name == router_name))
    if router is None:
        raise LookupError(router_name)
    existing = set(db.session.scalars(select(Package.name).where(Package.router_id == router.id)))
    for name, hours, price in DEMO_PACKAGES:
        if name in existing:
            continue
        try:
            packages.create_package(user, router.id, {
                "name": name, "package_type": "hourly", "duration_hours": hours, "price": price,
                "download_speed_mbps": 5 if hours < 24 else 10, "upload_speed_mbps": 2,
                "description": f"{hours} hour{'s' if hours > 1 else ''} of WiFi"})
        except ServiceError:
            continue  # a package rule changed under the demo: the others still sell
    payments.update_settings(user, {"consumer_key": consumer_key, "consumer_secret": consumer_secret,
                                    "passkey": passkey, "shortcode": shortcode,
                                    "transaction_type": "CustomerPayBillOnline"})
    site = portal.site_for(router)
    site.title = site.title or "Kisumu WiFi"
    site.support_phone = site.support_phone or "0700 000 000"
    db.session.commit()
    portal.replenish_pool(router.id)
    return site
