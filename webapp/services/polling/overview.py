"""The fleet page's counts: up, down, unknown, open alerts, the busiest and the down routers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PollState, Router, User
from webapp.services import alerts
from webapp.services.teams import router_scope


@dataclass
class FleetOverview:
    """Counts and leaders for the fleet page."""

    total: int
    up: int
    down: int
    unknown: int
    open_alerts: int
    busiest: list[tuple[Router, PollState]]
    down_routers: list[tuple[Router, PollState | None]]


def fleet_overview(actor: User, limit: int = 5) -> FleetOverview:
    """How many of the actor's routers are up or down, open alerts, the busiest and the down ones."""
    routers = list(db.session.scalars(select(Router).where(router_scope(actor))))
    ids = [router.id for router in routers]
    states = (
        {s.router_id: s for s in db.session.scalars(select(PollState).where(PollState.router_id.in_(ids)))}
        if ids
        else {}
    )
    unknown = sum(1 for r in routers if r.last_checked is None)
    up = sum(1 for r in routers if r.last_checked is not None and r.is_online)
    busiest = sorted(
        (
            (r, states[r.id])
            for r in routers
            if r.is_online and r.id in states and states[r.id].cpu_load is not None
        ),
        key=lambda pair: -(pair[1].cpu_load or 0),
    )[:limit]
    down_routers = [(r, states.get(r.id)) for r in routers if r.last_checked is not None and not r.is_online]
    return FleetOverview(
        total=len(routers),
        up=up,
        down=len(routers) - up - unknown,
        unknown=unknown,
        open_alerts=alerts.open_alert_count(actor),
        busiest=busiest,
        down_routers=down_routers,
    )
