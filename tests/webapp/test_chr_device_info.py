"""CHR and x86 routers have no /system/routerboard and no /system/health: device-info must still answer 200
(with nulls for what the router does not report) on every protocol and leave the router online."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config

PASSWORD = "chr-pass-123"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name="chr-v7", version="7.16.1", board="CHR", password=PASSWORD),
             RouterSpec(name="x86-v6", version="6.49.7", board="x86", password=PASSWORD)]
    with Simulator(specs, seed=11) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "chr.db", ROUTER_TIMEOUT=3)


DOORS = {
    "api": lambda r: {"port": r.api_port, "protocol": "api"},
    "api-ssl": lambda r: {"port": r.api_ssl_port, "protocol": "api-ssl",
                          "tls_fingerprint": r.cert_fingerprint_sha256},
    "rest": lambda r: {"port": r.rest_port, "protocol": "rest"},
    "rest-https": lambda r: {"port": r.rest_tls_port, "protocol": "rest", "use_https": True,
                             "tls_fingerprint": r.cert_fingerprint_sha256},
}


@pytest.mark.parametrize("door", list(DOORS))
def test_device_info_on_chr_is_200_with_nulls_and_the_router_stays_online(client, api, sim, door) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    router = sim.router("chr-v7")
    body = {"name": f"chr-{door}", "host": router.host, "username": "admin", "password": PASSWORD,
            **DOORS[door](router)}
    rid = client.post("/routers/", json=body, headers=headers).get_json()["id"]
    response = client.get(f"/routers/{rid}/device-info/", headers=headers)
    assert response.status_code == 200, response.get_json()
    info = response.get_json()["device_info"]
    assert info["identity"] == "chr-v7" and info["version"].startswith("7.16.1")
    assert info["board_name"].startswith("CHR") and info["architecture"] == "x86_64"
    assert info["model"] is None and info["serial_number"] is None and info["firmware"] is None
    assert info["temperature_c"] is None and info["voltage_v"] is None
    assert info["license_level"] == "p1"
    stored = client.get(f"/routers/{rid}/", headers=headers).get_json()
    assert stored["is_online"] is True and stored["last_error"] is None


def test_device_info_on_a_v6_x86_over_the_api(client, api, sim) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    router = sim.router("x86-v6")
    rid = client.post("/routers/", json={"name": "x86", "host": router.host, "username": "admin",
                                         "password": PASSWORD, **DOORS["api"](router)},
                      headers=headers).get_json()["id"]
    response = client.get(f"/routers/{rid}/device-info/", headers=headers)
    assert response.status_code == 200, response.get_json()
    info = response.get_json()["device_info"]
    assert info["model"] is None and info["temperature_c"] is None and info["license_level"] == "4"
    assert client.get(f"/routers/{rid}/", headers=headers).get_json()["is_online"] is True


def test_the_dashboard_device_panel_renders_for_chr(client, api, html, sim) -> None:  # type: ignore[no-untyped-def]
    router = sim.router("chr-v7")
    rid = client.post("/routers/", json={"name": "chr", "host": router.host, "username": "admin",
                                         "password": PASSWORD, **DOORS["api"](router)},
                      headers=api.headers()).get_json()["id"]
    html.login()
    page = client.get(f"/dashboard/routers/{rid}/device-info")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "chr-v7" in text and "x86_64" in text
