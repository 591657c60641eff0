"""/healthz, /readyz (database, broker, workers) and /metrics/fleet (Prometheus text) over real sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from simulators.routeros import RouterSpec, Simulator
from tests import redis_server
from tests.conftest import ApiAuth, make_config
from webapp.services import gateway, health
from webapp.services.poller import Poller

SIM_PASSWORD = "ops-pass-1"
TOKEN = "scrape-token-" + "z" * 24


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name="edge-a", version="7.16.1", password=SIM_PASSWORD),
             RouterSpec(name='quote"and\\slash', version="6.49.7", password=SIM_PASSWORD)]
    with Simulator(specs, seed=11) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if not redis_server.available():
        pytest.fail("redis-server is missing: `make test` installs Debian's redis-server")
    with redis_server.server() as url:
        yield url


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "ops.db", POLL_TIMEOUT=2.0, METRICS_TOKEN=TOKEN)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_healthz_answers_without_touching_anything(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_embedded_needs_only_the_database(client: FlaskClient) -> None:
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "broker": "skipped", "workers": "skipped"}


def test_readyz_waits_for_the_workers_it_expects(app: Flask, client: FlaskClient) -> None:
    app.config["READY_WORKER_KINDS"] = ["poller"]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["workers"] == "none seen recently: poller"
    with app.app_context():
        health.beat("poller@test:1", "poller")
    body = client.get("/readyz").get_json()
    assert body["status"] == "ready"
    assert [worker["name"] for worker in body["workers"]] == ["poller@test:1"]


def test_readyz_checks_the_broker(app: Flask, client: FlaskClient, redis_url: str) -> None:
    app.config["BROKER_URL"] = redis_url
    assert client.get("/readyz").get_json()["checks"]["broker"] == "ok"
    app.config["BROKER_URL"] = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "not ready: broker"
    assert body["checks"]["broker"].startswith("unreachable")


def test_fleet_metrics_are_off_without_a_token_and_refuse_a_wrong_one(app: Flask, client: FlaskClient) -> None:
    assert client.get("/metrics/fleet", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics/fleet").status_code == 401
    app.config["METRICS_TOKEN"] = None
    response = client.get("/metrics/fleet", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert "METRICS_TOKEN" in response.get_json()["error"]


def test_fleet_metrics_label_every_polled_series_by_router(
    app: Flask, client: FlaskClient, api: ApiAuth, sim: Simulator
) -> None:
    headers = api.headers()
    ids = {}
    for router in sim.routers:
        body = {"name": router.name, "host": router.host, "port": router.api_port, "username": "admin",
                "password": SIM_PASSWORD, "protocol": "api"}
        ids[router.name] = client.post("/routers/", json=body, headers=headers).get_json()["id"]
    down = {"name": "dark", "host": "127.0.0.1", "port": _closed_port(), "username": "admin", "password": "x",
            "protocol": "api"}
    ids["dark"] = client.post("/routers/", json=down, headers=headers).get_json()["id"]
    with app.app_context(), Poller(concurrency=4, timeout=2.0) as poller:
        report = poller.cycle(force=True)
    gateway.close_pool()
    assert (report.online, report.offline) == (2, 1)

    response = client.get("/metrics/fleet", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(response.get_data(as_text=True))}
    up = {sample.labels["router"]: sample.value for sample in families["routerdeck_router_up"].samples}
    assert up == {"edge-a": 1.0, 'quote"and\\slash': 1.0, "dark": 0.0}
    for family in ("routerdeck_cpu_load_percent", "routerdeck_memory_used_percent", "routerdeck_uptime_seconds",
                   "routerdeck_poll_latency_milliseconds"):
        labelled = {(s.labels["router_id"], s.labels["router"]) for s in families[family].samples}
        assert labelled == {(str(ids["edge-a"]), "edge-a"), (str(ids['quote"and\\slash']), 'quote"and\\slash')}
    running = [s for s in families["routerdeck_interface_running"].samples if s.labels["router"] == "edge-a"]
    assert {s.labels["interface"] for s in running} >= {"ether1"}
    counters = families["routerdeck_interface_rx_bytes"]  # the parser strips a counter's _total
    assert counters.type == "counter"
    assert all(sample.value >= 0 for sample in counters.samples)
    failures = {s.labels["router"]: s.value for s in families["routerdeck_poll_failures"].samples}
    assert failures["dark"] == 1.0
