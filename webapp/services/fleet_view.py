"""The fleet at a glance: one row per router with status, CPU and traffic sparklines, version, uptime, open
alerts and today's sales; sortable, filterable and paginated so a fleet of thousands stays one quick page.

Everything sortable comes from a handful of grouped queries over the whole fleet (no per-router query); the
sparklines, the only heavy part, are read for the shown page's routers alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Alert, PollState, Router, RouterGroup, RouterGroupMember, Sale, User
from webapp.services import metrics
from webapp.services.hotspot_settings import currency_for, zone_for
from webapp.timeutil import utcnow

SORTS = ("name", "status", "cpu", "traffic", "uptime", "version", "alerts", "sales")
STATUSES = ("online", "offline", "unknown")
#: Sparklines cover this much recent history (5-minute averages, raw points while those are not rolled up yet).
SPARK_SECONDS = 3 * 3600
SPARK_POINTS = 36
#: "Traffic" is what the router's busiest interface receives: what hotspot customers download.
TRAFFIC_METRIC = "rx_bps"
OPEN_STATES = ("active", "acknowledged")


@dataclass
class FleetRow:
    """One router as the overview shows it."""

    id: int
    name: str
    host: str
    status: str
    version: str | None
    uptime_seconds: int | None
    cpu: float | None
    open_alerts: int
    sales_today: Decimal
    group: str | None
    cpu_spark: str = ""
    traffic_spark: str = ""
    traffic_bps: float | None = None


@dataclass
class FleetPage:
    """One page of the fleet plus the whole fleet's counts."""

    rows: list[FleetRow]
    total: int
    matched: int
    page: int
    pages: int
    counts: dict[str, int]
    sales_today: Decimal
    currency: str
    sales_30d: Decimal = Decimal("0")
    sold_30d: int = 0

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _status(is_online: bool, last_checked: datetime | None) -> str:
    if last_checked is None:
        return "unknown"
    return "online" if is_online else "offline"


def _sort_key(sort: str) -> Any:
    order = {"offline": 0, "unknown": 1, "online": 2}
    keys: dict[str, Any] = {
        "name": lambda r: (r.name.lower(), r.id),
        "status": lambda r: (order[r.status], r.name.lower()),
        "cpu": lambda r: (r.cpu is None, r.cpu or 0.0, r.name.lower()),
        "traffic": lambda r: (r.traffic_bps is None, r.traffic_bps or 0.0, r.name.lower()),
        "uptime": lambda r: (r.uptime_seconds is None, r.uptime_seconds or 0, r.name.lower()),
        "version": lambda r: (r.version is None, r.version or "", r.name.lower()),
        "alerts": lambda r: (r.open_alerts, r.name.lower()),
        "sales": lambda r: (r.sales_today, r.name.lower()),
    }
    return keys[sort]


