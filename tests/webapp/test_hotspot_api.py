"""The hotspot JSON API against the simulator: the contract's packages list, management, vouchers, sync, sales."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config

SIM_PASSWORD = "sim-pass-123"
CONTRACT_PACKAGE_KEYS = {
    "id", "name", "package_type", "package_type_display", "duration_hours", "duration_display", "price", "currency",
    "download_speed_mbps", "upload_speed_mbps", "download_speed_display", "upload_speed_display", "speed_display",
    "description", "is_active",
}


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "hotspot-api.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="office", password=SIM_PASSWORD)], host="127.0.0.1", seed=5) as simulator:
        yield simulator.router("office")


@pytest.fixture
def headers(api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return api.headers()


@pytest.fixture
def router_id(client: FlaskClient, headers: dict[str, str], sim: SimRouter) -> int:
    body = {"name": "Office Router", "host": sim.host, "port": sim.api_port, "protocol": "api",
            "username": "admin", "password": SIM_PASSWORD}
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def create(client: FlaskClient, headers: dict[str, str], router_id: int, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/routers/{router_id}/packages/", json=body, headers=headers)


BASIC = {"name": "Basic Hourly", "package_type": "hourly", "duration_hours": 1, "price": "2.50",
         "download_speed_mbps": 10, "upload_speed_mbps": 5, "description": "Basic internet access for 1 hour"}
PREMIUM = {"name": "Premium Monthly", "package_type": "monthly", "duration_hours": 720, "price": "150.00",
           "download_speed_mbps": 100, "upload_speed_mbps": 50, "description": "High-speed internet for 1 month"}


def test_router_packages_is_the_contract(client: FlaskClient, headers: dict[str, str], router_id: int) -> None:
    assert create(client, headers, router_id, **BASIC).status_code == 201
    assert create(client, headers, router_id, **PREMIUM).status_code == 201
    hidden = create(client, headers, router_id, **{**BASIC, "name": "Old", "is_active": False})
    assert hidden.status_code == 201

    response = client.get(f"/routers/{router_id}/packages/", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert {"router_id", "router_name", "packages", "message"} <= set(body)
    assert body["router_id"] == router_id and body["router_name"] == "Office Router"
    assert body["message"] == "Found 2 active packages for Office Router"
    first, second = body["packages"]
    assert CONTRACT_PACKAGE_KEYS <= set(first)
    assert {k: first[k] for k in CONTRACT_PACKAGE_KEYS - {"id"}} == {
        "name": "Basic Hourly", "package_type": "hourly", "package_type_display": "Hourly Package",
        "duration_hours": 1, "duration_display": "1 hour", "price": "2.50", "currency": "KES",
        "download_speed_mbps": 10, "upload_speed_mbps": 5, "download_speed_display": "10 Mbps",
        "upload_speed_display": "5 Mbps", "speed_display": "10 Mbps / 5 Mbps",
        "description": "Basic internet access for 1 hour", "is_active": True,
    }
    assert (second["duration_display"], second["price"], second["package_type_display"], second["speed_display"]) \
        == ("1 month", "150.00", "Monthly Package", "100 Mbps / 50 Mbps")
    assert isinstance(first["id"], int) and first["rate_limit"] == "5M/10M"

    everything = client.get(f"/routers/{router_id}/packages/?include_inactive=true", headers=headers).get_json()
    assert [p["name"] for p in everything["packages"]][-1] == "Old"
    assert everything["message"] == "Found 2 active packages for Office Router"


def test_package_management_and_dry_run(client: FlaskClient, headers: dict[str, str], router_id: int,
                                        sim: SimRouter) -> None:
    preview = client.post(f"/routers/{router_id}/packages/?dry_run=true", json=BASIC, headers=headers)
    assert preview.status_code == 200
    assert preview.get_json()["commands"][0]["text"] == (
        "/ip/hotspot/user/profile/add name=rd-basic-hourly rate-limit=5M/10M shared-users=1")
    assert client.get(f"/routers/{router_id}/packages/", headers=headers).get_json()["packages"] == []

    created = create(client, headers, router_id, **BASIC).get_json()
    assert created["synced"] is True and created["package"]["sync_state"] == "synced"
    package_id = created["package"]["id"]
    assert client.get(f"/packages/{package_id}/", headers=headers).get_json()["name"] == "Basic Hourly"

    changed = client.patch(f"/packages/{package_id}/", json={"price": 3, "shared_users": 2}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["package"]["price"] == "3.00"
    assert changed.get_json()["commands"][0]["values"] == {"shared-users": "2"}

    off = client.put(f"/packages/{package_id}/", json={"is_active": False}, headers=headers).get_json()
    assert [c["action"] for c in off["commands"]] == ["remove"]
    assert all(p["name"] != "rd-basic-hourly" for p in sim.execute("/ip/hotspot/user/profile/print"))

    deleted = client.delete(f"/packages/{package_id}/", headers=headers)
    assert deleted.status_code == 200
    assert deleted.get_json()["message"] == 'Package "Basic Hourly" has been successfully deleted'
    assert client.get(f"/packages/{package_id}/", headers=headers).status_code == 404


def test_package_validation_answers_fields(client: FlaskClient, headers: dict[str, str], router_id: int) -> None:
    create(client, headers, router_id, **BASIC)
    response = create(client, headers, router_id, **{**BASIC, "price": "0", "duration_hours": 48,
                                                     "upload_speed_mbps": None})
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert {"name", "price", "duration_hours", "upload_speed_mbps"}.issubset(fields)
    assert create(client, headers, router_id, **{**BASIC, "name": 5}).status_code == 400
    assert client.post(f"/routers/{router_id}/packages/", data="x", headers=headers).status_code == 415


def test_offline_router_pending_then_synced(client: FlaskClient, headers: dict[str, str], router_id: int,
                                            sim: SimRouter) -> None:
    sim.set_fault("refuse")
    body = create(client, headers, router_id, **BASIC).get_json()
    assert body["synced"] is False and body["package"]["sync_state"] == "pending"
    assert "pending sync" in body["message"]
    failed = client.post(f"/routers/{router_id}/hotspot/sync/", headers=headers)
    assert failed.status_code == 202 and failed.get_json()["job"]["state"] == "failed"
    job = client.get(failed.headers["Location"], headers=headers).get_json()
    assert job["kind"] == "hotspot.sync" and job["error"] and job["finished_at"]
    sim.clear_faults()
    synced = client.post(f"/routers/{router_id}/hotspot/sync/", headers=headers).get_json()
    assert synced["pushed_packages"] == 1 and synced["job"]["state"] == "succeeded"
    assert client.get(f"/packages/{body['package']['id']}/", headers=headers).get_json()["sync_state"] == "synced"


def test_drift_and_reconcile(client: FlaskClient, headers: dict[str, str], router_id: int, sim: SimRouter) -> None:
    create(client, headers, router_id, **BASIC)
    sim.execute("/ip/hotspot/user/profile/set", {".id": "rd-basic-hourly", "rate-limit": "1M/1M"})
    drift = client.get(f"/routers/{router_id}/packages/drift/", headers=headers).get_json()
    assert drift["in_sync"] is False
    different = next(i for i in drift["items"] if i["kind"] == "different")
    assert different["differences"] == {"rate-limit": {"ours": "5M/10M", "router": "1M/1M"}}
    pushed = client.post(f"/routers/{router_id}/packages/reconcile/", json={"direction": "push"}, headers=headers)
    assert pushed.status_code == 202 and pushed.get_json()["job"]["state"] == "succeeded"
    assert {c["action"] for c in pushed.get_json()["commands"]} == {"set", "remove"}  # 1h-2M was extra
    job = client.get(pushed.headers["Location"], headers=headers).get_json()
    assert job["kind"] == "packages.reconcile" and job["done"] == job["total"] == 2
    assert client.get(f"/routers/{router_id}/packages/drift/", headers=headers).get_json()["in_sync"] is True


def test_vouchers_sync_and_sales(client: FlaskClient, headers: dict[str, str], router_id: int,
                                 sim: SimRouter) -> None:
    package_id = create(client, headers, router_id, **BASIC).get_json()["package"]["id"]
    batch = client.post(f"/routers/{router_id}/voucher-batches/",
                        json={"package_id": package_id, "count": 10, "code_length": 6}, headers=headers)
    assert batch.status_code == 202, batch.get_json()
    created = batch.get_json()
    assert created["pushed"] == 10 and created["counts"]["unused"] == 10 and len(created["vouchers"]) == 10
    job = created["job"]
    assert batch.headers["Location"] == job["url"] == f"/jobs/{job['id']}/"
    assert (job["state"], job["done"], job["total"]) == ("succeeded", 10, 10)
    assert client.get(job["url"], headers=headers).get_json()["result"]["pushed"] == 10
    code = created["vouchers"][0]["code"]

    assert sim.hotspot_login(code, code, mac="AA:BB:CC:00:00:42")
    sim.add_traffic(seconds=30)
    synced = client.post(f"/routers/{router_id}/hotspot/sync/", headers=headers).get_json()
    assert synced["activated"] == [code] and synced["sales"] == 1

    active = client.get(f"/vouchers/?router={router_id}&state=active", headers=headers).get_json()
    assert active["count"] == 1 and active["results"][0]["code"] == code
    assert client.get(f"/voucher-batches/{created['id']}/", headers=headers).get_json()["counts"]["active"] == 1

    sessions = client.get(f"/routers/{router_id}/hotspot/sessions/", headers=headers).get_json()["sessions"]
    assert sessions[0]["user"] == code and sessions[0]["mac_address"] == "AA:BB:CC:00:00:42"

    summary = client.get("/sales/summary/", headers=headers).get_json()
    assert summary["count"] == 1 and summary["total"] == "2.50" and summary["total_display"] == "KES 2.50"
    assert summary["routers"][0]["router_name"] == "Office Router"
    monthly = client.get(f"/sales/summary/?period=monthly&router={router_id}", headers=headers).get_json()
    assert len(monthly["buckets"]) == 12 and monthly["buckets"][-1]["total"] == "2.50"
    listed = client.get("/sales/", headers=headers).get_json()
    assert listed["results"][0]["price_display"] == "KES 2.50"
    rows = list(csv.reader(io.StringIO(client.get("/sales.csv", headers=headers).get_data(as_text=True))))
    assert rows[1][3:6] == ["Basic Hourly", "2.50", "KES"]

    kicked = client.delete(f"/routers/{router_id}/hotspot/sessions/{sessions[0]['id']}/", headers=headers)
    assert kicked.status_code == 200
    revoked = client.post(f"/vouchers/{created['vouchers'][1]['id']}/revoke/", headers=headers)
    assert revoked.get_json()["state"] == "revoked"
    exported = client.get(f"/voucher-batches/{created['id']}/vouchers.csv", headers=headers)
    assert exported.mimetype == "text/csv"
    states = [row["state"] for row in csv.DictReader(io.StringIO(exported.get_data(as_text=True)))]
    assert sorted(states).count("unused") == 8 and "active" in states and "revoked" in states


def test_settings(client: FlaskClient, headers: dict[str, str], router_id: int) -> None:
    site = client.put(f"/routers/{router_id}/hotspot/", json={"display_name": "Mama Mboga WiFi",
                                                              "dns_name": "wifi.example.net"}, headers=headers)
    assert site.status_code == 200 and site.get_json()["dns_name"] == "wifi.example.net"
    assert client.put(f"/routers/{router_id}/hotspot/", json={"dns_name": "not a host"},
                      headers=headers).status_code == 400
    owner = client.put("/hotspot/settings/", json={"currency": "usd", "timezone": "UTC"}, headers=headers)
    assert owner.get_json() == {"currency": "USD", "timezone": "UTC"}
    assert client.put("/hotspot/settings/", json={"timezone": "Mars/Base"}, headers=headers).status_code == 400
    create(client, headers, router_id, **BASIC)
    assert client.get(f"/routers/{router_id}/packages/", headers=headers).get_json()["packages"][0]["currency"] == "USD"


def test_other_users_objects_are_404(client: FlaskClient, api, headers: dict[str, str], router_id: int,  # type: ignore[no-untyped-def]
                                     other_user) -> None:  # type: ignore[no-untyped-def]
    package_id = create(client, headers, router_id, **BASIC).get_json()["package"]["id"]
    batch = client.post(f"/routers/{router_id}/voucher-batches/", json={"package_id": package_id, "count": 1},
                        headers=headers).get_json()
    theirs = api.headers("mallory")
    for method, path in [
        ("get", f"/routers/{router_id}/packages/"), ("post", f"/routers/{router_id}/packages/"),
        ("get", f"/packages/{package_id}/"), ("patch", f"/packages/{package_id}/"),
        ("delete", f"/packages/{package_id}/"), ("get", f"/voucher-batches/{batch['id']}/"),
        ("get", f"/voucher-batches/{batch['id']}/vouchers.csv"), ("get", f"/vouchers/{batch['vouchers'][0]['id']}/"),
        ("post", f"/vouchers/{batch['vouchers'][0]['id']}/revoke/"), ("get", f"/routers/{router_id}/packages/drift/"),
        ("post", f"/routers/{router_id}/hotspot/sync/"), ("get", f"/sales/?router={router_id}"),
        ("get", f"/jobs/{batch['job']['id']}/"), ("post", f"/jobs/{batch['job']['id']}/cancel/"),
        ("get", f"/routers/{router_id}/hotspot/"),
    ]:
        kwargs: dict[str, Any] = {"headers": theirs}
        if method in ("post", "patch") and "revoke" not in path and "sync" not in path:
            kwargs["json"] = BASIC
        assert getattr(client, method)(path, **kwargs).status_code == 404, path
    assert client.get("/vouchers/", headers=theirs).get_json()["count"] == 0
    assert client.get("/jobs/", headers=theirs).get_json()["count"] == 0
    mine = client.get(f"/jobs/?kind=vouchers.push&state=succeeded&router={router_id}&page_size=1", headers=headers)
    assert mine.get_json()["count"] == 1 and mine.get_json()["results"][0]["id"] == batch["job"]["id"]
    assert client.get("/jobs/?state=exploded", headers=headers).status_code == 400
    assert client.post(f"/jobs/{batch['job']['id']}/cancel/", headers=headers).status_code == 409  # finished
