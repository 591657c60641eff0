"""Money over the JSON API: vouchers and batches expose the terms they were issued with, and every unique key
answers 409 under a real race (a threaded HTTP server on loopback, 50 client threads, SQLite and PostgreSQL).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests import postgres
from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.services import accounts, gateway

SIM_PASSWORD = "sim-pass-123"


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "money-api.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="office", password=SIM_PASSWORD)], host="127.0.0.1", seed=7) as simulator:
        yield simulator.router("office")


def _router(client: FlaskClient, headers: dict[str, str], sim: SimRouter) -> int:
    body = {"name": "Kisumu Hotspot", "host": sim.host, "port": sim.api_port, "protocol": "api",
            "username": "admin", "password": SIM_PASSWORD}
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 201
    return int(response.get_json()["id"])


HOUR = {"name": "1 Hour", "package_type": "hourly", "duration_hours": 1, "price": "20",
        "download_speed_mbps": 10, "upload_speed_mbps": 5}


def test_vouchers_and_batches_expose_their_frozen_terms(client: FlaskClient, api: Any, sim: SimRouter) -> None:
    headers = api.headers()
    router_id = _router(client, headers, sim)
    package = client.post(f"/routers/{router_id}/packages/", json=HOUR, headers=headers).get_json()["package"]
    batch = client.post(f"/routers/{router_id}/voucher-batches/", json={"package_id": package["id"], "count": 2},
                        headers=headers).get_json()
    assert client.patch(f"/packages/{package['id']}/", json={"price": "30.00"}, headers=headers).status_code == 200

    voucher = client.get(f"/vouchers/{batch['vouchers'][0]['id']}/", headers=headers).get_json()
    assert (voucher["price"], voucher["currency"], voucher["package_name"]) == ("20.00", "KES", "1 Hour")
    assert (voucher["duration_minutes"], voucher["duration_display"], voucher["data_limit_mb"]) == (60, "1 hour", None)
    again = client.get(f"/voucher-batches/{batch['id']}/", headers=headers).get_json()
    assert (again["price"], again["currency"], again["price_display"]) == ("20.00", "KES", "KES 20.00")
    listed = client.get(f"/vouchers/?batch={batch['id']}", headers=headers).get_json()["results"]
    assert {v["price"] for v in listed} == {"20.00"}
    assert client.get(f"/packages/{package['id']}/", headers=headers).get_json()["price"] == "30.00"


@pytest.mark.parametrize("price", ["0.01", 0.01, "0.00"])
def test_one_cent_is_refused_as_the_contract_says(client: FlaskClient, api: Any, sim: SimRouter, price: Any) -> None:
    headers = api.headers()
    router_id = _router(client, headers, sim)
    response = client.post(f"/routers/{router_id}/packages/", json={**HOUR, "price": price}, headers=headers)
    assert response.status_code == 400, response.get_json()
    assert "price" in response.get_json().get("fields", {}) or "price" in response.get_json()["error"]
    assert client.post(f"/routers/{router_id}/packages/", json={**HOUR, "price": "0.02"},
                       headers=headers).status_code == 201


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not postgres.available():
        pytest.fail("PostgreSQL server binaries are missing: `make test` installs Debian's postgresql")
    with postgres.cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def live_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The app behind a threaded WSGI server on 127.0.0.1, on SQLite or a throwaway PostgreSQL."""
    url = (f"sqlite:///{tmp_path / 'race.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    app = create_app(make_config(tmp_path / "unused.db", SQLALCHEMY_DATABASE_URI=url, ROUTER_TIMEOUT=2.0))
    with app.app_context():
        upgrade()
        accounts.create_user("racer", PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        gateway.close_pool()
        with app.app_context():
            if request.param == "postgresql":
                db.drop_all()
                db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
                db.session.commit()
            db.engine.dispose()


def test_fifty_concurrent_creations_of_one_name_are_one_201_and_409s(live_url: str, sim: SimRouter) -> None:
    token = requests.post(f"{live_url}/users/login/", json={"username": "racer", "password": PASSWORD},
                          timeout=10).json()["access"]
    headers = {"Authorization": f"Bearer {token}"}
    router_id = _live_router(live_url, headers, sim)
    barrier = threading.Barrier(50)

    def create(_: int) -> tuple[int, dict[str, Any]]:
        with requests.Session() as session:
            barrier.wait(timeout=30)
            response = session.post(f"{live_url}/routers/{router_id}/packages/", json={**HOUR, "name": "Race"},
                                    headers=headers, timeout=60)
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(create, range(50)))
    statuses = Counter(status for status, _ in results)
    assert statuses == Counter({201: 1, 409: 49}), statuses
    assert all("error" in body for status, body in results if status == 409)
    listed = requests.get(f"{live_url}/routers/{router_id}/packages/", headers=headers, timeout=10).json()
    assert [p["name"] for p in listed["packages"]] == ["Race"]


def _live_router(base: str, headers: dict[str, str], sim: SimRouter) -> int:
    body = {"name": "Race Router", "host": sim.host, "port": sim.api_port, "protocol": "api",
            "username": "admin", "password": SIM_PASSWORD}
    response = requests.post(f"{base}/routers/", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_plans_over_the_api_keep_the_contracts_fields(client: FlaskClient, api: Any, sim: SimRouter) -> None:
    headers = api.headers()
    router_id = _router(client, headers, sim)
    base = {"price": "10", "download_speed_mbps": 5, "upload_speed_mbps": 2}
    for body in ({"name": "Half hour", "package_type": "minutes", "duration_minutes": 30},
                 {"name": "Day pass", "package_type": "daily"},
                 {"name": "Week 1GB", "package_type": "weekly", "data_limit_mb": 1024, "shared_users": 2,
                  "validity_days": 30}):
        response = client.post(f"/routers/{router_id}/packages/", json={**base, **body}, headers=headers)
        assert response.status_code == 201, response.get_json()
    listed = {p["name"]: p for p in client.get(f"/routers/{router_id}/packages/", headers=headers)
              .get_json()["packages"]}
    half, day, week = listed["Half hour"], listed["Day pass"], listed["Week 1GB"]
    assert (half["duration_hours"], half["duration_minutes"], half["duration_display"]) == (0, 30, "30 minutes")
    assert half["package_type_display"] == "Minutes Package"
    assert (day["duration_hours"], day["duration_display"], day["package_type_display"]) == (24, "1 day",
                                                                                           "Daily Package")
    assert (week["duration_display"], week["data_limit_mb"], week["validity_days"]) == ("1 week", 1024, 30)
    assert isinstance(half["duration_hours"], int)

    # What a client read may be written back unchanged (duration_hours is derived from duration_minutes).
    readback = {k: half[k] for k in ("name", "package_type", "duration_hours", "duration_minutes", "price",
                                     "download_speed_mbps", "upload_speed_mbps", "shared_users")}
    assert client.put(f"/packages/{half['id']}/", json=readback, headers=headers).status_code == 200
    clash = client.patch(f"/packages/{half['id']}/", json={"duration_minutes": 40, "duration_hours": 1},
                         headers=headers)
    assert clash.status_code == 400 and "duration_hours" in clash.get_json()["fields"]
    refused = client.post(f"/routers/{router_id}/packages/",
                          json={**base, "name": "Too short", "package_type": "minutes", "duration_minutes": 5},
                          headers=headers)
    assert refused.status_code == 400
