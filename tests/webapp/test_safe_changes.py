"""Safe changes against the simulator: a change that cuts RouterDeck off is undone by the router itself (its
scheduler fires on the simulated clock), a harmless one is confirmed and disarmed, and unknown undos are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config

PASSWORD = "safe-pass-1"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name="cut-api", password=PASSWORD), RouterSpec(name="cut-rest", password=PASSWORD),
             RouterSpec(name="calm", version="6.49.7", password=PASSWORD)]
    with Simulator(specs, seed=4) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "safe.db", ROUTER_TIMEOUT=2)


def add(client, headers, sim_router, protocol: str) -> int:  # type: ignore[no-untyped-def]
    port = sim_router.api_port if protocol == "api" else sim_router.rest_port
    body = {"name": sim_router.name, "host": sim_router.host, "username": "admin", "password": PASSWORD,
            "port": port, "protocol": protocol}
    return int(client.post("/routers/", json=body, headers=headers).get_json()["id"])


@pytest.mark.parametrize(("name", "protocol", "service"), [("cut-api", "api", "api"), ("cut-rest", "rest", "www")])
def test_a_change_that_cuts_routerdeck_off_is_undone_by_the_router(client, api, sim, name, protocol, service) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    sim_router = sim.router(name)
    rid = add(client, headers, sim_router, protocol)
    body = {"command": "ip/service/set", "method": "PUT", "data": {".id": service, "disabled": "true"},
            "confirm": True, "rollback_minutes": 2}
    response = client.post(f"/routers/{rid}/safe-changes/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    change = response.get_json()
    assert change["state"] == "pending" and change["undo"].startswith("/ip service set *")
    assert change["undo"].endswith("disabled=false")
    assert client.get(f"/routers/{rid}/", headers=headers).get_json()["is_online"] is False
    [entry] = [r for r in sim_router.execute("/system/scheduler/print") if r["name"] == change["scheduler_name"]]
    assert entry["interval"] == "2m"
    still = client.post(f"/routers/{rid}/safe-changes/{change['id']}/check/", headers=headers).get_json()
    assert still["state"] == "pending"
    sim_router.add_traffic(121)  # two minutes later on the router's clock: the scheduler undoes the change
    assert sim_router.execute("/ip/service/print", {"?name": service})[0]["disabled"] == "false"
    settled = client.post(f"/routers/{rid}/safe-changes/{change['id']}/check/", headers=headers).get_json()
    assert settled["state"] == "rolled_back"
    assert not [r for r in sim_router.execute("/system/scheduler/print") if r["name"] == change["scheduler_name"]]
    assert client.get(f"/routers/{rid}/", headers=headers).get_json()["is_online"] is True
    history = client.get(f"/routers/{rid}/commands/", headers=headers).get_json()["results"]
    assert history[0]["command"] == "ip/service/set" and history[0]["id"] == change["command_id"]


def test_a_harmless_change_is_confirmed_and_the_rollback_removed(client, api, sim) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    sim_router = sim.router("calm")
    rid = add(client, headers, sim_router, "api")
    body = {"command": "system/identity/set", "method": "POST", "data": {"name": "calm-renamed"}}
    change = client.post(f"/routers/{rid}/safe-changes/", json=body, headers=headers).get_json()
    assert change.get("state") == "confirmed", change
    assert change["undo"] == "/system identity set name=calm"
    assert sim_router.execute("/system/identity/print")[0]["name"] == "calm-renamed"
    assert not [r for r in sim_router.execute("/system/scheduler/print") if r["name"] == change["scheduler_name"]]
    sim_router.add_traffic(600)
    assert sim_router.execute("/system/identity/print")[0]["name"] == "calm-renamed"
    added = client.post(f"/routers/{rid}/safe-changes/", json={
        "command": "ip/pool/add", "data": {"name": "safe-pool", "ranges": "10.1.1.2-10.1.1.9"}}, headers=headers)
    assert added.get_json()["undo"] == "/ip pool remove [find name=safe-pool]"
    listed = client.get(f"/routers/{rid}/safe-changes/", headers=headers).get_json()
    assert [c["state"] for c in listed] == ["confirmed", "confirmed"]


def test_refused_changes_disarm_and_unknown_undos_are_422(client, api, sim) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    sim_router = sim.router("calm")
    rid = add(client, headers, sim_router, "api")
    refused = client.post(f"/routers/{rid}/safe-changes/", json={
        "command": "ip/service/set", "data": {".id": "telnet", "port": "99999"}}, headers=headers).get_json()
    assert refused["state"] == "failed" and "out of range" in refused["message"]
    assert not [r for r in sim_router.execute("/system/scheduler/print") if r["name"] == refused["scheduler_name"]]
    reboot = client.post(f"/routers/{rid}/safe-changes/", json={"command": "system/reboot", "confirm": True},
                         headers=headers)
    assert reboot.status_code == 422 and "no automatic undo" in reboot.get_json()["error"]
    dangerous = client.post(f"/routers/{rid}/safe-changes/", json={
        "command": "ip/service/set", "data": {".id": "api", "disabled": "true"}}, headers=headers)
    assert dangerous.status_code == 409
    bad = client.post(f"/routers/{rid}/safe-changes/", json={"command": "system/identity/set",
                                                             "data": {"name": "x"}, "rollback_minutes": 0},
                      headers=headers)
    assert bad.status_code == 400
