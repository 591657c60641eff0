"""Monitoring over both faces: metrics JSON/CSV, interfaces (with the management guard), alerts ack, events,
rules, channels, pages and fragments, and isolation between users."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import PASSWORD, ApiAuth, csrf_from, make_config
from webapp.extensions import db
from webapp.models import Alert, MetricPoint, Router
from webapp.services import gateway, metrics
from webapp.services.poller import Poller
from webapp.timeutil import utcnow

SIM_PASSWORD = "mon-pass-1"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator([RouterSpec(name="tower", version="7.16.1", password=SIM_PASSWORD)], seed=5) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "mon.db", ROUTER_TIMEOUT=2.0, POLL_TIMEOUT=1.0)


@pytest.fixture
def headers(api: ApiAuth) -> dict[str, str]:
    return api.headers()


@pytest.fixture
def router_id(client: FlaskClient, headers: dict[str, str], sim: Simulator) -> Iterator[int]:
    tower = sim.router("tower")
    body = {
        "name": "tower",
        "host": tower.host,
        "port": tower.api_port,
        "username": "admin",
        "password": SIM_PASSWORD,
        "protocol": "api",
    }
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 201
    yield response.get_json()["id"]
    gateway.close_pool()
    tower.execute("/interface/enable", {"numbers": "wlan1"})


def poll(app: Flask, seconds_ago: int = 0) -> None:
    with app.app_context(), Poller(concurrency=4, timeout=1.0) as poller:
        poller.cycle(utcnow() - timedelta(seconds=seconds_ago), force=True)


def seed_cpu(app: Flask, router_id: int, values: list[float], spacing: int = 60) -> int:
    now = metrics.epoch(utcnow())
    with app.app_context():
        for index, value in enumerate(values):
            metrics.record(router_id, now - (len(values) - index) * spacing, {("cpu", ""): value})
        db.session.commit()
    return now


def test_metrics_json_and_csv(
    app: Flask, client: FlaskClient, headers: dict[str, str], router_id: int
) -> None:
    now = seed_cpu(app, router_id, [10, 20, 30, 40])
    body = client.get(
        f"/routers/{router_id}/metrics/?name=cpu&from={now - 3600}&to={now}&step=120", headers=headers
    ).get_json()
    assert body["name"] == "cpu"
    assert body["unit"] == "%"
    assert body["source"] == "raw"
    assert body["step"] == 120
    assert body["rows_read"] == 4
    assert sum(point[1] for point in body["points"]) > 0
    assert all(len(point) == 4 for point in body["points"])
    assert [p[0] % 120 for p in body["points"]] == [0] * len(body["points"])
    csv = client.get(f"/routers/{router_id}/metrics/?name=cpu&range=1h&format=csv", headers=headers)
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "time,ts,cpu_avg,cpu_min,cpu_max"
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("name=nope", "name"),
        ("name=rx_bps", "interface"),
        ("name=cpu&from=2026-01-02&to=2026-01-01", "from"),
        ("name=cpu&range=2y", "range"),
        ("name=cpu&step=x", "step"),
        ("name=cpu&from=yesterday", "from"),
    ],
)
def test_metrics_rejects_bad_queries(
    client: FlaskClient, headers: dict[str, str], router_id: int, query: str, field: str
) -> None:
    response = client.get(f"/routers/{router_id}/metrics/?{query}", headers=headers)
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


def test_poll_then_interfaces_with_rates_and_totals(
    app: Flask, client: FlaskClient, headers: dict[str, str], router_id: int, sim: Simulator
) -> None:
    poll(app, seconds_ago=60)
    sim.router("tower").add_traffic(60)
    poll(app)
    page = client.get(
        f"/routers/{router_id}/interfaces/?page_size=3&ordering=name", headers=headers
    ).get_json()
    assert page["count"] == 7
    assert len(page["results"]) == 3
    assert page["next"]
    everything = client.get(f"/routers/{router_id}/interfaces/?page_size=50", headers=headers).get_json()
    ether1 = next(i for i in everything["results"] if i["name"] == "ether1")
    assert ether1["running"]
    assert ether1["rx_bps"] > 0
    assert ether1["rx_bytes"] > 0
    assert ether1["mac_address"]
    down = client.get(f"/routers/{router_id}/interfaces/?running=false", headers=headers).get_json()
    assert [i["name"] for i in down["results"]] == ["ether4"]
    traffic = client.get(
        f"/routers/{router_id}/metrics/?name=rx_bps&interface=ether1&range=1h", headers=headers
    ).get_json()
    assert traffic["points"]
    assert traffic["points"][-1][1] > 0


def test_interface_toggle_and_management_guard(
    app: Flask, client: FlaskClient, headers: dict[str, str], router_id: int, sim: Simulator
) -> None:
    poll(app)
    refused = client.put(f"/routers/{router_id}/interfaces/ether1/", json={"disabled": True}, headers=headers)
    # 127.0.0.1 lies in none of the router's networks: every interface with an address is protected.
    assert refused.status_code == 409
    assert "ether1" in refused.get_json()["error"]
    done = client.put(f"/routers/{router_id}/interfaces/wlan1/", json={"disabled": True}, headers=headers)
    assert done.status_code == 200
    assert done.get_json()["disabled"] is True
    assert sim.router("tower").execute("/interface/print", {"?name": "wlan1"})[0]["disabled"] == "true"
    events = client.get(f"/routers/{router_id}/events/?kind=config", headers=headers).get_json()
    assert events["count"] == 1
    assert "wlan1" in events["results"][0]["message"]
    back = client.put(f"/routers/{router_id}/interfaces/wlan1/", json={"disabled": False}, headers=headers)
    assert back.get_json()["disabled"] is False
    assert (
        client.put(
            f"/routers/{router_id}/interfaces/nope0/", json={"disabled": True}, headers=headers
        ).status_code
        == 404
    )


def test_alert_lifecycle_over_json(
    app: Flask, client: FlaskClient, headers: dict[str, str], router_id: int
) -> None:
    rule = client.post(
        "/alert-rules/",
        json={"kind": "cpu_high", "router_id": router_id, "threshold": 1, "duration_minutes": 0},
        headers=headers,
    )
    assert rule.status_code == 201
    poll(app)  # the simulator's CPU is always above 1 %
    listing = client.get("/alerts/?state=active", headers=headers).get_json()
    assert listing["count"] == 1
    alert = listing["results"][0]
    assert alert["kind"] == "cpu_high"
    assert alert["state"] == "active"
    assert alert["router_name"] == "tower"
    acked = client.put(f"/alerts/{alert['id']}/", json={"note": "looking"}, headers=headers).get_json()
    assert acked["state"] == "acknowledged"
    assert acked["note"] == "looking"
    assert acked["acknowledged_at"]
    assert client.put(f"/alerts/{alert['id']}/", headers=headers).status_code == 200  # bare PUT, as LibreNMS
    assert client.get("/alerts/?state=open", headers=headers).get_json()["count"] == 1
    client.post(
        "/alert-rules/",
        json={"kind": "cpu_high", "router_id": router_id, "threshold": 100, "duration_minutes": 0},
        headers=headers,
    )
    poll(app)
    resolved = client.get(f"/alerts/{alert['id']}/", headers=headers).get_json()
    assert resolved["state"] == "resolved"
    assert resolved["resolved_at"]
    assert client.put(f"/alerts/{alert['id']}/", headers=headers).status_code == 409
    rules = client.get("/alert-rules/", headers=headers).get_json()
    assert {d["kind"] for d in rules["defaults"]} == {"offline", "cpu_high", "memory_low", "interface_down"}
    assert len(rules["results"]) == 1
    assert rules["results"][0]["threshold"] == 100
    overview = client.get("/monitoring/overview/", headers=headers).get_json()
    assert overview["routers"] == {"total": 1, "up": 1, "down": 0, "unknown": 0}
    assert overview["busiest"][0]["name"] == "tower"


def test_alert_filters_and_validation(client: FlaskClient, headers: dict[str, str], router_id: int) -> None:
    assert client.get("/alerts/?state=weird", headers=headers).status_code == 400
    assert client.get("/alerts/?kind=weird", headers=headers).status_code == 400
    assert client.get("/alerts/?page_size=0", headers=headers).status_code == 400
    bad = client.post("/alert-rules/", json={"kind": "cpu_high", "threshold": 250}, headers=headers)
    assert bad.status_code == 400
    assert "threshold" in bad.get_json()["fields"]
    channel = client.post(
        "/notification-channels/", json={"kind": "webhook", "target": "ftp://x"}, headers=headers
    )
    assert channel.status_code == 400
    assert "target" in channel.get_json()["fields"]
    made = client.post(
        "/notification-channels/", json={"kind": "email", "target": "ops@example.com"}, headers=headers
    )
    assert made.status_code == 201
    assert client.get("/notification-channels/", headers=headers).get_json()[0]["target"] == "ops@example.com"
    assert (
        client.delete(f"/notification-channels/{made.get_json()['id']}/", headers=headers).status_code == 204
    )


def test_another_users_monitoring_is_invisible(
    app: Flask, client: FlaskClient, headers: dict[str, str], router_id: int, other_user
) -> None:  # type: ignore[no-untyped-def]
    seed_cpu(app, router_id, [50])
    with app.app_context():
        router = db.session.get(Router, router_id)
        db.session.add(Alert(user_id=router.user_id, router_id=router_id, kind="offline", message="x"))
        db.session.commit()
        alert_id = db.session.query(Alert.id).scalar()
    theirs = ApiAuth(client).headers("mallory", PASSWORD)
    for path in (
        f"/routers/{router_id}/metrics/?name=cpu",
        f"/routers/{router_id}/interfaces/",
        f"/routers/{router_id}/events/",
        f"/alerts/{alert_id}/",
    ):
        assert client.get(path, headers=theirs).status_code == 404, path
    assert client.put(f"/alerts/{alert_id}/", headers=theirs).status_code == 404
    assert (
        client.put(
            f"/routers/{router_id}/interfaces/wlan1/", json={"disabled": True}, headers=theirs
        ).status_code
        == 404
    )
    assert client.get("/alerts/", headers=theirs).get_json()["count"] == 0
    assert client.get("/monitoring/overview/", headers=theirs).get_json()["routers"]["total"] == 0
    assert (
        client.post(
            "/alert-rules/", json={"kind": "offline", "router_id": router_id}, headers=theirs
        ).status_code
        == 404
    )


def test_pages_and_fragments(app: Flask, client: FlaskClient, html, router_id: int) -> None:  # type: ignore[no-untyped-def]
    poll(app)
    with app.app_context():
        assert db.session.query(MetricPoint).count() > 0
    html.login()
    overview = client.get("/dashboard/monitoring")
    assert overview.status_code == 200
    assert b'data-testid="count-up">1<' in overview.data
    page = client.get(f"/dashboard/routers/{router_id}/monitoring")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-chart="cpu"' in text
    assert "uplot-1.6.32.iife.min.js" in text
    assert 'data-interface="ether1"' in text
    fragment = client.get(f"/dashboard/routers/{router_id}/monitoring/graphs?range=7d").get_data(as_text=True)
    assert (
        fragment.startswith("{#") is False
    )
    assert (
        'aria-pressed="true"' in fragment
    )
    assert (
        "<html" not in fragment
    )
    csv = client.get(f"/dashboard/routers/{router_id}/monitoring/export.csv?name=cpu&range=1h")
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).startswith("time,ts,cpu_avg")
    token = csrf_from(client.get("/dashboard/api-keys").get_data(as_text=True))
    refused = client.post(
        f"/dashboard/routers/{router_id}/monitoring/interfaces/ether1/toggle",
        data={"disabled": "true"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert refused.status_code == 422
    assert b"interface-error" in refused.data
    no_csrf = client.post(
        f"/dashboard/routers/{router_id}/monitoring/interfaces/wlan1/toggle", data={"disabled": "true"}
    )
    assert no_csrf.status_code == 400
    alerts_page = client.get("/dashboard/alerts?state=resolved")
    assert alerts_page.status_code == 200
    assert b"No alerts" in alerts_page.data
    assert client.get("/dashboard/alerts/rows?state=open").status_code == 200
    assert client.get("/dashboard/routers/999/monitoring").status_code == 404
