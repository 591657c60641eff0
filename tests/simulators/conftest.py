"""Fixtures for the simulator's own tests: real sockets, clients we did not write (librouteros, requests)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import librouteros
import pytest
import requests
from librouteros.login import plain, token

from routeros.protocol import SentenceDecoder, encode_sentence, parse_reply
from simulators.routeros import RouterSpec, SimRouter, Simulator

SPECS = [
    RouterSpec(name="core-1", version="7.16.1", username="admin", password="s3cret"),
    RouterSpec(name="new", version="7.18.2"),
    RouterSpec(name="mid", version="7.8"),
    RouterSpec(name="old", version="6.42.12"),
    RouterSpec(name="v6", version="6.49.7"),
    RouterSpec(name="hotspot", version="7.16.1"),
    RouterSpec(name="living", version="7.12.1"),
    RouterSpec(name="doors", version="7.16.1"),
]


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    """Routers shared by the whole simulator suite (tests that change state use their own router)."""
    with Simulator(SPECS, seed=7) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def core(sim: Simulator) -> SimRouter:
    """A v7.16 router with password s3cret."""
    return sim.router("core-1")


class RawApi:
    """A minimal binary-API client over a raw socket, built only on routeros.protocol."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = SentenceDecoder()
        self.pending: list[list[str]] = []

    def send(self, *words: str) -> None:
        """Write one sentence."""
        self.sock.sendall(encode_sentence(words))

    def read(self) -> list[str]:
        """The next sentence; raises ConnectionError on EOF."""
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.pending.extend(self.decoder.feed(data))
        return self.pending.pop(0)

    def talk(self, *words: str) -> list[list[str]]:
        """Send a command and read sentences up to and including its ``!done``."""
        self.send(*words)
        sentences = []
        while True:
            sentence = self.read()
            sentences.append(sentence)
            if sentence[0] in ("!done", "!fatal"):
                return sentences

    def rows(self, *words: str) -> list[dict[str, str]]:
        """The ``!re`` rows of a command, as dictionaries."""
        return [parse_reply(s)[1] for s in self.talk(*words) if s[0] == "!re"]

    def login(self, name: str, password: str) -> list[list[str]]:
        """The post-6.43 plain login."""
        return self.talk("/login", f"=name={name}", f"=password={password}")

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


@pytest.fixture
def raw_api() -> Iterator[Callable[..., RawApi]]:
    """Open raw API connections (plain or TLS) that are closed after the test."""
    opened: list[RawApi] = []

    def connect(router: SimRouter, tls: bool = False, timeout: float = 5.0) -> RawApi:
        sock = socket.create_connection((router.host, router.api_ssl_port if tls else router.api_port),
                                        timeout=timeout)
        if tls:
            context = ssl.create_default_context(cadata=router.cert_pem.decode())
            sock = context.wrap_socket(sock, server_hostname=router.host)
        client = RawApi(sock)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        client.close()


@pytest.fixture
def ros() -> Iterator[Callable[..., librouteros.api.Api]]:
    """Open librouteros connections that are closed after the test."""
    opened: list[librouteros.api.Api] = []

    def connect(router: SimRouter, username: str | None = None, password: str | None = None,
                tls: bool = False, legacy: bool = False) -> librouteros.api.Api:
        kwargs: dict[str, object] = {"port": router.api_port, "timeout": 5,
                                     "login_method": token if legacy else plain}
        if tls:
            context = ssl.create_default_context(cadata=router.cert_pem.decode())
            kwargs["port"] = router.api_ssl_port
            kwargs["ssl_wrapper"] = lambda sock: context.wrap_socket(sock, server_hostname=router.host)
        api = librouteros.connect(router.host, username or router.username, password or router.password,
                                  **kwargs)  # type: ignore[arg-type]
        opened.append(api)
        return api

    yield connect
    for api in opened:
        api.close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session, closed after the test."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def ca_file(tmp_path: Path) -> Callable[[SimRouter], str]:
    """Write a router's certificate to a file usable as ``verify=``."""

    def write(router: SimRouter) -> str:
        path = tmp_path / f"{router.name}.pem"
        path.write_bytes(router.cert_pem)
        return str(path)

    return write


def rest_url(router: SimRouter, path: str) -> str:
    """The plain-HTTP REST URL of ``path`` on ``router``."""
    return f"http://{router.host}:{router.rest_port}/rest/{path.lstrip('/')}"


@pytest.fixture
def url() -> Callable[[SimRouter, str], str]:
    """Build plain-HTTP REST URLs."""
    return rest_url


def connection_refused(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


@pytest.fixture
def refused() -> Callable[[str, int], bool]:
    """Check that a port refuses connections."""
    return connection_refused
