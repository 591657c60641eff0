"""Voucher pushes as jobs: pipelined vs one round trip per voucher, and other users' writes during a push.

    .venv/bin/python bench/bench_jobs.py [--vouchers 1000] [--latency-ms 50] [--sequential 1000]

1. The driver: 1,000 hotspot-user adds to a simulated router 50 ms away over the binary API, pipelined
   (``client.pipeline`` in rounds of ``VOUCHER_PUSH_CHUNK``=100 tagged commands) vs one round trip each
   (``client.call(".../add")`` in a loop). Goal: pipelined <= 3 s and >= 15x faster.
2. The whole path: the web app in a child process (embedded job runner, SQLite file), ``POST
   /routers/{id}/voucher-batches/`` with 1,000 vouchers answers 202 and a job; meanwhile another user creates
   and renames routers in a loop. Printed: the request's answer time, the job's time to ``succeeded``, and p50/p99
   of the other user's writes during the push. Goal: p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routeros import Command, RouterConfig, open_client  # noqa: E402
from simulators.routeros import RouterSpec, Simulator  # noqa: E402

PASSWORD = "sim-pass-123"  # noqa: S105 - the simulated router's
USERS = "ip/hotspot/user"


def driver(host: str, port: int, count: int, sequential: int) -> tuple[float, float, float]:
    """Seconds for ``count`` pipelined adds, for ``sequential`` one-by-one adds, and the per-add sequential cost."""
    config = RouterConfig(host=host, port=port, username="admin", password=PASSWORD, protocol="api", timeout=30)
    with open_client(config) as client:
        started = time.perf_counter()
        for start in range(0, count, 100):
            results = client.pipeline([Command(USERS, "add", {"name": f"pipe-{n}", "password": "p", "comment": "b"})
                                       for n in range(start, min(count, start + 100))])
            assert all(result.ok for result in results)
        pipelined = time.perf_counter() - started
        started = time.perf_counter()
        for n in range(sequential):
            client.call(f"{USERS}/add", {"name": f"seq-{n}", "password": "p", "comment": "b"})
        one_by_one = time.perf_counter() - started
    return pipelined, one_by_one, one_by_one / max(1, sequential)


def whole_path(sim_router: object, count: int) -> dict[str, float]:
    """Push ``count`` vouchers through the served app while another user writes; the figures of part 2."""
    from flask_migrate import upgrade

    from tests.jobs.processes import login, wait_until, web_server
    from webapp import create_app
    from webapp.extensions import db
    from webapp.services import accounts, packages, routers

    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    config = {
        "SECRET_KEY": "bench-secret-" + "x" * 40, "JWT_SECRET_KEY": "bench-jwt-" + "y" * 40,
        "ROUTER_PASSWORD_KEYS": [Fernet.generate_key().decode()],
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}", "LOGIN_RATE_LIMIT": "10000 per minute",
        "JOBS_RUNNER": "embedded", "JOBS_POLL_INTERVAL": 0.2, "ROUTER_TIMEOUT": 10.0,
    }
    app = create_app({**config, "TESTING": True, "JOBS_RUNNER": "external"})
    with app.app_context():
        upgrade()
        alice = accounts.create_user("alice", "correct horse battery")
        accounts.create_user("bob", "correct horse battery")
        router = routers.create_router(alice, {
            "name": "Far", "host": sim_router.host, "port": sim_router.api_port,  # type: ignore[attr-defined]
            "protocol": "api", "username": "admin", "password": PASSWORD})
        package = packages.create_package(alice, router.id, {
            "name": "Hour", "package_type": "hourly", "duration_hours": 1, "price": "10",
            "download_speed_mbps": 5, "upload_speed_mbps": 2}).package
        assert package is not None
        router_id, package_id = router.id, package.id
        db.engine.dispose()
    latencies: list[float] = []
    with web_server(config) as (base, _process):
        a, b = login(base, "alice", "correct horse battery"), login(base, "bob", "correct horse battery")
        stop = threading.Event()

        def other_user() -> None:
            number = 0
            while not stop.is_set():
                number += 1
                started = time.perf_counter()
                made = requests.post(f"{base}/routers/", headers=b, timeout=30, json={
                    "name": f"b{number}", "host": "127.0.0.1", "port": 9, "username": "u", "password": "p"})
                latencies.append(time.perf_counter() - started)
                assert made.status_code == 201, made.text
                started = time.perf_counter()
                renamed = requests.patch(f"{base}/routers/{made.json()['id']}/", headers=b, timeout=30,
                                         json={"name": f"b{number}r"})
                latencies.append(time.perf_counter() - started)
                assert renamed.status_code == 200, renamed.text

        writer = threading.Thread(target=other_user)
        writer.start()
        time.sleep(0.5)  # the writer is warm
        latencies.clear()
        started = time.perf_counter()
        answer = requests.post(f"{base}/routers/{router_id}/voucher-batches/", headers=a, timeout=60,
                               json={"package_id": package_id, "count": count})
        accepted = time.perf_counter() - started
        assert answer.status_code == 202, answer.text
        url = base + answer.headers["Location"]
        job = wait_until(lambda: (lambda body: body if body["state"] not in ("queued", "running") else None)(
            requests.get(url, headers=a, timeout=30).json()), seconds=300, pause=0.02)
        finished = time.perf_counter() - started
        stop.set()
        writer.join(30)
    if job["state"] != "succeeded" or job["done"] != count:
        raise SystemExit(f"the push did not finish: {job}")
    ordered = sorted(latencies)
    return {"accepted": accepted, "finished": finished, "writes": len(ordered),
            "p50": statistics.median(ordered) if ordered else float("nan"),
            "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vouchers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--sequential", type=int, default=1000, help="one-by-one adds to time (default: all)")
    args = parser.parse_args()
    specs = [RouterSpec(name="driver", password=PASSWORD), RouterSpec(name="app", password=PASSWORD)]
    with Simulator(specs, host="127.0.0.1", latency_ms=args.latency_ms, seed=11) as sim:
        pipelined, one_by_one, per_add = driver(sim.router("driver").host, sim.router("driver").api_port,
                                                args.vouchers, args.sequential)
        projected = per_add * args.vouchers
        print(f"[1] {args.vouchers} hotspot users to a router {args.latency_ms:g} ms away (binary API)")
        print(f"    pipelined (rounds of 100 tagged commands): {pipelined:.2f} s   goal <= 3 s: "
              f"{'met' if pipelined <= 3 else 'MISSED'}")
        print(f"    one round trip each: {one_by_one:.2f} s for {args.sequential}"
              + (f" ({projected:.1f} s for {args.vouchers} at that rate)" if args.sequential != args.vouchers else ""))
        ratio = projected / pipelined
        print(f"    ratio {ratio:.1f}x   goal >= 15x: {'met' if ratio >= 15 else 'MISSED'}")
        figures = whole_path(sim.router("app"), args.vouchers)
        print(f"[2] the served app: a {args.vouchers}-voucher batch while another user writes")
        print(f"    202 Accepted after {figures['accepted'] * 1000:.0f} ms; job succeeded after "
              f"{figures['finished']:.2f} s")
        print(f"    other user's writes during the push: {figures['writes']:.0f}, p50 {figures['p50'] * 1000:.1f} ms, "
              f"p99 {figures['p99'] * 1000:.1f} ms   goal p99 <= 100 ms: "
              f"{'met' if figures['p99'] <= 0.1 else 'MISSED'}")


if __name__ == "__main__":
    main()
