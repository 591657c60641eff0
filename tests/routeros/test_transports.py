"""Both protocols against the simulator over real sockets: same calls, same rows, TLS trust choices."""

from __future__ import annotations

import ssl
import threading
from typing import Any

import pytest

from routeros import ApiClient, RouterConfig, open_client, resolve_protocol
from routeros.errors import CommandRejected, InvalidRequest, RouterTimeout, TLSFailure
from tests.routeros.conftest import TRANSPORTS, config_for

ALL = list(TRANSPORTS)


@pytest.mark.parametrize("transport", ALL)
def test_device_reads_on_every_transport(v7: Any, transport: str) -> None:
    with open_client(config_for(v7, transport)) as client:
        assert client.protocol == TRANSPORTS[transport][0]
        assert client.identity() == v7.name
        assert client.resource()["version"].startswith("7.16.1")
        assert client.routerboard()["routerboard"] in ("true", "false")
        assert "software-id" in client.license()
        assert set(client.clock()) >= {"time", "date"}
        health = client.health()
        assert "temperature" in health
        assert all(isinstance(value, str) for value in health.values())
        names = [row["name"] for row in client.interfaces()]
        assert "ether1" in names


def test_v6_logs_in_with_the_md5_challenge(v6: Any) -> None:
    with open_client(config_for(v6, "api")) as client:
        assert client.identity() == v6.name
        assert client.resource()["version"].startswith("6.42")
        # RouterOS 6 reports health as one row of properties; it comes out in the same shape as v7's.
        assert "voltage" in client.health()


def test_v6_over_api_ssl(v6: Any) -> None:
    with open_client(config_for(v6, "api-ssl")) as client:
        assert client.identity() == v6.name


STABLE = ["name", "ranges", "comment"]


def test_rows_are_identical_whichever_protocol_ran(v7: Any) -> None:
    with open_client(config_for(v7, "api")) as api, open_client(config_for(v7, "rest")) as rest:
        created = api.add("ip/pool", {"name": "same-rows", "ranges": "10.9.0.2-10.9.0.9", "comment": "x=y"})
        try:
            by_api = api.print("ip/pool", query={"name": "same-rows"})
            by_rest = rest.print("ip/pool", query={"name": "same-rows"})
            assert by_api == by_rest == [created]
            assert api.print("ip/pool", proplist=STABLE) == rest.print("ip/pool", proplist=STABLE)
            assert api.interfaces()[0].keys() == rest.interfaces()[0].keys()
            assert api.run("ip/pool", "GET", {"?name": "same-rows"}) == rest.run(
                "ip/pool", "GET", {"?name": "same-rows"}
            )
        finally:
            api.remove("ip/pool", created[".id"])


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_contract_command_form_crud(v7: Any, transport: str) -> None:
    name = f"pool-{transport}"
    with open_client(config_for(v7, transport)) as client:
        [added] = client.run("ip/pool/add", "POST", data={"name": name, "ranges": "10.7.0.2-10.7.0.9"})
        assert added["name"] == name
        assert added[".id"].startswith("*")
        rows = client.run("ip/pool", "GET", params={"?name": name})
        assert rows == [added]
        [updated] = client.run("ip/pool/set", "PUT", data={".id": added[".id"], "comment": "changed"})
        assert updated["comment"] == "changed"
        assert updated[".id"] == added[".id"]
        # Items can be named instead of numbered, on both protocols.
        [renamed] = client.run("ip/pool/set", "PATCH", data={"numbers": name, "comment": "by name"})
        assert renamed["comment"] == "by name"
        assert client.run("ip/pool/remove", "DELETE", data={".id": added[".id"]}) == []
        assert client.run("ip/pool", "GET", params={"?name": name}) == []


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_high_level_crud_and_queries(v7: Any, transport: str) -> None:
    with open_client(config_for(v7, transport)) as client:
        first = client.add(
            "ip/pool", {"name": f"q1-{transport}", "ranges": "10.8.0.2-10.8.0.3", "comment": ""}
        )
        second = client.add("ip/pool", {"name": f"q2-{transport}", "ranges": "10.8.1.2-10.8.1.3"})
        try:
            either = client.print(
                "ip/pool", query=[f"name=q1-{transport}", f"name=q2-{transport}", "#|"], proplist=["name"]
            )
            assert sorted(row["name"] for row in either) == [f"q1-{transport}", f"q2-{transport}"]
            assert all(set(row) == {"name"} for row in either)
            updated = client.set("ip/pool", f"q2-{transport}", {"comment": "second"})
            assert updated["comment"] == "second"
            assert client.print("ip/pool", {"comment": "second"}, ["name"]) == [{"name": f"q2-{transport}"}]
        finally:
            client.remove("ip/pool", first[".id"])
            client.remove("ip/pool", f"q2-{transport}")
        assert client.print("ip/pool", {"name": f"q2-{transport}"}) == []
        assert second[".id"] not in {row[".id"] for row in client.print("ip/pool")}


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_console_commands_return_rows_or_done_data(v7: Any, transport: str) -> None:
    with open_client(config_for(v7, transport)) as client:
        assert client.call("log/info", {"message": f"hello from {transport}"}) == []
        logged = client.print("log", {"message": f"hello from {transport}"})
        assert len(logged) == 1
        # A "print" reached as a console command honours .proplist and .query as REST spells them.
        rows = client.call("interface/print", {".proplist": ["name"], ".query": ["name=ether1"]})
        assert rows == [{"name": "ether1"}]
        assert client.run(
            "interface/print", "POST", data={".proplist": "name,type", ".query": ["name=ether2"]}
        ) == [{"name": "ether2", "type": "ether"}]


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_run_rejects_what_it_cannot_send(v7: Any, transport: str) -> None:
    with open_client(config_for(v7, transport)) as client:
        with pytest.raises(InvalidRequest, match="method"):
            client.run("ip/pool", "FETCH")
        with pytest.raises(InvalidRequest, match=r"\.id"):
            client.run("ip/pool/remove", "DELETE", data={"comment": "no id"})
        with pytest.raises(CommandRejected, match="no such item"):
            client.set("ip/pool", "no-such-pool", {"comment": "x"})


