"""Metric history: raw points, compaction into 5-minute and hourly buckets, retention, and series queries.

Time is integer Unix seconds everywhere here (``ts``) and ``now`` is always an argument, so compaction and
queries are deterministic in tests. Buckets are computed in SQL with integer division, which SQLite and
PostgreSQL agree on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, literal, select

from webapp.database import rowcount
from webapp.extensions import db
from webapp.models import CompactionMark, MetricPoint, MetricRollup, User
from webapp.services.errors import Invalid
from webapp.services.routers import get_router

#: Every metric the poller records, with its unit (per-interface ones carry the interface as ``subject``).
METRICS: dict[str, str] = {
    "cpu": "%",
    "memory": "%",
    "disk": "%",
    "uptime": "s",
    "temperature": "°C",
    "voltage": "V",
    "hotspot_users": "users",
    "latency": "ms",
    "rx_bps": "bit/s",
    "tx_bps": "bit/s",
}
INTERFACE_METRICS = frozenset({"rx_bps", "tx_bps"})
RAW = 0
FIVE_MINUTES = 300
HOUR = 3600
#: The most points a series answer carries when no step is asked for.
TARGET_POINTS = 720
#: Assumed spacing of raw points when choosing a resolution (the default poll interval).
RAW_SPACING = 60


def epoch(moment: datetime) -> int:
    """A naive-UTC (or aware) datetime as integer Unix seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def from_epoch(ts: int) -> datetime:
    """Integer Unix seconds as the naive UTC datetime the database stores."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def record(router_id: int, ts: int, values: Mapping[tuple[str, str], float | None]) -> int:
    """Add one poll's measurements ``{(name, subject): value}`` (None is skipped); return the count."""
    rows = [
        {"router_id": router_id, "name": name, "subject": subject, "ts": ts, "value": float(value)}
        for (name, subject), value in values.items()
        if value is not None
    ]
    if rows:
        db.session.execute(insert(MetricPoint), rows)
    return len(rows)


def record_many(rows: Iterable[dict[str, Any]]) -> int:
    """Bulk form of :func:`record` for a whole poll cycle: rows of router_id, name, subject, ts, value."""
    batch = rows if isinstance(rows, list) else list(rows)
    if batch:
        # A Core insert on the table: plain executemany, without the ORM's per-row bulk bookkeeping.
        db.session.execute(insert(MetricPoint.__table__), batch)
    return len(batch)


@dataclass(frozen=True)
class Retention:
    """How long each resolution is kept, in seconds."""

    raw: int = 48 * 3600
    five_minutes: int = 30 * 86400
    hourly: int = 365 * 86400


@dataclass
class CompactionReport:
    """What one compaction step did."""

    five_minute_buckets: int = 0
    hourly_buckets: int = 0
    raw_deleted: int = 0
    five_minute_deleted: int = 0
    hourly_deleted: int = 0


def _mark(resolution: int) -> CompactionMark | None:
    return db.session.get(CompactionMark, resolution)


