"""Schemathesis against the real app: a threaded WSGI server on 127.0.0.1 with seeded, real objects.

Every router it knows lives on 127.0.0.1 at a port that was reserved and closed, so test-connection,
device-info and execute-command fail fast with 502. Generated bodies may carry any ``host``: ``steer``
(called on every case right before it is sent) rewrites it to 127.0.0.1, and an audit hook refuses any
socket that would reach beyond loopback while the server runs, so a slip fails the run instead of sending
traffic elsewhere.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import requests
import schemathesis
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.security import issue_tokens
from webapp.services import accounts, commands, routers
from webapp.services.errors import ServiceError
from webapp.services.pagination import MAX_ID

#: Examples per API operation; ``make fuzz`` raises it (23 operations x 500 is over 10,000 cases).
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "12"))
LOOPBACK = "127.0.0.1"
#: What generated cases carry until ``FuzzTarget.steer`` puts a real token in its place.
SEEDED_TOKEN = "seeded-login"


def closed_port() -> int:
    """A loopback port that nothing listens on: bound by us, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class LoopbackOnly:
    """An audit hook that refuses connections and name lookups beyond loopback while ``active``."""

    active = False
    installed = False

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls._hook)  # audit hooks cannot be removed; ``active`` switches this one off
            cls.installed = True

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls.active:
            return
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not _is_loopback(address[0]):
                raise PermissionError(f"fuzz run tried to connect to {address!r}; only loopback is allowed")
        elif event == "socket.getaddrinfo" and args[0] is not None and not _is_loopback(args[0]):
            host = args[0].decode() if isinstance(args[0], bytes) else args[0]
            if not _is_loopback(host):
                raise PermissionError(f"fuzz run tried to resolve {host!r}; only loopback is allowed")


class QuietHandler(WSGIRequestHandler):
    """Thousands of generated requests would bury a failure's own log lines."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class FuzzTarget:
    """The live server and the real objects generated ids are steered towards."""

    url: str
    app: Flask
    closed_port: int
    user_id: int
    access: str
    router_ids: list[int]
    command_ids: list[int]
    cases: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    last: ClassVar[FuzzTarget | None] = None

    def _user(self) -> User:
        user = db.session.get(User, self.user_id)
        assert user is not None
        return user

    def fresh_router(self) -> int:
        with self.app.app_context():
            return _router(self._user(), "Sacrificial", "rest", self.closed_port)

    def fresh_api_key(self) -> int:
        with self.app.app_context():
            return int(accounts.create_api_key(self._user(), "sacrificial").key.id)

    def fresh_tokens(self) -> dict[str, Any]:
        """A new login session without a password check (scrypt per case would dominate the run)."""
        with self.app.test_request_context():
            return issue_tokens(self._user())

    def record(self, case: schemathesis.Case, status: int) -> None:
        """Count a sent case for the run's summary line."""
        self.cases[f"{case.operation.method.upper()} {case.operation.path}"] += 1
        self.phases[str(getattr(case.meta.phase.name, "value", "unknown")) if case.meta else "unknown"] += 1
        self.statuses[status] += 1

    def token_for(self, path: str) -> str:
        """The bearer token for an operation: the seeded login's, or a fresh session's for the calls that
        end or refresh a session (logging the seeded session out would turn every later case into a 401)."""
        if path == "/users/logout/":
            return str(self.fresh_tokens()["access"])
        if path == "/users/token/refresh/":
            return str(self.fresh_tokens()["refresh"])
        return self.access

    def steer(self, case: schemathesis.Case) -> None:
        """Pin router bodies to loopback and point most generated ids at real objects (runs on every case
        right before it is sent)."""
        pin_to_loopback(case.body, self.closed_port)
        headers = case.headers or {}
        if headers.get("Authorization") == f"Bearer {SEEDED_TOKEN}":
            headers["Authorization"] = f"Bearer {self.token_for(case.operation.path)}"
        path = case.operation.path
        method = case.method.upper()
        params = case.path_parameters or {}
        for name, known in (("router_id", self.router_ids), ("command_id", self.command_ids)):
            if _steerable(params.get(name)):
                params[name] = known[params[name] % len(known)]
        if method == "DELETE" and path == "/routers/{router_id}/" and _steerable(params.get("router_id")):
            params["router_id"] = self.fresh_router()
        if method == "DELETE" and path == "/users/api-keys/{key_id}/" and _steerable(params.get("key_id")):
            params["key_id"] = self.fresh_api_key()


