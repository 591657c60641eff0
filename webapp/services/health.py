"""Liveness and readiness for a load balancer, and the heartbeats background processes leave behind.

Readiness checks the database (one ``SELECT 1``), the broker when one is configured (``BROKER_URL``, a Redis
``PING``) and that background workers were seen recently (a heartbeat row each writes every cycle or task).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from webapp.database import rowcount
from webapp.extensions import db
from webapp.models import WorkerHeartbeat
from webapp.timeutil import utcnow


def worker_name(kind: str) -> str:
    """This process's heartbeat name: ``kind@host:pid``."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


def beat(name: str, kind: str, **details: Any) -> None:
    """Record that the background process ``name`` is alive now (its own short transaction)."""
    now = utcnow()
    table = WorkerHeartbeat.__table__
    values = {"kind": kind, "last_seen": now, "details": details}
    try:
        if not rowcount(db.session.execute(update(table).where(table.c.name == name).values(values))):
            db.session.execute(table.insert().values(name=name, **values))
        db.session.commit()
    except IntegrityError:  # two beats of one name raced: the other one wrote it
        db.session.rollback()


@dataclass
class Readiness:
    """Each check's verdict (``ok``, ``skipped`` or an error text) and whether the node should get traffic."""

    ready: bool
    checks: dict[str, str] = field(default_factory=dict)
    workers: list[dict[str, Any]] = field(default_factory=list)


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        return f"unreachable: {type(exc).__name__}"


def _broker(url: str, timeout: float) -> str:
    import redis  # the scale extra: only a node configured with a broker needs it

    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"


def readiness() -> Readiness:
    """Check the database, the broker and recent worker heartbeats (the kinds in ``READY_WORKER_KINDS``)."""
    config = current_app.config
    checks = {"database": _database()}
    broker = config.get("BROKER_URL")
    checks["broker"] = _broker(broker, float(config["HEALTH_TIMEOUT"])) if broker else "skipped"
    workers: list[dict[str, Any]] = []
    required = list(config.get("READY_WORKER_KINDS") or [])
    if checks["database"] == "ok":
        fresh_after = utcnow() - timedelta(seconds=float(config["WORKER_STALE_SECONDS"]))
        rows = db.session.execute(
            select(WorkerHeartbeat.name, WorkerHeartbeat.kind, WorkerHeartbeat.last_seen)
            .where(WorkerHeartbeat.last_seen >= fresh_after)
            .order_by(WorkerHeartbeat.kind, WorkerHeartbeat.name)
        )
        workers = [{"name": n, "kind": k, "last_seen": seen.isoformat() + "Z"} for n, k, seen in rows]
        db.session.rollback()
        seen_kinds = {worker["kind"] for worker in workers}
        missing = [kind for kind in required if kind not in seen_kinds]
        checks["workers"] = ("none seen recently: " + ", ".join(missing)) if missing else (
            "ok" if required else "skipped"
        )
    else:
        checks["workers"] = "unknown: database unreachable"
    ready = all(verdict in ("ok", "skipped") for verdict in checks.values())
    return Readiness(ready, checks, workers)
