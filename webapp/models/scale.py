"""What several processes share: worker heartbeats (for ``/readyz``) and compacted metric chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.timeutil import utcnow


class WorkerHeartbeat(Model):
    """One background process (poller loop, Celery worker, scheduler) and when it last said it was alive."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MetricChunk(Model):
    """Many points of one series packed together (see :mod:`webapp.services.chunks` for the encoding).

    ``resolution`` 0 holds raw points (one value each), 300 and 3600 hold rollup buckets (avg, min, max,
    samples). ``start_ts`` is the aligned start of the window the chunk covers; ``end_ts`` its last point.
    """

    __tablename__ = "metric_chunks"
    # Retention drops whole windows by start: without this it would scan every chunk each compaction.
    __table_args__ = (Index("ix_metric_chunks_resolution_start", "resolution", "start_ts"),)

    resolution: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    router_id: Mapped[int] = mapped_column(ForeignKey("routers.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    end_ts: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
