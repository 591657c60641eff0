"""Router Operations against the simulator over real sockets: test-connection, device-info, execute-command.

Every protocol door (binary API, API-SSL, REST over HTTP and HTTPS) is exercised, and each router fault
the simulator can inject must come back as a clear 4xx/5xx JSON error within the deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config

PASSWORD = "sim-pass-123"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [
        RouterSpec(name="core-v7", version="7.16.1", username="admin", password=PASSWORD),
        RouterSpec(name="branch-v6", version="6.49.7", username="admin", password=PASSWORD),
        RouterSpec(name="legacy-v6", version="6.42.12", username="admin", password=PASSWORD),
    ]
    with Simulator(specs, host="127.0.0.1", seed=7) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _healthy_routers(sim: Simulator) -> Iterator[None]:
    yield
    for router in sim.routers:
        router.clear_faults()


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "ops.db", ROUTER_TIMEOUT=1.5)


@pytest.fixture
def headers(api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return api.headers()


DOORS = {
    "api": lambda r: {"port": r.api_port, "protocol": "api"},
    "api-ssl": lambda r: {"port": r.api_ssl_port, "protocol": "api-ssl", "tls_fingerprint": r.cert_fingerprint_sha256},
    "rest": lambda r: {"port": r.rest_port, "protocol": "rest", "use_https": False},
    "rest-https": lambda r: {
        "port": r.rest_tls_port, "protocol": "rest", "use_https": True, "tls_fingerprint": r.cert_fingerprint_sha256,
    },
}


def add_router(client, headers, sim_router, door: str = "api", **extra: Any) -> int:  # type: ignore[no-untyped-def]
    body = {
        "name": f"{sim_router.name}-{door}", "host": sim_router.host, "username": sim_router.username,
        "password": sim_router.password, **DOORS[door](sim_router), **extra,
    }
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


_logins = iter(range(1_000_000))


def fresh_login(sim_router) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A router user of its own, so no warm pooled connection from another test answers for this one."""
    name = f"ops{next(_logins)}"
    sim_router.add_user(name, f"{name}-pass", group="full")
    return {"username": name, "password": f"{name}-pass", "name": name}


def execute(client, headers, router_id: int, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/routers/{router_id}/execute-command/", json=body, headers=headers)


@pytest.mark.parametrize("door", list(DOORS))
def test_test_connection_on_every_door(client, headers, sim, door: str) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), door)
    response = client.post(f"/routers/{rid}/test-connection/", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["router_id"] == rid and body["is_online"] is True
    assert body["message"] == "Connection test completed"
    assert body["reason"] is None and body["latency_ms"] > 0
    assert body["routeros_version"].startswith("7.16.1")
    assert body["protocol"] == ("rest" if door.startswith("rest") else door)
    router = client.get(f"/routers/{rid}/", headers=headers).get_json()
    assert router["is_online"] is True and router["last_checked"] is not None


@pytest.mark.parametrize("name", ["branch-v6", "legacy-v6"])
def test_v6_routers_log_in_with_their_own_login_style(client, headers, sim, name: str) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router(name), "api")
    body = client.post(f"/routers/{rid}/test-connection/", headers=headers).get_json()
    assert body["is_online"] is True and body["routeros_version"].startswith(sim.router(name).version)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("refuse", "unreachable"), ("wrong_credentials", "auth"), ("garbage", "protocol"), ("blackhole", "timeout")],
)
def test_test_connection_reports_why_a_router_is_down(client, headers, sim, fault: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("core-v7")
    rid = add_router(client, headers, sim_router, "api")
    sim_router.set_fault(fault)
    body = client.post(f"/routers/{rid}/test-connection/", headers=headers).get_json()
    assert body["is_online"] is False
    assert body["reason"] == reason
    assert body["error_message"]
    router = client.get(f"/routers/{rid}/", headers=headers).get_json()
    assert router["is_online"] is False and router["last_error"] == reason


def test_wrong_tls_pin_is_a_tls_failure(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), "api-ssl", tls_fingerprint="ab" * 32)
    body = client.post(f"/routers/{rid}/test-connection/", headers=headers).get_json()
    assert body["is_online"] is False and body["reason"] == "tls"


CONTRACT_INFO = {"identity", "cpu_load", "free_memory", "total_memory", "free_hdd_space", "total_hdd_space",
                 "version", "uptime"}


