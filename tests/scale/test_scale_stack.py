"""The scale-out stack for real: PostgreSQL, Redis, Celery workers and gunicorn as processes on loopback.

A router created through gunicorn is polled by a worker; a worker killed mid-cycle leaves its routers to
another worker once the lease runs out; two claimers racing for the same routers never share one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete, select

from simulators.routeros import RouterSpec, Simulator
from tests import postgres, redis_server
from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import PollState, Router, User, WorkerHeartbeat
from webapp.scale import leases, scheduler
from webapp.services import accounts, routers
from webapp.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SIM_PASSWORD = "scale-pass-1"
KEYS = [Fernet.generate_key().decode()]


def until(condition: Callable[[], Any], seconds: float = 60.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy (the deadline only stops a hung test; nothing asserts on time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (postgres.available() and redis_server.available()):
        pytest.fail("postgresql and redis-server are needed: `make test` installs them")
    with postgres.cluster() as pg_url, redis_server.server() as redis_url:
        config = make_config(
            tmp_path_factory.mktemp("scale") / "unused.db",
            SQLALCHEMY_DATABASE_URI=pg_url,
            BROKER_URL=redis_url,
            ROUTER_PASSWORD_KEYS=KEYS,
            POLL_TIMEOUT=8.0,
            POLL_LEASE_SECONDS=4,
            CELERY_VISIBILITY_TIMEOUT=3600,
        )
        app = create_app(config)
        with app.app_context():
            upgrade()
            accounts.create_user("alice", PASSWORD)
        env = dict(os.environ)
        env.update({
            "FLASK_SECRET_KEY": config["SECRET_KEY"],
            "FLASK_JWT_SECRET_KEY": config["JWT_SECRET_KEY"],
            "FLASK_ROUTER_PASSWORD_KEYS": ",".join(KEYS),
            "FLASK_SQLALCHEMY_DATABASE_URI": pg_url,
            "FLASK_BROKER_URL": redis_url,
            "FLASK_POLL_TIMEOUT": "8",
            "FLASK_POLL_LEASE_SECONDS": "4",
            "FLASK_READY_WORKER_KINDS": "worker",
            "FLASK_LOGIN_RATE_LIMIT": "1000 per minute",
        })
        port = _port()
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        workers: list[subprocess.Popen[bytes]] = []

        def start_worker(name: str) -> subprocess.Popen[bytes]:
            process = subprocess.Popen(
                [str(BIN / "celery"), "-A", "webapp.scale.worker", "worker", "-Q", "payments,routers,monitoring",
                 "-c", "1", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
            workers.append(process)
            return process

        base = f"http://127.0.0.1:{port}"
        try:
            until(lambda: _healthy(base), 60, "gunicorn")
            yield {"app": app, "base": base, "start_worker": start_worker, "broker": redis_url}
        finally:
            for process in [web, *workers]:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name=f"s{i}", version="7.16.1", password=SIM_PASSWORD) for i in range(3)]
    with Simulator(specs, seed=21) as simulator:
        yield simulator


def _alice() -> User:
    user = db.session.scalar(select(User).where(User.username == "alice"))
    assert user is not None
    return user


def _tick(app: Flask) -> int:
    from webapp.scale.tasks import poll_shard

    with app.app_context():
        return scheduler.tick(100, float(app.config["POLL_LEASE_SECONDS"]),
                              lambda token, shard: poll_shard.apply_async((token, shard), queue="monitoring"))


def _state(app: Flask, router_id: int) -> PollState:
    with app.app_context():
        state = db.session.get(PollState, router_id)
        assert state is not None
        db.session.expunge(state)
        return state


def test_a_router_created_through_gunicorn_is_polled_by_a_worker(stack: dict[str, Any], sim: Simulator) -> None:
    app, base = stack["app"], stack["base"]
    worker = stack["start_worker"]("w1")
    login = requests.post(f"{base}/users/login/", json={"username": "alice", "password": PASSWORD}, timeout=10)
    assert login.status_code == 200
    # Login rate limits are counted in Redis, shared by every gunicorn process, not in each process's memory.
    counters = redis.Redis.from_url(stack["broker"])
    try:
        assert any(b"login" in key.lower() or b"limiter" in key.lower() for key in counters.keys("*"))
    finally:
        counters.close()
    headers = {"Authorization": f"Bearer {login.json()['access']}"}
    router = sim.router("s0")
    created = requests.post(f"{base}/routers/", headers=headers, timeout=10, json={
        "name": "s0", "host": router.host, "port": router.api_port, "username": "admin",
        "password": SIM_PASSWORD, "protocol": "api"})
    assert created.status_code == 201
    rid = created.json()["id"]
    assert _tick(app) == 1
    # Polled, stored, and the lease given back afterwards.
    state = until(lambda: (s := _state(app, rid)).last_success_at and s.lease_owner is None and s,
                  what="the worker's poll and release")
    assert state.failures == 0
    with app.app_context():
        assert db.session.get(Router, rid).is_online  # type: ignore[union-attr]
        beats = list(db.session.scalars(select(WorkerHeartbeat.name).where(WorkerHeartbeat.kind == "worker")))
    assert any(name.startswith("worker@") for name in beats)
    ready = requests.get(f"{base}/readyz", timeout=10).json()
    assert ready["checks"] == {"database": "ok", "broker": "ok", "workers": "ok"}
    # Polled: not due again within its interval, so the next tick queues nothing.
    assert _tick(app) == 0
    body = requests.get(f"{base}/routers/{rid}/metrics/?name=cpu", headers=headers, timeout=10).json()
    assert body["points"]
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)


def test_a_worker_killed_mid_cycle_leaves_its_routers_to_another(stack: dict[str, Any], sim: Simulator) -> None:
    app = stack["app"]
    router = sim.router("s1")
    with app.app_context():
        rid = routers.create_router(_alice(), {"name": "s1", "host": router.host, "port": router.api_port,
                                               "username": "admin", "password": SIM_PASSWORD, "protocol": "api"}).id
    router.set_fault("latency", ms=6000)  # the poll is still waiting on the router when the worker dies
    doomed = stack["start_worker"]("doomed")
    assert _tick(app) == 1
    holder = until(lambda: (o := _state(app, rid).lease_owner) and not o.startswith("queued:") and o,
                   what="the first worker's claim")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    router.clear_fault("latency")
    stack["start_worker"]("rescuer")
    # Nothing was stored by the dead worker; once its lease runs out the scheduler queues the router again.
    assert _state(app, rid).last_success_at is None
    until(lambda: _tick(app), 60, "the lease to expire and the router to be queued again")
    state = until(lambda: (s := _state(app, rid)).last_success_at and s, what="the rescuer's poll")
    assert state.failures == 0
    with app.app_context():
        rescuers = [b for b in db.session.scalars(select(WorkerHeartbeat)) if b.details.get("claimed")]
    assert any(beat.name != holder for beat in rescuers)


def test_racing_claimers_never_share_a_router(stack: dict[str, Any]) -> None:
    app = stack["app"]
    with app.app_context():
        ids = [
            routers.create_router(_alice(), {"name": f"race{index}", "host": "127.0.0.1", "port": 9,
                                             "username": "admin", "password": "x", "protocol": "api"}).id
            for index in range(40)
        ]
        leases.ensure_states()
    won: dict[str, list[int]] = {}
    start = threading.Barrier(2)

    def claimer(owner: str) -> None:
        with app.app_context():
            start.wait()
            won[owner] = leases.claim(ids, owner, "no-shard", utcnow(), 60)
            db.session.remove()

    threads = [threading.Thread(target=claimer, args=(f"claimer-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(won["claimer-0"]) & set(won["claimer-1"])
    assert sorted(won["claimer-0"] + won["claimer-1"]) == sorted(ids)
    with app.app_context():
        # A shard delivered twice: the second delivery finds every router leased and polls none.
        assert leases.claim(ids, "late-duplicate", "no-shard", utcnow(), 60) == []
        db.session.execute(delete(Router).where(Router.id.in_(ids)))
        db.session.commit()
