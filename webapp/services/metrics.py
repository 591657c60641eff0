"""Metric history: raw points, compaction into 5-minute and hourly buckets, chunks, retention, and queries.

Time is integer Unix seconds everywhere here (``ts``) and ``now`` is always an argument, so compaction and
queries are deterministic in tests. Rollup buckets are computed in SQL with integer division, which SQLite
and PostgreSQL agree on.

Storage is compact: a poll writes plain rows (cheap inserts, exact recent reads), and compaction packs every
complete window of rows that has already been rolled up into one :class:`MetricChunk` per series (raw points by
the hour, 5-minute buckets by the day, hourly ones by the week; the codec is :mod:`webapp.services.chunks`).
A row costs about 90 bytes on disk, a packed point a few. Every read (graphs, alerts, latest values) answers
from rows and chunks together, so where a point lives is invisible above this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, literal, select, update

from webapp.database import rowcount
from webapp.extensions import db
from webapp.models import CompactionMark, MetricChunk, MetricPoint, MetricRollup, Router, User
from webapp.services import chunks
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
#: The window one chunk covers at each resolution (s): raw by the hour, 5-minute by the day, hourly by the week.
CHUNK_SPAN = {RAW: HOUR, FIVE_MINUTES: 86400, HOUR: 7 * 86400}
#: Rollup averages are packed with this many significant digits (a graph needs far fewer; exact repeating
#: fractions would otherwise cost 8 bytes each).
ROLLUP_DIGITS = 7
#: Routers whose rows one packing step reads at once (bounds memory on a large fleet).
PACK_ROUTERS = 200


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
    raw_packed: int = 0
    five_minute_packed: int = 0
    hourly_packed: int = 0


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
    return _inserted(insert(MetricRollup).from_select(columns, source))


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
    return _inserted(insert(MetricRollup).from_select(columns, source))


def _inserted(statement: Any) -> int:
    # psycopg answers rowcount -1 for INSERT ... SELECT: count what RETURNING gives back instead.
    return len(db.session.execute(statement.returning(literal(1))).all())


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
    """Roll raw points into 5-minute buckets and those into hourly ones, drop what retention drops, pack the rest.

    Only complete buckets (ending at or before ``now``) are rolled, each exactly once; running it again
    at the same ``now`` changes nothing. Rows are packed into chunks only once they have been rolled up, so
    the rollups always read plain rows.
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
    five_mark, hour_mark = _mark(FIVE_MINUTES), _mark(HOUR)
    five_done = five_mark.done_until if five_mark else None
    hour_done = hour_mark.done_until if hour_mark else None
    raw_limit = min(now - retention.raw, five_done if five_done is not None else now - retention.raw)
    report.raw_deleted = _deleted(delete(MetricPoint).where(MetricPoint.ts < raw_limit)) + _drop_chunks(
        RAW, raw_limit
    )
    five_limit = now - retention.five_minutes
    report.five_minute_deleted = _deleted(
        delete(MetricRollup).where(MetricRollup.resolution == FIVE_MINUTES, MetricRollup.ts < five_limit)
    ) + _drop_chunks(FIVE_MINUTES, five_limit)
    hour_limit = now - retention.hourly
    report.hourly_deleted = _deleted(
        delete(MetricRollup).where(MetricRollup.resolution == HOUR, MetricRollup.ts < hour_limit)
    ) + _drop_chunks(HOUR, hour_limit)
    db.session.commit()
    if five_done is not None:
        report.raw_packed = pack(RAW, min(five_done, now))
    if hour_done is not None:
        report.five_minute_packed = pack(FIVE_MINUTES, min(hour_done, now))
    report.hourly_packed = pack(HOUR, now)
    return report


def _deleted(statement: Any) -> int:
    return rowcount(db.session.execute(statement))


def _drop_chunks(resolution: int, limit: int) -> int:
    """Delete the chunks wholly older than ``limit``; return how many points they held."""
    last_start = limit - CHUNK_SPAN[resolution]
    where = (MetricChunk.resolution == resolution, MetricChunk.start_ts <= last_start)
    points = db.session.scalar(select(func.coalesce(func.sum(MetricChunk.count), 0)).where(*where))
    if points:
        db.session.execute(delete(MetricChunk).where(*where))
    return int(points or 0)


def _columns(resolution: int) -> list[Any]:
    if resolution == RAW:
        return [MetricPoint.value]
    return [MetricRollup.avg, MetricRollup.min, MetricRollup.max, MetricRollup.samples]


def _row_filter(resolution: int) -> tuple[Any, list[Any]]:
    if resolution == RAW:
        return MetricPoint, []
    return MetricRollup, [MetricRollup.resolution == resolution]


