"""Installed versus available RouterOS per router and per group, from each router's update channel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name="old-7", version="7.15.3", password="pw1"),
             RouterSpec(name="new-7", version="7.16.2", password="pw1"),
             RouterSpec(name="v6", version="6.48.6", password="pw1")]
    with Simulator(specs, seed=41) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "upgrades.db", ROUTER_TIMEOUT=3)


def test_installed_versus_available_per_router_and_group(client, api, sim) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    group = client.post("/groups/", json={"name": "upg"}, headers=headers).get_json()["id"]
    ids = {}
    for router in sim.routers:
        body = {"name": router.name, "host": router.host, "port": router.api_port, "protocol": "api",
                "username": "admin", "password": "pw1"}
        if router.name != "v6":
            body["group_id"] = group
        ids[router.name] = client.post("/routers/", json=body, headers=headers).get_json()["id"]
    before = client.get(f"/upgrades/?group={group}", headers=headers).get_json()
    assert before["unchecked"] == 2 and before["behind"] == 0
    old = client.post(f"/routers/{ids['old-7']}/upgrade-check/", headers=headers).get_json()
    assert old["installed"] == "7.15.3" and old["available"] == "7.16.2" and old["behind"] is True
    assert old["status"] == "New version is available" and old["channel"] == "stable"
    new = client.post(f"/routers/{ids['new-7']}/upgrade-check/", headers=headers).get_json()
    assert new["behind"] is False and new["status"] == "System is already up to date"
    v6 = client.post(f"/routers/{ids['v6']}/upgrade-check/", headers=headers).get_json()
    assert v6["available"] == "6.49.17" and v6["behind"] is True
    grouped = client.get(f"/upgrades/?group={group}", headers=headers).get_json()
    assert grouped["total"] == 2 and grouped["behind"] == 1 and grouped["unchecked"] == 0
    assert grouped["installed_versions"] == {"7.15.3": 1, "7.16.2": 1}
    assert client.get("/upgrades/", headers=headers).get_json()["behind"] == 2
    sim.router("old-7").set_fault("refuse")
    try:
        down = client.post(f"/routers/{ids['old-7']}/upgrade-check/", headers=headers)
    finally:
        sim.router("old-7").clear_faults()
    assert down.status_code == 502 and down.get_json()["reason"] == "unreachable"
    assert client.get("/upgrades/?group=x", headers=headers).status_code == 400
