"""Each selling router's public portal: its slug and look, the voucher pool, and what follows a payment.

Activation never waits for the router: a paid payment takes a voucher that is already on the router from the
pool (see :func:`webapp.services.payments.apply_result`) and the customer's browser logs in through the
hotspot's ``$(link-login-only)``. After the commit, :func:`after_paid` (on a worker thread) also logs the
device in from RouterDeck when the router is reachable, pushes a voucher made on the spot when the pool was
empty, sends the SMS receipt and tops the pool up again. Each of those steps is idempotent.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import MpesaAccount, Package, Payment, PoolVoucher, PortalSite, Router, User, Voucher, VoucherBatch
from webapp.services import audit, gateway, sms, vouchers
from webapp.services.errors import Invalid, NotFound, RouterRejected, RouterTimeout, RouterUnreachable
from webapp.services.hotspot_settings import currency_for, site_of
from webapp.services.packages import duration_display
from webapp.services.routers import get_router
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
_OFFLINE = (RouterUnreachable, RouterTimeout, RouterRejected)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SLUG_CLEAN = re.compile(r"[^a-z0-9]+")
MAX_POOL = 20

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending: list[Future[Any]] = []
# One top-up per router at a time in this process (two follow-ups finishing together must not both top up).
_pool_locks: dict[int, threading.Lock] = {}


def _slug_for(router: Router) -> str:
    base = _SLUG_CLEAN.sub("-", router.name.lower()).strip("-")[:40] or "hotspot"
    return f"{base}-{secrets.token_hex(3)}"


def site_for(router: Router) -> PortalSite:
    """The router's portal row, created (with a fresh public slug) on first use; commits when created."""
    site: PortalSite | None = db.session.get(PortalSite, router.id)
    if site is None:
        site = PortalSite(router_id=router.id, slug=_slug_for(router), enabled=True, title="",
                          primary_color="#1e7b34", accent_color="#f4b400", logo_url="", support_phone="", pool_size=3,
                          silence_hours=6)
        db.session.add(site)
        db.session.commit()
    return site


def site_by_slug(slug: str) -> PortalSite:
    """The portal a public URL names.

    :raises NotFound: unknown slug.
    """
    site: PortalSite | None = db.session.scalar(select(PortalSite).where(PortalSite.slug == slug)) if slug else None
    if site is None:
        raise NotFound("No such hotspot")
    return site


def portal_site(actor: User, router_id: int) -> PortalSite:
    """The actor's router's portal settings.

    :raises NotFound: not the actor's router.
    """
    return site_for(get_router(actor, router_id))


def title_of(site: PortalSite) -> str:
    """The name customers see."""
    return site.title or site_of(site.router).display_name or site.router.name


def for_sale(site: PortalSite) -> list[Package]:
    """The router's active packages, cheapest first."""
    return list(db.session.scalars(select(Package).where(Package.router_id == site.router_id,
                                                         Package.is_active.is_(True))
                                   .order_by(Package.price, Package.id)))


def package_view(package: Package) -> dict[str, Any]:
    """What the portal shows of a package (KES price, speeds, duration, data cap)."""
    return {
        "id": package.id,
        "name": package.name,
        "price": f"{package.price:.2f}",
        "duration_hours": package.duration_hours,
        "duration_minutes": package.duration_minutes,
        "duration_display": duration_display(package.duration_minutes, package.package_type),
        "download_speed_mbps": package.download_speed_mbps,
        "upload_speed_mbps": package.upload_speed_mbps,
        "data_limit_mb": package.data_limit_mb,
        "shared_users": package.shared_users,
    }


_EDITABLE = ("enabled", "title", "primary_color", "accent_color", "logo_url", "support_phone", "pool_size",
             "silence_hours")


