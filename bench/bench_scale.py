"""Scale bench (issue 15): a simulated fleet on distinct loopback addresses polled every interval, by the scale
stack (PostgreSQL, Redis, Celery workers, the scheduler) and by the embedded default (SQLite, `flask poll`).

    .venv/bin/python bench/bench_scale.py [--routers 10000] [--interval 60] [--window 180] [--workers 2]
                                          [--per-sim 2000] [--mode both|scale|embedded]

The fleet is served by simulator child processes (``--per-sim`` routers each: one process cannot hold the
listening sockets of 10,000 routers under this box's open-file limit), each router on its own 127.x.y.z:8728.
After a warm-up (until every router has been polled once), the window is measured:

- on time: the share of expected polls (routers x window / interval) that happened no later than 10 % of an
  interval after they were due (gap to the router's previous poll <= 1.1 x interval);
- poller CPU per router-poll: user+system CPU of the pollers' process trees (Celery workers, or `flask poll`)
  over the window, divided by the polls made in it (the database half is included: it runs in the same
  processes);
- bytes per stored sample of the raw rows written (before compaction; see bench_metrics_storage.py for the
  packed figure), and the peak RSS of each poller process tree.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PASSWORD = "bench-pass"  # noqa: S105 - the simulated fleet's login


def host_of(index: int) -> str:
    return f"127.{10 + index // 62500}.{index // 250 % 250}.{index % 250 + 1}"


def serve(first: int, count: int) -> int:
    """Child: serve routers [first, first+count) each on its own address at 8728; print them; wait."""
    import threading

    from simulators.routeros import RouterSpec, Simulator

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    specs = [RouterSpec(name=f"r{i:05d}", password=PASSWORD, host=host_of(i), api_port=8728)
             for i in range(first, first + count)]
    with Simulator(specs, seed=7) as sim:
        for router in sim.routers:
            sys.stdout.write(json.dumps({"name": router.name, "host": router.host, "port": router.api_port}) + "\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    return 0


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            frontier.append(child)
    return found


def cpu_ms(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def peak_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def start_fleet(count: int, per_sim: int) -> tuple[list[subprocess.Popen[str]], list[dict[str, Any]]]:
    children, lines = [], []
    for first in range(0, count, per_sim):
        children.append(subprocess.Popen(
            [sys.executable, __file__, "--serve", str(first), str(min(per_sim, count - first))],
            stdout=subprocess.PIPE, text=True,
        ))
    for child in children:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(json.loads(line))
            if len(lines) % per_sim == 0 or len(lines) == count:
                break
    return children, lines


def prepare(url: str, routers: list[dict[str, Any]], keys: list[str], extra: dict[str, Any]) -> Any:
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Router
    from webapp.services import accounts
    from webapp.services.vault import encrypt_password

    app = create_app({"TESTING": True, "SECRET_KEY": "b" * 40, "JWT_SECRET_KEY": "j" * 40,
                      "ROUTER_PASSWORD_KEYS": keys, "SQLALCHEMY_DATABASE_URI": url, **extra})
    with app.app_context():
        upgrade()
        owner = accounts.create_user("bench", "bench-password-1")
        secret = encrypt_password(PASSWORD)
        db.session.execute(insert(Router), [
            {"user_id": owner.id, "name": r["name"], "host": r["host"], "port": r["port"], "username": "admin",
             "encrypted_password": secret, "protocol": "api", "use_https": False, "verify_tls": False}
            for r in routers
        ])
        db.session.commit()
    return app


def polls_between(app: Any, start: int, end: int) -> dict[int, list[int]]:
    """Poll times per router (each successful poll stores one latency point at its start)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import MetricPoint

    with app.app_context():
        rows = db.session.execute(
            select(MetricPoint.router_id, MetricPoint.ts)
            .where(MetricPoint.name == "latency", MetricPoint.ts >= start, MetricPoint.ts < end)
            .order_by(MetricPoint.router_id, MetricPoint.ts)
        )
        found: dict[int, list[int]] = {}
        for router_id, ts in rows:
            found.setdefault(router_id, []).append(int(ts))
        db.session.remove()
        return found


