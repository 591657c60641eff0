"""Vouchers: batches of codes for a package, pushed to the router as hotspot users, listed, revoked, printed.

Codes come from :mod:`secrets` over an alphabet without look-alikes (no 0/O, 1/I/l) and are unique per router
(a database unique index; a code that clashes with a router user we did not make is withdrawn by the push).
A batch is stored first (vouchers ``unused``, not on the router) and pushed by the ``vouchers.push`` job.
Each voucher becomes an ``/ip/hotspot/user`` with the package's profile, ``limit-uptime`` as a safety net
(RouterDeck owns expiry in wall-clock time, see :mod:`webapp.services.hotspot_sync`) and ``rd-batch-<id>`` in its
comment.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
from flask import current_app, has_app_context
from sqlalchemy import exists, func, insert, select, update

from routeros import Command
from routeros.values import Row
from webapp import jobs
from webapp.extensions import db
from webapp.models import Job, Package, PoolVoucher, Router, User, Voucher, VoucherBatch
from webapp.services import audit, gateway
from webapp.services.errors import Conflict, Invalid, NotFound, RouterRejected, RouterTimeout, RouterUnreachable
from webapp.services.hotspot_settings import currency_for, money, site_of, stored_site
from webapp.services.packages import MB, duration_display, sync_package, wants_profile
from webapp.services.pagination import Page, paginate
from webapp.services.routers import get_router
from webapp.services.teams import router_scope
from webapp.timeutil import isoformat_z, utcnow

USER_PATH = "ip/hotspot/user"
ACTIVE_PATH = "ip/hotspot/active"
#: Upper-case letters and digits without 0/O, 1/I/L look-alikes.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PIN_DIGITS = "23456789"
MODES = {"same": "Code is username and password", "pin": "Username + PIN"}
STATES = ("unused", "active", "expired", "revoked")
MAX_BATCH = 1000
_PREFIX = re.compile(r"^[A-Z0-9]{0,6}$")
_OFFLINE = (RouterUnreachable, RouterTimeout)


@dataclass
class BatchResult:
    """A created batch, the job pushing it, and how far the push got by the time the call returned."""

    batch: VoucherBatch
    vouchers: list[Voucher]
    pushed: int
    error: str | None
    job: Job | None = None


@dataclass
class BatchSummary:
    """A batch with its vouchers counted per state."""

    batch: VoucherBatch
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class PrintedVoucher:
    """One voucher as a print sheet shows it."""

    code: str
    password: str
    login_url: str
    qr_svg: str


@dataclass
class PrintSheet:
    """Everything a print layout needs for one batch: the terms as the batch froze them, never the package's."""

    batch: VoucherBatch
    package_name: str
    hotspot_name: str
    dns_name: str
    price: str
    validity: str
    speed: str
    mode: str
    vouchers: list[PrintedVoucher]


def issued_terms(package: Package, currency: str) -> dict[str, Any]:
    """The terms a voucher of ``package`` is issued with now, to be frozen on its batch and on itself."""
    return {
        "package_name": package.name,
        "price": Decimal(package.price).quantize(Decimal("0.01")),
        "currency": currency,
        "duration_minutes": package.duration_minutes,
        "download_speed_mbps": package.download_speed_mbps,
        "upload_speed_mbps": package.upload_speed_mbps,
        "data_limit_mb": package.data_limit_mb,
    }


def terms_of(issued: VoucherBatch | Voucher) -> dict[str, Any]:
    """The frozen terms of a batch or voucher, to copy onto another (a batch's onto its vouchers)."""
    return {name: getattr(issued, name) for name in ("package_name", "price", "currency", "duration_minutes",
                                                     "download_speed_mbps", "upload_speed_mbps", "data_limit_mb")}


def router_duration(minutes: int) -> str:
    """``90`` → ``1h30m``, ``10080`` → ``1w``: a duration as RouterOS writes it."""
    parts, rest = [], minutes
    for size, unit in ((10080, "w"), (1440, "d"), (60, "h"), (1, "m")):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def batch_comment(batch_id: int) -> str:
    """The comment every router user of a batch carries."""
    return f"rd-batch-{batch_id}"