def _steerable(value: Any) -> bool:
    # Only ids the document allows: rewriting an out-of-range id (a negative case) to a real one would turn a
    # request that must be refused into a valid one, and schemathesis would then flag the 200 it gets.
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID and value % 4 != 0


def _router(user: User, name: str, protocol: str, port: int) -> int:
    router = routers.create_router(
        user,
        {"name": name, "host": LOOPBACK, "port": port, "username": "admin", "password": "secret",
         "protocol": protocol},
    )
    return int(router.id)


def pin_to_loopback(body: Any, port: int) -> None:
    """Rewrite a generated router body so that whatever gets stored points at the closed loopback port."""
    if not isinstance(body, dict):
        return
    host = body.get("host")
    if isinstance(host, str) and 1 <= len(host) <= 255:
        body["host"] = LOOPBACK
    port_in = body.get("port")
    if isinstance(port_in, int | float) and not isinstance(port_in, bool) and 1 <= port_in <= 65535:
        body["port"] = port


# Module scope: the loopback guard and the disabled rate limit must end with the fuzz run, not leak into
# the suites that run after it.
@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    folder = tmp_path_factory.mktemp("fuzz")
    port = closed_port()
    app = create_app(
        make_config(
            folder / "fuzz.db",
            ROUTER_TIMEOUT=1.0,
            RATELIMIT_ENABLED=False,
            JWT_ACCESS_TOKEN_EXPIRES=timedelta(hours=6),
        )
    )
    with app.app_context():
        upgrade()
        alice = accounts.create_user("alice", PASSWORD, "alice@example.com")
        mallory = accounts.create_user("mallory", PASSWORD)
        router_ids = [_router(alice, f"Office {p}", p, port) for p in ("rest", "api", "auto")]
        _router(mallory, "Not yours", "rest", port)  # ids of other users' objects must answer 404
        command_ids = []
        for command, method in (("system/resource", "GET"), ("ip/address/add", "POST")):
            try:
                commands.run_command(alice, router_ids[0], command, method, {}, {"address": "10.0.0.1/24"})
            except ServiceError as failed:  # the router is down: the history keeps the failed run
                command_ids.append(int(failed.run.id))  # type: ignore[attr-defined]
        accounts.create_api_key(alice, "seed")
        user_id = int(alice.id)

    LoopbackOnly.install()
    LoopbackOnly.active = True
    server = make_server(LOOPBACK, 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://{LOOPBACK}:{server.server_port}"
    try:
        credentials = {"username": "alice", "password": PASSWORD}
        login = requests.post(f"{url}/users/login/", json=credentials, timeout=10)
        assert login.status_code == 200, login.text
        target = FuzzTarget(url=url, app=app, closed_port=port, user_id=user_id,
                            access=login.json()["access"], router_ids=router_ids, command_ids=command_ids)
        FuzzTarget.last = target
        yield target
    finally:
        LoopbackOnly.active = False
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    target = FuzzTarget.last
    if target is None:
        return
    total = sum(target.cases.values())
    terminalreporter.write_sep(
        "-", f"schemathesis: {total} cases over {len(target.cases)} operations ({MAX_EXAMPLES} examples each)"
    )
    terminalreporter.write_line("phases: " + ", ".join(f"{k}: {v}" for k, v in sorted(target.phases.items())))
    statuses = sorted(target.statuses.items())
    terminalreporter.write_line("statuses: " + ", ".join(f"{k}: {v}" for k, v in statuses))
