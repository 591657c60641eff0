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

from flask_babel import gettext
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from routeros import errors as ros
from routeros.values import Row, parse_duration
from webapp import jobs
from webapp.extensions import db
from webapp.models import Alert, HotspotSite, Job, Package, Router, Sale, User, Voucher, VoucherBatch
from webapp.services import alerts, audit, gateway, hotspot_trial, packages, vouchers
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
    #: Usable vouchers the router had lost (re-pushed by this sync) and ones whose user had the wrong profile.
    missing: list[Voucher] = field(default_factory=list)
    restored: int = 0
    profile_fixed: int = 0
    #: Package profiles the router had lost (pushed again).
    missing_profiles: list[str] = field(default_factory=list)
    replaced: str | None = None
    trial_commands: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.activated or self.expired or self.cleaned or self.pushed_packages or self.pushed_vouchers
                    or self.missing or self.profile_fixed or self.replaced or self.trial_commands)


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


def _check_device(client: Any, router: Router, site: HotspotSite, now: datetime, report: SyncReport) -> None:
    """Notice a replaced router: its serial number (or, on CHR/x86, software id) or identity changed."""
    identity = client.identity()
    try:
        serial = client.routerboard().get("serial-number") or client.license().get("software-id") or None
    except ros.CommandRejected:
        serial = None
    changes = []
    if site.router_serial and serial and serial != site.router_serial:
        changes.append(f"serial {site.router_serial} → {serial}")
    if site.router_identity and identity and identity != site.router_identity:
        changes.append(f"identity {site.router_identity} → {identity}")
    if changes:
        note = f"{router.name} looks replaced or reset: " + ", ".join(changes)
        site.replaced_at, site.replaced_note, report.replaced = now, note[:500], note
        alerts.record_event(router, "router_replaced", note, now, serial=serial, identity=identity)
        db.session.add(Alert(user_id=router.user_id, router_id=router.id, kind="router_replaced",
                             severity="warning", message=note[:500], started_at=now))
    site.router_serial, site.router_identity = serial or site.router_serial, identity or site.router_identity


def _check_profiles(client: Any, router: Router) -> list[str]:
    """Packages whose profile the router lost go back to pending, so this sync pushes them again."""
    present = {row.get("name", "") for row in client.print(packages.PROFILE_PATH, proplist=["name"])}
    lost = []
    for package in db.session.scalars(select(Package).where(Package.router_id == router.id,
                                                            Package.sync_state == "synced")):
        if package.profile_name not in present and packages.wants_profile(package):
            package.sync_state, package.sync_error = "pending", "missing on the router"
            lost.append(package.profile_name)
    return lost


def _check_vouchers(client: Any, router: Router, users: dict[str, Row], now: datetime, report: SyncReport) -> None:
    """Every unused or active voucher must be a router user with its package's profile.

    A lost one is marked off the router (this sync pushes it again); a wrong profile is set right. Each batch
    with usable vouchers records the check and how many were missing (its "on router" badge).
    """
    live = list(db.session.scalars(select(Voucher).where(Voucher.router_id == router.id,
                                                         Voucher.state.in_(packages.LIVE_STATES))))
    missing_per_batch: dict[int, int] = {}
    for voucher in live:
        if not voucher.on_router:
            continue
        row = users.get(voucher.code)
        if row is None:
            voucher.on_router = False
            report.missing.append(voucher)
            missing_per_batch[voucher.batch_id] = missing_per_batch.get(voucher.batch_id, 0) + 1
            continue
        wanted = voucher.package.profile_name
        if row.get("profile") not in (None, wanted) and row.get(".id"):
            client.set(vouchers.USER_PATH, row[".id"], {"profile": wanted})
            report.profile_fixed += 1
    for batch in db.session.scalars(select(VoucherBatch).where(
            VoucherBatch.id.in_({voucher.batch_id for voucher in live}))):
        batch.checked_at, batch.missing_at_check = now, missing_per_batch.get(batch.id, 0)
        if batch.missing_at_check:
            batch.push_state = "pending"


def _report_losses(router: Router, now: datetime, report: SyncReport) -> None:
    """An event and an alert when the router had lost vouchers or profiles (a reset or replaced router)."""
    if not report.missing and not report.missing_profiles:
        return
    if report.missing:
        left = len(report.missing) - report.restored
        message = gettext("%(count)s vouchers were missing on %(router)s and were restored",
                          count=len(report.missing), router=router.name)
        if left:
            message = gettext("%(count)s vouchers were missing on %(router)s: %(restored)s restored, %(left)s "
                              "wait for the next sync", count=len(report.missing), router=router.name,
                              restored=report.restored, left=left)
    else:
        message = gettext("%(count)s package profiles were missing on %(router)s and were restored",
                          count=len(report.missing_profiles), router=router.name)
    alerts.record_event(router, "vouchers_restored", message, now, missing=len(report.missing),
                        restored=report.restored, profiles=report.missing_profiles,
                        codes=[voucher.code for voucher in report.missing][:50])
    db.session.add(Alert(user_id=router.user_id, router_id=router.id, kind="vouchers_missing", severity="warning",
                         message=message[:500], value=float(len(report.missing)), started_at=now))


def _expire_unused_past_window(router: Router, now: datetime, report: SyncReport) -> None:
    """Unused vouchers whose first-use window (``use_before``) has passed expire without a sale."""
    late = db.session.scalars(select(Voucher).where(Voucher.router_id == router.id, Voucher.state == "unused",
                                                    Voucher.use_before.is_not(None), Voucher.use_before <= now))
    for voucher in late:
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
    site = stored_site(router)
    action = site.expiry_action
    db.session.commit()
    try:
        with gateway.connect(router) as client:
            _check_device(client, router, site, now, report)
            report.missing_profiles = _check_profiles(client, router)
            db.session.commit()
            report.pushed_packages = len(packages.push_pending(client, router, now))
            db.session.commit()
            users = vouchers.router_users(client)
            _check_vouchers(client, router, users, now, report)
            db.session.commit()
            report.pushed_vouchers = vouchers.push_pending(client, router, now)
            db.session.commit()
            report.restored = sum(1 for voucher in report.missing if voucher.on_router)
            sessions = {row.get("user", ""): row for row in
                        client.print(ACTIVE_PATH, proplist=[".id", "user", "mac-address"])}
            _activate(router, users, sessions, now, report)
            db.session.flush()
            _expire_due(router, now, report)
            # Only here, after this sync saw which vouchers were used: offline, an unseen first use must not
            # be taken for a voucher nobody used (uncertainty never releases money).
            _expire_unused_past_window(router, now, report)
            stale = list(db.session.scalars(select(Voucher).where(
                Voucher.router_id == router.id,
                Voucher.state.in_(("expired", "revoked")),
                Voucher.on_router.is_(True))))
            db.session.commit()
            report.cleaned = vouchers.remove_from_router(client, stale, action)
            if site.trial_sync_state != "synced":
                report.trial_commands = len(hotspot_trial.apply_trial(client, site))
        _report_losses(router, now, report)
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
            "pushed_packages": report.pushed_packages, "pushed_vouchers": report.pushed_vouchers,
            "missing": [v.code for v in report.missing], "restored": report.restored,
            "profile_fixed": report.profile_fixed, "missing_profiles": report.missing_profiles,
            "replaced": report.replaced}


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