def test_api_ssl_trust_choices(v7: Any) -> None:
    # ca_pem (the default in config_for), pinned fingerprint, explicit insecure, CA file on disk.
    for overrides in (
        {},
        {"ca_pem": None, "fingerprint": v7.cert_fingerprint_sha256},
        {
            "ca_pem": None,
            "fingerprint": ":".join(v7.cert_fingerprint_sha256[i : i + 2] for i in range(0, 64, 2)),
        },
        {"ca_pem": None, "verify": False},
    ):
        with open_client(config_for(v7, "api-ssl", **overrides)) as client:
            assert client.identity() == v7.name


@pytest.mark.parametrize("transport", ["api-ssl", "rest-tls"])
def test_ca_file_on_disk(v7: Any, transport: str, tmp_path: Any) -> None:
    ca = tmp_path / "router.pem"
    ca.write_bytes(v7.cert_pem)
    with open_client(config_for(v7, transport, ca_pem=None, verify=str(ca))) as client:
        assert client.identity() == v7.name


@pytest.mark.parametrize("transport", ["rest-tls"])
@pytest.mark.parametrize("trust", ["fingerprint", "insecure"])
def test_rest_tls_trust_choices(v7: Any, transport: str, trust: str) -> None:
    overrides: dict[str, Any] = {"ca_pem": None}
    if trust == "fingerprint":
        overrides["fingerprint"] = v7.cert_fingerprint_sha256
    else:
        overrides["verify"] = False
    # warnings are errors in this suite: insecure must not trip urllib3's InsecureRequestWarning.
    with open_client(config_for(v7, transport, **overrides)) as client:
        assert client.identity() == v7.name


@pytest.mark.parametrize("transport", ["api-ssl", "rest-tls"])
def test_untrusted_certificate_is_a_tls_error(v7: Any, transport: str) -> None:
    with pytest.raises(TLSFailure, match="not trusted") as caught:
        open_client(config_for(v7, transport, ca_pem=None, verify=True))
    assert caught.value.kind == "tls"


@pytest.mark.parametrize("transport", ["api-ssl", "rest-tls"])
def test_wrong_pin_is_a_tls_error(v7: Any, transport: str) -> None:
    with pytest.raises(TLSFailure, match="pinned"):
        open_client(config_for(v7, transport, ca_pem=None, fingerprint="00" * 32))


def test_tls_to_a_plain_http_port_is_a_tls_error(v7: Any) -> None:
    with pytest.raises(TLSFailure, match=r"handshake|TLS"):
        open_client(config_for(v7, "rest-tls", port=v7.rest_port))
    with pytest.raises(TLSFailure, match=r"handshake|TLS"):
        open_client(config_for(v7, "api-ssl", port=v7.rest_port))


