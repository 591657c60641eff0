"""The one scheduler of scale mode: every tick, enqueue the due, unleased routers in shards on ``monitoring``.

It also compacts metrics every ``compact_every`` seconds (one process does it, so no two compactions race).
Running two schedulers by mistake costs nothing worse than extra ticks: queuing and claiming are atomic.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable

from flask import Flask

from webapp.extensions import db
from webapp.scale import leases
from webapp.services import health, metrics
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)


def tick(shard_size: int, lease_seconds: float, enqueue: Callable[[str, list[int]], None]) -> int:
    """Queue every due, unleased router in shards of ``shard_size``; return how many routers were queued."""
    leases.ensure_states()
    queued = 0
    now = utcnow()
    while True:
        token = secrets.token_hex(6)
        shard = leases.queue_due(now, token, lease_seconds, shard_size)
        if not shard:
            return queued
        enqueue(token, shard)
        queued += len(shard)


def run_scheduler(app: Flask, stop: threading.Event, *, compact_every: int = 300) -> None:
    """Tick every ``SCHEDULER_TICK`` seconds until ``stop`` is set."""
    from webapp.scale.tasks import poll_shard

    def enqueue(token: str, shard: list[int]) -> None:
        poll_shard.apply_async((token, shard), queue="monitoring")

    with app.app_context():
        config = app.config
        name = health.worker_name("scheduler")
        retention = metrics.Retention(
            raw=int(config["METRICS_RAW_RETENTION"]),
            five_minutes=int(config["METRICS_5M_RETENTION"]),
            hourly=int(config["METRICS_1H_RETENTION"]),
        )
        last_compaction = time.monotonic()
        while not stop.is_set():
            try:
                queued = tick(int(config["POLL_SHARD_SIZE"]), float(config["POLL_LEASE_SECONDS"]), enqueue)
                health.beat(name, "scheduler", queued=queued)
                if time.monotonic() - last_compaction >= compact_every:
                    metrics.compact(metrics.epoch(utcnow()), retention)
                    last_compaction = time.monotonic()
            except Exception:
                # A database or broker hiccup must not end scheduling; the next tick retries.
                log.exception("scheduler tick failed")
                db.session.rollback()
            finally:
                db.session.remove()
            stop.wait(float(config["SCHEDULER_TICK"]))
