"""Bytes per stored metric sample on disk, SQLite and PostgreSQL, before and after compaction (issue 15).

    .venv/bin/python bench/bench_metrics_storage.py [--routers 20] [--hours 6] [--interval 60]

The real poller polls a simulated fleet (in this process, loopback) once per ``--interval`` of simulated time
for ``--hours``, so the stored values are what polls produce (CPU, memory, uptime, latency, per-interface
rates...). Then ``metrics.compact`` rolls up and packs. Figures, per database: the metric tables' size on disk
(tables + indexes; SQLite pages from ``dbstat`` after VACUUM, PostgreSQL ``pg_total_relation_size`` after
VACUUM FULL, i.e. live data without dead-tuple space) divided by the points stored (raw points + 5-minute
buckets + hourly buckets), before compaction (all rows) and after (current hour as rows, the rest packed). The
goal is <= 8 bytes per sample (an RRD file's figure); the "before" column is the old layout's cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "bench-pass"  # noqa: S105 - the simulated fleet's login
TABLES = ("metric_points", "metric_rollups", "metric_chunks")


def disk_bytes(db: Any) -> int:
    """Metric tables and their indexes on disk, after reclaiming deleted rows' space."""
    from sqlalchemy import text

    db.session.commit()  # VACUUM FULL waits for every lock, including this session's read of the tables
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("VACUUM"))
            statement = text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name IN "
                "('metric_points', 'metric_rollups', 'metric_chunks'))"
            )
            return int(conn.execute(statement).scalar() or 0)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        total = 0
        for table in TABLES:
            conn.execute(text(f"VACUUM FULL {table}"))
            total += int(conn.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar() or 0)
        return total


def run_on(url: str, label: str, args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade

    from simulators.routeros import RouterSpec, Simulator
    from webapp import create_app
    from webapp.extensions import db
    from webapp.services import accounts, gateway, metrics, routers
    from webapp.services.poller import Poller

    app = create_app({"TESTING": True, "SECRET_KEY": "b" * 40, "JWT_SECRET_KEY": "j" * 40,
                      "ROUTER_PASSWORD_KEYS": [Fernet.generate_key().decode()], "SQLALCHEMY_DATABASE_URI": url})
    specs = [RouterSpec(name=f"r{i}", version="7.16.1" if i % 2 else "6.49.7", password=PASSWORD)
             for i in range(args.routers)]
    start = datetime(2026, 11, 30, 0, 0, tzinfo=UTC).replace(tzinfo=None)
    cycles = args.hours * 3600 // args.interval
    with Simulator(specs, seed=3) as sim, app.app_context():
        upgrade()
        owner = accounts.create_user("bench", "bench-password-1")
        for router in sim.routers:
            routers.create_router(owner, {"name": router.name, "host": router.host, "port": router.api_port,
                                          "username": "admin", "password": PASSWORD, "protocol": "api"})
        began = time.perf_counter()
        with Poller(concurrency=64, timeout=5.0, interval=args.interval) as poller:
            for cycle in range(cycles):
                poller.cycle(start + timedelta(seconds=cycle * args.interval), force=True)
        polling = time.perf_counter() - began
        gateway.close_pool()
        end = metrics.epoch(start) + cycles * args.interval
        counts = metrics.storage_counts()
        raw = counts["raw"].rows
        before = disk_bytes(db)
        # Roll up as the loop does (every 5 minutes of its life), then pack.
        began = time.perf_counter()
        report = metrics.compact(end)
        compaction = time.perf_counter() - began
        counts = metrics.storage_counts()
        stored = sum(count.rows + count.packed for count in counts.values())
        after = disk_bytes(db)
        rolled = sum(count.rows + count.packed for key, count in counts.items() if key != "raw")
        print(f"[{label}] {args.routers} routers x {cycles} polls ({args.hours} h at {args.interval} s): "
              f"{raw:,} raw points ({polling:.1f} s of polling)")
        print(f"[{label}]   before compaction: {before:,} bytes for {raw:,} raw points = "
              f"{before / raw:.1f} bytes/sample (all rows)")
        print(f"[{label}]   after compaction:  {after:,} bytes for {stored:,} points ({raw:,} raw + {rolled:,} "
              f"rollup buckets) = {after / stored:.2f} bytes/sample; raw rows left {counts['raw'].rows:,}, "
              f"chunks {sum(c.chunks for c in counts.values()):,}; compaction took {compaction:.2f} s "
              f"({report.raw_packed:,} raw points packed)")
        # In steady state (48 h raw, 30 d of 5-minute and a year of hourly buckets) all but the newest window of
        # each resolution is packed: pack those tails too to measure what a packed point costs.
        metrics.pack(metrics.RAW, end + metrics.CHUNK_SPAN[metrics.RAW])
        metrics.pack(metrics.FIVE_MINUTES, end + metrics.CHUNK_SPAN[metrics.FIVE_MINUTES])
        metrics.pack(metrics.HOUR, end + metrics.CHUNK_SPAN[metrics.HOUR])
        packed = disk_bytes(db)
        values = raw + 3 * rolled
        print(f"[{label}]   everything packed (steady state): {packed:,} bytes = {packed / stored:.2f} bytes/point "
              f"({packed / values:.2f} bytes per stored value, a bucket holding avg/min/max)")
        print(f"[{label}]   ratio before/packed: {before / raw / (packed / stored):.1f}x smaller per sample; "
              f"goal <= 8 bytes/sample: {'met' if packed / stored <= 8 else 'NOT met'}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routers", type=int, default=20)
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    from tests import postgres

    folder = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    run_on(f"sqlite:///{folder / 'bench.db'}", "sqlite", args)
    if args.sqlite_only:
        return
    if postgres.available():
        with postgres.cluster() as url:
            run_on(url, "postgresql", args)
    else:
        print("[postgresql] skipped: initdb/pg_ctl missing (make system-deps installs Debian's postgresql)")


if __name__ == "__main__":
    main()
