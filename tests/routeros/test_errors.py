"""Every error kind provoked for real against the simulator, on both protocols where it applies."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from routeros import ApiClient, Client, RouterConfig, open_client, values
from routeros.errors import (
    AuthenticationFailed,
    BadValue,
    CommandRejected,
    ConnectionLost,
    FatalError,
    PermissionDenied,
    ProtocolError,
    RouterOSError,
    RouterTimeout,
    ServiceDisabled,
    Unreachable,
)
from tests.routeros.conftest import config_for

BOTH = ["api", "rest"]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def logged_in(faulty: Any, request: pytest.FixtureRequest) -> Iterator[Client]:
    """A client logged in before the test switches a fault on."""
    client = open_client(config_for(faulty, request.param, timeout=1.0))
    yield client
    client.close()


@pytest.mark.parametrize("protocol", ["api", "api-ssl", "rest"])
def test_nothing_listening_is_unreachable(protocol: str) -> None:
    config = RouterConfig(host="127.0.0.1", port=closed_port(), protocol=protocol, timeout=2)  # type: ignore[arg-type]
    with pytest.raises(Unreachable, match="refused") as caught:
        open_client(config)
    assert caught.value.kind == "unreachable"


@pytest.mark.parametrize("protocol", ["api", "rest", "auto"])
def test_unknown_host_is_unreachable(protocol: str) -> None:
    # Fails in the IDNA encoder (label > 63 characters), so no DNS query leaves the machine.
    unresolvable = "no-such-router-" + "x" * 60 + ".invalid"
    config = RouterConfig(host=unresolvable, port=18728, protocol=protocol, timeout=2)  # type: ignore[arg-type]
    with pytest.raises(Unreachable, match="resolve"):
        open_client(config)


@pytest.mark.parametrize("transport", ["api", "api-ssl", "rest", "rest-tls"])
def test_refusing_router_is_unreachable(faulty: Any, transport: str) -> None:
    config = config_for(faulty, transport)
    faulty.set_fault("refuse")
    with pytest.raises(Unreachable, match="refused"):
        open_client(config)


def test_disabled_api_service_is_refused_like_on_routeros(faulty: Any) -> None:
    config = config_for(faulty, "api")
    faulty.set_service_disabled("api", True)
    try:
        with pytest.raises(Unreachable, match="service is on"):
            open_client(config)
    finally:
        faulty.set_service_disabled("api", False)
    with open_client(config) as client:
        assert client.identity() == faulty.name


@pytest.mark.parametrize("transport", ["api", "api-ssl", "rest", "rest-tls"])
def test_blackhole_times_out_on_the_total_deadline(faulty: Any, transport: str) -> None:
    faulty.set_fault("blackhole")
    with pytest.raises(RouterTimeout) as caught:
        open_client(config_for(faulty, transport, timeout=0.3))
    assert caught.value.kind == "timeout"


@pytest.mark.parametrize("logged_in", BOTH, indirect=True)
def test_latency_beyond_the_deadline_times_out(faulty: Any, logged_in: Client) -> None:
    faulty.set_fault("latency", ms=1500)
    with pytest.raises(RouterTimeout):
        logged_in.identity(timeout=0.2)
    assert logged_in.protocol == "rest" or not logged_in.usable


@pytest.mark.parametrize("logged_in", ["api", "api-ssl", "rest", "rest-tls"], indirect=True)
def test_trickling_router_fails_on_time(faulty: Any, logged_in: Client) -> None:
    # Bytes keep arriving (every 0.1 s), so a per-recv timeout would never fire; the total deadline does.
    faulty.set_fault("trickle", bytes_per_second=200)
    with pytest.raises(RouterTimeout):
        logged_in.interfaces(timeout=0.5)


@pytest.mark.parametrize("logged_in", BOTH, indirect=True)
def test_latency_within_the_deadline_is_fine(faulty: Any, logged_in: Client) -> None:
    faulty.set_fault("latency", ms=50)
    assert logged_in.identity(timeout=2) == faulty.name


@pytest.mark.parametrize("logged_in", BOTH, indirect=True)
def test_connection_dropped_mid_reply_is_connection_lost(faulty: Any, logged_in: Client) -> None:
    faulty.set_fault("drop_mid_sentence")
    with pytest.raises(ConnectionLost) as caught:
        logged_in.interfaces()
    assert caught.value.kind == "connection_lost"
    if isinstance(logged_in, ApiClient):
        assert not logged_in.usable
        with pytest.raises(ConnectionLost, match="open a new client"):
            logged_in.identity()


@pytest.mark.parametrize("transport", ["api", "api-ssl", "rest", "rest-tls"])
def test_wrong_password_is_authentication_failed(v7: Any, transport: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        open_client(config_for(v7, transport, password="wrong"))
    assert caught.value.kind == "auth"


def test_wrong_password_on_the_md5_challenge_login(v6: Any) -> None:
    with pytest.raises(AuthenticationFailed, match="cannot log in"):
        open_client(config_for(v6, "api", password="wrong"))


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_router_rejecting_credentials_is_authentication_failed(faulty: Any, transport: str) -> None:
    faulty.set_fault("wrong_credentials")
    with pytest.raises(AuthenticationFailed):
        open_client(config_for(faulty, transport))


def test_fatal_at_login_is_fatal(faulty: Any) -> None:
    faulty.set_fault("fatal_login")
    with pytest.raises(FatalError, match="not logged in") as caught:
        open_client(config_for(faulty, "api"))
    assert caught.value.kind == "fatal"


def test_fatal_mid_session_closes_the_client(v7: Any) -> None:
    with open_client(config_for(v7, "api")) as client:
        assert isinstance(client, ApiClient)
        with pytest.raises(FatalError, match="session terminated"):
            client.command("quit")
        assert not client.usable


@pytest.fixture(scope="module")
def viewer(simulator: Any) -> str:
    router = simulator.routers[0]
    router.add_user("viewer", "view-pw", group="read")
    return "viewer"


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_policy_refusal_is_permission_denied(v7: Any, viewer: str, transport: str) -> None:
    with open_client(config_for(v7, transport, username=viewer, password="view-pw")) as client:
        assert client.identity() == v7.name
        with pytest.raises(PermissionDenied, match="not enough permissions") as caught:
            client.add("ip/pool", {"name": "nope", "ranges": "10.1.1.1"})
        assert caught.value.kind == "permission"
        # A refused command leaves the session usable.
        assert client.identity() == v7.name


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_unknown_command_is_rejected_with_the_routers_message(v7: Any, transport: str) -> None:
    with open_client(config_for(v7, transport)) as client:
        with pytest.raises(CommandRejected, match=r"no such command or directory \(invalid\)") as caught:
            client.run("invalid/command", "GET")
        assert caught.value.kind == "rejected"
        with pytest.raises(CommandRejected):
            client.add("ip/pool", {"name": "bad", "no-such-property": "x"})
        assert client.identity() == v7.name


def test_api_trap_carries_its_category(v7: Any) -> None:
    with open_client(config_for(v7, "api")) as client:
        with pytest.raises(CommandRejected) as caught:
            client.remove("ip/pool", "*FFFF")
        assert caught.value.category == 0
        assert "no such item" in caught.value.message


def test_rest_error_body_carries_its_detail(v7: Any) -> None:
    with open_client(config_for(v7, "rest")) as client:
        with pytest.raises(CommandRejected) as caught:
            client.call("ip/pool/frobnicate")
        assert caught.value.detail is not None
        assert "frobnicate" in caught.value.detail


@pytest.mark.parametrize("fault", ["garbage", "oversized_length", "control_byte"])
@pytest.mark.parametrize("logged_in", ["api", "api-ssl"], indirect=True)
def test_api_garbage_is_a_protocol_error(faulty: Any, logged_in: Client, fault: str) -> None:
    faulty.set_fault(fault)
    with pytest.raises(ProtocolError) as caught:
        logged_in.identity()
    assert caught.value.kind == "protocol"
    assert not logged_in.usable


@pytest.mark.parametrize("transport", ["rest", "rest-tls"])
def test_rest_garbage_is_a_protocol_error(faulty: Any, transport: str) -> None:
    faulty.set_fault("garbage")
    with pytest.raises(ProtocolError, match="not valid JSON"):
        open_client(config_for(faulty, transport))


@pytest.mark.parametrize("logged_in", ["rest"], indirect=True)
def test_rest_server_failure_is_a_protocol_error(faulty: Any, logged_in: Client) -> None:
    faulty.set_fault("rest_500")
    with pytest.raises(ProtocolError, match="HTTP 500"):
        logged_in.identity()


@pytest.mark.parametrize("logged_in", ["rest"], indirect=True)
def test_web_page_instead_of_rest_is_service_disabled(faulty: Any, logged_in: Client) -> None:
    faulty.set_fault("rest_html")
    with pytest.raises(ServiceDisabled, match="web page") as caught:
        logged_in.identity()
    assert caught.value.kind == "service_disabled"


@pytest.mark.parametrize("logged_in", ["rest"], indirect=True)
def test_rest_json_types_are_normalised_to_routeros_strings(faulty: Any, logged_in: Client) -> None:
    expected = logged_in.print("interface", proplist=["name", "mtu", "disabled", "running"])
    faulty.set_fault("wrong_types")
    assert logged_in.print("interface", proplist=["name", "mtu", "disabled", "running"]) == expected


def test_every_error_is_a_routeros_error_with_a_kind_and_a_message(faulty: Any) -> None:
    provoked: list[RouterOSError] = []
    for fault, transport in [
        ("blackhole", "api"),
        ("garbage", "rest"),
        ("refuse", "api"),
        ("fatal_login", "api"),
    ]:
        faulty.clear_faults()
        faulty.set_fault(fault)
        with pytest.raises(RouterOSError) as caught:
            open_client(config_for(faulty, transport, timeout=0.3))
        provoked.append(caught.value)
    assert [error.kind for error in provoked] == ["timeout", "protocol", "unreachable", "fatal"]
    assert all((error.message and "127.0.0.1" in error.message) or error.kind == "fatal" for error in provoked)


@pytest.mark.parametrize("logged_in", ["api"], indirect=True)
def test_api_values_of_the_wrong_type_surface_as_bad_value(faulty: Any, logged_in: Client) -> None:
    faulty.set_fault("wrong_types")
    resource = logged_in.resource()
    with pytest.raises(BadValue) as caught:
        values.to_int(resource["total-memory"])
    assert caught.value.kind == "bad_value"


@pytest.mark.parametrize("transport", ["api", "rest"])
def test_non_latin1_password_is_sent_not_crashed_on(v7: Any, transport: str) -> None:
    with pytest.raises(AuthenticationFailed):
        open_client(config_for(v7, transport, password="пароль-密码"))


@pytest.mark.parametrize(
    ("fault", "error"), [("blackhole", RouterTimeout), ("garbage", ProtocolError), ("refuse", Unreachable)]
)
def test_auto_probe_reports_what_the_port_did(faulty: Any, fault: str, error: type[RouterOSError]) -> None:
    faulty.set_fault(fault)
    with pytest.raises(error):
        open_client(config_for(faulty, "api", protocol="auto", timeout=0.3))