def _roll_raw(start: int, end: int) -> int:
    """Average raw points of [start, end) into 5-minute buckets with one INSERT ... SELECT."""
    bucket = ((MetricPoint.ts // FIVE_MINUTES) * FIVE_MINUTES).label("bucket")
    source = (
        select(
            literal(FIVE_MINUTES),
            MetricPoint.router_id,
            MetricPoint.name,
            MetricPoint.subject,
            bucket,
            func.avg(MetricPoint.value),
            func.min(MetricPoint.value),
            func.max(MetricPoint.value),
            func.count(),
        )
        .where(MetricPoint.ts >= start, MetricPoint.ts < end)
        .group_by(MetricPoint.router_id, MetricPoint.name, MetricPoint.subject, bucket)
    )
    columns = ["resolution", "router_id", "name", "subject", "ts", "avg", "min", "max", "samples"]
    return rowcount(db.session.execute(insert(MetricRollup).from_select(columns, source)))


def _roll_five_minutes(start: int, end: int) -> int:
    """Merge 5-minute buckets of [start, end) into hourly ones, weighting each average by its samples."""
    five = MetricRollup
    bucket = ((five.ts // HOUR) * HOUR).label("bucket")
    source = (
        select(
            literal(HOUR),
            five.router_id,
            five.name,
            five.subject,
            bucket,
            func.sum(five.avg * five.samples) / func.sum(five.samples),
            func.min(five.min),
            func.max(five.max),
            func.sum(five.samples),
        )
        .where(five.resolution == FIVE_MINUTES, five.ts >= start, five.ts < end)
        .group_by(five.router_id, five.name, five.subject, bucket)
    )
    columns = ["resolution", "router_id", "name", "subject", "ts", "avg", "min", "max", "samples"]
    return rowcount(db.session.execute(insert(MetricRollup).from_select(columns, source)))


def _advance(resolution: int, source_start: int | None, end: int, roll: Any) -> int:
    """Roll every complete bucket between the mark and ``end`` once; return how many buckets were written."""
    mark = _mark(resolution)
    start = mark.done_until if mark is not None else source_start
    if start is None or start >= end:
        if mark is None and source_start is None:
            db.session.add(CompactionMark(resolution=resolution, done_until=end))
        return 0
    written = roll(start, end)
    if mark is None:
        db.session.add(CompactionMark(resolution=resolution, done_until=end))
    else:
        mark.done_until = end
    return int(written)


def compact(now: int, retention: Retention | None = None) -> CompactionReport:
    """Roll raw points into 5-minute buckets and those into hourly ones, then drop what retention drops.

    Only complete buckets (ending at or before ``now``) are rolled, each exactly once; running it again
    at the same ``now`` changes nothing.
    """
    retention = retention or Retention()
    report = CompactionReport()
    oldest_raw = db.session.scalar(select(func.min(MetricPoint.ts)))
    five_start = None if oldest_raw is None else oldest_raw - oldest_raw % FIVE_MINUTES
    report.five_minute_buckets = _advance(FIVE_MINUTES, five_start, now - now % FIVE_MINUTES, _roll_raw)
    oldest_five = db.session.scalar(
        select(func.min(MetricRollup.ts)).where(MetricRollup.resolution == FIVE_MINUTES)
    )
    hour_start = None if oldest_five is None else oldest_five - oldest_five % HOUR
    report.hourly_buckets = _advance(HOUR, hour_start, now - now % HOUR, _roll_five_minutes)
    # Raw points are deleted only once rolled up, whatever the retention says.
    five_mark = _mark(FIVE_MINUTES)
    raw_limit = min(now - retention.raw, five_mark.done_until if five_mark else now - retention.raw)
    report.raw_deleted = _deleted(delete(MetricPoint).where(MetricPoint.ts < raw_limit))
    report.five_minute_deleted = _deleted(
        delete(MetricRollup).where(
            MetricRollup.resolution == FIVE_MINUTES, MetricRollup.ts < now - retention.five_minutes
        )
    )
    report.hourly_deleted = _deleted(
        delete(MetricRollup).where(MetricRollup.resolution == HOUR, MetricRollup.ts < now - retention.hourly)
    )
    db.session.commit()
    return report


def _deleted(statement: Any) -> int:
    return rowcount(db.session.execute(statement))


@dataclass
class Series:
    """A metric over time: ``points`` are ``(ts, avg, min, max)`` with ts the bucket start."""

    router_id: int
    name: str
    subject: str
    unit: str
    start: int
    end: int
    step: int
    source: str
    rows_read: int
    points: list[tuple[int, float, float, float]]


def choose_resolution(start: int, end: int, now: int, retention: Retention | None = None) -> int:
    """The finest table that still holds ``start`` and answers the span in at most a few thousand rows."""
    retention = retention or Retention()
    span = max(end - start, 1)
    if start >= now - retention.raw and span / RAW_SPACING <= 3 * TARGET_POINTS:
        return RAW
    if start >= now - retention.five_minutes and span / FIVE_MINUTES <= 3 * TARGET_POINTS:
        return FIVE_MINUTES
    return HOUR


def series(
    actor: User,
    router_id: int,
    name: str,
    *,
    start: int,
    end: int,
    now: int,
    subject: str = "",
    step: int | None = None,
    retention: Retention | None = None,
) -> Series:
    """One metric of one of the actor's routers between ``start`` and ``end`` (Unix seconds).

    :raises NotFound: for someone else's router.
    :raises Invalid: for an unknown metric, a missing interface, or a reversed or oversized range.
    """
    get_router(actor, router_id)
    if name not in METRICS:
        raise Invalid(f"name must be one of {', '.join(METRICS)}", fields={"name": "unknown metric"})
    if name in INTERFACE_METRICS and not subject:
        raise Invalid(f"{name} is per interface: give interface=<name>", fields={"interface": "required"})
    if name not in INTERFACE_METRICS:
        subject = ""
    if end <= start:
        raise Invalid("from must be before to", fields={"from": "must be before to"})
    if end - start > 400 * 86400:
        raise Invalid("a range may span at most 400 days", fields={"from": "range too long"})
    resolution = choose_resolution(start, end, now, retention)
    floor = resolution or RAW_SPACING
    if step is None:
        step = max(floor, -(-(end - start) // TARGET_POINTS))
        step = -(-step // floor) * floor
    elif step < 1 or step > 86400 * 31:
        raise Invalid("step must be 1 to 2678400 seconds", fields={"step": "out of range"})
    if resolution == RAW:
        table: Any = MetricPoint
        avg_col, min_col, max_col, weight = MetricPoint.value, MetricPoint.value, MetricPoint.value, None
        filters = [
            MetricPoint.router_id == router_id,
            MetricPoint.name == name,
            MetricPoint.subject == subject,
            MetricPoint.ts >= start,
            MetricPoint.ts <= end,
        ]
    else:
        table = MetricRollup
        avg_col, min_col, max_col, weight = (
            MetricRollup.avg,
            MetricRollup.min,
            MetricRollup.max,
            MetricRollup.samples,
        )
        filters = [
            MetricRollup.resolution == resolution,
            MetricRollup.router_id == router_id,
            MetricRollup.name == name,
            MetricRollup.subject == subject,
            MetricRollup.ts >= start,
            MetricRollup.ts <= end,
        ]
    bucket = ((table.ts // step) * step).label("bucket")
    average = func.avg(avg_col) if weight is None else func.sum(avg_col * weight) / func.sum(weight)
    statement = (
        select(bucket, average, func.min(min_col), func.max(max_col), func.count())
        .where(and_(*filters))
        .group_by(bucket)
        .order_by(bucket)
    )
    rows_read = 0
    points = []
    for ts, avg, low, high, count in db.session.execute(statement):
        rows_read += int(count)
        points.append((int(ts), float(avg), float(low), float(high)))
    source = {RAW: "raw", FIVE_MINUTES: "5m", HOUR: "1h"}[resolution]
    return Series(router_id, name, subject, METRICS[name], start, end, step, source, rows_read, points)


def series_csv(result: Series) -> str:
    """A series as CSV: time (ISO-8601 UTC), average, minimum, maximum."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "ts", f"{result.name}_avg", f"{result.name}_min", f"{result.name}_max"])
    for ts, avg, low, high in result.points:
        writer.writerow([from_epoch(ts).isoformat() + "Z", ts, f"{avg:.6g}", f"{low:.6g}", f"{high:.6g}"])
    return out.getvalue()


def latest(router_ids: Iterable[int], name: str, since: int) -> dict[tuple[int, str], float]:
    """The newest raw value of ``name`` per router and subject at or after ``since``."""
    ids = list(router_ids)
    if not ids:
        return {}
    newest = (
        select(MetricPoint.router_id, MetricPoint.subject, func.max(MetricPoint.ts).label("ts"))
        .where(MetricPoint.router_id.in_(ids), MetricPoint.name == name, MetricPoint.ts >= since)
        .group_by(MetricPoint.router_id, MetricPoint.subject)
        .subquery()
    )
    statement = select(MetricPoint.router_id, MetricPoint.subject, MetricPoint.value).join(
        newest,
        and_(
            MetricPoint.router_id == newest.c.router_id,
            MetricPoint.subject == newest.c.subject,
            MetricPoint.ts == newest.c.ts,
            MetricPoint.name == name,
        ),
    )
    return {(rid, subject): value for rid, subject, value in db.session.execute(statement)}


def points_between(
    router_id: int, name: str, start: int, end: int, subject: str = ""
) -> list[tuple[int, float]]:
    """Raw ``(ts, value)`` points of one metric in [start, end], oldest first (for alert rules)."""
    statement = (
        select(MetricPoint.ts, MetricPoint.value)
        .where(
            MetricPoint.router_id == router_id,
            MetricPoint.name == name,
            MetricPoint.subject == subject,
            MetricPoint.ts >= start,
            MetricPoint.ts <= end,
        )
        .order_by(MetricPoint.ts)
    )
    return [(int(ts), float(value)) for ts, value in db.session.execute(statement)]
