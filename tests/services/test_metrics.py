"""Metric history: compaction into 5-minute and hourly buckets, retention, and which table answers a range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import MetricPoint, MetricRollup, Router, User
from webapp.services import metrics, routers
from webapp.services.errors import NotFound

DAY = 86400
NOW = 1_780_000_000 - 1_780_000_000 % 3600  # an hour boundary


@pytest.fixture
def owner(app: Flask, user) -> Any:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = db.session.get(User, user.id)
        router = routers.create_router(actor, {"name": "r1", "host": "10.0.0.1", "username": "admin",
                                               "password": "pw"})
        yield actor, router.id


@dataclass
class Bucket:
    router_id: int
    subject: str
    ts: int
    avg: float
    min: float
    max: float
    samples: int
    name: str = ""


def rollups(resolution: int) -> list[Bucket]:
    """Every bucket of a resolution, whether still a row or packed in a chunk."""
    found = []
    for name in metrics.METRICS:
        for point in metrics.stored_points(resolution, [router.id for router in db.session.scalars(select(Router))],
                                           name, 0, 2**40, subject=None):
            found.append(Bucket(*point, name=name))
    return sorted(found, key=lambda bucket: (bucket.ts, bucket.name, bucket.subject))


def raw_points() -> int:
    counts = metrics.storage_counts()["raw"]
    return counts.rows + counts.packed


def test_compaction_averages_complete_buckets_once(owner: Any) -> None:
    _, rid = owner
    start = NOW - 2 * 3600
    for i in range(120):  # one point a minute for two hours: value = minute number
        metrics.record(rid, start + i * 60, {("cpu", ""): float(i), ("rx_bps", "ether1"): 1000.0})
    metrics.record(rid, NOW + 30, {("cpu", ""): 999.0})  # in the current, incomplete bucket
    db.session.commit()
    report = metrics.compact(NOW + 60)
    five = [r for r in rollups(300) if r.name == "cpu"]
    assert len(five) == 24
    assert [five[0].avg, five[0].min, five[0].max, five[0].samples] == [2.0, 0.0, 4.0, 5]
    hourly = [r for r in rollups(3600) if r.name == "cpu"]
    assert [(r.ts, r.avg, r.samples) for r in hourly] == [(start, 29.5, 60), (start + 3600, 89.5, 60)]
    assert {r.subject for r in rollups(300) if r.name == "rx_bps"} == {"ether1"}
    assert report.five_minute_buckets == 48
    assert report.hourly_buckets == 4
    again = metrics.compact(NOW + 60)
    assert again.five_minute_buckets == 0
    assert again.hourly_buckets == 0
    assert len(rollups(300)) == 48
    # The incomplete bucket is rolled by a later run, once it is complete.
    metrics.compact(NOW + 300)
    assert [r.avg for r in rollups(300) if r.ts == NOW] == [999.0]


def test_retention_keeps_48h_raw_30d_five_minute_and_a_year_hourly(owner: Any) -> None:
    _, rid = owner
    old = NOW - 3 * DAY
    for i in range(10):
        metrics.record(rid, old + i * 60, {("cpu", ""): 10.0})
    metrics.record(rid, NOW - 60, {("cpu", ""): 20.0})
    db.session.commit()
    metrics.compact(NOW)
    assert raw_points() == 1  # the 3-day-old raw points went
    assert len(rollups(300)) == 3  # ...but only after being rolled up
    report = metrics.compact(NOW + 31 * DAY)
    assert report.five_minute_deleted == 3
    assert report.raw_deleted == 1
    assert len(rollups(3600)) == 2
    report = metrics.compact(NOW + 400 * DAY)
    assert report.hourly_deleted == 2
    assert rollups(300) == rollups(3600) == []


def test_compaction_is_not_unbounded_raw_deletion_waits_for_rollup(owner: Any) -> None:
    _, rid = owner
    metrics.record(rid, NOW - 3 * DAY, {("cpu", ""): 5.0})
    db.session.commit()
    # Short retention in a custom policy: raw points still survive until their bucket is rolled.
    report = metrics.compact(NOW, metrics.Retention(raw=60, five_minutes=30 * DAY, hourly=365 * DAY))
    assert report.raw_deleted == 1
    assert len(rollups(300)) == 1


@pytest.mark.parametrize(("span", "source", "step"), [
    (3600, "raw", 60), (DAY, "raw", 120), (7 * DAY, "5m", 900), (30 * DAY, "1h", 3600),
])
def test_series_answers_each_range_from_the_right_table(owner: Any, span: int, source: str, step: int) -> None:
    actor, rid = owner
    for res, count in ((300, 30 * 288), (3600, 30 * 24)):
        db.session.execute(MetricRollup.__table__.insert(), [
            {"resolution": res, "router_id": rid, "name": "cpu", "subject": "", "ts": NOW - i * res, "avg": 10.0,
             "min": 1.0, "max": 50.0, "samples": 5} for i in range(1, count + 1)])
    for i in range(1, 48 * 60):
        metrics.record(rid, NOW - i * 60, {("cpu", ""): 10.0})
    db.session.commit()
    result = metrics.series(actor, rid, "cpu", start=NOW - span, end=NOW, now=NOW)
    assert result.source == source
    assert result.step == step
    assert len(result.points) <= metrics.TARGET_POINTS + 1
    assert result.rows_read >= len(result.points)
    assert all(avg == pytest.approx(10.0) for _, avg, _, _ in result.points)
    if source != "raw":
        assert min(low for _, _, low, _ in result.points) == 1.0


def test_series_of_someone_elses_router_is_not_found(app: Flask, owner: Any, other_user) -> None:  # type: ignore[no-untyped-def]
    _, rid = owner
    stranger = db.session.get(User, other_user.id)
    with pytest.raises(NotFound):
        metrics.series(stranger, rid, "cpu", start=NOW - 3600, end=NOW, now=NOW)


def test_csv_export(owner: Any) -> None:
    actor, rid = owner
    metrics.record(rid, NOW - 120, {("cpu", ""): 12.5})
    db.session.commit()
    text = metrics.series_csv(metrics.series(actor, rid, "cpu", start=NOW - 3600, end=NOW, now=NOW))
    header, row = text.strip().splitlines()
    assert header == "time,ts,cpu_avg,cpu_min,cpu_max"
    assert row.endswith(",12.5,12.5,12.5")
    assert row.startswith("20")


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_packed_points_answer_graphs_alerts_and_latest_as_rows_did(owner: Any) -> None:
    actor, rid = owner
    start = NOW - 3 * 3600
    for i in range(3 * 60 + 30):  # three and a half hours, one point a minute, values no codec can guess
        metrics.record(rid, start + i * 60, {("cpu", ""): float((i * 37) % 101),
                                             ("rx_bps", "ether1"): round(1e6 + (i * 7919) % 100003 / 3, 1),
                                             ("latency", ""): 0.1 * (i % 9) + 1 / 3})
    db.session.commit()
    end = start + 3 * 3600 + 30 * 60
    before = {name: metrics.series(actor, rid, name, start=start, end=end, now=end, subject=subject).points
              for name, subject in (("cpu", ""), ("rx_bps", "ether1"), ("latency", ""))}
    alert_window = metrics.points_between(rid, "cpu", start, end)
    newest = metrics.latest([rid], "rx_bps", start)

    report = metrics.compact(end)
    assert report.raw_packed == 3 * 60 * 3  # three complete hours of three series; the current hour stays rows
    assert _count(MetricPoint) == 30 * 3
    assert metrics.storage_counts()["raw"] == metrics.StorageCount(rows=30 * 3, chunks=3 * 3, packed=3 * 60 * 3)
    after = {name: metrics.series(actor, rid, name, start=start, end=end, now=end, subject=subject).points
             for name, subject in (("cpu", ""), ("rx_bps", "ether1"), ("latency", ""))}
    assert after == before
    assert metrics.points_between(rid, "cpu", start, end) == alert_window
    assert metrics.latest([rid], "rx_bps", start) == newest
    # Everything is packed once the clock moves on: the answers still match, from chunks only.
    metrics.compact(end + 3600)
    assert _count(MetricPoint) == 0
    assert metrics.points_between(rid, "cpu", start, end) == alert_window
    assert metrics.latest([rid], "rx_bps", start) == newest


def test_a_late_point_is_merged_into_its_chunk(owner: Any) -> None:
    _actor, rid = owner
    for i in range(0, 60, 2):
        metrics.record(rid, NOW - 3600 + i * 60, {("cpu", ""): float(i)})
    db.session.commit()
    metrics.compact(NOW + 300)
    assert _count(MetricPoint) == 0
    assert metrics.storage_counts()["raw"] == metrics.StorageCount(rows=0, chunks=1, packed=30)
    metrics.record(rid, NOW - 3600 + 60, {("cpu", ""): 99.0})  # arrives after its hour was packed
    db.session.commit()
    metrics.pack(metrics.RAW, NOW)
    assert metrics.storage_counts()["raw"] == metrics.StorageCount(rows=0, chunks=1, packed=31)
    points = metrics.points_between(rid, "cpu", NOW - 3600, NOW)
    assert len(points) == 31
    assert points[1] == (NOW - 3600 + 60, 99.0)
