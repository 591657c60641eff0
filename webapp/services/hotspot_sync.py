"""The hotspot sync: retry pending pushes, notice first use (activation + sale), enforce expiry, clean up.

RouterDeck owns expiry: a voucher expires its frozen ``duration_minutes`` of wall-clock time after its activation,
whatever the router's clock says. Activation is derived from the router's ``uptime`` counter (a duration, the same on
every RouterOS version) and RouterDeck's own ``now`` — router dates are never parsed, so their format (which
changed in 7.10) and the router's time zone do not matter. ``now`` is always passed in, so callers (the
dashboard, the poller, tests) decide what time it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from routeros import errors as ros
from routeros.values import Row, parse_duration
from webapp import jobs
from webapp.extensions import db
from webapp.models import Job, Router, Sale, User, Voucher
from webapp.services import audit, gateway, packages, vouchers
from webapp.services.errors import NotFound, RouterRejected, RouterTimeout, RouterUnreachable
from webapp.services.hotspot_settings import stored_site
from webapp.services.routers import get_router
from webapp.timeutil import utcnow

ACTIVE_PATH = vouchers.ACTIVE_PATH


@dataclass
class SyncReport:
    """What one sync of a router did."""

    router: Router
    activated: list[Voucher] = field(default_factory=list)
    expired: list[Voucher] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)
    cleaned: int = 0
    pushed_packages: int = 0
    pushed_vouchers: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.activated or self.expired or self.cleaned or self.pushed_packages or self.pushed_vouchers)


@dataclass
class Session:
    """One logged-in hotspot client."""

    id: str
    user: str
    address: str
    mac_address: str
    uptime_seconds: int
    bytes_in: int
    bytes_out: int
    voucher: Voucher | None


def _seconds(text: str | None) -> int:
    try:
        return int(parse_duration(text or "0s"))
    except ros.BadValue:
        return 0


def _count(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _used(row: Row | None, in_session: bool) -> bool:
    if in_session:
        return True
    if row is None:
        return False
    return _seconds(row.get("uptime")) > 0 or _count(row.get("bytes-in")) + _count(row.get("bytes-out")) > 0


def _expire_due(router: Router, now: datetime, report: SyncReport) -> None:
    due = db.session.scalars(select(Voucher).where(Voucher.router_id == router.id, Voucher.state == "active",
                                                   Voucher.expires_at <= now))
    for voucher in due:
        voucher.state, voucher.ended_at = "expired", now
        report.expired.append(voucher)


def _activate(router: Router, users: dict[str, Row], sessions: dict[str, Row], now: datetime,
              report: SyncReport) -> None:
    unused = list(db.session.scalars(select(Voucher).where(Voucher.router_id == router.id, Voucher.state == "unused",
                                                           Voucher.on_router.is_(True))))
    for voucher in unused:
        row = users.get(voucher.code)
        session = sessions.get(voucher.code)
        if not _used(row, session is not None):
            continue
        # The router's cumulative uptime is at most the wall-clock time since first login, so now - uptime is
        # the latest the first login can have been: the customer never loses time to a slow sync.
        activated = max(voucher.created_at, now - timedelta(seconds=_seconds(row.get("uptime") if row else None)))
        expires = activated + timedelta(minutes=voucher.duration_minutes)
        mac = (session or {}).get("mac-address") or None
        if not claim_activation(voucher, activated, expires, mac):
            continue  # another sync (or process) activated it first and recorded its sale
        # The sale is what the customer's slip says: the terms frozen on the voucher, never the package's now.
        sale = Sale(user_id=router.user_id, router_id=router.id, package_id=voucher.package_id,
                    batch_id=voucher.batch_id, voucher_id=voucher.id, package_name=voucher.package_name,
                    price=voucher.price, currency=voucher.currency, sold_at=activated,
                    sold_by_id=voucher.batch.created_by_id if voucher.batch else None)
        db.session.add(sale)
        report.activated.append(voucher)
        report.sales.append(sale)


def claim_activation(voucher: Voucher, activated: datetime, expires: datetime, mac: str | None) -> bool:
    """Move ``voucher`` from unused to active in one conditional UPDATE; True when this call won the claim.

    Two syncs of one router (the poller and a "Sync now", or two processes) may both see the voucher in use;
    only the one whose ``UPDATE … WHERE state = 'unused'`` changes a row records the sale.
    """
    result = db.session.execute(
        update(Voucher).where(Voucher.id == voucher.id, Voucher.state == "unused")
        .values(state="active", activated_at=activated, expires_at=expires, mac_address=mac)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.expire(voucher)
        return False
    for name, value in (("state", "active"), ("activated_at", activated), ("expires_at", expires),
                        ("mac_address", mac)):
        set_committed_value(voucher, name, value)  # the row already holds them: no second UPDATE
    return True


def sync_router(router: Router, now: datetime, actor: User | None = None) -> SyncReport:
    """Sync one router's hotspot with RouterDeck as of ``now`` (commits).

    Pending packages and vouchers are pushed; vouchers seen in use become active and are sold; active vouchers
    past their wall-clock expiry expire; expired and revoked vouchers lose their router user (removed or
    disabled per the site's setting) and their sessions. Expiry is recorded even when the router is offline;
    its router-side clean-up then waits for the next sync.

    The rule of the house holds throughout: what is needed is read and the transaction ended, the router is
    talked to with no transaction open, and each outcome is written in its own short transaction.

    :raises RouterUnreachable: when the router cannot be reached (RouterTimeout likewise); expiry is still saved.
    """
    report = SyncReport(router)
    action = stored_site(router).expiry_action
    db.session.commit()
    try:
        with gateway.connect(router) as client:
            report.pushed_packages = len(packages.push_pending(client, router, now))
            db.session.commit()
            report.pushed_vouchers = vouchers.push_pending(client, router, now)
            db.session.commit()
            users = vouchers.router_users(client)
            sessions = {row.get("user", ""): row for row in
                        client.print(ACTIVE_PATH, proplist=[".id", "user", "mac-address"])}
            _activate(router, users, sessions, now, report)
            db.session.flush()
            _expire_due(router, now, report)
            stale = list(db.session.scalars(select(Voucher).where(
                Voucher.router_id == router.id,
                Voucher.state.in_(("expired", "revoked")),
                Voucher.on_router.is_(True))))
            db.session.commit()
            report.cleaned = vouchers.remove_from_router(client, stale, action)
    except (RouterUnreachable, RouterTimeout, RouterRejected) as exc:
        db.session.rollback()
        site = stored_site(router)
        report = SyncReport(router, activated=report.activated, sales=report.sales)
        _expire_due(router, now, report)
        site.last_sync_error = exc.message[:500]
        _audit(actor, report)
        db.session.commit()
        raise
    site = stored_site(router)
    site.last_sync_at, site.last_sync_error = now, None
    _audit(actor, report)
    db.session.commit()
    return report


SYNC_JOB = "hotspot.sync"


@jobs.job_kind(SYNC_JOB)
def sync_job(ctx: jobs.JobContext) -> dict[str, Any]:
    """The job behind "Sync now": one :func:`sync_router` of the job's router."""
    router = db.session.get(Router, ctx.router_id) if ctx.router_id is not None else None
    if router is None:
        return {"note": "router deleted"}
    actor = db.session.get(User, ctx.user_id) if ctx.user_id is not None else None
    ctx.progress(0, total=1)
    report = sync_router(router, utcnow(), actor)
    ctx.progress(1)
    return {"router_id": router.id, "activated": [v.code for v in report.activated],
            "expired": [v.code for v in report.expired], "sales": len(report.sales), "cleaned": report.cleaned,
            "pushed_packages": report.pushed_packages, "pushed_vouchers": report.pushed_vouchers}


def _audit(actor: User | None, report: SyncReport) -> None:
    if not report.changed:
        return
    router = report.router
    audit.record(actor, "hotspot.sync", f"Hotspot sync of {router.name}: {len(report.activated)} activated, "
                 f"{len(report.expired)} expired, {report.cleaned} cleaned", router_id=router.id,
                 details={"activated": [v.code for v in report.activated][:50],
                          "expired": [v.code for v in report.expired][:50], "cleaned": report.cleaned,
                          "pushed_packages": report.pushed_packages, "pushed_vouchers": report.pushed_vouchers},
                 commit=False)


def start_sync(actor: User, router_id: int) -> Job:
    """Queue a sync of the actor's router as a job (a sync already queued or running is returned instead).

    :raises NotFound: when the router is not the actor's.
    """
    router = get_router(actor, router_id)
    waiting = db.session.scalar(select(Job).where(Job.kind == SYNC_JOB, Job.router_id == router.id,
                                                  Job.user_id == actor.id, Job.state.in_(("queued", "running")))
                                .order_by(Job.id.desc()).limit(1))
    if waiting is not None:
        return waiting
    job = jobs.enqueue(SYNC_JOB, user_id=actor.id, router_id=router.id, total=1)
    jobs.start(job)
    db.session.refresh(job)
    return job


def sync(actor: User, router_id: int, now: datetime) -> SyncReport:
    """Sync the actor's router (the dashboard's and the API's "Sync now").

    :raises NotFound: when the router is not the actor's.
    :raises RouterUnreachable: when it cannot be reached (RouterTimeout likewise).
    """
    return sync_router(get_router(actor, router_id), now, actor)


def active_sessions(actor: User, router_id: int) -> tuple[Router, list[Session]]:
    """The router's logged-in hotspot clients, with the voucher each one used when it is ours.

    :raises NotFound: when the router is not the actor's.
    :raises RouterUnreachable: when it cannot be reached (RouterTimeout likewise).
    """
    router = get_router(actor, router_id)
    with gateway.connect(router) as client:
        rows = client.print(ACTIVE_PATH, proplist=[".id", "user", "address", "mac-address", "uptime", "bytes-in",
                                                   "bytes-out"])
    codes = [row.get("user", "") for row in rows]
    known = {v.code: v for v in db.session.scalars(select(Voucher).where(Voucher.router_id == router.id,
                                                                         Voucher.code.in_(codes)))} if codes else {}
    sessions = [Session(id=row.get(".id", ""), user=row.get("user", ""), address=row.get("address", ""),
                        mac_address=row.get("mac-address", ""), uptime_seconds=_seconds(row.get("uptime")),
                        bytes_in=_count(row.get("bytes-in")), bytes_out=_count(row.get("bytes-out")),
                        voucher=known.get(row.get("user", ""))) for row in rows]
    return router, sessions


def kick(actor: User, router_id: int, session_id: str, ip_address: str | None = None) -> str:
    """End one hotspot session (the client must log in again); return the user it belonged to.

    :raises NotFound: when the router is not the actor's or the session is gone.
    :raises RouterUnreachable: when it cannot be reached (RouterTimeout likewise).
    """
    router = get_router(actor, router_id)
    with gateway.connect(router) as client:
        rows: list[Any] = client.print(ACTIVE_PATH, proplist=[".id", "user"])
        match = next((row for row in rows if row.get(".id") == session_id), None)
        if match is None:
            raise NotFound("Session not found (it may have ended already)")
        client.remove(ACTIVE_PATH, session_id)
    user = str(match.get("user", ""))
    audit.record(actor, "hotspot.kick", f"Session of {user} on {router.name} ended", router_id=router.id,
                 details={"session_id": session_id, "user": user}, ip_address=ip_address)
    return user
