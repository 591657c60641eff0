"""Hotspot dashboard pages and htmx fragments against the simulator, CSRF on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import csrf_from, make_config

SIM_PASSWORD = "sim-pass-123"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "hotspot-html.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="market", password=SIM_PASSWORD)], host="127.0.0.1", seed=9) as simulator:
        yield simulator.router("market")


@pytest.fixture
def router_id(client: FlaskClient, api, sim: SimRouter) -> int:  # type: ignore[no-untyped-def]
    body = {"name": "Market WiFi", "host": sim.host, "port": sim.api_port, "protocol": "api",
            "username": "admin", "password": SIM_PASSWORD}
    response = client.post("/routers/", json=body, headers=api.headers())
    assert response.status_code == 201
    return response.get_json()["id"]


@pytest.fixture
def logged_in(client: FlaskClient, html, router_id: int) -> str:  # type: ignore[no-untyped-def]
    assert html.login().status_code in (302, 303)
    return csrf_from(client.get("/dashboard/hotspot").get_data(as_text=True))


PACKAGE = {"name": "Basic Hourly", "package_type": "hourly", "duration": "1", "price": "2.50",
           "download_speed_mbps": "10", "upload_speed_mbps": "5", "shared_users": "1", "description": "1 hour",
           "is_active": "y"}


def create_package(client: FlaskClient, token: str, router_id: int, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(f"/dashboard/routers/{router_id}/packages", data={**PACKAGE, **extra, "csrf_token": token},
                       headers=HTMX)


def test_package_catalog_create_preview_and_errors(client: FlaskClient, logged_in: str, router_id: int,
                                                   sim: SimRouter) -> None:
    page = client.get(f"/dashboard/routers/{router_id}/packages").get_data(as_text=True)
    assert "No packages yet" in page and 'data-testid="package-form"' in page

    preview = create_package(client, logged_in, router_id, action="preview")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "/ip/hotspot/user/profile/add name=rd-basic-hourly rate-limit=5M/10M shared-users=1" in text
    assert "<html" not in text  # a fragment

    bad = create_package(client, logged_in, router_id, price="0", duration="30")
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "Must be greater than 0.01." in body and "An hourly package lasts 1 to 24 hours." in body

    created = create_package(client, logged_in, router_id, action="save")
    assert created.status_code == 200 and created.headers["HX-Redirect"].endswith(f"/routers/{router_id}/packages")
    catalog = client.get(f"/dashboard/routers/{router_id}/packages").get_data(as_text=True)
    assert "KES 2.50" in catalog and "1 hour of internet" in catalog and "↓ 10 Mbps" in catalog
    assert any(p["name"] == "rd-basic-hourly" for p in sim.execute("/ip/hotspot/user/profile/print"))

    duplicate = create_package(client, logged_in, router_id)
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)


def test_toggle_edit_and_drift(client: FlaskClient, logged_in: str, router_id: int, sim: SimRouter) -> None:
    create_package(client, logged_in, router_id)
    package_id = int(re.search(r"/dashboard/packages/(\d+)/edit", client.get(
        f"/dashboard/routers/{router_id}/packages").get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    toggled = client.post(f"/dashboard/packages/{package_id}/toggle", data={"csrf_token": logged_in}, headers=HTMX)
    assert toggled.status_code == 200 and "Put on sale" in toggled.get_data(as_text=True)
    assert client.get(f"/dashboard/packages/{package_id}/edit").status_code == 200
    edited = client.post(f"/dashboard/packages/{package_id}/edit",
                         data={**PACKAGE, "price": "3", "is_active": "y", "csrf_token": logged_in}, headers=HTMX)
    assert edited.status_code == 200 and "HX-Redirect" in edited.headers

    sim.execute("/ip/hotspot/user/profile/set", {".id": "rd-basic-hourly", "rate-limit": "1M/1M"})
    drift = client.get(f"/dashboard/routers/{router_id}/packages/drift").get_data(as_text=True)
    assert "different" in drift and "1M/1M" in drift
    fixed = client.post(f"/dashboard/routers/{router_id}/packages/reconcile",
                        data={"csrf_token": logged_in, "direction": "push"})
    assert fixed.status_code == 303
    assert 'data-testid="in-sync"' in client.get(f"/dashboard/routers/{router_id}/packages/drift").get_data(
        as_text=True)


def test_vouchers_print_revoke_and_sales(client: FlaskClient, logged_in: str, router_id: int,
                                         sim: SimRouter) -> None:
    create_package(client, logged_in, router_id)
    page = client.get(f"/dashboard/routers/{router_id}/vouchers").get_data(as_text=True)
    package_id = re.search(r'<option[^>]*value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    bad = client.post(f"/dashboard/routers/{router_id}/vouchers", headers=HTMX,
                      data={"csrf_token": logged_in, "package_id": package_id, "count": "5000", "code_length": "8",
                            "mode": "same"})
    assert bad.status_code == 422 and "between 1 and 1000" in bad.get_data(as_text=True)
    made = client.post(f"/dashboard/routers/{router_id}/vouchers", headers=HTMX,
                       data={"csrf_token": logged_in, "package_id": package_id, "count": "10", "code_length": "8",
                             "mode": "same", "prefix": "", "pin_length": "6"})
    assert made.status_code == 200
    batch_url = made.headers["HX-Redirect"]
    batch_page = client.get(batch_url).get_data(as_text=True)
    codes = re.findall(r'<code class="voucher-code">([A-Z0-9]+)</code>', batch_page)
    assert len(codes) == 10

    sheet = client.get(batch_url + "/print?layout=a4").get_data(as_text=True)
    assert sheet.count('data-testid="printed-voucher"') == 10 and sheet.count("<svg") == 10
    assert "KES 2.50" in sheet and "Market WiFi" in sheet and "1 hour" in sheet
    assert f"http://hotspot.market.example.net/login?username={codes[0]}&amp;password={codes[0]}" in sheet
    for layout in ("58mm", "80mm"):
        assert "layout-" + layout in client.get(batch_url + f"/print?layout={layout}").get_data(as_text=True)
    csv_text = client.get(batch_url + "/vouchers.csv").get_data(as_text=True)
    assert csv_text.count("\n") == 11

    voucher_id = re.search(r'id="voucher-(\d+)"', batch_page).group(1)  # type: ignore[union-attr]
    revoked = client.post(f"/dashboard/vouchers/{voucher_id}/revoke", data={"csrf_token": logged_in}, headers=HTMX)
    assert revoked.status_code == 200 and 'data-state="revoked"' in revoked.get_data(as_text=True)

    sold = next(code for code in codes if f'<code class="voucher-code">{code}' in batch_page
                and code in {row["name"] for row in sim.execute("/ip/hotspot/user/print")})
    assert sim.hotspot_login(sold, sold)
    synced = client.post(f"/dashboard/routers/{router_id}/hotspot/sync", data={"csrf_token": logged_in})
    assert synced.status_code == 303
    sales_page = client.get("/dashboard/sales").get_data(as_text=True)
    assert 'data-testid="sales-total">KES 2.50<' in sales_page and "Market WiFi" in sales_page
    assert "<rect" in sales_page
    sessions = client.get(f"/dashboard/routers/{router_id}/sessions").get_data(as_text=True)
    assert sold in sessions
    session_id = re.search(r'name="session_id" value="([^"]+)"', sessions).group(1)  # type: ignore[union-attr]
    kicked = client.post(f"/dashboard/routers/{router_id}/sessions/kick",
                         data={"csrf_token": logged_in, "session_id": session_id})
    assert kicked.status_code == 303 and sim.execute("/ip/hotspot/active/print") == []


def test_forms_need_csrf_and_other_users_get_404(client: FlaskClient, logged_in: str, router_id: int,
                                                 api) -> None:  # type: ignore[no-untyped-def]
    assert client.post(f"/dashboard/routers/{router_id}/packages", data=PACKAGE).status_code == 400
    create_package(client, logged_in, router_id)
    from webapp.services import accounts

    with client.application.app_context():
        accounts.create_user("mallory", "correct horse battery")
    headers = api.headers("mallory", "correct horse battery")
    theirs = client.post("/routers/", headers=headers, json={"name": "Theirs", "host": "10.9.9.9",
                                                             "username": "a", "password": "b"}).get_json()["id"]
    package_id = client.get(f"/routers/{router_id}/packages/", headers=api.headers()).get_json()["packages"][0]["id"]
    for path in (f"/dashboard/routers/{theirs}/packages", f"/dashboard/routers/{theirs}/vouchers",
                 f"/dashboard/routers/{theirs}/sessions", "/dashboard/batches/999/print"):
        assert client.get(path).status_code == 404, path
    client.post("/dashboard/logout", data={"csrf_token": logged_in})
    from tests.conftest import HtmlAuth

    HtmlAuth(client).login("mallory", "correct horse battery")
    assert client.get(f"/dashboard/packages/{package_id}/edit").status_code == 404
    assert client.get(f"/dashboard/routers/{router_id}/packages").status_code == 404


def test_the_package_form_sells_weekly_capped_plans(client: FlaskClient, logged_in: str, router_id: int,
                                                    api) -> None:  # type: ignore[no-untyped-def]
    made = create_package(client, logged_in, router_id, name="Week 2GB", package_type="weekly", duration="2",
                          data_limit_mb="2048", validity_days="30", shared_users="2")
    assert made.status_code == 200, made.get_data(as_text=True)[:500]
    listed = client.get(f"/routers/{router_id}/packages/", headers=api.headers()).get_json()["packages"]
    week = next(p for p in listed if p["name"] == "Week 2GB")
    assert (week["duration_minutes"], week["duration_display"], week["data_limit_mb"], week["validity_days"]) == (
        2 * 10080, "2 weeks", 2048, 30)
    page = client.get(f"/dashboard/routers/{router_id}/packages").get_data(as_text=True)
    assert "2 weeks of internet" in page and "2,048 MB cap" in page
    edit = client.get(f"/dashboard/packages/{week['id']}/edit").get_data(as_text=True)
    assert re.search(r'name="duration"[^>]*value="2"', edit)
    short = create_package(client, logged_in, router_id, name="Blink", package_type="minutes", duration="5")
    assert short.status_code == 422, short.get_data(as_text=True)
    assert "A minutes package lasts 10 to 1,440 minutes." in short.get_data(as_text=True), short.get_data(as_text=True)


def test_batch_badges_show_the_last_check_and_the_trial_form_saves(client: FlaskClient, logged_in: str,
                                                                    router_id: int, sim: SimRouter,
                                                                    api) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    package = client.post(f"/routers/{router_id}/packages/", headers=headers, json={
        "name": "Day", "package_type": "daily", "price": "50", "download_speed_mbps": 5,
        "upload_speed_mbps": 2}).get_json()["package"]
    batch = client.post(f"/routers/{router_id}/voucher-batches/", json={"package_id": package["id"], "count": 3},
                        headers=headers).get_json()
    page = client.get(f"/dashboard/routers/{router_id}/vouchers").get_data(as_text=True)
    assert "not checked by a sync yet" in page
    for row in sim.execute("/ip/hotspot/user/print"):
        if row.get("comment") == f"rd-batch-{batch['id']}":
            sim.execute("/ip/hotspot/user/remove", {".id": row[".id"]})
    assert client.post(f"/dashboard/routers/{router_id}/hotspot/sync",
                       data={"csrf_token": logged_in}).status_code in (200, 302, 303)
    page = client.get(f"/dashboard/batches/{batch['id']}").get_data(as_text=True)
    assert "3 were missing, pushed again" in page and "checked " in page
    assert client.get(f"/voucher-batches/{batch['id']}/", headers=headers).get_json()["missing_at_check"] == 3

    saved = client.post(f"/dashboard/routers/{router_id}/hotspot/trial", headers=HTMX, data={
        "csrf_token": logged_in, "trial_enabled": "y", "trial_minutes": "20", "trial_reset_hours": "24",
        "trial_package_id": str(package["id"])})
    assert saved.status_code == 200 and "Saved and set on the router." in saved.get_data(as_text=True)
    site = client.get(f"/routers/{router_id}/hotspot/", headers=headers).get_json()
    assert (site["trial_enabled"], site["trial_minutes"], site["trial_package_id"]) == (True, 20, package["id"])
    bad = client.post(f"/dashboard/routers/{router_id}/hotspot/trial", headers=HTMX, data={
        "csrf_token": logged_in, "trial_minutes": "0", "trial_reset_hours": "24", "trial_package_id": "0"})
    assert bad.status_code == 422