def measure(label: str, app: Any, pollers: list[subprocess.Popen[Any]], args: argparse.Namespace,
            count: int) -> None:
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import PollState

    began = time.time()
    deadline = began + max(6 * args.interval, 600)
    while time.time() < deadline:  # warm-up: every router polled once (cold connects and logins)
        with app.app_context():
            done = db.session.scalar(select(func.count()).where(PollState.last_success_at.is_not(None))) or 0
            db.session.remove()
        if done >= count:
            break
        time.sleep(2)
    warm = time.time() - began
    print(f"[{label}] warm-up: {done:,}/{count:,} routers polled once in {warm:.0f} s")
    pids = [pid for p in pollers for pid in tree(p.pid)]
    cpu_start, start = cpu_ms(pids), int(time.time())
    time.sleep(args.window)
    pids = [pid for p in pollers for pid in tree(p.pid)]
    cpu_used, end = cpu_ms(pids) - cpu_start, int(time.time())
    history = polls_between(app, start - 2 * args.interval, end)
    polls = on_time = 0
    for times in history.values():
        previous = None
        for ts in times:
            if ts >= start and previous is not None:
                polls += 1
                on_time += ts - previous <= 1.1 * args.interval
            previous = ts
    expected = count * (end - start) // args.interval
    rss = [peak_rss_mb(tree(p.pid)) for p in pollers]
    print(f"[{label}] window {end - start} s: {polls:,} polls, {expected:,} expected; on time "
          f"{100 * min(on_time, expected) / max(expected, 1):.2f} % (goal >= 99.5 %)")
    print(f"[{label}] poller CPU per router-poll: {cpu_used / max(polls, 1):.3f} ms (goal <= 0.3 ms); "
          f"{cpu_used / 1000 / (end - start) * 100:.0f} % of one core")
    print(f"[{label}] peak RSS per poller process tree: " + ", ".join(f"{mb:.0f} MB" for mb in rss))


def stop(processes: list[subprocess.Popen[Any]]) -> None:
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def env_for(url: str, keys: list[str], extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"FLASK_SECRET_KEY": "b" * 40, "FLASK_JWT_SECRET_KEY": "j" * 40,
                "FLASK_ROUTER_PASSWORD_KEYS": ",".join(keys), "FLASK_SQLALCHEMY_DATABASE_URI": url, **extra})
    return env


def run_scale(args: argparse.Namespace, routers: list[dict[str, Any]], keys: list[str]) -> None:
    from tests import postgres, redis_server

    with postgres.cluster() as url, redis_server.server() as broker:
        app = prepare(url, routers, keys, {})
        env = env_for(url, keys, {"FLASK_BROKER_URL": broker, "FLASK_POLL_INTERVAL": str(args.interval),
                                  "FLASK_POLL_CONCURRENCY": "2000", "FLASK_POLL_SHARD_SIZE": str(args.shard)})
        workers = [
            subprocess.Popen(
                [str(BIN / "celery"), "-A", "webapp.scale.worker", "worker", "-Q", "payments,routers,monitoring",
                 "-c", "1", "-n", f"bench{n}@%h", "--without-gossip", "--without-mingle", "-l", "ERROR"],
                cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for n in range(args.workers)
        ]
        scheduler = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "scale-scheduler"], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            print(f"[scale] {len(routers):,} routers every {args.interval} s: {args.workers} Celery workers "
                  f"(1 process each), shards of {args.shard}, PostgreSQL + Redis")
            measure("scale", app, workers, args, len(routers))
            print(f"[scale] scheduler peak RSS {peak_rss_mb(tree(scheduler.pid)):.0f} MB")
        finally:
            stop([*workers, scheduler])
            with app.app_context():
                from webapp.extensions import db

                db.engine.dispose()


def run_embedded(args: argparse.Namespace, routers: list[dict[str, Any]], keys: list[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    url = f"sqlite:///{folder / 'embedded.db'}"
    app = prepare(url, routers, keys, {})
    env = env_for(url, keys, {"FLASK_POLL_INTERVAL": str(args.interval), "FLASK_POLL_CONCURRENCY": "2000"})
    poller = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "poll"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        print(f"[embedded] {len(routers):,} routers every {args.interval} s: one `flask poll` process, SQLite")
        measure("embedded", app, [poller], args, len(routers))
    finally:
        stop([poller])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routers", type=int, default=10000)
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--window", type=int, default=180)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shard", type=int, default=500)
    parser.add_argument("--per-sim", type=int, default=2000)
    parser.add_argument("--mode", choices=("both", "scale", "embedded"), default="both")
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        sys.exit(serve(*args.serve))
    from cryptography.fernet import Fernet

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    keys = [Fernet.generate_key().decode()]
    began = time.time()
    fleet, routers = start_fleet(args.routers, args.per_sim)
    print(f"fleet: {len(routers):,} simulated routers on distinct loopback addresses in {len(fleet)} simulator "
          f"processes (started in {time.time() - began:.0f} s); machine: {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    try:
        if args.mode in ("both", "scale"):
            run_scale(args, routers, keys)
        if args.mode in ("both", "embedded"):
            run_embedded(args, routers, keys)
    finally:
        for child in fleet:
            child.send_signal(signal.SIGTERM)
        for child in fleet:
            child.wait(timeout=60)


if __name__ == "__main__":
    main()
