"""The worker side of scale mode: poll one shard of routers under leases."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from flask import current_app

from webapp.scale import leases
from webapp.services import health
from webapp.services.polling.cycle import Poller
from webapp.timeutil import utcnow

log = logging.getLogger(__name__)
#: One poller per worker process (its thread pool and connection pool are per process by nature).
_pollers: dict[str, Poller] = {}


def _poller() -> Poller:
    poller = _pollers.get("default")
    if poller is None:
        poller = _pollers["default"] = Poller.from_config()
    return poller


@shared_task(name="routerdeck.poll_shard")
def poll_shard(token: str, router_ids: list[int]) -> dict[str, Any]:
    """Claim the shard's routers that are still due, poll them with the multiplexer, store, release."""
    owner = health.worker_name("worker")
    lease_seconds = float(current_app.config["POLL_LEASE_SECONDS"])
    claimed = leases.claim(router_ids, owner, token, utcnow(), lease_seconds)
    outcome: dict[str, Any] = {"claimed": len(claimed), "skipped": len(router_ids) - len(claimed)}
    try:
        if claimed:
            report = _poller().cycle(router_ids=claimed, force=True)
            outcome.update(online=report.online, offline=report.offline, seconds=round(report.total_seconds, 3))
    finally:
        leases.release(claimed, owner)
        health.beat(owner, "worker", last_shard=token, **outcome)
    return outcome
