"""Configuration history: ``/export`` snapshots per router, deduplicated, with diffs between any two.

RouterOS sends ``/export`` text to the console only (over the API a bare ``!done``), so a snapshot is written to
a file on the router (``/export file=...``), read back from ``/file`` ``contents`` and removed, over either
protocol. Secrets stay out: RouterOS 7 hides them by default and RouterOS 6 is asked to (``hide-sensitive``).
"""

from __future__ import annotations

import difflib
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ConfigVersion, Router, RouterGroup, RouterGroupMember, User
from webapp.services import audit, gateway, routers
from webapp.services.errors import Invalid, NotFound, RouterRejected, RouterTimeout, ServiceError
from webapp.services.pagination import Page, paginate
from webapp.services.teams import router_scope
from webapp.timeutil import utcnow

TRIGGERS = ("manual", "schedule", "change")
#: RouterOS shows /file contents only up to this size on v7 (4 KiB on v6); bigger exports cannot be read back.
FILE_CONTENTS_LIMIT = 60 * 1024


@dataclass
class Snapshot:
    """What taking an export produced: the version (new or the unchanged latest) and whether it is new."""

    version: ConfigVersion
    created: bool


def normalized(text: str) -> str:
    """The export without what changes on every run: the leading ``#`` header lines (date, time, version,
    software id, model, serial) and trailing whitespace."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        start += 1
    return "\n".join(line.rstrip() for line in lines[start:]).strip("\n") + "\n"


def digest_of(text: str) -> str:
    """SHA-256 of the normalized export: equal digests mean the same configuration."""
    return hashlib.sha256(normalized(text).encode()).hexdigest()


def _timeout() -> float:
    return float(current_app.config["ROUTER_TIMEOUT"])


def read_export(router: Router) -> tuple[str, str | None]:
    """Take an ``/export`` of ``router`` through a file on it; return the text and the RouterOS version.

    :raises RouterUnreachable: / :raises RouterTimeout: when the router cannot be read in time.
    :raises RouterRejected: when it refuses, or the export is too big for ``/file`` to show.
    """
    deadline = time.monotonic() + _timeout()

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RouterTimeout(f"the export did not finish within {_timeout():g} s")
        return remaining

    name = f"routerdeck-export-{secrets.token_hex(4)}"
    with gateway.connect(router, timeout=_timeout()) as client:
        version = client.resource(timeout=left()).get("version")
        major = (version or "7").split(".")[0]
        flags: dict[str, object] = {"file": name}
        if major == "6":
            flags["hide-sensitive"] = ""
        client.call("export", flags, timeout=left())
        try:
            rows = client.print("file", query={"name": f"{name}.rsc"}, timeout=left())
        finally:
            gateway.optional(lambda: client.remove("file", f"{name}.rsc", timeout=left()))
    if not rows:
        raise RouterRejected("Bad Request: the router wrote no export file", reason="rejected")
    row = rows[0]
    if "contents" not in row:
        raise RouterRejected(
            f"Bad Request: the export is {row.get('size', '?')} bytes, more than RouterOS shows through /file "
            f"(60 KiB on v7, 4 KiB on v6)", reason="too_large")
    return str(row["contents"]), version


def take_snapshot(actor: User | None, router_id: int, trigger: str = "manual", *,
                  owner: User | None = None) -> Snapshot:
    """Export a router's configuration now and store it unless it equals the latest version.

    ``actor`` is who asked (None for the scheduler, which passes the router's ``owner``).

    :raises NotFound: for someone else's router.
    :raises RouterUnreachable: / :raises RouterTimeout: / :raises RouterRejected: from the router.
    """
    if trigger not in TRIGGERS:
        raise Invalid(f"trigger must be one of {', '.join(TRIGGERS)}")
    router = routers.get_router(actor or owner, router_id)  # type: ignore[arg-type]
    db.session.commit()  # no transaction stays open while the router works
    try:
        text, version = read_export(router)
    except ServiceError as exc:
        if getattr(exc, "reason", None) in ("unreachable", "timeout", "connection", "connection_lost", "auth",
                                            "tls"):
            routers.mark_status(router, online=False, reason=getattr(exc, "reason", None), message=exc.message)
            db.session.commit()
        raise
    digest = digest_of(text)
    latest = latest_version(router_id)
    now = utcnow()
    if latest is not None and latest.digest == digest:
        latest.last_seen_at = now
        db.session.commit()
        return Snapshot(latest, False)
    snapshot = ConfigVersion(router_id=router_id, user_id=actor.id if actor else None, trigger=trigger,
                             digest=digest, content=text, size=len(text.encode()), routeros_version=version,
                             created_at=now, last_seen_at=now)
    db.session.add(snapshot)
    db.session.flush()
    audit.record(actor, "config.snapshot", f'Stored configuration version {snapshot.id} of "{router.name}" '
                 f"({trigger})", router_id=router_id, details={"version_id": snapshot.id, "trigger": trigger},
                 commit=False)
    db.session.commit()
    return Snapshot(snapshot, True)


def latest_version(router_id: int) -> ConfigVersion | None:
    """The newest stored version of a router."""
    return db.session.scalar(select(ConfigVersion).where(ConfigVersion.router_id == router_id)
                             .order_by(ConfigVersion.id.desc()).limit(1))


def versions(actor: User, router_id: int, page: int, page_size: int) -> Page[ConfigVersion]:
    """A router's versions, newest first.

    :raises NotFound: for someone else's router.
    """
    routers.get_router(actor, router_id)
    statement = (select(ConfigVersion).where(ConfigVersion.router_id == router_id)
                 .order_by(ConfigVersion.id.desc()))
    return paginate(statement, page, page_size)


def get_version(actor: User, router_id: int, version_id: int) -> ConfigVersion:
    """One version of one of the actor's routers.

    :raises NotFound: when either is not the actor's.
    """
    routers.get_router(actor, router_id)
    version: ConfigVersion | None = db.session.scalar(select(ConfigVersion).where(
        ConfigVersion.id == version_id, ConfigVersion.router_id == router_id))
    if version is None:
        raise NotFound("Configuration version not found")
    return version


def get_any_version(actor: User, version_id: int) -> ConfigVersion:
    """A version of any of the actor's routers (diffs between two routers).

    :raises NotFound: when it is not the actor's.
    """
    version: ConfigVersion | None = db.session.scalar(
        select(ConfigVersion).join(Router, Router.id == ConfigVersion.router_id)
        .where(ConfigVersion.id == version_id, router_scope(actor)))
    if version is None:
        raise NotFound("Configuration version not found")
    return version


def previous_version_id(actor: User, router_id: int, version_id: int) -> int:
    """The id of the version stored before ``version_id`` of the same router (itself for the first one: an
    empty diff).

    :raises NotFound: when the version is not the actor's.
    """
    get_version(actor, router_id, version_id)
    previous = db.session.scalar(select(ConfigVersion.id).where(ConfigVersion.router_id == router_id,
                                                                ConfigVersion.id < version_id)
                                 .order_by(ConfigVersion.id.desc()).limit(1))
    return int(previous) if previous is not None else version_id


@dataclass
class Diff:
    """A unified diff from ``old`` to ``new`` (header lines left out), with counts."""

    old: ConfigVersion
    new: ConfigVersion
    lines: list[str]
    added: int
    removed: int

    @property
    def text(self) -> str:
        """The diff as one string."""
        return "".join(line if line.endswith("\n") else line + "\n" for line in self.lines)


def diff(old: ConfigVersion, new: ConfigVersion, old_label: str, new_label: str, context: int = 3) -> Diff:
    """A unified diff between two versions, header lines ignored."""
    before = normalized(old.content).splitlines(keepends=True)
    after = normalized(new.content).splitlines(keepends=True)
    lines = list(difflib.unified_diff(before, after, fromfile=old_label, tofile=new_label, n=context))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return Diff(old, new, lines, added, removed)


def diff_versions(actor: User, router_id: int, version_id: int, against_id: int) -> Diff:
    """What changed from version ``against_id`` (any of the actor's routers) to ``version_id`` of this router.

    :raises NotFound: when a version is not the actor's.
    """
    new = get_version(actor, router_id, version_id)
    old = get_any_version(actor, against_id)
    old_router = db.session.get(Router, old.router_id)
    new_router = db.session.get(Router, new.router_id)
    return diff(old, new, f"{old_router.name if old_router else old.router_id}@{old.id}",
                f"{new_router.name if new_router else new.router_id}@{new.id}")


def rsc_filename(router: Router, version: ConfigVersion) -> str:
    """``core-1-v12-20261201T0102Z.rsc``: the router, the version and when it was taken."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in router.name)[:60] or "router"
    return f"{safe}-v{version.id}-{version.created_at:%Y%m%dT%H%MZ}.rsc"


def due_for_daily_backup(now: datetime | None = None) -> list[tuple[int, int]]:
    """``(router_id, owner_id)`` of every grouped router whose group's backup hour has come today and that has
    no version seen since then (the poller's scheduler calls this each cycle)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Router.id, Router.user_id, RouterGroup.backup_hour_utc)
        .join(RouterGroupMember, RouterGroupMember.router_id == Router.id)
        .join(RouterGroup, RouterGroup.id == RouterGroupMember.group_id)
        .where(RouterGroup.backup_hour_utc.is_not(None))
    )
    due = []
    for router_id, owner_id, hour in rows:
        if hour is None:
            continue
        slot = now.replace(hour=hour, minute=0, second=0, microsecond=0)
        if slot > now:
            slot -= timedelta(days=1)
        latest = latest_version(router_id)
        if latest is None or latest.last_seen_at < slot:
            due.append((router_id, owner_id))
    return due


def run_daily_backups(now: datetime | None = None) -> dict[str, int]:
    """Take the daily export of every router that is due; a router that fails is tried again next cycle."""
    outcome = {"stored": 0, "unchanged": 0, "failed": 0}
    for router_id, owner_id in due_for_daily_backup(now):
        owner = db.session.get(User, owner_id)
        try:
            snapshot = take_snapshot(None, router_id, "schedule", owner=owner)
        except ServiceError:
            db.session.rollback()
            outcome["failed"] += 1
            continue
        outcome["stored" if snapshot.created else "unchanged"] += 1
    return outcome


def version_out(version: ConfigVersion, *, content: bool = False) -> dict[str, Any]:
    """A version as JSON (the text itself only when asked)."""
    out: dict[str, Any] = {
        "id": version.id, "router_id": version.router_id, "trigger": version.trigger, "digest": version.digest,
        "size": version.size, "routeros_version": version.routeros_version,
        "created_at": version.created_at.isoformat(timespec="seconds") + "Z",
        "last_seen_at": version.last_seen_at.isoformat(timespec="seconds") + "Z",
    }
    if content:
        out["content"] = version.content
    return out
