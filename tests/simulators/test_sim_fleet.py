"""A fleet of 1,000 routers in this process, each answering on its own ports."""

from __future__ import annotations

import asyncio
import base64
import resource
import socket
import ssl
from collections.abc import Callable, Iterator

import librouteros
import pytest

from routeros.protocol import SentenceDecoder, encode_sentence
from simulators.routeros import RouterSpec, SimRouter, Simulator

FLEET_SIZE = 1000
#: Four listeners per router, plus the sweep's client sockets and some headroom.
FILES_NEEDED = FLEET_SIZE * 4 + 1000


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < FILES_NEEDED:
        if hard != resource.RLIM_INFINITY and hard < FILES_NEEDED:
            pytest.skip(f"needs {FILES_NEEDED} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (FILES_NEEDED, hard))
    specs = [RouterSpec(name=f"f{index:04d}", version="6.49.7" if index % 10 == 0 else "7.16.1")
             for index in range(FLEET_SIZE)]
    with Simulator(specs, seed=2) as simulator:
        yield simulator


async def identity_over_api(router: SimRouter) -> str:
    reader, writer = await asyncio.open_connection(router.host, router.api_port)
    decoder = SentenceDecoder()
    rows: list[list[str]] = []
    try:
        for words in (["/login", "=name=admin", "=password=admin"], ["/system/identity/print"]):
            writer.write(encode_sentence(words))
            done = False
            while not done:
                data = await reader.read(65536)
                assert data, f"{router.name} closed the connection"
                for sentence in decoder.feed(data):
                    rows.append(sentence)
                    done = done or sentence[0] == "!done"
    finally:
        writer.close()
        await writer.wait_closed()
    return next(s for s in rows if s[0] == "!re")[1]


async def identity_over_rest(router: SimRouter) -> bytes:
    reader, writer = await asyncio.open_connection(router.host, router.rest_port)
    token = base64.b64encode(b"admin:admin").decode()
    writer.write(f"GET /rest/system/identity HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\n"
                 "Connection: close\r\n\r\n".encode())
    try:
        return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


async def sweep(routers: list[SimRouter]) -> tuple[list[str], list[bytes]]:
    gate = asyncio.Semaphore(100)

    async def api(router: SimRouter) -> str:
        async with gate:
            return await identity_over_api(router)

    async def rest(router: SimRouter) -> bytes:
        async with gate:
            return await identity_over_rest(router)

    names = await asyncio.gather(*(api(router) for router in routers))
    bodies = await asyncio.gather(*(rest(router) for router in routers if router.rest_port is not None))
    return list(names), list(bodies)


def test_every_router_of_the_fleet_answers(fleet):
    assert len(fleet.routers) == FLEET_SIZE
    ports = {router.api_port for router in fleet.routers}
    assert len(ports) == FLEET_SIZE
    names, bodies = asyncio.run(sweep(fleet.routers))
    assert names == [f"=name={router.name}" for router in fleet.routers]
    assert len(bodies) == FLEET_SIZE - FLEET_SIZE // 10
    assert all(body.startswith(b"HTTP/1.1 200") for body in bodies)


def test_routers_of_a_fleet_keep_separate_state(fleet):
    first, second = fleet.routers[1], fleet.routers[2]
    first.execute("/ip/pool/add", {"name": "only-here", "ranges": "10.0.0.1-10.0.0.2"})
    assert not second.execute("/ip/pool/print", {"?name": "only-here"})
    api = librouteros.connect(first.host, "admin", "admin", port=first.api_ssl_port, timeout=5,
                              ssl_wrapper=_tls(first))
    try:
        assert [p["name"] for p in api.path("ip", "pool") if p["name"] == "only-here"] == ["only-here"]
    finally:
        api.close()


def test_fleet_latency_is_injectable(fleet):
    router = fleet.routers[3]
    fleet.latency_ms = 400
    try:
        with pytest.raises(TimeoutError):
            librouteros.connect(router.host, "admin", "admin", port=router.api_port, timeout=0.1)
    finally:
        fleet.latency_ms = 0
    librouteros.connect(router.host, "admin", "admin", port=router.api_port, timeout=5).close()


def test_add_router_to_a_running_fleet(fleet):
    router = fleet.add_router(RouterSpec(name="late", version="6.42.12", password="pw"))
    assert fleet.router("late") is router
    api = librouteros.connect(router.host, "admin", "pw", port=router.api_port, timeout=5,
                              login_method=librouteros.login.token)
    api.close()
    with pytest.raises(ValueError, match="duplicate"):
        fleet.add_router(RouterSpec(name="late"))


def _tls(router: SimRouter) -> Callable[[socket.socket], socket.socket]:
    context = ssl.create_default_context(cadata=router.cert_pem.decode())
    return lambda sock: context.wrap_socket(sock, server_hostname=router.host)
