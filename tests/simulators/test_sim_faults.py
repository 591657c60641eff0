"""Every fault mode, switched at runtime on a running router, on each door it applies to."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import librouteros
import pytest
import requests
from librouteros.exceptions import FatalError, TrapError

from routeros.errors import ProtocolError
from routeros.protocol import SentenceDecoder, parse_reply
from simulators.routeros import FAULTS, RouterSpec, SimRouter, Simulator

AUTH = ("admin", "admin")


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    """A simulator of its own, so faults never leak into other modules."""
    with Simulator([RouterSpec(name="faulty", version="7.16.1"), RouterSpec(name="faulty-v6", version="6.49.7")],
                   seed=3) as simulator:
        yield simulator


@pytest.fixture
def faulty(fleet: Simulator) -> Iterator[SimRouter]:
    """The faulty router, with every fault cleared before and after the test."""
    router = fleet.router("faulty")
    router.clear_faults()
    yield router
    router.clear_faults()
    router.set_service_disabled("api", False)
    router.set_service_disabled("api-ssl", False)
    router.set_service_disabled("www", False)
    router.set_service_disabled("www-ssl", False)


def rest(router: SimRouter, path: str = "system/identity") -> str:
    return f"http://{router.host}:{router.rest_port}/rest/{path}"


def raw_reply(router: SimRouter, timeout: float = 2.0) -> bytes:
    """Send a login and return every byte received until the router closes or goes quiet."""
    received = b""
    with socket.create_connection((router.host, router.api_port), timeout=timeout) as sock:
        sock.sendall(b"\x06/login\x0b=name=admin\x0f=password=admin\x00")
        try:
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                received += data
        except TimeoutError:
            pass
    return received


def test_fault_names_match_the_interface():
    assert {
        "refuse", "blackhole", "latency", "trickle", "drop_mid_sentence", "garbage", "oversized_length",
        "control_byte", "wrong_credentials", "fatal_login", "rest_html", "rest_500", "wrong_types",
    } == FAULTS


def test_unknown_fault_is_rejected(faulty):
    with pytest.raises(ValueError, match="unknown fault"):
        faulty.set_fault("meteor")
    with pytest.raises(ValueError, match="takes"):
        faulty.set_fault("latency", seconds=1)


def test_refuse_closes_every_door_and_clearing_reopens_the_same_ports(faulty, refused):
    ports = (faulty.api_port, faulty.api_ssl_port, faulty.rest_port, faulty.rest_tls_port)
    faulty.set_fault("refuse")
    assert all(refused(faulty.host, port) for port in ports)
    faulty.clear_fault("refuse")
    assert (faulty.api_port, faulty.api_ssl_port, faulty.rest_port, faulty.rest_tls_port) == ports
    assert not any(refused(faulty.host, port) for port in ports)


def test_blackhole_accepts_and_never_answers(faulty):
    faulty.set_fault("blackhole")
    with socket.create_connection((faulty.host, faulty.api_port), timeout=0.3) as sock:
        sock.sendall(b"\x06/login\x0b=name=admin\x0f=password=admin\x00")
        with pytest.raises(TimeoutError):
            sock.recv(10)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(rest(faulty), auth=AUTH, timeout=(1, 0.3))


def test_blackhole_after_login_silences_commands(faulty):
    api = librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=0.3)
    try:
        faulty.set_fault("blackhole")
        with pytest.raises((TimeoutError, socket.timeout, librouteros.exceptions.ConnectionClosed)):
            tuple(api.path("system", "identity"))
    finally:
        api.close()


def test_latency_delays_replies(faulty):
    faulty.set_fault("latency", ms=400)
    with pytest.raises(TimeoutError):
        librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=0.1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(rest(faulty), auth=AUTH, timeout=(1, 0.1))
    api = librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=5)
    try:
        assert next(iter(api.path("system", "identity")))["name"] == "faulty"
    finally:
        api.close()
    faulty.clear_fault("latency")
    assert requests.get(rest(faulty), auth=AUTH, timeout=(1, 0.3)).status_code == 200


def test_trickle_sends_a_few_bytes_at_a_time(faulty):
    faulty.set_fault("trickle", bytes_per_second=40)
    with socket.create_connection((faulty.host, faulty.api_port), timeout=3) as sock:
        sock.sendall(b"\x06/login\x0b=name=admin\x0f=password=admin\x00")
        chunks = []
        decoder = SentenceDecoder()
        sentences: list[list[str]] = []
        while not sentences:
            chunk = sock.recv(4096)
            chunks.append(chunk)
            sentences = decoder.feed(chunk)
    assert sentences == [["!done"]]
    assert len(chunks) > 1 and all(len(chunk) <= 4 for chunk in chunks)
    faulty.set_fault("trickle", bytes_per_second=2000)
    reply = requests.get(rest(faulty), auth=AUTH, timeout=5)
    assert reply.json() == [{"name": "faulty"}]


def test_drop_mid_sentence(faulty):
    faulty.set_fault("drop_mid_sentence")
    received = raw_reply(faulty)
    decoder = SentenceDecoder()
    assert received and decoder.feed(received) == [] and decoder.pending
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(rest(faulty, "interface"), auth=AUTH, timeout=5)


def test_garbage(faulty):
    faulty.set_fault("garbage")
    sentences = SentenceDecoder().feed(raw_reply(faulty, timeout=0.3))
    assert sentences
    with pytest.raises(ProtocolError):
        parse_reply(sentences[0])
    reply = requests.get(rest(faulty), auth=AUTH, timeout=5)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        reply.json()


def test_oversized_length(faulty):
    faulty.set_fault("oversized_length")
    received = raw_reply(faulty, timeout=0.3)
    assert received[0] == 0xF0
    with pytest.raises(ProtocolError, match="exceeds"):
        SentenceDecoder().feed(received)


def test_control_byte(faulty):
    faulty.set_fault("control_byte")
    received = raw_reply(faulty, timeout=0.3)
    assert received[0] >= 0xF8
    with pytest.raises(ProtocolError, match="control byte"):
        SentenceDecoder().feed(received)


def test_wrong_credentials(faulty):
    faulty.set_fault("wrong_credentials")
    with pytest.raises(TrapError, match="invalid user name or password"):
        librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=5)
    reply = requests.get(rest(faulty), auth=AUTH, timeout=5)
    assert reply.status_code == 401
    assert reply.json() == {"error": 401, "message": "Unauthorized"}


def test_fatal_on_login(faulty):
    faulty.set_fault("fatal_login")
    with pytest.raises(FatalError, match="not logged in"):
        librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=5)


def test_rest_html(faulty):
    faulty.set_fault("rest_html")
    reply = requests.get(rest(faulty), auth=AUTH, timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.text.startswith("<!DOCTYPE html>")


def test_rest_500(faulty):
    faulty.set_fault("rest_500")
    reply = requests.get(rest(faulty), auth=AUTH, timeout=5)
    assert reply.status_code == 500
    assert reply.json()["error"] == 500


def test_wrong_types(faulty):
    faulty.set_fault("wrong_types")
    resource = requests.get(rest(faulty, "system/resource"), auth=AUTH, timeout=5).json()[0]
    assert isinstance(resource["cpu-count"], int)
    address = requests.get(rest(faulty, "ip/address/*1"), auth=AUTH, timeout=5).json()
    assert address["disabled"] is False
    api = librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=5)
    try:
        row = next(iter(api.path("system", "resource")))
        assert row["cpu-count"] == "unknown"
        assert next(iter(api.path("ip", "address")))["disabled"] == "maybe"
    finally:
        api.close()


def test_fault_applies_to_an_open_session(faulty):
    api = librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=5)
    try:
        faulty.set_fault("drop_mid_sentence")
        with pytest.raises((librouteros.exceptions.ConnectionClosed, ConnectionError, OSError)):
            tuple(api.path("interface"))
    finally:
        api.close()


@pytest.mark.parametrize(("service", "port_of"), [("api", "api_port"), ("api-ssl", "api_ssl_port"),
                                                  ("www", "rest_port"), ("www-ssl", "rest_tls_port")])
def test_disabled_service_refuses_connections(faulty, refused, service, port_of):
    port = getattr(faulty, port_of)
    faulty.set_service_disabled(service, True)
    assert refused(faulty.host, port)
    disabled = faulty.execute("/ip/service/print", {"?name": service})[0]["disabled"]
    assert disabled == "true"
    faulty.set_service_disabled(service, False)
    assert not refused(faulty.host, port)


def test_disabling_www_over_the_api_closes_rest(faulty, refused):
    api = librouteros.connect(faulty.host, "admin", "admin", port=faulty.api_port, timeout=5)
    try:
        tuple(api("/ip/service/disable", numbers="www"))
        assert refused(faulty.host, faulty.rest_port)
        tuple(api("/ip/service/enable", numbers="www"))
        assert requests.get(rest(faulty), auth=AUTH, timeout=5).status_code == 200
    finally:
        api.close()


def test_disabling_api_over_rest_closes_the_api(faulty, refused):
    reply = requests.patch(rest(faulty, "ip/service/api"), json={"disabled": "true"}, auth=AUTH, timeout=5)
    assert reply.json()["disabled"] == "true"
    assert refused(faulty.host, faulty.api_port)


def test_v6_router_faults_on_the_api(fleet):
    router = fleet.router("faulty-v6")
    router.set_fault("fatal_login")
    try:
        with pytest.raises(FatalError):
            librouteros.connect(router.host, "admin", "admin", port=router.api_port, timeout=5)
    finally:
        router.clear_faults()
    api = librouteros.connect(router.host, "admin", "admin", port=router.api_port, timeout=5)
    api.close()
