"""A long range whose coarse table is still empty (the first hour of polling) is drawn from the finer tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from webapp.extensions import db
from webapp.models import User
from webapp.services import metrics, routers

DAY = 86400
NOW = 1_780_000_000 - 1_780_000_000 % 3600 + 1800  # half an hour after an hour boundary


@pytest.fixture
def owner(app: Flask, user) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        actor = db.session.get(User, user.id)
        router = routers.create_router(actor, {"name": "r1", "host": "10.0.0.1", "username": "admin",
                                               "password": "pw"})
        yield actor, router.id


@pytest.mark.parametrize("span", [7 * DAY, 30 * DAY])
def test_first_hour_of_polling_fills_the_long_graphs_from_raw_points(owner: Any, span: int) -> None:
    actor, rid = owner
    for i in range(30):  # half an hour of raw points, nothing compacted yet
        metrics.record(rid, NOW - i * 60, {("cpu", ""): 20.0 + i})
    db.session.commit()
    result = metrics.series(actor, rid, "cpu", start=NOW - span, end=NOW, now=NOW)
    assert result.source == "raw"
    assert len(result.points) >= 10  # the half hour in detail, not one bucket on a month-wide step
    assert result.points[0][0] >= NOW - 1800 - result.step


def test_five_minute_rows_are_preferred_to_raw_when_hourly_is_empty(owner: Any) -> None:
    actor, rid = owner
    for i in range(120):
        metrics.record(rid, NOW - i * 60, {("cpu", ""): 30.0})
    db.session.commit()
    metrics.compact(NOW)
    result = metrics.series(actor, rid, "cpu", start=NOW - 30 * DAY, end=NOW, now=NOW)
    assert result.source in {"1h", "5m"} and result.points


def test_coarse_table_with_points_is_still_used(owner: Any) -> None:
    actor, rid = owner
    for i in range(3 * 60):
        metrics.record(rid, NOW - i * 60, {("cpu", ""): 40.0})
    db.session.commit()
    metrics.compact(NOW)
    result = metrics.series(actor, rid, "cpu", start=NOW - 30 * DAY, end=NOW, now=NOW)
    assert result.source == "1h"


def test_csv_times_are_in_the_viewers_zone(owner: Any) -> None:
    actor, rid = owner
    metrics.record(rid, NOW - 120, {("cpu", ""): 12.5})
    db.session.commit()
    result = metrics.series(actor, rid, "cpu", start=NOW - 3600, end=NOW, now=NOW)
    row = metrics.series_csv(result, ZoneInfo("Africa/Nairobi")).strip().splitlines()[1]
    stamp = row.split(",")[0]
    assert stamp.endswith("+03:00")
    assert datetime.fromisoformat(stamp).timestamp() == int(row.split(",")[1])