def fleet_page(
    actor: User,
    *,
    search: str | None = None,
    status: str | None = None,
    group_id: int | None = None,
    sort: str = "name",
    descending: bool = False,
    page: int = 1,
    page_size: int = 50,
    now: datetime | None = None,
) -> FleetPage:
    """One page of the actor's fleet, sorted and filtered (unknown sorts and statuses fall back to the default)."""
    moment = now or utcnow()
    sort = sort if sort in SORTS else "name"
    owned = select(Router.id).where(Router.user_id == actor.id).scalar_subquery()
    base = db.session.execute(
        select(Router.id, Router.name, Router.host, Router.is_online, Router.last_checked, Router.routeros_version,
               PollState.last_uptime_seconds, PollState.cpu_load, PollState.last_version, RouterGroup.name)
        .outerjoin(PollState, PollState.router_id == Router.id)
        .outerjoin(RouterGroupMember, RouterGroupMember.router_id == Router.id)
        .outerjoin(RouterGroup, RouterGroup.id == RouterGroupMember.group_id)
        .where(Router.user_id == actor.id)
    ).all()
    alerts = dict(db.session.execute(
        select(Alert.router_id, func.count()).where(Alert.user_id == actor.id, Alert.state.in_(OPEN_STATES))
        .group_by(Alert.router_id)
    ).all())
    zone = zone_for(actor.id)
    # "Today" is the owner's day (the zone sales are counted in), as the sales pages count it.
    local_midnight = moment.replace(tzinfo=UTC).astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = local_midnight.astimezone(UTC).replace(tzinfo=None)
    sales = {rid: Decimal(total or 0) for rid, total in db.session.execute(
        select(Sale.router_id, func.sum(Sale.price))
        .where(Sale.user_id == actor.id, Sale.sold_at >= day_start, Sale.currency == currency_for(actor.id))
        .group_by(Sale.router_id)
    ).all()}
    members = {rid for (rid,) in db.session.execute(
        select(RouterGroupMember.router_id).where(RouterGroupMember.group_id == group_id,
                                                  RouterGroupMember.router_id.in_(owned))
    ).all()} if group_id is not None else None

    every: list[FleetRow] = []
    counts = {"online": 0, "offline": 0, "unknown": 0, "alerts": 0}
    for rid, name, host, online, checked, version, uptime, cpu, polled_version, group in base:
        row = FleetRow(id=rid, name=name, host=host, status=_status(online, checked),
                       version=polled_version or version, uptime_seconds=uptime, cpu=cpu,
                       open_alerts=int(alerts.get(rid, 0)), sales_today=sales.get(rid, Decimal("0")), group=group)
        counts[row.status] += 1
        counts["alerts"] += row.open_alerts
        every.append(row)
    needle = (search or "").strip().lower()
    shown = [
        row for row in every
        if (not needle or needle in row.name.lower() or needle in row.host.lower()
            or (row.group and needle in row.group.lower()))
        and (status not in STATUSES or row.status == status)
        and (members is None or row.id in members)
    ]
    if sort == "traffic":
        _attach_traffic(shown, moment)
    shown.sort(key=_sort_key(sort), reverse=descending)
    size = max(1, min(page_size, 200))
    pages = max(1, -(-len(shown) // size))
    number = min(max(1, page), pages)
    rows = shown[(number - 1) * size:number * size]
    _attach_sparklines(rows, moment)
    currency = currency_for(actor.id)
    month_total, month_count = db.session.execute(
        select(func.coalesce(func.sum(Sale.price), 0), func.count())
        .where(Sale.user_id == actor.id, Sale.currency == currency,
               Sale.sold_at >= day_start - timedelta(days=29))
    ).one()
    return FleetPage(rows=rows, total=len(every), matched=len(shown), page=number, pages=pages, counts=counts,
                     sales_today=sum((row.sales_today for row in every), Decimal("0")), currency=currency,
                     sales_30d=Decimal(month_total), sold_30d=int(month_count))


def _series(router_ids: list[int], name: str, start: int, end: int) -> dict[tuple[int, str], dict[int, float]]:
    """(router, subject) → {ts: value} from 5-minute averages, or raw points where none are rolled up yet."""
    found: dict[tuple[int, str], dict[int, float]] = defaultdict(dict)
    covered: set[int] = set()
    for point in metrics.stored_points(metrics.FIVE_MINUTES, router_ids, name, start, end, subject=None):
        found[(point[0], point[1])][int(point[2])] = float(point[3])
        covered.add(point[0])
    missing = [rid for rid in router_ids if rid not in covered]
    if missing:
        for point in metrics.stored_points(metrics.RAW, missing, name, start, end, subject=None):
            found[(point[0], point[1])][int(point[2])] = float(point[3])
    return found


def _buckets(values: dict[int, float], start: int, end: int) -> list[float]:
    """Average ``{ts: value}`` into SPARK_POINTS equal slices of [start, end) (empty slices are dropped)."""
    width = max(1, (end - start) // SPARK_POINTS)
    sums: dict[int, list[float]] = {}
    for ts, value in values.items():
        index = min(SPARK_POINTS - 1, max(0, (ts - start) // width))
        acc = sums.setdefault(index, [0.0, 0.0])
        acc[0] += value
        acc[1] += 1
    return [total / count for _, (total, count) in sorted(sums.items())]


def _traffic_by_router(router_ids: list[int], start: int, end: int) -> dict[int, dict[int, float]]:
    """Per router, {ts: bits per second} received by its busiest interface at each instant."""
    busiest: dict[int, dict[int, float]] = defaultdict(dict)
    for (router_id, _subject), points in _series(router_ids, TRAFFIC_METRIC, start, end).items():
        best = busiest[router_id]
        for ts, value in points.items():
            if value > best.get(ts, -1.0):
                best[ts] = value
    return busiest


def _attach_traffic(rows: list[FleetRow], moment: datetime) -> None:
    end = metrics.epoch(moment)
    start = end - 600
    traffic = _traffic_by_router([row.id for row in rows], start, end)
    for row in rows:
        points = traffic.get(row.id)
        row.traffic_bps = points[max(points)] if points else None


def _attach_sparklines(rows: list[FleetRow], moment: datetime) -> None:
    if not rows:
        return
    end = metrics.epoch(moment)
    start = end - SPARK_SECONDS
    ids = [row.id for row in rows]
    cpu = _series(ids, "cpu", start, end)
    traffic = _traffic_by_router(ids, start, end)
    for row in rows:
        row.cpu_spark = spark_path(_buckets(cpu.get((row.id, ""), {}), start, end), ceiling=100.0)
        points = traffic.get(row.id, {})
        row.traffic_spark = spark_path(_buckets(points, start, end))
        if points and row.traffic_bps is None:
            row.traffic_bps = points[max(points)]


def spark_path(values: list[float], width: int = 100, height: int = 24, ceiling: float | None = None) -> str:
    """SVG polyline points for a sparkline (``""`` when there is nothing to draw)."""
    if not values:
        return ""
    top = ceiling if ceiling else max(max(values), 1e-9)
    if len(values) == 1:
        values = values * 2
    step = width / (len(values) - 1)
    return " ".join(f"{i * step:.1f},{height - min(v, top) / top * (height - 2) - 1:.1f}" for i, v in enumerate(values))
