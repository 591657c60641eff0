"""The rule of the house in real processes: a voucher push runs as a job in the serving process while other
users write, the poller polls, and a ``kill -9`` in the middle loses nothing (real sockets, real SQLite file)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask_migrate import upgrade

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from tests.jobs.processes import login, wait_until, web_server, worker
from webapp import create_app
from webapp.extensions import db
from webapp.models import Job, Voucher
from webapp.services import accounts, packages, poller, routers, vouchers

PASSWORD = "correct horse battery"
SIM_PASSWORD = "sim-pass-123"


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="slow", password=SIM_PASSWORD)], host="127.0.0.1", latency_ms=60,
                   seed=9) as simulator:
        yield simulator.router("slow")


@pytest.fixture
def setup(tmp_path: Path, sim: SimRouter) -> Iterator[tuple[dict[str, Any], Flask, int, int]]:
    """A database with alice's router and package and a user bob; the config a child process needs."""
    config = make_config(tmp_path / "jobs.db", JOBS_RUNNER="embedded", JOB_LEASE_SECONDS=2, JOBS_POLL_INTERVAL=0.2,
                         VOUCHER_PUSH_CHUNK=10, ROUTER_TIMEOUT=5.0, ROUTER_IO_GUARD=False)
    app = create_app({**config, "JOBS_RUNNER": "external"})
    with app.app_context():
        upgrade()
        alice = accounts.create_user("alice", PASSWORD)
        accounts.create_user("bob", PASSWORD)
        router = routers.create_router(alice, {"name": "Slow Hotspot", "host": sim.host, "port": sim.api_port,
                                               "protocol": "api", "username": "admin", "password": SIM_PASSWORD})
        package = packages.create_package(alice, router.id, {
            "name": "Hour", "package_type": "hourly", "duration_hours": 1, "price": "10",
            "download_speed_mbps": 5, "upload_speed_mbps": 2}).package
        assert package is not None
        ids = router.id, package.id
    yield config, app, *ids
    with app.app_context():
        db.engine.dispose()


def _job(base: str, headers: dict[str, str], url: str) -> dict[str, Any]:
    answer = requests.get(base + url, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _router_users(sim: SimRouter, batch_id: int) -> list[str]:
    return [row["name"] for row in sim.execute("/ip/hotspot/user/print")
            if row.get("comment") == vouchers.batch_comment(batch_id)]


def test_other_users_write_and_the_poller_polls_during_a_300_voucher_push(
    setup: tuple[dict[str, Any], Flask, int, int], sim: SimRouter
) -> None:
    config, app, router_id, package_id = setup
    with web_server(config) as (base, _process):
        alice, bob = login(base, "alice", PASSWORD), login(base, "bob", PASSWORD)
        started = requests.post(f"{base}/routers/{router_id}/voucher-batches/", headers=alice, timeout=10,
                                json={"package_id": package_id, "count": 300})
        assert started.status_code == 202, started.text
        url = started.headers["Location"]
        batch_id = started.json()["id"]

        cycles: list[poller.CycleReport] = []
        stop = threading.Event()

        def poll() -> None:
            with app.app_context(), poller.Poller(concurrency=4, timeout=5.0) as instance:
                while not stop.is_set():
                    cycles.append(instance.cycle(force=True, router_ids=[router_id]))
                    db.session.remove()

        polling = threading.Thread(target=poll)
        polling.start()
        writes_while_running = polls_while_running = 0
        try:
            number = 0
            while True:
                before = _job(base, alice, url)
                if before["state"] not in ("queued", "running"):
                    break
                number += 1
                created = requests.post(f"{base}/routers/", headers=bob, timeout=10, json={
                    "name": f"bob {number}", "host": "127.0.0.1", "port": 9, "username": "a", "password": "b"})
                assert created.status_code == 201, created.text
                renamed = requests.patch(f"{base}/routers/{created.json()['id']}/", headers=bob, timeout=10,
                                         json={"name": f"bob {number}b"})
                assert renamed.status_code == 200, renamed.text
                assert requests.post(f"{base}/users/login/", timeout=10,
                                     json={"username": "bob", "password": PASSWORD}).status_code == 200
                after = _job(base, alice, url)
                if before["state"] == after["state"] == "running" and after["done"] < after["total"]:
                    writes_while_running += 1
                    polls_while_running = len(cycles)
        finally:
            stop.set()
            polling.join(30)
        done = _job(base, alice, url)
    assert (done["state"], done["done"], done["total"], done["errors"]) == ("succeeded", 300, 300, [])
    assert writes_while_running >= 3
    assert polls_while_running >= 1 and all(cycle.online == 1 and cycle.offline == 0 for cycle in cycles)
    assert sorted(_router_users(sim, batch_id)) == sorted(_db_codes(app, batch_id))


def _db_codes(app: Flask, batch_id: int) -> list[str]:
    with app.app_context():
        codes = list(db.session.scalars(db.select(Voucher.code).where(Voucher.batch_id == batch_id,
                                                                     Voucher.state == "unused")))
        db.session.remove()
        return codes


def test_kill_9_mid_push_then_a_worker_resumes_it_without_duplicates_or_orphans(
    setup: tuple[dict[str, Any], Flask, int, int], sim: SimRouter
) -> None:
    config, app, router_id, package_id = setup
    config = {**config, "VOUCHER_PUSH_CHUNK": 25}
    with web_server(config) as (base, process):
        alice = login(base, "alice", PASSWORD)
        started = requests.post(f"{base}/routers/{router_id}/voucher-batches/", headers=alice, timeout=10,
                                json={"package_id": package_id, "count": 300})
        assert started.status_code == 202, started.text
        url, batch_id, job_id = started.headers["Location"], started.json()["id"], started.json()["job"]["id"]
        wait_until(lambda: _job(base, alice, url)["done"] >= 60)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    partial = len(_router_users(sim, batch_id))
    assert 60 <= partial < 300

    with worker(config):
        def finished() -> Job | None:
            with app.app_context():
                job = db.session.get(Job, job_id)
                db.session.remove()
                return job if job is not None and job.state not in ("queued", "running") else None

        job = wait_until(finished, seconds=60)
    assert (job.state, job.done, job.total, job.attempts, job.errors) == ("succeeded", 300, 300, 2, [])
    on_router = _router_users(sim, batch_id)
    assert len(on_router) == len(set(on_router)) == 300
    assert sorted(on_router) == sorted(_db_codes(app, batch_id))