@pytest.mark.parametrize("door", list(DOORS))
def test_device_info_has_contract_shape_on_every_door(client, headers, sim, door: str) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), door)
    response = client.get(f"/routers/{rid}/device-info/", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["router_id"] == rid and body["message"] == "Device information retrieved successfully"
    info = body["device_info"]
    assert set(info) >= CONTRACT_INFO
    assert info["identity"] == "core-v7"
    assert info["cpu_load"].endswith("%") and int(info["cpu_load"][:-1]) >= 0
    assert int(info["total_memory"]) >= int(info["free_memory"]) > 0
    assert info["version"].startswith("7.16.1")
    hours = info["uptime"].split(" ")[-1]
    assert len(hours.split(":")) == 3
    assert info["board_name"] and info["architecture"]


def test_device_info_same_values_over_api_and_rest(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    via_api = add_router(client, headers, sim.router("core-v7"), "api")
    via_rest = add_router(client, headers, sim.router("core-v7"), "rest")
    a = client.get(f"/routers/{via_api}/device-info/", headers=headers).get_json()["device_info"]
    r = client.get(f"/routers/{via_rest}/device-info/", headers=headers).get_json()["device_info"]
    stable = ("identity", "total_memory", "total_hdd_space", "version", "board_name", "model", "serial_number",
              "architecture", "cpu_count", "license_level")
    assert {k: a[k] for k in stable} == {k: r[k] for k in stable}


def test_device_info_on_v6(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("branch-v6"), "api")
    info = client.get(f"/routers/{rid}/device-info/", headers=headers).get_json()["device_info"]
    assert info["version"].startswith("6.49.7") and info["identity"] == "branch-v6"


def test_device_info_of_a_down_router_is_502_json(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("core-v7")
    rid = add_router(client, headers, sim_router, "api", **fresh_login(sim_router))
    sim_router.set_fault("refuse")
    response = client.get(f"/routers/{rid}/device-info/", headers=headers)
    assert response.status_code == 502
    assert response.get_json()["reason"] == "unreachable"


@pytest.mark.parametrize("door", ["api", "rest"])
def test_execute_print_add_set_remove_same_on_both_protocols(client, headers, sim, door: str) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), door)
    pool = f"pool-{door}"
    added = execute(client, headers, rid, command="ip/pool/add", method="POST",
                    data={"name": pool, "ranges": "10.77.0.10-10.77.0.99"})
    assert added.status_code == 200, added.get_json()
    body = added.get_json()
    assert body["message"] == "Command executed successfully" and body["method"] == "POST"
    row = body["result"][0]
    assert row["name"] == pool and row[".id"].startswith("*")
    printed = execute(client, headers, rid, command="ip/pool", method="GET", params={"?name": pool}).get_json()
    assert [r["name"] for r in printed["result"]] == [pool]
    assert set(printed["result"][0]) >= {".id", "name", "ranges"}
    changed = execute(client, headers, rid, command="ip/pool/set", method="PUT",
                      data={".id": row[".id"], "ranges": "10.77.0.10-10.77.0.20"})
    assert changed.status_code == 200 and changed.get_json()["result"][0]["ranges"] == "10.77.0.10-10.77.0.20"
    removed = execute(client, headers, rid, command="ip/pool/remove", method="DELETE", data={".id": row[".id"]})
    assert removed.status_code == 200 and removed.get_json()["result"] == []
    gone = execute(client, headers, rid, command="ip/pool", method="GET", params={"?name": pool}).get_json()
    assert gone["result"] == []


def test_contract_hotspot_examples(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), "api")
    execute(client, headers, rid, command="ip/pool/add", method="POST",
            data={"name": "pool1", "ranges": "10.5.50.2-10.5.50.254"})
    created = execute(client, headers, rid, command="ip/hotspot/add", method="POST",
                      data={"name": "hotspot2", "address-pool": "pool1", "profile": "default", "interface": "ether5"})
    assert created.status_code == 200, created.get_json()
    again = execute(client, headers, rid, command="ip/hotspot/add", method="POST",
                    data={"name": "hotspot2", "address-pool": "pool1", "profile": "default", "interface": "ether5"})
    assert again.status_code == 400
    assert again.get_json()["error"] == "Bad Request: failure: already have such entry"
    listed = execute(client, headers, rid, command="ip/hotspot", method="GET", params={"?name": "hotspot2"}).get_json()
    assert listed["router_id"] == rid and listed["command"] == "ip/hotspot" and listed["method"] == "GET"
    assert {k: listed["result"][0][k] for k in ("name", "address-pool", "profile")} == {
        "name": "hotspot2", "address-pool": "pool1", "profile": "default"}


@pytest.mark.parametrize("door", ["api", "rest"])
def test_router_trap_is_400_with_routers_message(client, headers, sim, door: str) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), door)
    response = execute(client, headers, rid, command="invalid/command", method="GET")
    assert response.status_code == 400
    body = response.get_json()
    assert body["router_id"] == rid and body["command"] == "invalid/command" and body["method"] == "GET"
    assert body["status_code"] == 400
    assert body["error"].startswith("Bad Request: no such command or directory")


