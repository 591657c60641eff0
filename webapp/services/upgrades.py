"""RouterOS versions: what each router runs and what its update channel offers (``/system/package/update``).

A check is one read (``check-for-updates``), so it runs in the request; its answer is kept per router, and the
fleet and group views read the kept answers. Installing (download, reboot, come back on the new version) is
multi-step router work and belongs to the staged-upgrade job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Router, UpgradeInfo, User
from webapp.services import gateway, routers
from webapp.services.errors import ServiceError
from webapp.services.routers import RouterFilters
from webapp.timeutil import utcnow

NEW = "New version is available"


def _version_key(text: str | None) -> tuple[int, ...]:
    digits = []
    for piece in (text or "").split(" ")[0].split("."):
        number = "".join(ch for ch in piece if ch.isdigit())
        digits.append(int(number) if number else 0)
    return tuple(digits)


def check(actor: User, router_id: int) -> UpgradeInfo:
    """Ask the router's update channel now and keep the answer.

    :raises NotFound: for someone else's router.
    :raises RouterUnreachable: / :raises RouterTimeout: / :raises RouterRejected: from the router.
    """
    router = routers.get_router(actor, router_id)
    db.session.commit()
    with gateway.connect(router) as client:
        rows = client.call("system/package/update/check-for-updates")
    row = rows[-1] if rows else {}
    info = db.session.get(UpgradeInfo, router.id) or UpgradeInfo(router_id=router.id)
    info.channel = str(row.get("channel") or "stable")
    info.installed_version = row.get("installed-version") or router.routeros_version
    info.latest_version = row.get("latest-version")
    info.status = str(row.get("status") or "")[:200]
    info.checked_at = utcnow()
    db.session.add(info)
    db.session.commit()
    return info


@dataclass
class VersionRow:
    """One router's versions as RouterDeck last saw them."""

    router: Router
    info: UpgradeInfo | None

    @property
    def installed(self) -> str | None:
        """The version the router runs (the poller's, else the last check's)."""
        polled = (self.router.routeros_version or "").split(" ")[0] or None
        return polled or (self.info.installed_version if self.info else None)

    @property
    def available(self) -> str | None:
        """The newest version on its channel at the last check."""
        return self.info.latest_version if self.info else None

    @property
    def behind(self) -> bool:
        """True when the channel offers a newer version than the router runs."""
        return bool(self.available) and _version_key(self.available) > _version_key(self.installed)


def overview(actor: User, group_id: int | None = None, tag: str | None = None) -> list[VersionRow]:
    """Every selected router with its installed and available versions."""
    chosen = routers.all_routers(actor, RouterFilters(group_id=group_id, tag=tag))
    infos = {info.router_id: info for info in db.session.scalars(
        select(UpgradeInfo).where(UpgradeInfo.router_id.in_([r.id for r in chosen])))} if chosen else {}
    return [VersionRow(router, infos.get(router.id)) for router in chosen]


def check_many(actor: User, rows: list[VersionRow]) -> dict[int, str | None]:
    """Check each router in turn (a few routers from the dashboard); return the error per router, if any."""
    errors: dict[int, str | None] = {}
    for row in rows:
        try:
            check(actor, row.router.id)
            errors[row.router.id] = None
        except ServiceError as exc:
            db.session.rollback()
            errors[row.router.id] = exc.message
    return errors


def row_out(row: VersionRow) -> dict[str, Any]:
    """One router's versions as JSON."""
    info = row.info
    return {"router_id": row.router.id, "name": row.router.name, "installed": row.installed,
            "available": row.available, "behind": row.behind, "channel": info.channel if info else None,
            "status": info.status if info else None,
            "checked_at": info.checked_at.isoformat(timespec="seconds") + "Z" if info else None}