def update_site(actor: User, router_id: int, data: dict[str, Any], ip_address: str | None = None) -> PortalSite:
    """Change the portal's look and behaviour.

    :raises NotFound: not the actor's router.
    :raises Invalid: per field.
    """
    site = portal_site(actor, router_id)
    fields: dict[str, str] = {}
    changed: dict[str, Any] = {}
    for name in _EDITABLE:
        if name not in data or data[name] is None:
            continue
        value = data[name]
        if name == "enabled":
            if not isinstance(value, bool):
                fields[name] = "true or false."
                continue
        elif name in ("primary_color", "accent_color"):
            if not isinstance(value, str) or not _COLOR.match(value):
                fields[name] = "A colour such as #1e7b34."
                continue
        elif name == "logo_url":
            if not isinstance(value, str) or len(value) > 500 or (value and not value.startswith("https://")):
                fields[name] = "An https:// address of an image, or empty."
                continue
        elif name == "support_phone":
            if not isinstance(value, str) or not re.match(r"^[0-9+ ]{0,20}$", value):
                fields[name] = "Up to 20 digits, spaces or +."
                continue
        elif name == "title":
            if not isinstance(value, str) or len(value) > 100:
                fields[name] = "Up to 100 characters."
                continue
            value = value.strip()
        elif name in ("pool_size", "silence_hours"):
            limit = MAX_POOL if name == "pool_size" else 168
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
                fields[name] = f"A whole number from 0 to {limit}."
                continue
        setattr(site, name, value)
        changed[name] = value
    if fields:
        db.session.rollback()
        raise Invalid("Invalid portal settings: " + "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    audit.record(actor, "portal.settings", f"Portal of {site.router.name} changed", router_id=site.router_id,
                 details=changed, ip_address=ip_address, commit=False)
    db.session.commit()
    return site


# -- the voucher pool ----------------------------------------------------------------------------------------


def pool_counts(router_id: int) -> dict[int, int]:
    """Assignable pool vouchers (on the router, unsold) per package."""
    rows = db.session.execute(
        select(PoolVoucher.package_id, func.count(PoolVoucher.voucher_id))
        .join(Voucher, Voucher.id == PoolVoucher.voucher_id)
        .where(PoolVoucher.router_id == router_id, PoolVoucher.state == "available", Voucher.state == "unused",
               Voucher.on_router.is_(True))
        .group_by(PoolVoucher.package_id))
    return {package_id: count for package_id, count in rows}


def _create_pool_rows(site: PortalSite, now: datetime) -> int:
    """Make voucher rows (not yet pushed) so each active package has ``pool_size`` waiting; commits."""
    created = 0
    currency = currency_for(site.router.user_id)
    _retire_stale(site, now)
    for package in for_sale(site):
        waiting = db.session.scalar(
            select(func.count(PoolVoucher.voucher_id)).join(Voucher, Voucher.id == PoolVoucher.voucher_id)
            .where(PoolVoucher.router_id == site.router_id, PoolVoucher.package_id == package.id,
                   PoolVoucher.state == "available", Voucher.state == "unused")) or 0
        missing = site.pool_size - waiting
        if missing <= 0:
            continue
        terms = vouchers.issued_terms(package, currency)
        batch = VoucherBatch(router_id=site.router_id, package_id=package.id, created_by_id=None, count=missing,
                             code_length=8, mode="same", prefix="", push_state="pending", created_at=now,
                             shared_users=package.shared_users, validity_days=None, **terms)
        db.session.add(batch)
        db.session.flush()
        taken = set(db.session.scalars(select(Voucher.code).where(Voucher.router_id == site.router_id)))
        for _ in range(missing):
            code = vouchers.random_code(8)
            while code in taken:
                code = vouchers.random_code(8)
            taken.add(code)
            voucher = Voucher(router_id=site.router_id, batch_id=batch.id, package_id=package.id, code=code,
                              password=code, state="unused", on_router=False, created_at=now, **terms)
            db.session.add(voucher)
            db.session.flush()
            db.session.add(PoolVoucher(voucher_id=voucher.id, router_id=site.router_id, package_id=package.id,
                                       state="available", created_at=now))
            created += 1
    db.session.commit()
    return created


def _retire_stale(site: PortalSite, now: datetime) -> None:
    """Pool vouchers issued on terms no longer sold (a price or duration change, an inactive package) are
    revoked: nobody holds them, and the next hotspot sync removes their router users."""
    current = {package.id: package for package in for_sale(site)}
    waiting = db.session.execute(
        select(PoolVoucher, Voucher).join(Voucher, Voucher.id == PoolVoucher.voucher_id)
        .where(PoolVoucher.router_id == site.router_id, PoolVoucher.state == "available"))
    for pooled, voucher in waiting:
        package = current.get(pooled.package_id)
        if voucher.state != "unused" or package is None or voucher.price != package.price \
                or voucher.duration_minutes != package.duration_minutes:
            pooled.state = "retired"
            if voucher.state == "unused":
                voucher.state, voucher.ended_at = "revoked", now