def test_read_only_user_gets_permission_error(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("core-v7")
    sim_router.add_user("viewer", "viewer-pass", group="read")
    rid = add_router(client, headers, sim_router, "api", username="viewer", password="viewer-pass", name="ro")
    ok = execute(client, headers, rid, command="system/identity", method="GET")
    assert ok.status_code == 200
    denied = execute(client, headers, rid, command="ip/pool/add", method="POST",
                     data={"name": "nope", "ranges": "10.1.1.1"})
    assert denied.status_code == 400
    assert "permission" in denied.get_json()["error"].lower()


@pytest.mark.parametrize(
    ("fault", "status", "reason"),
    [("refuse", 502, "unreachable"), ("blackhole", 504, "timeout"), ("drop_mid_sentence", 502, "connection_lost"),
     ("control_byte", 502, "protocol"), ("oversized_length", 502, "protocol"), ("trickle", 504, "timeout")],
)
def test_faults_become_clear_gateway_errors_and_history(client, headers, sim, fault, status, reason) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("core-v7")
    rid = add_router(client, headers, sim_router, "api", **fresh_login(sim_router))
    sim_router.set_fault(fault, **({"bytes_per_second": 2} if fault == "trickle" else {}))
    response = execute(client, headers, rid, command="ip/address", method="GET")
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"] and body["reason"] == reason and body["status_code"] == status
    entry = client.get(f"/commands/{body['command_id']}/", headers=headers).get_json()
    assert entry["status"] == ("timeout" if status == 504 else "failed")
    assert entry["error"] == body["error"] and entry["finished_at"] is not None


@pytest.mark.parametrize("fault", ["rest_html", "rest_500"])
def test_rest_faults_are_502(client, headers, sim, fault: str) -> None:  # type: ignore[no-untyped-def]
    sim_router = sim.router("core-v7")
    rid = add_router(client, headers, sim_router, "rest", **fresh_login(sim_router))
    sim_router.set_fault(fault)
    response = execute(client, headers, rid, command="system/resource", method="GET")
    assert response.status_code == 502
    assert response.get_json()["error"]


def test_history_filters_pagination_and_rerun(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), "api")
    execute(client, headers, rid, command="system/identity", method="GET")
    execute(client, headers, rid, command="interface", method="GET")
    execute(client, headers, rid, command="invalid/command", method="GET")
    page = client.get(f"/routers/{rid}/commands/?page_size=2", headers=headers).get_json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    newest = page["results"][0]
    assert newest["command"] == "invalid/command" and newest["status"] == "failed"
    assert newest["user"] == "alice" and newest["duration_ms"] is not None
    failed = client.get("/commands/?status=failed", headers=headers).get_json()
    assert [c["command"] for c in failed["results"]] == ["invalid/command"]
    searched = client.get("/commands/?search=inter", headers=headers).get_json()
    assert [c["command"] for c in searched["results"]] == ["interface"]
    rerun = client.post(f"/commands/{page['results'][1]['id']}/rerun/", headers=headers)
    assert rerun.status_code == 200 and rerun.get_json()["command"] == "interface"
    assert client.get("/commands/", headers=headers).get_json()["count"] == 4


def test_history_is_private(client, api, sim, other_user) -> None:  # type: ignore[no-untyped-def]
    mine = api.headers()
    rid = add_router(client, mine, sim.router("core-v7"), "api")
    command_id = execute(client, mine, rid, command="system/identity").get_json()["command_id"]
    theirs = api.headers("mallory")
    assert client.get(f"/commands/{command_id}/", headers=theirs).status_code == 404
    assert client.post(f"/commands/{command_id}/rerun/", headers=theirs).status_code == 404
    assert client.get("/commands/", headers=theirs).get_json()["count"] == 0


def test_confirmed_reboot_runs_and_is_audited(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("branch-v6"), "api")
    assert execute(client, headers, rid, command="system/reboot", method="POST").status_code == 409
    done = execute(client, headers, rid, command="system/reboot", method="POST", confirm=True)
    assert done.status_code == 200, done.get_json()
    trail = client.get(f"/routers/{rid}/audit/", headers=headers).get_json()["results"]
    assert trail[0]["action"] == "command.run" and "system/reboot" in trail[0]["summary"]


def test_history_never_keeps_router_secrets(client, headers, sim) -> None:  # type: ignore[no-untyped-def]
    rid = add_router(client, headers, sim.router("core-v7"), "api")
    added = execute(client, headers, rid, command="ppp/secret/add", method="POST",
                    data={"name": "branch-vpn", "password": "ppp-s3cret", "service": "any"})
    assert added.status_code == 200, added.get_json()
    listed = execute(client, headers, rid, command="ppp/secret", method="GET", params={"?name": "branch-vpn"})
    assert listed.get_json()["result"][0]["password"] == "ppp-s3cret"  # the person who asked sees it
    history = client.get(f"/routers/{rid}/commands/", headers=headers).get_json()["results"]
    assert "ppp-s3cret" not in str(history)
    assert history[1]["data"]["password"] == "***" and history[0]["result"][0]["password"] == "***"
    again = client.post(f"/commands/{history[1]['id']}/rerun/", headers=headers)
    assert again.status_code == 400 and "secret values" in again.get_json()["error"]
