"""POST /commands/bulk/: one command on a group, a tag or explicit routers, as a job with per-router results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config

PASSWORD = "bulk-pass-1"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name=f"b{i}", version=v, password=PASSWORD)
             for i, v in enumerate(("7.16.1", "7.16.1", "6.49.7", "7.12.1"))]
    with Simulator(specs, seed=31) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "bulk.db", ROUTER_TIMEOUT=2)


@pytest.fixture
def fleet(client, api, sim) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    headers = api.headers()
    group = client.post("/groups/", json={"name": "site"}, headers=headers).get_json()["id"]
    ids = []
    for index, router in enumerate(sim.routers):
        body = {"name": router.name, "host": router.host, "port": router.api_port, "protocol": "api",
                "username": "admin", "password": PASSWORD, "tags": ["odd"] if index % 2 else []}
        if index < 3:
            body["group_id"] = group
        ids.append(client.post("/routers/", json=body, headers=headers).get_json()["id"])
    return {"headers": headers, "group": group, "ids": ids}


def test_a_command_on_a_group_is_a_job_with_per_router_results(client, sim, fleet) -> None:  # type: ignore[no-untyped-def]
    headers = fleet["headers"]
    sim.router("b1").set_fault("refuse")
    try:
        response = client.post("/commands/bulk/", json={"command": "ip/pool/add", "method": "POST",
                                                        "data": {"name": "bulk-pool", "ranges": "10.44.0.2-10.44.0.9"},
                                                        "group_id": fleet["group"], "concurrency": 2},
                               headers=headers)
    finally:
        sim.router("b1").clear_faults()
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["routers"] == 3 and response.headers["Location"] == body["job"]["url"]
    job = client.get(body["job"]["url"], headers=headers).get_json()
    assert job["state"] == "succeeded" and job["done"] == job["total"] == 3 and job["error_count"] == 1
    outcomes = job["result"]["routers"]
    ok = [fleet["ids"][0], fleet["ids"][2]]
    assert {outcomes[str(rid)]["status"] for rid in ok} == {"success"}
    assert outcomes[str(fleet["ids"][1])]["status"] == "failed"
    assert outcomes[str(fleet["ids"][1])]["reason"] == "unreachable"
    assert str(fleet["ids"][3]) not in outcomes
    for index in (0, 2):
        assert any(r.get("name") == "bulk-pool" for r in sim.router(f"b{index}").execute("/ip/pool/print"))
    history = client.get(f"/routers/{fleet['ids'][0]}/commands/", headers=headers).get_json()["results"]
    assert history[0]["command"] == "ip/pool/add" and history[0]["id"] == outcomes[str(fleet["ids"][0])]["command_id"]


def test_selection_by_tag_or_ids_and_the_guards(client, fleet) -> None:  # type: ignore[no-untyped-def]
    headers = fleet["headers"]
    by_tag = client.post("/commands/bulk/", json={"command": "system/identity", "tag": "odd"}, headers=headers)
    assert by_tag.status_code == 202 and by_tag.get_json()["routers"] == 2
    by_ids = client.post("/commands/bulk/", json={"command": "system/resource", "router_ids": fleet["ids"][:2]},
                         headers=headers)
    assert by_ids.get_json()["routers"] == 2
    for body in ({"command": "system/identity"},
                 {"command": "system/identity", "tag": "odd", "group_id": fleet["group"]},
                 {"command": "system/identity", "tag": "nobody-has-this"},
                 {"command": "system/identity", "tag": "odd", "concurrency": 99}):
        assert client.post("/commands/bulk/", json=body, headers=headers).status_code == 400
    reboot = client.post("/commands/bulk/", json={"command": "system/reboot", "method": "POST",
                                                  "group_id": fleet["group"]}, headers=headers)
    assert reboot.status_code == 409 and "every selected router" in reboot.get_json()["error"]
    assert client.post("/commands/bulk/", json={"command": "system/identity", "router_ids": [999999]},
                       headers=headers).status_code == 404
