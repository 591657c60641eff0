"""Availability: the share of time each router answered the poller, over 24 hours, 7 days and 30 days, and its
average round-trip latency (LibreNMS's availability view).

Computed from what the poller already records: the "down" and "up" lines of the event log (a router is down from
its first failed poll to its next successful one), the poll state of a router that is down now, and the
``latency`` metric. Time before a router was added does not count against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import MetricPoint, MonitorEvent, PollState, Router
from webapp.services import metrics
from webapp.timeutil import utcnow

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass
class Availability:
    """One router's uptime percentages (None before it was ever polled) and average latency."""

    router_id: int
    uptime_pct: dict[str, float | None]
    down_seconds: dict[str, int]
    latency_ms_24h: float | None


def _down_intervals(events: list[tuple[str, datetime]], down_since: datetime | None,
                    now: datetime, oldest: datetime) -> list[tuple[datetime, datetime]]:
    intervals: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    for index, (kind, moment) in enumerate(events):
        if kind == "down" and start is None:
            start = moment
        elif kind == "up":
            if start is None and index == 0:
                start = oldest  # down since before the oldest line we read
            if start is not None:
                intervals.append((start, moment))
                start = None
    if start is None and down_since is not None:
        start = down_since
    if start is not None:
        intervals.append((start, now))
    return intervals


def for_routers(routers: Sequence[Router], now: datetime | None = None) -> dict[int, Availability]:
    """Availability of each router (three queries for the lot)."""
    now = now or utcnow()
    ids = [router.id for router in routers]
    if not ids:
        return {}
    oldest = now - max(WINDOWS.values())
    events: dict[int, list[tuple[str, datetime]]] = {rid: [] for rid in ids}
    rows = db.session.execute(
        select(MonitorEvent.router_id, MonitorEvent.kind, MonitorEvent.created_at)
        .where(MonitorEvent.router_id.in_(ids), MonitorEvent.kind.in_(("down", "up")),
               MonitorEvent.created_at >= oldest)
        .order_by(MonitorEvent.router_id, MonitorEvent.created_at, MonitorEvent.id))
    for router_id, kind, moment in rows:
        events[router_id].append((kind, moment))
    states = {state.router_id: state for state in db.session.scalars(
        select(PollState).where(PollState.router_id.in_(ids)))}
    since = metrics.epoch(now - WINDOWS["24h"])
    latency: dict[int, float] = dict(db.session.execute(
        select(MetricPoint.router_id, func.avg(MetricPoint.value))
        .where(MetricPoint.router_id.in_(ids), MetricPoint.name == "latency", MetricPoint.subject == "",
               MetricPoint.ts >= since)
        .group_by(MetricPoint.router_id)).all())
    out: dict[int, Availability] = {}
    for router in routers:
        state = states.get(router.id)
        polled = state is not None and state.last_polled_at is not None
        intervals = _down_intervals(events[router.id], state.down_since if state else None, now, oldest)
        percentages: dict[str, float | None] = {}
        down_seconds: dict[str, int] = {}
        for name, span in WINDOWS.items():
            start = max(now - span, router.created_at)
            total = (now - start).total_seconds()
            down = sum(max(0.0, (min(end, now) - max(begin, start)).total_seconds()) for begin, end in intervals)
            down_seconds[name] = int(down)
            percentages[name] = round(100.0 * max(0.0, total - down) / total, 3) if polled and total > 0 else None
        value = latency.get(router.id)
        out[router.id] = Availability(router.id, percentages, down_seconds,
                                      round(float(value), 1) if value is not None else None)
    return out


def availability_out(item: Availability, router: Router) -> dict[str, object]:
    """One router's availability as JSON."""
    return {"router_id": router.id, "name": router.name, "is_online": router.is_online,
            "uptime_pct": item.uptime_pct, "down_seconds": item.down_seconds,
            "latency_ms_24h": item.latency_ms_24h, "last_latency_ms": router.last_latency_ms}
