"""Sales: one row per voucher sold (recorded by the hotspot sync), totals per day and month, CSV export.

Days and months are the owner's local ones (``HotspotSettings.timezone``): a sale at 23:30 UTC on 31 December
is a 1 January sale in Nairobi, and it counts towards January and the new year there.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Router, Sale, User
from webapp.services.errors import Invalid
from webapp.services.hotspot_settings import currency_for, money, zone_for
from webapp.services.pagination import Page, paginate
from webapp.services.routers import get_router
from webapp.services.teams import router_scope, sale_scope
from webapp.timeutil import isoformat_z, utcnow

PERIODS = ("daily", "monthly")
MAX_DAYS = 366
MAX_MONTHS = 60


@dataclass
class Bucket:
    """The sales of one day (``2025-08-13``) or month (``2025-08``)."""

    key: str
    label: str
    count: int = 0
    total: Decimal = Decimal("0.00")


@dataclass
class RouterTotal:
    """One router's share of a report."""

    router_id: int
    router_name: str
    count: int = 0
    total: Decimal = Decimal("0.00")


@dataclass
class SalesReport:
    """Totals per day or month (every bucket of the range, empty ones included), per router and overall."""

    period: str
    currency: str
    timezone: str
    start: date
    end: date
    buckets: list[Bucket]
    routers: list[RouterTotal]
    count: int = 0
    total: Decimal = Decimal("0.00")
    other_currencies: dict[str, Decimal] = field(default_factory=dict)

    def show(self, amount: Decimal) -> str:
        """``KES 1,500.00``."""
        return money(amount, self.currency)


def local_now(zone: ZoneInfo, now: datetime) -> datetime:
    """``now`` (naive UTC) in ``zone``."""
    return now.replace(tzinfo=UTC).astimezone(zone)


def _utc_bound(day: date, zone: ZoneInfo) -> datetime:
    """Naive UTC of local midnight starting ``day`` (DST-safe: zoneinfo resolves the offset of that moment)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def report(
    actor: User, *, router_id: int | None = None, period: str = "daily", start: date | None = None,
    end: date | None = None, now: datetime | None = None,
) -> SalesReport:
    """Sales totals of the actor (one router when given) per local day or month from ``start`` to ``end``.

    Defaults: the last 30 days, or the last 12 months, up to today in the owner's time zone.

    :raises NotFound: when ``router_id`` is not the actor's.
    :raises Invalid: for an unknown period, a reversed or too long range, or one past the calendar's ends.
    """
    if period not in PERIODS:
        raise Invalid("period must be daily or monthly", fields={"period": "daily or monthly"})
    router = get_router(actor, router_id) if router_id is not None else None
    zone = zone_for(actor.team_owner_id)
    today = local_now(zone, now or utcnow()).date()
    end = end or today
    try:
        if period == "daily":
            start = start or end - timedelta(days=29)
        else:
            start = _month_start(start) if start else _twelve_back(end)
        if start > end:
            raise Invalid("start must not be after end", fields={"start": "after end"})
        buckets = _buckets(period, start, end)
        if len(buckets) > (MAX_DAYS if period == "daily" else MAX_MONTHS):
            raise Invalid("The range is too long", fields={"start": "range too long"})
        low = _utc_bound(start if period == "daily" else _month_start(start), zone)
        high = _utc_bound(end + timedelta(days=1) if period == "daily" else _next_month(end), zone)
    except (OverflowError, ValueError):
        # Within a range of the first or last days datetime can hold (years 1 and 9999); was a 500.
        raise Invalid("start and end must lie between years 1 and 9999 with their whole range",
                      fields={"start": "out of range"}) from None
    statement = (select(Sale, Router.name).join(Router, Sale.router_id == Router.id)
                 .where(sale_scope(actor), Sale.sold_at >= low, Sale.sold_at < high))
    if router is not None:
        statement = statement.where(Sale.router_id == router.id)
    currency = currency_for(actor.team_owner_id)
    by_key = {bucket.key: bucket for bucket in buckets}
    per_router: dict[int, RouterTotal] = {}
    result = SalesReport(period, currency, zone.key, start, end, buckets, [])
    for sale, router_name in db.session.execute(statement):
        if sale.currency != currency:
            earlier = result.other_currencies.get(sale.currency, Decimal("0"))
            result.other_currencies[sale.currency] = earlier + sale.price
            continue
        local = local_now(zone, sale.sold_at)
        key = local.date().isoformat() if period == "daily" else f"{local.year:04d}-{local.month:02d}"
        bucket = by_key[key]
        bucket.count += 1
        bucket.total += sale.price
        share = per_router.setdefault(sale.router_id, RouterTotal(sale.router_id, router_name))
        share.count += 1
        share.total += sale.price
        result.count += 1
        result.total += sale.price
    result.routers = sorted(per_router.values(), key=lambda r: (-r.total, r.router_name))
    return result


def _twelve_back(end: date) -> date:
    month_index = end.year * 12 + end.month - 1 - 11
    return date(month_index // 12, month_index % 12 + 1, 1)


def _buckets(period: str, start: date, end: date) -> list[Bucket]:
    buckets: list[Bucket] = []
    if period == "daily":
        day = start
        while day <= end and len(buckets) <= MAX_DAYS:
            buckets.append(Bucket(day.isoformat(), day.strftime("%d %b %Y")))
            day += timedelta(days=1)
        return buckets
    month = _month_start(start)
    while month <= end and len(buckets) <= MAX_MONTHS:
        buckets.append(Bucket(f"{month.year:04d}-{month.month:02d}", month.strftime("%b %Y")))
        month = _next_month(month)
    return buckets


def list_sales(actor: User, *, router_id: int | None = None, page: int = 1, page_size: int = 50) -> Page[Sale]:
    """The actor's sales, newest first.

    :raises NotFound: when ``router_id`` is not the actor's.
    """
    statement = select(Sale).where(sale_scope(actor))
    if router_id is not None:
        statement = statement.where(Sale.router_id == get_router(actor, router_id).id)
    return paginate(statement.order_by(Sale.sold_at.desc(), Sale.id.desc()), page, page_size)


def sales_csv(actor: User, *, router_id: int | None = None) -> str:
    """Every sale of the actor (one router when given) as CSV, with local and UTC times.

    :raises NotFound: when ``router_id`` is not the actor's.
    """
    zone = zone_for(actor.team_owner_id)
    owned = select(Router.id, Router.name).where(router_scope(actor))
    names: dict[int, str] = {rid: name for rid, name in db.session.execute(owned)}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sold_at_utc", f"sold_at_local ({zone.key})", "router", "package", "price", "currency",
                     "batch", "voucher_id"])
    number = 1
    while True:
        page = list_sales(actor, router_id=router_id, page=number, page_size=200)
        for sale in page.items:
            local = local_now(zone, sale.sold_at).strftime("%Y-%m-%d %H:%M:%S")
            name = names.get(sale.router_id, "")
            writer.writerow([isoformat_z(sale.sold_at), local, _cell(name), _cell(sale.package_name),
                             f"{sale.price:.2f}", sale.currency, sale.batch_id or "", sale.voucher_id or ""])
        if not page.has_next:
            return out.getvalue()
        number += 1


def _cell(text: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula; these names are typed by people.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
