"""One deadline per request and a few sessions per router, against the simulator over real sockets.

The router answers every call in 0.6 s and ``ROUTER_TIMEOUT`` is 1 s: each call alone fits, but an endpoint that
makes several calls must give up when the request's one deadline passes (504 with ``reason``), not after the sum.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp.services import gateway

PASSWORD = "sim-pass-123"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="slow", password=PASSWORD)], host="127.0.0.1", seed=4) as simulator:
        yield simulator.router("slow")


@pytest.fixture(autouse=True)
def _clear(sim: SimRouter) -> Iterator[None]:
    sim.clear_faults()
    yield
    sim.clear_faults()


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "deadlines.db", ROUTER_TIMEOUT=1.0, ROUTER_MAX_SESSIONS=1)


@pytest.fixture
def router_id(client: FlaskClient, api: Any, sim: SimRouter) -> int:
    created = client.post("/routers/", headers=api.headers(), json={
        "name": "Slow", "host": sim.host, "port": sim.api_port, "protocol": "api", "username": "admin",
        "password": PASSWORD})
    assert created.status_code == 201, created.get_json()
    return int(created.get_json()["id"])


def _slow(sim: SimRouter) -> None:
    gateway.close_pool()  # no warm connection: every request logs in (one call) and then reads
    sim.set_fault("latency", ms=600)


def test_device_info_makes_five_calls_and_answers_504_within_the_one_deadline(
    client: FlaskClient, api: Any, router_id: int, sim: SimRouter
) -> None:
    assert client.get(f"/routers/{router_id}/device-info/", headers=api.headers()).status_code == 200
    _slow(sim)
    answer = client.get(f"/routers/{router_id}/device-info/", headers=api.headers())
    assert answer.status_code == 504 and answer.get_json()["reason"] == "timeout"
    sim.clear_faults()
    assert client.get(f"/routers/{router_id}/device-info/", headers=api.headers()).status_code == 200


def test_test_connection_records_the_timeout(client: FlaskClient, api: Any, router_id: int, sim: SimRouter) -> None:
    _slow(sim)
    body = client.post(f"/routers/{router_id}/test-connection/", headers=api.headers()).get_json()
    assert body["is_online"] is False and body["reason"] == "timeout"


def test_a_command_that_resolves_a_name_first_shares_the_deadline(
    client: FlaskClient, api: Any, router_id: int, sim: SimRouter
) -> None:
    _slow(sim)
    answer = client.post(f"/routers/{router_id}/execute-command/", headers=api.headers(), json={
        "command": "/system/identity/set", "method": "POST", "data": {"name": "x"}})
    assert answer.status_code == 504 and answer.get_json()["reason"] == "timeout"


def test_a_router_whose_sessions_are_all_busy_answers_504_busy(
    app: Flask, client: FlaskClient, api: Any, router_id: int, sim: SimRouter
) -> None:
    where = f"{sim.host}:{sim.api_port}"
    held, release = threading.Event(), threading.Event()

    def hold_the_only_session() -> None:  # a job pushing to the router, say
        assert gateway.sessions.acquire(where, 1, None)
        held.set()
        release.wait(10)
        gateway.sessions.release(where)

    holder = threading.Thread(target=hold_the_only_session)
    holder.start()
    held.wait(5)
    try:
        answer = client.get(f"/routers/{router_id}/device-info/", headers=api.headers())
        assert answer.status_code == 504 and answer.get_json()["reason"] == "busy"
    finally:
        release.set()
        holder.join(10)
    assert gateway.sessions.in_use(where) == 0
    assert client.get(f"/routers/{router_id}/device-info/", headers=api.headers()).status_code == 200


def test_the_limiter_counts_per_router_and_lets_one_thread_nest() -> None:
    limiter = gateway.SessionLimiter()
    assert limiter.acquire("r1", 2, None) and limiter.acquire("r1", 2, None)  # nested in one thread: one slot
    assert limiter.in_use("r1") == 1
    others: list[bool] = []
    thread = threading.Thread(target=lambda: others.extend([limiter.acquire("r1", 2, None),
                                                            limiter.acquire("r2", 2, None)]))
    thread.start()
    thread.join()
    assert others == [True, True] and limiter.in_use("r1") == 2
    blocked: list[bool] = []
    third = threading.Thread(target=lambda: blocked.append(limiter.acquire("r1", 2, None)))
    third.start()
    third.join()
    assert blocked == [False]
    limiter.release("r1")
    limiter.release("r1")
    assert limiter.in_use("r1") == 1
