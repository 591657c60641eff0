"""API overhead benchmarks (issue 6), printed as ratios in one run.

    .venv/bin/python bench/bench_api.py [--calls 300] [--latency-ms 0,20,50] [--routers 1000] [--seconds 3]

[1] ``POST /routers/{id}/execute-command/`` through the real HTTP server (werkzeug, threaded; JWT auth,
    validation, command history row, audit) against the same command as a direct pooled driver call, for a
    simulated router with each injected latency. Goal: API time / direct time <= 1.3.
[2] ``GET /routers/`` returning 1,000 routers against a trivial authenticated endpoint of the same app
    (``GET /users/me/``), requests per second over a keep-alive session. Goal: list throughput >= 0.3 x.
Figures are medians; the machine's load moves absolute numbers, ratios from one run are what to compare.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--latency-ms", default="0,20,50")
    parser.add_argument("--routers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    import requests
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade
    from sqlalchemy import insert
    from werkzeug.serving import make_server

    from routeros import ClientPool, RouterConfig
    from simulators.routeros import RouterSpec, Simulator
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Router
    from webapp.services import accounts, gateway
    from webapp.services.vault import encrypt_password
    from webapp.timeutil import utcnow

    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    app = create_app({
        "TESTING": True, "SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40,
        "ROUTER_PASSWORD_KEYS": [Fernet.generate_key().decode()],
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}", "LOGIN_RATE_LIMIT": "100000 per minute",
    })
    with app.app_context():
        upgrade()
        accounts.create_user("bench", "bench-password")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    http = requests.Session()
    token = http.post(f"{base}/users/login/", json={"username": "bench", "password": "bench-password"}).json()
    http.headers["Authorization"] = f"Bearer {token['access']}"

    print(f"[1] execute-command through the API vs a direct driver call ({args.calls} calls each, medians)")
    latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    for latency in latencies:
        spec = RouterSpec(name=f"bench-{latency:g}", password="bench-pass")  # noqa: S106
        with Simulator([spec], latency_ms=latency) as sim:
            sim_router = sim.routers[0]
            created = http.post(f"{base}/routers/", json={
                "name": spec.name, "host": sim_router.host, "port": sim_router.api_port, "protocol": "api",
                "username": "admin", "password": "bench-pass"}).json()
            body = {"command": "system/identity", "method": "GET"}
            url = f"{base}/routers/{created['id']}/execute-command/"
            config = RouterConfig(host=sim_router.host, port=sim_router.api_port, username="admin",
                                  password="bench-pass", protocol="api")  # noqa: S106
            with ClientPool() as pool:
                for _ in range(10):  # warm both paths: pooled connections, caches
                    assert http.post(url, json=body).status_code == 200
                    with pool.client(config) as client:
                        client.run("system/identity", "GET")
                api_times, direct_times = [], []
                for _ in range(args.calls):
                    started = time.perf_counter()
                    response = http.post(url, json=body)
                    api_times.append(time.perf_counter() - started)
                    assert response.status_code == 200
                    started = time.perf_counter()
                    with pool.client(config) as client:
                        client.run("system/identity", "GET")
                    direct_times.append(time.perf_counter() - started)
            api, direct = median_ms(api_times), median_ms(direct_times)
            print(f"    router latency {latency:>4g} ms: API {api:7.2f} ms, direct {direct:7.2f} ms "
                  f"-> {api / direct:.2f}x (goal <= 1.3x)")
    gateway.close_pool()

    print(f"[2] GET /routers/ with {args.routers} routers vs GET /users/me/ (requests/s over {args.seconds:g} s)")
    with app.app_context():
        user = accounts.authenticate("bench", "bench-password")
        secret = encrypt_password("router-pass")
        now = utcnow()
        db.session.execute(insert(Router), [
            {"user_id": user.id, "name": f"router-{i:04d}", "host": f"10.{i // 250}.{i % 250}.1", "port": 8728,
             "username": "admin", "encrypted_password": secret, "use_https": False, "protocol": "api",
             "verify_tls": False, "is_online": i % 3 != 0, "created_at": now, "updated_at": now}
            for i in range(args.routers - len(latencies))
        ])
        db.session.commit()

    def throughput(path: str) -> float:
        count = 0
        deadline = time.perf_counter() + args.seconds
        while time.perf_counter() < deadline:
            response = http.get(f"{base}{path}")
            assert response.status_code == 200
            count += 1
        return count / args.seconds

    routers = http.get(f"{base}/routers/").json()
    assert len(routers) == args.routers, len(routers)
    trivial = throughput("/users/me/")
    listing = throughput("/routers/")
    print(f"    GET /users/me/: {trivial:7.1f} req/s; GET /routers/ ({len(routers)} routers): {listing:7.1f} req/s "
          f"-> {listing / trivial:.2f}x (goal >= 0.3x)")
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