def test_tls_to_a_plain_api_port_fails_within_the_deadline(v7: Any) -> None:
    # The plain API reads the ClientHello as words: it waits for more (silence) or hangs up on a
    # byte it cannot frame, depending on the hello's random bytes. Either way the call ends in time.
    with pytest.raises((TLSFailure, RouterTimeout)):
        open_client(config_for(v7, "api-ssl", port=v7.api_port, timeout=0.3))


@pytest.mark.parametrize(
    ("transport", "expected"),
    [("api", "api"), ("api-ssl", "api-ssl"), ("rest", "rest"), ("rest-tls", "rest")],
)
def test_auto_probes_unfamiliar_ports(v7: Any, transport: str, expected: str) -> None:
    # With "auto", use_https says whether to speak TLS; the probe then tells API from HTTP.
    config = config_for(v7, transport, protocol="auto", use_https=transport in ("api-ssl", "rest-tls"))
    assert resolve_protocol(config) == expected
    with open_client(config) as client:
        assert client.protocol == expected
        assert client.identity() == v7.name


@pytest.mark.parametrize(
    ("port", "https", "expected"),
    [(80, False, "rest"), (443, True, "rest"), (8728, False, "api"), (8729, False, "api-ssl")],
)
def test_auto_by_well_known_port_needs_no_probe(port: int, https: bool, expected: str) -> None:
    # Nothing listens on these ports here: the choice is made without touching the network.
    assert resolve_protocol(RouterConfig(host="192.0.2.1", port=port, use_https=https)) == expected


def test_tags_and_cancel_keep_the_session_usable(v7: Any) -> None:
    with open_client(config_for(v7, "api")) as client:
        assert isinstance(client, ApiClient)
        stream = client.stream("ip/pool/listen", timeout=5)
        helper = open_client(config_for(v7, "api"))
        try:
            helper.add("ip/pool", {"name": "listened", "ranges": "10.6.0.2-10.6.0.3"})
            row = next(stream)
            assert row["name"] == "listened"
            stream.close()  # sends /cancel for the listen's tag and drains its !trap/!done
            assert client.usable
            assert client.identity() == v7.name
        finally:
            helper.remove("ip/pool", "listened")
            helper.close()


def test_cancel_without_tag_cancels_everything(v7: Any) -> None:
    with open_client(config_for(v7, "api")) as client:
        assert isinstance(client, ApiClient)
        client.cancel()
        assert client.identity() == v7.name


def test_insecure_context_is_explicit() -> None:
    config = RouterConfig(host="h", verify=False)
    assert config.ssl_context().verify_mode == ssl.CERT_NONE
    assert RouterConfig(host="h").ssl_context().verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_empty_print_is_no_rows_even_with_the_empty_reply(v719: Any, transport: str) -> None:
    with open_client(config_for(v719, transport)) as client:
        assert client.print("ip/pool", {"name": "nothing-here"}) == []
        assert client.run("ip/pool", "GET", {"?name": "nothing-here"}) == []
        assert client.identity() == v719.name


@pytest.mark.parametrize("transport", ALL)
def test_host_names_resolve_within_the_deadline_and_match_the_certificate(v7: Any, transport: str) -> None:
    # "localhost" goes through the bounded resolver (and maybe ::1 first); the certificate names it.
    with open_client(config_for(v7, transport, host="localhost")) as client:
        assert client.identity() == v7.name


def test_a_client_shared_by_mistake_across_threads_stays_in_step(v7: Any) -> None:
    results: list[str] = []
    with open_client(config_for(v7, "api")) as client:

        def worker() -> None:
            results.extend(client.identity() for _ in range(20))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [v7.name] * 80
        assert client.usable


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_single_item_menus_are_set_without_an_id(v719: Any, transport: str) -> None:
    with open_client(config_for(v719, transport)) as client:
        try:
            assert client.run("system/identity/set", "PUT", data={"name": f"renamed-{transport}"}) == [
                {"name": f"renamed-{transport}"}
            ]
            assert client.identity() == f"renamed-{transport}"
            assert client.set("system/identity", None, {"name": "again"}) == {"name": "again"}
        finally:
            client.set("system/identity", None, {"name": v719.name})
        assert client.identity() == v719.name