def pack(resolution: int, until: int) -> int:
    """Pack the rows of every complete chunk window before ``until`` into chunks; return the rows packed.

    One transaction per group of routers: a group's chunks are written and its rows deleted together, so an
    interrupted run leaves every point either a row or in a chunk, never both or neither.
    """
    span = CHUNK_SPAN[resolution]
    limit = until - until % span
    table, filters = _row_filter(resolution)
    router_ids = list(db.session.scalars(select(Router.id).order_by(Router.id)))
    packed = 0
    for first in range(0, len(router_ids), PACK_ROUTERS):
        group = router_ids[first : first + PACK_ROUTERS]
        where = [*filters, table.router_id.in_(group), table.ts < limit]
        statement = (
            select(table.router_id, table.name, table.subject, table.ts, *_columns(resolution))
            .where(*where)
            .order_by(table.router_id, table.name, table.subject, table.ts)
        )
        series: dict[tuple[int, str, str, int], list[tuple[Any, ...]]] = {}
        for router_id, name, subject, ts, *values in db.session.execute(statement):
            series.setdefault((router_id, name, subject, ts - ts % span), []).append((ts, *values))
        if not series:
            continue
        _store_chunks(resolution, series)
        db.session.execute(delete(table).where(*where))
        db.session.commit()
        packed += sum(len(points) for points in series.values())
    return packed


def _store_chunks(resolution: int, series: dict[tuple[int, str, str, int], list[tuple[Any, ...]]]) -> None:
    """Insert one chunk per series window, merging into a chunk that already covers it (late points)."""
    starts = {key[3] for key in series}
    existing = {
        (chunk.router_id, chunk.name, chunk.subject, chunk.start_ts): chunk.data
        for chunk in db.session.execute(
            select(MetricChunk.router_id, MetricChunk.name, MetricChunk.subject, MetricChunk.start_ts,
                   MetricChunk.data).where(
                MetricChunk.resolution == resolution,
                MetricChunk.router_id.in_({key[0] for key in series}),
                MetricChunk.start_ts.in_(starts),
            )
        )
    }
    inserts, updates = [], []
    for key, points in series.items():
        if key in existing:
            merged = {point[0]: point for point in _unpack(existing[key])}
            merged.update((point[0], point) for point in points)
            points = [merged[ts] for ts in sorted(merged)]
        row = _chunk_row(resolution, points)
        if key in existing:
            updates.append({"k_router": key[0], "k_name": key[1], "k_subject": key[2], "k_start": key[3], **row})
        else:
            inserts.append({"resolution": resolution, "router_id": key[0], "name": key[1], "subject": key[2],
                            "start_ts": key[3], **row})
    if inserts:
        db.session.execute(insert(MetricChunk.__table__), inserts)
    if updates:
        table = MetricChunk.__table__
        db.session.execute(
            update(table)
            .where(table.c.resolution == resolution, table.c.router_id == bindparam("k_router"),
                   table.c.name == bindparam("k_name"), table.c.subject == bindparam("k_subject"),
                   table.c.start_ts == bindparam("k_start"))
            .values(end_ts=bindparam("end_ts"), count=bindparam("count"), data=bindparam("data")),
            updates,
        )


def _chunk_row(resolution: int, points: list[tuple[Any, ...]]) -> dict[str, Any]:
    timestamps = [int(point[0]) for point in points]
    columns = [[float(point[i]) for point in points] for i in range(1, len(points[0]))]
    if resolution != RAW:
        columns[0] = [float(f"{value:.{ROLLUP_DIGITS}g}") for value in columns[0]]
    return {"end_ts": timestamps[-1], "count": len(points), "data": chunks.encode(timestamps, columns)}


def _unpack(data: bytes) -> list[tuple[Any, ...]]:
    timestamps, columns = chunks.decode(data)
    return list(zip(timestamps, *columns, strict=True))


def stored_points(
    resolution: int, router_ids: Iterable[int], name: str, start: int, end: int, subject: str | None = ""
) -> list[tuple[Any, ...]]:
    """Points of one metric in [start, end] from rows and chunks alike, oldest first per series.

    Each point is ``(router_id, subject, ts, value)`` for raw points and ``(router_id, subject, ts, avg, min,
    max, samples)`` for rollup buckets; ``subject=None`` means every subject.
    """
    ids = list(router_ids)
    if not ids:
        return []
    table, filters = _row_filter(resolution)
    # "ts + 0" keeps the planner on the primary key (router, name, subject, ts) instead of the ts index, which
    # for a short window over many routers reads every router's rows in it (1.5 s vs 10 ms at 1,000 routers).
    stamp = table.ts + 0
    where = [*filters, table.router_id.in_(ids), table.name == name, stamp >= start, stamp <= end]
    chunk_where = [
        MetricChunk.resolution == resolution,
        MetricChunk.router_id.in_(ids),
        MetricChunk.name == name,
        MetricChunk.start_ts > start - CHUNK_SPAN[resolution],
        MetricChunk.start_ts <= end,
    ]
    if subject is not None:
        where.append(table.subject == subject)
        chunk_where.append(MetricChunk.subject == subject)
    # Core execution on the session's connection: plain tuples, without the ORM's per-row bookkeeping.
    connection = db.session.connection()
    points: list[tuple[Any, ...]] = [
        tuple(row)
        for row in connection.execute(
            select(table.router_id, table.subject, table.ts, *_columns(resolution)).where(*where)
        )
    ]
    statement = select(MetricChunk.router_id, MetricChunk.subject, MetricChunk.data).where(*chunk_where)
    for router_id, chunk_subject, data in connection.execute(statement):
        points.extend(
            (router_id, chunk_subject, *point) for point in _unpack(data) if start <= point[0] <= end
        )
    points.sort(key=lambda point: (point[0], point[1], point[2]))
    return points