def random_code(length: int, prefix: str = "") -> str:
    """A voucher code: ``prefix`` + ``length`` characters of :data:`ALPHABET` from :mod:`secrets`."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def random_pin(length: int) -> str:
    """A PIN of ``length`` digits without 0 and 1."""
    return "".join(secrets.choice(PIN_DIGITS) for _ in range(length))


def _owned_batch(actor: User, batch_id: int) -> VoucherBatch:
    batch = db.session.scalar(
        select(VoucherBatch).join(Router, VoucherBatch.router_id == Router.id)
        .where(VoucherBatch.id == batch_id, router_scope(actor))
    )
    if batch is None:
        raise NotFound("Voucher batch not found")
    return batch


def get_batch(actor: User, batch_id: int) -> VoucherBatch:
    """The actor's voucher batch.

    :raises NotFound: when it does not exist or belongs to someone else.
    """
    return _owned_batch(actor, batch_id)


def get_voucher(actor: User, voucher_id: int) -> Voucher:
    """The actor's voucher.

    :raises NotFound: when it does not exist or belongs to someone else.
    """
    voucher = db.session.scalar(
        select(Voucher).join(Router, Voucher.router_id == Router.id)
        .where(Voucher.id == voucher_id, router_scope(actor))
    )
    if voucher is None:
        raise NotFound("Voucher not found")
    return voucher


def _validate(count: Any, code_length: Any, mode: Any, prefix: Any, pin_length: Any) -> tuple[int, int, str, str, int]:
    fields: dict[str, str] = {}

    def whole(name: str, value: Any, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            fields[name] = "Must be a whole number."
            return low
        try:
            number = int(value)
        except ValueError:
            fields[name] = "Must be a whole number."
            return low
        if not low <= number <= high:
            fields[name] = f"Must be between {low} and {high:,}."
        return number

    count_ = whole("count", count, 1, MAX_BATCH)
    length = whole("code_length", code_length, 4, 16)
    pins = whole("pin_length", pin_length, 4, 8)
    if mode not in MODES:
        fields["mode"] = "Choose same (code = username = password) or pin (username + PIN)."
    clean_prefix = prefix.strip().upper() if isinstance(prefix, str) else ""
    if not _PREFIX.match(clean_prefix):
        fields["prefix"] = "Up to 6 letters or digits."
    if not fields and len(ALPHABET) ** length < count_ * 1000:
        fields["code_length"] = "Too short for this many vouchers; use a longer code."
    if fields:
        raise Invalid("Invalid voucher batch: " + "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    return count_, length, str(mode), clean_prefix, pins


def _fresh_codes(router: Router, count: int, length: int, prefix: str, taken: set[str]) -> list[str]:
    """``count`` codes unused in RouterDeck and absent from ``taken`` (the router's user names)."""
    chosen: list[str] = []
    seen = set(taken)
    while len(chosen) < count:
        candidates = {random_code(length, prefix) for _ in range(count - len(chosen))} - seen
        for chunk_start in range(0, len(candidates), 500):
            chunk = sorted(candidates)[chunk_start:chunk_start + 500]
            clash = set(db.session.scalars(select(Voucher.code).where(Voucher.router_id == router.id,
                                                                      Voucher.code.in_(chunk))))
            candidates -= clash
        seen |= candidates
        chosen.extend(sorted(candidates))
    secrets.SystemRandom().shuffle(chosen)
    return chosen[:count]


def _user_values(voucher: Voucher, package: Package, now: datetime | None = None) -> dict[str, str]:
    # Per-user limits come from the voucher's frozen terms, so a package edit never shortens a sold voucher; an
    # active voucher pushed again (the router lost it) gets what is left of its time.
    minutes = voucher.duration_minutes
    if voucher.state == "active" and voucher.expires_at is not None and now is not None:
        minutes = max(1, -(-int((voucher.expires_at - now).total_seconds()) // 60))
    values = {
        "name": voucher.code,
        "password": voucher.password,
        "profile": package.profile_name,
        "limit-uptime": router_duration(minutes),
        "comment": batch_comment(voucher.batch_id),
    }
    if voucher.data_limit_mb:
        values["limit-bytes-total"] = str(voucher.data_limit_mb * MB)
    return values


#: Router users added per pipelined round (progress is recorded and cancellation checked between rounds);
#: ``VOUCHER_PUSH_CHUNK`` overrides it.
PUSH_CHUNK = 100


def _chunk_size() -> int:
    return max(1, int(current_app.config.get("VOUCHER_PUSH_CHUNK", PUSH_CHUNK))) if has_app_context() else PUSH_CHUNK


@dataclass(frozen=True)
class PendingUser:
    """A voucher waiting to become a router user, as plain data (pushing it needs no database session)."""

    voucher_id: int
    batch_id: int
    code: str
    values: dict[str, str]


@dataclass
class PushOutcome:
    """Which vouchers are on the router now, and which the router refused (name taken by someone else)."""

    pushed: list[int] = field(default_factory=list)
    refused: dict[int, tuple[str, str]] = field(default_factory=dict)  # voucher id -> (code, why)


def pending_users(router_id: int, batch_id: int | None = None, now: datetime | None = None) -> list[PendingUser]:
    """Usable vouchers of a router (or of one batch) that are not on the router, oldest first (a read): unused
    ones, and active ones the router lost (pushed with the time they have left as of ``now``)."""
    statement = (select(Voucher, Package).join(Package, Voucher.package_id == Package.id)
                 .where(Voucher.router_id == router_id, Voucher.state.in_(("unused", "active")),
                        Voucher.on_router.is_(False))
                 .order_by(Voucher.id))
    if batch_id is not None:
        statement = statement.where(Voucher.batch_id == batch_id)
    return [PendingUser(voucher.id, voucher.batch_id, voucher.code, _user_values(voucher, package, now))
            for voucher, package in db.session.execute(statement)]


def push_users(client: Any, pending: list[PendingUser],
               on_chunk: Callable[[PushOutcome], None] | None = None) -> PushOutcome:
    """Make each pending voucher a router user: an upsert keyed by name, pipelined :data:`PUSH_CHUNK` at a time.

    A name already on the router with this voucher's batch comment is an earlier (crashed) run's add: it counts
    as pushed, so a resumed push neither duplicates nor orphans. A name held by someone else is refused (that
    code cannot be sold safely). Touches no database: ``on_chunk`` gets each round's outcome to record.

    :raises ServiceError: through the gateway, when the router fails mid-way (what was recorded stays).
    """
    existing = {row.get("name", ""): row.get("comment", "")
                for row in client.print(USER_PATH, proplist=["name", "comment"])}
    outcome = PushOutcome()
    first = PushOutcome()
    todo: list[PendingUser] = []
    for user in pending:
        if user.code not in existing:
            todo.append(user)
        elif existing[user.code] == user.values["comment"]:
            first.pushed.append(user.voucher_id)
        else:
            first.refused[user.voucher_id] = (user.code, "a router user with this name already exists")
    for part in _rounds(client, todo, first):
        outcome.pushed.extend(part.pushed)
        outcome.refused.update(part.refused)
        if on_chunk is not None and (part.pushed or part.refused):
            on_chunk(part)
    return outcome


def _rounds(client: Any, todo: list[PendingUser], first: PushOutcome) -> Iterator[PushOutcome]:
    yield first
    size = _chunk_size()
    for start in range(0, len(todo), size):
        chunk = todo[start:start + size]
        results = client.pipeline([Command(USER_PATH, "add", user.values) for user in chunk])
        part = PushOutcome()
        refused = []
        for user, result in zip(chunk, results, strict=True):
            if result.ok:
                part.pushed.append(user.voucher_id)
            else:
                refused.append((user, result.error.message if result.error else "refused"))
        if refused:
            # Another writer (a concurrent sync) may have added the same user a moment ago: ours if the comment is.
            names = {row.get("name", ""): row.get("comment", "")
                     for row in client.print(USER_PATH, proplist=["name", "comment"])}
            for user, why in refused:
                if names.get(user.code) == user.values["comment"]:
                    part.pushed.append(user.voucher_id)
                else:
                    part.refused[user.voucher_id] = (user.code, why)
        yield part


def record_push(outcome: PushOutcome, now: datetime) -> None:
    """Write a push's outcome (no commit): pushed vouchers are on the router, refused ones are withdrawn."""
    if outcome.pushed:
        db.session.execute(update(Voucher).where(Voucher.id.in_(outcome.pushed)).values(on_router=True))
    if outcome.refused:
        db.session.execute(update(Voucher).where(Voucher.id.in_(list(outcome.refused)), Voucher.state == "unused")
                           .values(state="revoked", ended_at=now))


def _discover_dns(client: Any) -> str | None:
    """The hotspot's DNS name (the QR codes' login host) as the router's hotspot profile says."""
    servers = client.print("ip/hotspot", proplist=["name", "profile"])
    profiles = {row.get("name"): row for row in client.print("ip/hotspot/profile",
                                                            proplist=["name", "dns-name", "hotspot-address"])}
    for server in servers:
        profile = profiles.get(server.get("profile"), {})
        host = profile.get("dns-name") or profile.get("hotspot-address")
        if host:
            return str(host)
    return None


def generate_batch(
    actor: User, router_id: int, package_id: int, count: Any, *, code_length: Any = 8, mode: Any = "same",
    prefix: Any = "", pin_length: Any = 6, ip_address: str | None = None, now: datetime | None = None,
) -> BatchResult:
    """Generate ``count`` vouchers for a package (rows in state unused, not yet on the router) and queue the job
    that pushes them; the batch and its job are committed together.

    :raises NotFound: when the router or package is not the actor's.
    :raises Invalid: for bad batch parameters or an inactive package.
    """
    router = get_router(actor, router_id)
    package = db.session.scalar(select(Package).where(Package.id == package_id, Package.router_id == router.id))
    if package is None:
        raise NotFound("Package not found")
    count_, length, mode_, prefix_, pins = _validate(count, code_length, mode, prefix, pin_length)
    if not package.is_active:
        raise Invalid("Vouchers can only be made for an active package", fields={"package_id": "inactive package"})
    moment = now or utcnow()
    terms = issued_terms(package, currency_for(router.user_id))
    use_before = moment + timedelta(days=package.validity_days) if package.validity_days else None
    batch = VoucherBatch(router_id=router.id, package_id=package.id, created_by_id=actor.id, count=count_,
                         code_length=length, mode=mode_, prefix=prefix_, push_state="pushing", created_at=moment,
                         shared_users=package.shared_users, validity_days=package.validity_days, **terms)
    db.session.add(batch)
    db.session.flush()
    # Clashes with names already on the router are found by the push (it reads them first) and withdrawn.
    # One executemany: the write lock this transaction takes is held for milliseconds, not for 1,000 ORM inserts.
    db.session.execute(insert(Voucher), [
        {"router_id": router.id, "batch_id": batch.id, "package_id": package.id, "code": code,
         "password": code if mode_ == "same" else random_pin(pins), "state": "unused", "on_router": False,
         "created_at": moment, "use_before": use_before, **terms}
        for code in _fresh_codes(router, count_, length, prefix_, set())])
    job = jobs.enqueue(PUSH_JOB, user_id=actor.id, router_id=router.id, params={"batch_id": batch.id},
                       total=count_, idempotency_key=_push_key(batch.id), commit=False)
    audit.record(actor, "vouchers.generate", f"{count_} vouchers for {package.name} on {router.name}",
                 router_id=router.id, details={"batch_id": batch.id, "package_id": package.id, "mode": mode_,
                                               "job_id": job.id}, ip_address=ip_address, commit=False)
    db.session.commit()
    jobs.start(job)
    # One query brings back what the job may already have changed (the inline runner finishes it above).
    db.session.refresh(job)
    db.session.refresh(batch)
    vouchers = list(db.session.scalars(select(Voucher).where(Voucher.batch_id == batch.id).order_by(Voucher.id)
                                       .execution_options(populate_existing=True)))
    pushed = sum(1 for voucher in vouchers if voucher.on_router)
    error = job.error if job.state == "failed" else None
    return BatchResult(batch, vouchers, pushed, error, job)


PUSH_JOB = "vouchers.push"


def _push_key(batch_id: int) -> str:
    return f"{PUSH_JOB}:batch:{batch_id}"


def push_job_of(batch: VoucherBatch) -> Job | None:
    """The job that pushed (or is pushing) ``batch``, if it had one."""
    return db.session.scalar(select(Job).where(Job.idempotency_key == _push_key(batch.id),
                                               Job.user_id == batch.created_by_id))


@jobs.job_kind(PUSH_JOB)
def push_batch(ctx: jobs.JobContext) -> dict[str, Any]:
    """The job behind a new batch: make its vouchers router users, in pipelined rounds, resumable after a crash.

    Cancelling it withdraws the vouchers not pushed yet (they are never sold). An unreachable router fails the
    job and leaves the rest ``pending`` for the hotspot sync.
    """
    batch = db.session.get(VoucherBatch, ctx.params["batch_id"])
    if batch is None:
        return {"batch_id": ctx.params["batch_id"], "pushed": 0, "refused": 0, "note": "batch deleted"}
    router, package = batch.router, batch.package
    pending = pending_users(router.id, batch.id)
    total = db.session.scalar(select(func.count(Voucher.id)).where(Voucher.batch_id == batch.id)) or 0
    package_wanted = None if package.sync_state == "synced" else wants_profile(package)
    needs_dns = not site_of(router).dns_name
    batch.push_state = "pushing"
    db.session.commit()
    ctx.progress(total - len(pending), total=total)
    now = utcnow()
    dns: str | None = None

    def record(part: PushOutcome) -> None:
        record_push(part, now)
        db.session.commit()
        for code, why in part.refused.values():
            ctx.item_error(code, why)
        ctx.progress(advance=len(part.pushed) + len(part.refused))

    try:
        with gateway.connect(router) as client:
            if package_wanted is not None:
                sync_package(client, package, now, package_wanted)
                db.session.commit()
            if needs_dns:
                dns = _discover_dns(client)
            outcome = push_users(client, pending, on_chunk=record)
    except jobs.JobCancelled:
        db.session.rollback()
        left = [user.voucher_id for user in pending_users(router.id, batch.id)]
        record_push(PushOutcome(refused={i: ("", "cancelled") for i in left}), utcnow())
        _settle(batch)
        db.session.commit()
        raise
    except jobs.LeaseLost:
        raise
    except Exception as exc:
        db.session.rollback()
        why = exc.message if isinstance(exc, (*_OFFLINE, RouterRejected)) else "the push stopped"
        batch.push_state, batch.push_error = "pending", f"{why}; the next sync pushes the rest"[:500]
        db.session.commit()
        raise
    if dns:
        stored_site(router).dns_name = dns
    _settle(batch)
    db.session.commit()
    return {"batch_id": batch.id, "pushed": total - len(pending) + len(outcome.pushed),
            "refused": len(outcome.refused)}


def _settle(batch: VoucherBatch) -> None:
    """``pushed`` once no unused voucher of the batch waits for the router, else ``pending`` (the sync's)."""
    waiting = db.session.scalar(select(func.count(Voucher.id)).where(
        Voucher.batch_id == batch.id, Voucher.state.in_(("unused", "active")), Voucher.on_router.is_(False))) or 0
    batch.push_state = "pending" if waiting else "pushed"
    batch.push_error = None if not waiting else batch.push_error


def push_pending(client: Any, router: Router, now: datetime) -> int:
    """Push every unused voucher of ``router`` not on it yet (batches a push job owns are left to it), over an
    open client. Reads first, talks to the router, then writes the outcome (no commit).
    """
    pushing = db.session.scalars(select(VoucherBatch).where(VoucherBatch.router_id == router.id,
                                                            VoucherBatch.push_state == "pushing"))
    # A batch whose push job is alive is left to it; one whose job is gone or gave up is the sync's again.
    owned = {batch.id for batch in pushing if (job := push_job_of(batch)) is not None and not job.is_final}
    waiting = [user for user in pending_users(router.id, now=now) if user.batch_id not in owned]
    batches = list(db.session.scalars(select(VoucherBatch).where(VoucherBatch.router_id == router.id,
                                                                 VoucherBatch.push_state == "pending")))
    if not waiting and not batches:
        return 0
    outcome = push_users(client, waiting) if waiting else PushOutcome()
    record_push(outcome, now)
    for batch in batches:
        _settle(batch)
    return len(outcome.pushed)


def batch_summaries(
    actor: User, router_id: int | None = None, page: int = 1, page_size: int = 20
) -> Page[BatchSummary]:
    """The actor's batches (of one router when given), newest first, with vouchers counted per state.

    :raises NotFound: when ``router_id`` is not the actor's.
    """
    statement = select(VoucherBatch).join(Router, VoucherBatch.router_id == Router.id).where(router_scope(actor))
    if router_id is not None:
        statement = statement.where(VoucherBatch.router_id == get_router(actor, router_id).id)
    found = paginate(statement.order_by(VoucherBatch.created_at.desc(), VoucherBatch.id.desc()), page, page_size)
    ids = [batch.id for batch in found.items]
    counts: dict[int, dict[str, int]] = {i: dict.fromkeys(STATES, 0) for i in ids}
    if ids:
        rows = db.session.execute(select(Voucher.batch_id, Voucher.state, func.count(Voucher.id))
                                  .where(Voucher.batch_id.in_(ids)).group_by(Voucher.batch_id, Voucher.state))
        for batch_id, state, number in rows:
            counts[batch_id][state] = number
    items = [BatchSummary(batch, counts[batch.id]) for batch in found.items]
    return Page(items, found.total, found.page, found.page_size)


def summary_of(batch: VoucherBatch) -> BatchSummary:
    """One batch with its vouchers counted per state."""
    counts = dict.fromkeys(STATES, 0)
    for state, number in db.session.execute(select(Voucher.state, func.count(Voucher.id))
                                            .where(Voucher.batch_id == batch.id).group_by(Voucher.state)):
        counts[state] = number
    return BatchSummary(batch, counts)


def list_vouchers(
    actor: User, *, router_id: int | None = None, batch_id: int | None = None, state: str | None = None,
    search: str | None = None, page: int = 1, page_size: int = 50,
) -> Page[Voucher]:
    """The actor's vouchers, narrowed by router, batch, state and code substring.

    :raises NotFound: when the router or batch is not the actor's.
    :raises Invalid: for an unknown state.
    """
    statement = select(Voucher).join(Router, Voucher.router_id == Router.id).where(router_scope(actor))
    if router_id is not None:
        statement = statement.where(Voucher.router_id == get_router(actor, router_id).id)
    if batch_id is not None:
        statement = statement.where(Voucher.batch_id == _owned_batch(actor, batch_id).id)
    if state:
        if state not in STATES:
            raise Invalid("Unknown voucher state", fields={"state": ", ".join(STATES)})
        statement = statement.where(Voucher.state == state)
    if search:
        statement = statement.where(Voucher.code.contains(search.strip().upper(), autoescape=True))
    return paginate(statement.order_by(Voucher.id), page, page_size)


def remove_from_router(client: Any, vouchers: Iterable[Voucher], action: str) -> int:
    """Kick the sessions of ``vouchers`` and remove (or disable) their router users; return how many."""
    wanted = {voucher.code: voucher for voucher in vouchers}
    if not wanted:
        return 0
    for session in client.print(ACTIVE_PATH, proplist=[".id", "user"]):
        if session.get("user") in wanted:
            client.remove(ACTIVE_PATH, session[".id"])
    done = 0
    users = {row.get("name", ""): row for row in client.print(USER_PATH, proplist=[".id", "name", "disabled"])}
    for code, voucher in wanted.items():
        row = users.get(code)
        if row is not None:
            if action == "disable":
                if row.get("disabled") != "true":
                    client.set(USER_PATH, row[".id"], {"disabled": "true"})
            else:
                client.remove(USER_PATH, row[".id"])
        voucher.on_router = False
        done += 1
    return done


def revoke(actor: User, voucher_id: int, *, ip_address: str | None = None, now: datetime | None = None) -> Voucher:
    """Withdraw an unused or active voucher: its session is kicked and its router user removed.

    When the router cannot be reached the voucher is revoked anyway and the next sync cleans the router.

    :raises NotFound: when the voucher is not the actor's.
    :raises Conflict: when it already expired or was revoked.
    """
    voucher = get_voucher(actor, voucher_id)
    if voucher.state not in ("unused", "active"):
        raise Conflict(f"Voucher {voucher.code} is already {voucher.state}")
    router = voucher.batch.router
    voucher.state, voucher.ended_at = "revoked", now or utcnow()
    db.session.commit()  # revoked first: if the router call fails, the next sync removes the user
    error = None
    try:
        with gateway.connect(router) as client:
            remove_from_router(client, [voucher], "remove")
    except (*_OFFLINE, RouterRejected) as exc:
        error = exc.message
    audit.record(actor, "voucher.revoke", f"Voucher {voucher.code} revoked on {router.name}", router_id=router.id,
                 details={"voucher_id": voucher.id, "router_updated": error is None}, ip_address=ip_address,
                 commit=False)
    db.session.commit()
    return voucher


def vouchers_csv(actor: User, *, router_id: int | None = None, batch_id: int | None = None,
                 state: str | None = None, zone: ZoneInfo | None = None) -> str:
    """The vouchers as CSV (code, password, package, price, state, times), for spreadsheets and resellers.

    Times are ISO-8601: UTC with ``Z`` by default (the API), or in ``zone`` with its offset (the dashboard).

    :raises NotFound: when the router or batch is not the actor's.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "password", "package", "price", "currency", "validity", "batch", "state",
                     "created_at", "activated_at", "expires_at", "ended_at"])
    page_number = 1
    while True:
        page = list_vouchers(actor, router_id=router_id, batch_id=batch_id, state=state, page=page_number,
                             page_size=200)
        for v in page.items:
            writer.writerow([_cell(v.code), _cell(v.password), _cell(v.package_name), f"{v.price:.2f}",
                             v.currency, duration_display(v.duration_minutes), v.batch_id, v.state,
                             *(_stamp(moment, zone) for moment in (v.created_at, v.activated_at, v.expires_at,
                                                                   v.ended_at))])
        if not page.has_next:
            return out.getvalue()
        page_number += 1


def _stamp(moment: datetime | None, zone: ZoneInfo | None) -> str | None:
    if zone is None or moment is None:
        return isoformat_z(moment)
    return moment.replace(tzinfo=UTC).astimezone(zone).isoformat(timespec="seconds")


def _cell(text: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula; package names are owner-typed text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def login_url(dns_name: str, username: str, password: str) -> str:
    """The hotspot's auto-login address for a voucher (what its QR code encodes)."""
    return f"http://{dns_name}/login?" + urlencode({"username": username, "password": password})


def qr_svg(data: str) -> str:
    """An inline SVG QR code (no fixed size: CSS sizes it) for ``data``."""
    return segno.make(data, error="m", micro=False).svg_inline(omitsize=True, border=2, dark="#000")


def print_sheet(actor: User, batch_id: int, include_used: bool = False) -> PrintSheet:
    """A batch ready to print: hotspot name, package, price, validity and per voucher its code and QR code.

    Only unused vouchers are printed unless ``include_used``.

    :raises NotFound: when the batch is not the actor's.
    """
    batch = _owned_batch(actor, batch_id)
    router = batch.router
    site = site_of(router)
    dns_name = site.dns_name or router.host
    # A voucher kept in the portal's pool is for M-Pesa buyers only: printed and sold over the counter too, one
    # code would be sold twice.
    in_pool = exists().where(PoolVoucher.voucher_id == Voucher.id)
    statement = select(Voucher).where(Voucher.batch_id == batch.id, ~in_pool)
    if not include_used:
        statement = statement.where(Voucher.state == "unused")
    printed = []
    for voucher in db.session.scalars(statement.order_by(Voucher.id)):
        url = login_url(dns_name, voucher.code, voucher.password)
        printed.append(PrintedVoucher(voucher.code, voucher.password, url, qr_svg(url)))
    return PrintSheet(
        batch=batch, package_name=batch.package_name, hotspot_name=site.display_name or router.name,
        dns_name=dns_name, price=money(batch.price, batch.currency), validity=duration_display(batch.duration_minutes),
        speed=f"{batch.download_speed_mbps} Mbps / {batch.upload_speed_mbps} Mbps", mode=batch.mode,
        vouchers=printed,
    )


def router_users(client: Any) -> dict[str, Row]:
    """The router's hotspot users by name (the fields activation needs)."""
    rows = client.print(USER_PATH, proplist=[".id", "name", "profile", "uptime", "bytes-in", "bytes-out", "disabled",
                                             "comment"])
    return {row.get("name", ""): row for row in rows}
