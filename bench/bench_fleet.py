"""Fleet benchmark: one poll cycle over N simulated routers against one round trip; a 30-day graph query.

    .venv/bin/python bench/bench_fleet.py [--routers 1000] [--latency-ms 50] [--concurrency 1000]
                                          [--blackholed 0.10] [--timeout 2.0]

The simulated fleet runs in a child process (this script re-invoked with ``--serve``, which starts the
simulator, switches the blackhole fault on for a share of the routers and prints one JSON line per
router as ``python -m simulators.routeros`` does), so the RSS printed is the poller's alone.

Figures: one round trip (median ``/system/identity/print`` on a warm connection), the cold cycle (every
router connects and logs in), the warm cycle (pooled connections) as a ratio to one round trip, the
network half (until the last router's result) and the database half (what is left after it: batches are
stored while the network half runs), the CPU the simulator and the poller used during the cycle (the
simulator serves the whole fleet from one asyncio thread, so its CPU time bounds the network half), peak
RSS; the same with blackholed routers against the deadline; and the time and rows read of a 30-day CPU
graph answered from the hourly table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def peak_rss_mib() -> float:
    """Peak resident set size of this process, in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_ms(pid: int | str = "self") -> float:
    """CPU time (user + system) a process has used so far, in ms."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def serve(count: int, latency_ms: float, blackholed: int) -> int:
    """Child process: serve the fleet, blackhole the first ``blackholed`` routers, print them, wait."""
    from simulators.routeros import RouterSpec, Simulator

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    specs = [RouterSpec(name=f"bench-{i:04d}", password="bench-pass") for i in range(count)]  # noqa: S106
    with Simulator(specs, latency_ms=latency_ms, seed=3) as sim:
        for router in sim.routers[:blackholed]:
            router.set_fault("blackhole")
        for router in sim.routers:
            sys.stdout.write(json.dumps(router.describe()) + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    return 0


def start_fleet(count: int, latency_ms: float, blackholed: int) -> tuple[subprocess.Popen[str], list[dict]]:
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--routers",
            str(count),
            "--latency-ms",
            str(latency_ms),
            "--blackholed-count",
            str(blackholed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines = [json.loads(child.stdout.readline()) for _ in range(count)]
    return child, lines


def run(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from routeros import RouterConfig, open_client
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Router
    from webapp.services import accounts, gateway, metrics
    from webapp.services.poller import Poller
    from webapp.services.vault import encrypt_password
    from webapp.timeutil import utcnow

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    folder = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    keys = [Fernet.generate_key().decode()]

    def fresh_app(name: str):  # type: ignore[no-untyped-def]
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "b" * 40,
                "JWT_SECRET_KEY": "j" * 40,
                "ROUTER_PASSWORD_KEYS": keys,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / name}",
            }
        )

    blackholed = int(args.routers * args.blackholed)
    print(
        f"fleet: {args.routers} routers, {args.latency_ms:g} ms latency, concurrency {args.concurrency}, "
        f"deadline {args.timeout:g} s; simulator in a child process"
    )
    for label, dead in (("healthy", 0), (f"{blackholed} blackholed", blackholed)):
        child, lines = start_fleet(args.routers, args.latency_ms, dead)
        app = fresh_app(f"bench{dead}.db")
        try:
            with app.app_context():
                upgrade()
                owner = accounts.create_user(f"bench{dead}", "bench-password-1")
                secret = encrypt_password("bench-pass")
                db.session.execute(
                    insert(Router),
                    [
                        {
                            "user_id": owner.id,
                            "name": line["name"],
                            "host": line["host"],
                            "port": line["api_port"],
                            "username": "admin",
                            "encrypted_password": secret,
                            "protocol": "api",
                        }
                        for line in lines
                    ],
                )
                db.session.commit()
                healthy = lines[dead]
                config = RouterConfig(
                    host=healthy["host"], port=healthy["api_port"], password="bench-pass", protocol="api"  # noqa: S106
                )
                with open_client(config) as client:
                    samples = []
                    for _ in range(15):
                        started = time.perf_counter()
                        client.identity()
                        samples.append(time.perf_counter() - started)
                rtt = statistics.median(samples)
                print(f"\n[{label}] one round trip: {rtt * 1000:.1f} ms")
                with Poller(concurrency=args.concurrency, timeout=args.timeout, interval=60) as poller:
                    for cycle in ("cold", "warm", "warm"):
                        time.sleep(1.0)  # metric points are per second
                        sim_before, own_before = cpu_ms(child.pid), cpu_ms()
                        report = poller.cycle(utcnow(), force=True)
                        sim_cpu, own_cpu = cpu_ms(child.pid) - sim_before, cpu_ms() - own_before
                        database = report.total_seconds - report.network_seconds
                        print(
                            f"[{label}] {cycle} cycle: {report.total_seconds * 1000:.0f} ms "
                            f"= {report.total_seconds / rtt:.1f}x one round trip "
                            f"(network {report.network_seconds * 1000:.0f} ms "
                            f"= {report.network_seconds / rtt:.1f}x, database {database * 1000:.0f} ms); "
                            f"{report.online} up, {report.offline} down, {report.metric_rows} metric rows; "
                            f"CPU: simulator {sim_cpu:.0f} ms, poller {own_cpu:.0f} ms"
                        )
                    if dead:
                        bound = args.timeout + 3 * rtt
                        print(f"[{label}] goal: cycle <= deadline + 3 round trips = {bound * 1000:.0f} ms")
                print(f"[{label}] peak RSS of the poller process: {peak_rss_mib():.0f} MiB")
                gateway.close_pool()
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(60)

    with app.app_context():
        print("\nmetric query: 30 days of one router's CPU")
        router_id = 1
        now = metrics.epoch(utcnow())
        now -= now % 3600
        hours = 30 * 24
        rows = [
            {
                "resolution": res,
                "router_id": rid,
                "name": "cpu",
                "subject": "",
                "ts": now - i * res,
                "avg": 20.0,
                "min": 5.0,
                "max": 60.0,
                "samples": 5 if res == 300 else 60,
            }
            for rid in (router_id, 2, 3)
            for res, count in ((3600, hours), (300, hours * 12))
            for i in range(1, count + 1)
        ]
        from webapp.models import MetricRollup, User

        db.session.execute(insert(MetricRollup), rows)
        db.session.commit()
        actor = db.session.get(User, db.session.get(Router, router_id).user_id)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            result = metrics.series(actor, router_id, "cpu", start=now - 30 * 86400, end=now, now=now)
            timings.append(time.perf_counter() - started)
        print(
            f"30-day graph: {statistics.median(timings) * 1000:.1f} ms (median of 5), source table "
            f"{result.source}, {result.rows_read} rows read, {len(result.points)} points at {result.step} s "
            f"(rollup tables hold {len(rows)} rows for 3 routers)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=2.0, help="the deadline of one router's poll")
    parser.add_argument("--blackholed", type=float, default=0.10, help="share of routers blackholed")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--blackholed-count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.routers, args.latency_ms, args.blackholed_count)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