@dataclass
class StorageCount:
    """How many points one resolution holds as rows and packed in chunks."""

    rows: int
    chunks: int
    packed: int


def storage_counts() -> dict[str, StorageCount]:
    """Rows, chunks and packed points per resolution (what bytes per stored sample is measured against)."""
    counts = {}
    for resolution, label in ((RAW, "raw"), (FIVE_MINUTES, "5m"), (HOUR, "1h")):
        table, filters = _row_filter(resolution)
        rows = db.session.scalar(select(func.count()).select_from(table).where(*filters)) or 0
        chunk_count, packed = db.session.execute(
            select(func.count(), func.coalesce(func.sum(MetricChunk.count), 0)).where(
                MetricChunk.resolution == resolution
            )
        ).one()
        counts[label] = StorageCount(int(rows), int(chunk_count), int(packed))
    return counts


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
    chosen = choose_resolution(start, end, now, retention)
    # A coarser table fills only as compaction runs (the first hourly row an hour after polling starts): when it
    # has nothing for the range yet, read the finer tables rather than draw "no data" over raw points.
    fallbacks = [chosen] + [finer for finer in (FIVE_MINUTES, RAW) if finer < chosen]
    asked_step = step
    if asked_step is not None and (asked_step < 1 or asked_step > 86400 * 31):
        raise Invalid("step must be 1 to 2678400 seconds", fields={"step": "out of range"})
    rows_read = 0
    bucket_step = asked_step or RAW_SPACING
    points: list[tuple[int, float, float, float]] = []
    for resolution in fallbacks:
        stored = list(stored_points(resolution, [router_id], name, start, end, subject))
        rows_read += len(stored)
        if not stored and resolution != fallbacks[-1]:
            continue
        floor = resolution or RAW_SPACING
        # Falling back, the step follows the span the finer table actually covers, not the whole range.
        span_start = start if resolution == chosen or not stored else stored[0][2]
        bucket_step = asked_step or -(-max(floor, -(-(end - span_start) // TARGET_POINTS)) // floor) * floor
        points = _bucket(stored, resolution, bucket_step)
        break
    source = {RAW: "raw", FIVE_MINUTES: "5m", HOUR: "1h"}[resolution]
    return Series(router_id, name, subject, METRICS[name], start, end, bucket_step, source, rows_read, points)


def _bucket(stored: list[Any], resolution: int, step: int) -> list[tuple[int, float, float, float]]:
    """Average stored points into ``step``-second buckets (a rollup row weighs the samples it averaged)."""
    buckets: dict[int, list[float]] = {}
    for point in stored:
        ts = point[2]
        if resolution == RAW:
            avg = low = high = float(point[3])
            weight = 1.0
        else:
            avg, low, high, weight = float(point[3]), float(point[4]), float(point[5]), float(point[6])
        bucket = ts // step * step
        acc = buckets.get(bucket)
        if acc is None:
            buckets[bucket] = [avg * weight, weight, low, high]
        else:
            acc[0] += avg * weight
            acc[1] += weight
            acc[2] = min(acc[2], low)
            acc[3] = max(acc[3], high)
    return [
        (bucket, total / weight if weight else 0.0, low, high)
        for bucket, (total, weight, low, high) in sorted(buckets.items())
    ]


def series_csv(result: Series, zone: ZoneInfo | None = None) -> str:
    """A series as CSV: time (ISO-8601 in ``zone`` with its offset, UTC by default), average, minimum, maximum."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "ts", f"{result.name}_avg", f"{result.name}_min", f"{result.name}_max"])
    for ts, avg, low, high in result.points:
        stamp = from_epoch(ts).isoformat() + "Z" if zone is None else \
            datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")
        writer.writerow([stamp, ts, f"{avg:.6g}", f"{low:.6g}", f"{high:.6g}"])
    return out.getvalue()


def latest(router_ids: Iterable[int], name: str, since: int) -> dict[tuple[int, str], float]:
    """The newest raw value of ``name`` per router and subject at or after ``since``."""
    newest: dict[tuple[int, str], tuple[int, float]] = {}
    for router_id, subject, ts, value in stored_points(RAW, router_ids, name, since, 2**62, subject=None):
        newest[(router_id, subject)] = (ts, value)  # points come oldest first
    return {key: value for key, (_, value) in newest.items()}


def points_between(
    router_id: int, name: str, start: int, end: int, subject: str = ""
) -> list[tuple[int, float]]:
    """Raw ``(ts, value)`` points of one metric in [start, end], oldest first (for alert rules)."""
    return [(int(ts), float(value)) for _, _, ts, value in stored_points(RAW, [router_id], name, start, end, subject)]
