"""One poll cycle: read the due routers concurrently and store results in batches as they arrive.

The database half runs in the calling thread while the network half is still going: one commit per batch,
so a router that never answers costs its deadline once and holds no transaction open.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import select

from routeros import ClientPool
from routeros.multiplex import can_multiplex
from webapp.extensions import db
from webapp.models import Router
from webapp.models.hotspot import Package
from webapp.services import alerts, gateway, hotspot_sync, metrics
from webapp.services.errors import ServiceError
from webapp.services.polling.ingest import Ingest
from webapp.services.polling.reads import PollResult, future_result, poll_many, poll_one, poll_one_when_free
from webapp.services.polling.scheduling import due_routers
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)

#: A cycle stores what has arrived when answers pause this long (s), or when at least _BATCH_MIN have
#: arrived and no more are waiting, or at _BATCH_SIZE: small enough that little is left to store when
#: the last router answers, large enough that per-batch queries and commits stay a small share.
_BATCH_SIZE = 500
_BATCH_MIN = 100
_BATCH_PAUSE = 0.02


@dataclass
class CycleReport:
    """What one cycle did."""

    polled: int = 0
    online: int = 0
    offline: int = 0
    metric_rows: int = 0
    events: int = 0
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    hotspot_synced: int = 0
    hotspot_failed: int = 0
    network_seconds: float = 0.0
    total_seconds: float = 0.0




def _deliver(finished: queue.SimpleQueue[PollResult], router_id: int, future: Future[PollResult]) -> None:
    finished.put(future_result(router_id, future))


class Poller:
    """Runs poll cycles with a bounded pool of worker threads; use one per process."""

    def __init__(
        self,
        *,
        concurrency: int = 256,
        timeout: float = 5.0,
        interval: int = 60,
        pool: ClientPool | None = None,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.interval = interval
        self.pool = pool
        # Only routers the one-thread loop cannot drive (REST, api-ssl, DNS names) need worker threads.
        self._executor: ThreadPoolExecutor | None = None
        self._loop_thread: ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, **overrides: Any) -> Poller:
        """A poller set up from the app's POLL_* settings."""
        config = current_app.config
        settings: dict[str, Any] = {
            "concurrency": int(config["POLL_CONCURRENCY"]),
            "timeout": float(config["POLL_TIMEOUT"]),
            "interval": int(config["POLL_INTERVAL"]),
        }
        settings.update(overrides)
        return cls(**settings)

    def close(self) -> None:
        """Stop the worker threads."""
        for executor in (self._executor, self._loop_thread):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def _threads(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="poll")
        return self._executor

    def _loop(self) -> ThreadPoolExecutor:
        if self._loop_thread is None:
            self._loop_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-loop")
        return self._loop_thread

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def cycle(
        self, now: datetime | None = None, *, router_ids: Iterable[int] | None = None, force: bool = False
    ) -> CycleReport:
        """Poll every due router once (every router with ``force``), store what was read, evaluate alerts."""
        started = time.perf_counter()
        now = now or utcnow()
        if force:
            statement = select(Router).order_by(Router.id)
            if router_ids is not None:
                statement = statement.where(Router.id.in_(list(router_ids)))
            routers = list(db.session.scalars(statement))
        else:
            routers = due_routers(now, self.interval, router_ids)
        report = CycleReport(polled=len(routers))
        if not routers:
            return report
        pool = self.pool or gateway.client_pool()
        # Configs (and password decryption) are built here, where the app context is; workers get plain data.
        jobs = [(router.id, gateway.router_config(router, self.timeout)) for router in routers]
        finished: queue.SimpleQueue[PollResult] = queue.SimpleQueue()
        # A router's session slots (ROUTER_MAX_SESSIONS, shared with requests and jobs) are taken here when
        # free; a router whose slots are all busy is read on a thread that waits for one within its deadline.
        limit = gateway.max_sessions()
        held = {rid: config.where for rid, config in jobs if gateway.sessions.acquire(config.where, limit, None)}
        looped = [job for job in jobs if job[0] in held and can_multiplex(job[1])]
        for router_id, config in jobs:
            if router_id not in held or not can_multiplex(config):
                read = poll_one if router_id in held else poll_one_when_free
                future = self._threads().submit(read, pool, router_id, config)
                future.add_done_callback(partial(_deliver, finished, router_id))
        if looped:
            self._loop().submit(poll_many, pool, looped, self.concurrency, finished.put)
        try:
            return self._collect(routers, jobs, finished, held, now, report, started)
        finally:
            for where in held.values():
                gateway.sessions.release(where)

    def _collect(
        self, routers: list[Router], jobs: list[tuple[int, Any]], finished: queue.SimpleQueue[PollResult],
        held: dict[int, str], now: datetime, report: CycleReport, started: float,
    ) -> CycleReport:
        # Answers are stored while slower routers are still awaited (a silent router costs its deadline
        # once, not the deadline plus the database work of the whole fleet). Each batch commits on its
        # own, so the database is never held for a network wait.
        by_id = {router.id: router for router in routers}
        pending = len(jobs)
        batch: list[PollResult] = []
        expired = False
        while pending:
            try:
                result: PollResult | None = finished.get(timeout=_BATCH_PAUSE if batch else None)
            except queue.Empty:
                result = None
            if result is not None:
                batch.append(result)
                pending -= 1
                where = held.pop(result.router_id, None)
                if where is not None:
                    gateway.sessions.release(where)
                if not pending:
                    report.network_seconds = time.perf_counter() - started
            ready = len(batch) >= _BATCH_SIZE or (len(batch) >= _BATCH_MIN and finished.empty())
            if batch and (result is None or not pending or ready):
                self._store(batch, by_id, now, report, reload=expired)
                batch = []
                expired = True
        report.total_seconds = time.perf_counter() - started
        return report

    def _store(
        self, results: list[PollResult], by_id: dict[int, Router], now: datetime, report: CycleReport, *, reload: bool
    ) -> None:
        """The database half for one batch of results: state, interfaces, metrics, events, alerts; one commit."""
        if reload:
            # Objects expire at each commit: one query refreshes this batch instead of one query per router.
            list(db.session.scalars(select(Router).where(Router.id.in_([r.router_id for r in results]))))
        ingest = Ingest([by_id[result.router_id] for result in results], now)
        states = ingest.states
        for result in results:
            router = ingest.routers[result.router_id]
            state = states.get(router.id)
            interval = (state.interval_seconds if state and state.interval_seconds else None) or self.interval
            if result.sample is not None:
                ingest.succeeded(router, result.sample, interval)
                report.online += 1
            else:
                assert result.error is not None
                ingest.failed(router, result.error, interval)
                report.offline += 1
        ingest.config_changes()
        ingest.write_states()
        ingest.write_interfaces()
        report.metric_rows += metrics.record_many(ingest.metric_rows)
        report.events += ingest.events
        db.session.flush()
        outcome = alerts.evaluate(list(ingest.routers.values()), ingest.states, now)
        report.fired.extend(outcome.fired)
        report.resolved.extend(outcome.resolved)
        online = [router.id for router in ingest.routers.values() if router.is_online]
        db.session.commit()
        alerts.send_notifications(outcome, now)
        self._sync_hotspots(online, by_id, now, report)

    @staticmethod
    def _sync_hotspots(online: list[int], by_id: dict[int, Router], now: datetime, report: CycleReport) -> None:
        """Activation, sales and expiry of vouchers follow the poll, for routers that sell packages."""
        if not online:
            return
        selling = db.session.scalars(select(Package.router_id).where(Package.router_id.in_(online)).distinct())
        for router_id in sorted(set(selling)):
            try:
                hotspot_sync.sync_router(by_id[router_id], now)
                report.hotspot_synced += 1
            except ServiceError as exc:
                report.hotspot_failed += 1
                log.warning("hotspot sync of router %s failed: %s", router_id, exc.message)