def replenish_pool(router_id: int, now: datetime | None = None) -> int:
    """Top up the router's pool and push what waits; return how many vouchers were created.

    Rows are created (and committed) before anything is pushed, so a crash leaves rows the next run or the
    hotspot sync pushes, never router users RouterDeck does not know.
    """
    moment = now or utcnow()
    site = db.session.get(PortalSite, router_id)
    if site is None or not site.enabled or site.pool_size <= 0:
        return 0
    with _executor_lock:
        lock = _pool_locks.setdefault(router_id, threading.Lock())
    with lock:
        db.session.rollback()  # read the counts fresh, after whoever held the lock committed
        site = db.session.get(PortalSite, router_id)
        created = _create_pool_rows(site, moment) if site is not None else 0
    router = db.session.get(Router, router_id)
    if router is None:
        return created
    try:
        with gateway.connect(router) as client:
            vouchers.push_pending(client, router, moment)
    except _OFFLINE as exc:
        db.session.rollback()
        log.info("pool of router %s not pushed now: %s", router_id, exc.message)
        return created
    db.session.commit()
    return created


# -- after a payment -----------------------------------------------------------------------------------------


def _executor_for() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="portal-follow-up")
        return _executor


def after_paid(payment_id: int) -> None:
    """Run the follow-up of a paid payment: inline when ``PORTAL_FOLLOW_UP`` is ``inline``, else on a worker."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("PORTAL_FOLLOW_UP") == "inline":
        follow_up(payment_id)
        return

    def run() -> None:
        with app.app_context():
            try:
                follow_up(payment_id)
            except Exception:
                log.exception("follow-up of payment %s failed", payment_id)

    future = _executor_for().submit(run)
    with _executor_lock:
        _pending[:] = [f for f in _pending if not f.done()] + [future]


def wait_for_follow_ups(timeout: float = 30.0) -> None:
    """Block until queued follow-ups finished (tests, shutdown)."""
    with _executor_lock:
        waiting = list(_pending)
    for future in waiting:
        future.result(timeout)


def follow_up(payment_id: int) -> None:
    """Log the device in (when reachable), push an on-the-spot voucher, send the SMS, top up the pool."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != "paid" or payment.voucher_id is None:
        return
    router = payment.router
    voucher = db.session.get(Voucher, payment.voucher_id)
    assert voucher is not None
    outcome = _login_on_router(router, payment, voucher)
    refreshed = db.session.get(Payment, payment_id)
    assert refreshed is not None
    refreshed.router_login = outcome[:255]
    db.session.commit()
    _send_receipt(refreshed, voucher)
    replenish_pool(router.id)


def _login_on_router(router: Router, payment: Payment, voucher: Voucher) -> str:
    moment = utcnow()
    try:
        with gateway.connect(router, timeout=min(5.0, float(current_app.config["ROUTER_TIMEOUT"]))) as client:
            if not voucher.on_router:
                vouchers.push_pending(client, router, moment)
            if not (payment.mac and payment.ip):
                db.session.commit()
                return "pushed; the customer's browser logs in" if voucher.on_router else "not on the router yet"
            active = client.print(vouchers.ACTIVE_PATH, proplist=["user", "mac-address"])
            if any(row.get("user") == voucher.code for row in active):
                db.session.commit()
                return "already logged in"
            client.call("ip/hotspot/active/login", {"user": voucher.code, "password": voucher.password,
                                                    "mac-address": payment.mac, "ip": payment.ip})
    except _OFFLINE as exc:
        db.session.rollback()
        return f"router not reached ({exc.message}); the customer's browser logs in"
    db.session.commit()
    return "logged in by RouterDeck"


def receipt_text(payment: Payment, voucher: Voucher, hotspot: str) -> str:
    """The SMS a customer gets: code, what it buys and until when (Nairobi time)."""
    from zoneinfo import ZoneInfo

    until = voucher.expires_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Africa/Nairobi")) \
        if voucher.expires_at else None
    expiry = until.strftime("%d/%m %H:%M") if until else "-"
    receipt = f" M-Pesa {payment.mpesa_receipt}." if payment.mpesa_receipt else ""
    return (f"{hotspot}: {payment.package_name} {payment.currency} {payment.amount:.2f}. "
            f"Code {voucher.code}, valid until {expiry}.{receipt}")


def _send_receipt(payment: Payment, voucher: Voucher) -> None:
    account = db.session.get(MpesaAccount, payment.user_id)
    if account is not None and not account.sms_receipts:
        return
    site = db.session.get(PortalSite, payment.router_id)
    hotspot = title_of(site) if site else payment.router.name
    sms.send_message(payment.user_id, payment.phone, receipt_text(payment, voucher, hotspot[:30]), payment.id)


def shutdown() -> None:
    """Stop the follow-up workers (tests and process exit)."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)
