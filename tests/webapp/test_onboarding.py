"""The onboarding script, pasted into simulated routers (v7 and v6), then used by RouterDeck and librouteros."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import librouteros
import pytest
from librouteros.exceptions import TrapError

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config

WG_KEY = "hM0fH1wFgJ6T7xXx0ZT6gM9w7iW5c8q3y5tWm1W2b3Q="


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    specs = [RouterSpec(name="fresh-7", version="7.16.1", password="factory"),
             RouterSpec(name="fresh-6", version="6.49.7", password="factory"),
             RouterSpec(name="fresh-rest", version="7.16.1", password="factory")]
    with Simulator(specs, seed=12) as simulator:
        yield simulator


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "onboard.db", ROUTER_TIMEOUT=3)


@pytest.mark.parametrize(("name", "protocol", "major"), [("fresh-7", "api-ssl", 7), ("fresh-6", "api", 6),
                                                         ("fresh-rest", "rest", 7)])
def test_script_runs_on_the_router_and_routerdeck_connects_with_it(client, api, sim, name, protocol, major) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    body: dict[str, Any] = {"routerdeck_address": "127.0.0.1", "protocol": protocol, "routeros_major": major,
                            "identity": name}
    if major == 7 and protocol == "api-ssl":
        body["wireguard"] = {"endpoint": "deck.example.net", "port": 51820, "public_key": WG_KEY}
    answer = client.post("/routers/onboarding-script/", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    onboard = answer.get_json()
    router = sim.router(name)
    router.run_script(onboard["script"])  # what pasting it into the terminal does

    group = next(r for r in router.execute("/user/group/print") if r["name"] == "routerdeck")
    allowed = {p for p in group["policy"].split(",") if not p.startswith("!")}
    assert {"api", "read", "write"} <= allowed and not allowed & {"ftp", "ssh", "winbox", "policy", "sensitive"}
    service = {"api-ssl": "api-ssl", "api": "api", "rest": "www-ssl"}[protocol]
    row = router.execute("/ip/service/print", {"?name": service})[0]
    assert row["disabled"] == "false" and row["address"].startswith("127.0.0.1/32")

    port = {"api-ssl": router.api_ssl_port, "api": router.api_port, "rest": router.rest_tls_port}[protocol]
    extra: dict[str, Any] = {"use_https": True} if protocol == "rest" else {}
    if protocol in ("api-ssl", "rest"):
        extra["tls_fingerprint"] = router.cert_fingerprint_sha256
    created = client.post("/routers/", json={"name": name, "host": router.host, "port": port, "protocol": protocol,
                                              "username": onboard["username"], "password": onboard["password"],
                                              **extra}, headers=headers).get_json()
    tested = client.post(f"/routers/{created['id']}/test-connection/", headers=headers).get_json()
    assert tested["is_online"] is True and tested["identity"] == name
    if body.get("wireguard"):
        peer = router.execute("/interface/wireguard/peers/print")[0]
        assert peer["public-key"] == WG_KEY and peer["endpoint-address"] == "deck.example.net"
        assert onboard["host_hint"] == "10.99.0.2"
        assert any(r["interface"] == "wg-routerdeck" for r in router.execute("/ip/address/print"))


def test_the_new_user_is_least_privilege(client, api, sim) -> None:  # type: ignore[no-untyped-def]
    onboard = client.post("/routers/onboarding-script/", json={"routerdeck_address": "127.0.0.1", "protocol": "api",
                                                               "username": "deck2"}, headers=api.headers()).get_json()
    router = sim.router("fresh-7")
    router.run_script(onboard["script"])
    connection = librouteros.connect(router.host, onboard["username"], onboard["password"], port=router.api_port,
                                     timeout=5)
    try:
        assert next(iter(connection.path("/system/identity")))["name"]
        with pytest.raises(TrapError) as trap:
            connection.path("/user").add(name="intruder", group="full", password="x")
        assert "not enough permissions" in trap.value.message
    finally:
        connection.close()


def test_bad_requests_are_400(client, api) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    for body in ({"routerdeck_address": "not-an-ip"}, {"routerdeck_address": "127.0.0.1", "protocol": "rest",
                                                        "routeros_major": 6},
                 {"routerdeck_address": "127.0.0.1", "routeros_major": 6,
                  "wireguard": {"endpoint": "x", "public_key": WG_KEY}}):
        assert client.post("/routers/onboarding-script/", json=body, headers=headers).status_code == 400
