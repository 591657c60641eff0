"""One simulator for the transport suites: real TCP and TLS sockets on loopback, faults reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from routeros import RouterConfig
from simulators.routeros import RouterSpec, Simulator

PASSWORD = "s3cret"

#: Every way the driver reaches a router: (protocol, use_https).
TRANSPORTS = {
    "api": ("api", False),
    "api-ssl": ("api-ssl", False),
    "rest": ("rest", False),
    "rest-tls": ("rest", True),
}


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    specs = [
        RouterSpec(name="v7", version="7.16.1", username="admin", password=PASSWORD),
        RouterSpec(name="v6", version="6.42.12", username="admin", password=PASSWORD),
        RouterSpec(name="faulty", version="7.16.1", username="admin", password=PASSWORD),
        RouterSpec(name="v719", version="7.19.4", username="admin", password=PASSWORD),
    ]
    with Simulator(specs, host="127.0.0.1", latency_ms=0, seed=1) as sim:
        yield sim


@pytest.fixture
def v7(simulator: Simulator) -> Any:
    return simulator.routers[0]


@pytest.fixture
def v6(simulator: Simulator) -> Any:
    return simulator.routers[1]


@pytest.fixture
def v719(simulator: Simulator) -> Any:
    """A router new enough (>= 7.18) to answer an empty print with ``!empty``."""
    return simulator.routers[3]


@pytest.fixture
def faulty(simulator: Simulator) -> Iterator[Any]:
    router = simulator.routers[2]
    router.clear_faults()
    yield router
    router.clear_faults()


def config_for(router: Any, transport: str = "api", **overrides: Any) -> RouterConfig:
    """A config that reaches ``router`` over ``transport`` (a key of :data:`TRANSPORTS`)."""
    protocol, https = TRANSPORTS[transport]
    port = {
        ("api", False): router.api_port,
        ("api-ssl", False): router.api_ssl_port,
        ("rest", False): router.rest_port,
        ("rest", True): router.rest_tls_port,
    }[(protocol, https)]
    fields: dict[str, Any] = {
        "host": router.host,
        "port": port,
        "username": router.username,
        "password": router.password,
        "protocol": protocol,
        "use_https": https,
        "timeout": 5.0,
    }
    if protocol == "api-ssl" or https:
        fields["ca_pem"] = router.cert_pem
    fields.update(overrides)
    return RouterConfig(**fields)
