"""The fleet poller: read every due router concurrently, store metrics and interfaces, log events, run alerts.

The parts live in :mod:`webapp.services.polling`: ``reads`` (the network half), ``ingest`` (the database
half), ``cycle`` (one cycle over the due routers), ``scheduling`` (what is due and when) and ``overview``
(the fleet page). This module is the loop that runs them, and the names the rest of the app uses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

from webapp.extensions import db
from webapp.services import health, metrics
from webapp.services.polling.cycle import CycleReport, Poller
from webapp.services.polling.ingest import Ingest, PollView, counter_delta, duration_text
from webapp.services.polling.overview import FleetOverview, fleet_overview
from webapp.services.polling.reads import PollResult, Sample, pipelined_reads, poll_many, poll_one, read_router
from webapp.services.polling.scheduling import due_routers, seconds_to_next, set_interval
from webapp.timeutil import utcnow

__all__ = [
    "CycleReport",
    "FleetOverview",
    "Ingest",
    "PollResult",
    "PollView",
    "Poller",
    "Sample",
    "counter_delta",
    "due_routers",
    "duration_text",
    "fleet_overview",
    "pipelined_reads",
    "poll_many",
    "poll_one",
    "read_router",
    "run_forever",
    "set_interval",
]

log = logging.getLogger(__name__)


def run_forever(
    app: Flask,
    stop: threading.Event,
    *,
    compact_every: int = 300,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> None:
    """The fleet loop: poll what is due, compact metrics every ``compact_every`` s, until ``stop`` is set."""
    with app.app_context():
        poller = Poller.from_config()
        retention = metrics.Retention(
            raw=int(app.config["METRICS_RAW_RETENTION"]),
            five_minutes=int(app.config["METRICS_5M_RETENTION"]),
            hourly=int(app.config["METRICS_1H_RETENTION"]),
        )
        last_compaction = 0.0
        name = health.worker_name("poller")
        try:
            while not stop.is_set():
                try:
                    report = poller.cycle()
                    health.beat(name, "poller", polled=report.polled, online=report.online)
                    if on_cycle is not None and report.polled:
                        on_cycle(report)
                    if time.monotonic() - last_compaction >= compact_every:
                        metrics.compact(metrics.epoch(utcnow()), retention)
                        last_compaction = time.monotonic()
                except Exception:
                    # One bad cycle (database hiccup) must not end monitoring; the next cycle retries.
                    log.exception("poll cycle failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
                stop.wait(seconds_to_next(poller.interval))
        finally:
            poller.close()

