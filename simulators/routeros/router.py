"""A virtual router: one :class:`RouterState` behind four doors (api, api-ssl, www, www-ssl) and its faults."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from simulators.routeros.api_server import ApiSession
from simulators.routeros.faults import LISTENER_FAULTS, Faults
from simulators.routeros.rest_server import RestHandler
from simulators.routeros.state import CommandError, RouterState
from simulators.routeros.system import read_file, run_script, run_timers, set_upgrade
from simulators.routeros.tls import Certificate

if TYPE_CHECKING:
    from simulators.routeros.fleet import Simulator

T = TypeVar("T")


@dataclass(frozen=True)
class RouterSpec:
    """What to simulate: identity, RouterOS version, credentials and, optionally, where to listen.

    Ports of 0 mean "any free port"; ``host`` defaults to the simulator's host (give each router its
    own 127.0.0.x to use the standard ports 8728/8729/80/443).
    """

    name: str
    version: str = "7.16.1"
    username: str = "admin"
    password: str = "admin"  # noqa: S105 - RouterOS factory default
    host: str | None = None
    board: str | None = None
    latency_ms: float | None = None
    api_port: int = 0
    api_ssl_port: int = 0
    rest_port: int = 0
    rest_tls_port: int = 0


class Door:
    """One listening service; closing it makes connections refused, reopening binds the same port."""

    def __init__(self, service: str, host: str, port: int, context: ssl.SSLContext | None,
                 factory: Callable[[], asyncio.BaseProtocol]) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.context = context
        self.factory = factory
        self.server: asyncio.base_events.Server | None = None
        self.sock: socket.socket | None = None
        self.protocols: set[asyncio.BaseProtocol] = set()

    def _accept(self) -> asyncio.BaseProtocol:
        # Some protocols (aiohttp's) cannot be weakly referenced: prune the finished ones instead.
        finished = set()
        for protocol in self.protocols:
            transport = _transport(protocol)
            if transport is not None and transport.is_closing():
                finished.add(protocol)
        self.protocols -= finished
        protocol = self.factory()
        self.protocols.add(protocol)
        return protocol

    @property
    def listening(self) -> bool:
        """True while the port accepts connections."""
        return self.server is not None or self.sock is not None

    def bind(self) -> None:
        """Bind and listen now (an ephemeral port the first time when the port is 0); :meth:`serve` accepts."""
        if self.listening:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self.sock = sock

    async def serve(self) -> None:
        """Start accepting on the bound socket."""
        sock = self.sock
        if sock is None:
            return
        loop = asyncio.get_running_loop()
        server = await loop.create_server(self._accept, sock=sock, ssl=self.context, backlog=128)
        if self.sock is sock:
            self.server = server
            self.sock = None
        else:
            server.close()

    def close(self) -> None:
        """Stop listening; established connections are left alone, as on a real router."""
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def abort_connections(self) -> None:
        """Cut every connection this door accepted."""
        for protocol in self.protocols:
            transport = _transport(protocol)
            if transport is not None:
                transport.abort()
        self.protocols.clear()


def _transport(protocol: asyncio.BaseProtocol) -> asyncio.WriteTransport | None:
    return getattr(protocol, "transport", None) or getattr(protocol, "_transport", None)


class SimRouter:
    """A running virtual router. Its public methods may be called from any thread."""

    def __init__(self, sim: Simulator, spec: RouterSpec, host: str, seed: str, certificate: Certificate,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.spec = spec
        self._sim = sim
        self.name = spec.name
        self.host = host
        self.username = spec.username
        self.password = spec.password
        self.cert_pem = certificate.cert_pem
        self.cert_fingerprint_sha256 = certificate.fingerprint_sha256
        self.state = RouterState(name=spec.name, version=spec.version, username=spec.username,
                                 password=spec.password, seed=seed, board=spec.board)
        self.faults = Faults()
        self.sessions: set[ApiSession] = set()
        self._rest_server: web.Server | None = None
        context = certificate.context
        self._doors: dict[str, Door] = {
            "api": Door("api", host, spec.api_port, None, self._api_factory()),
            "api-ssl": Door("api-ssl", host, spec.api_ssl_port, context, self._api_factory()),
        }
        if self.state.has_rest:
            self._rest_server = web.Server(RestHandler(self), handler_cancellation=True, access_log=None,
                                           loop=loop)
            self._doors["www-ssl"] = Door("www-ssl", host, spec.rest_tls_port, context, self._rest_server)
            if self.state.has_rest_http:
                self._doors["www"] = Door("www", host, spec.rest_port, None, self._rest_server)
        self.state.on_services_changed = self._services_changed
        self.state.on_reboot = self._drop_sessions
        self._ticker: asyncio.Task[None] | None = None

    @property
    def version(self) -> str:
        """The RouterOS version running now (an installed upgrade changes it at reboot)."""
        return self.state.version

    def __repr__(self) -> str:
        return f"<SimRouter {self.name} v{self.version} {self.host}:{self.api_port}>"

    @property
    def base_latency(self) -> float:
        """Seconds added to every reply: the spec's latency, else the simulator's."""
        latency = self.spec.latency_ms if self.spec.latency_ms is not None else self._sim.latency_ms
        return latency / 1000.0

    @property
    def api_port(self) -> int:
        """Port of the binary API."""
        return self._doors["api"].port

    @property
    def api_ssl_port(self) -> int:
        """Port of API-SSL."""
        return self._doors["api-ssl"].port

    @property
    def rest_port(self) -> int | None:
        """Port of REST over HTTP (None before v7.9, which has REST over HTTPS only, and on v6)."""
        door = self._doors.get("www")
        return door.port if door else None

    @property
    def rest_tls_port(self) -> int | None:
        """Port of REST over HTTPS (None on v6, which has no REST)."""
        door = self._doors.get("www-ssl")
        return door.port if door else None

    def describe(self) -> dict[str, object]:
        """The JSON line the CLI prints for this router."""
        return {"name": self.name, "host": self.host, "version": self.version, "api_port": self.api_port,
                "api_ssl_port": self.api_ssl_port, "rest_port": self.rest_port,
                "rest_tls_port": self.rest_tls_port, "username": self.username, "password": self.password}

    def _api_factory(self) -> Callable[[], asyncio.BaseProtocol]:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Awaitable[None]:
            return ApiSession(self, reader, writer).run()

        def factory() -> asyncio.BaseProtocol:
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=2**20), connected)

        return factory

    async def start(self) -> None:
        """Open every enabled door and start the clock that fires scheduler entries."""
        await self._sync_doors()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        # Scheduler entries fire on time even when no command arrives (every door may be closed).
        while True:
            await asyncio.sleep(0.25)
            run_timers(self.state)

    async def stop(self) -> None:
        """Close every door and every connection."""
        if self._ticker is not None:
            self._ticker.cancel()
        for door in self._doors.values():
            door.close()
            door.abort_connections()
        if self._rest_server is not None:
            await self._rest_server.shutdown(0.1)

    def _apply_doors(self) -> list[Door]:
        """Close and bind doors to match /ip/service and the refuse fault; return the doors to serve."""
        state = self.state
        services = state.services()
        refusing = "refuse" in self.faults
        to_serve = []
        for service, door in self._doors.items():
            port, disabled = services[service]
            if door.listening and port != door.port:
                door.close()
                door.port = port
            if refusing:
                # A router that is down drops its sessions too; a disabled service keeps them (RouterOS does).
                door.abort_connections()
            if disabled or refusing:
                door.close()
            elif not door.listening:
                door.bind()
                to_serve.append(door)
            state.set_service_port(service, door.port)
        return to_serve

    async def _sync_doors(self) -> None:
        for door in self._apply_doors():
            await door.serve()

    def _services_changed(self) -> None:
        # Closing and binding happen before the command's reply, so a client sees the change at once.
        to_serve = self._apply_doors()
        if to_serve:
            asyncio.get_running_loop().create_task(self._serve(to_serve))

    @staticmethod
    async def _serve(doors: list[Door]) -> None:
        for door in doors:
            await door.serve()

    def _drop_sessions(self) -> None:
        for session in list(self.sessions):
            session.drop()

    def _call(self, function: Callable[[], T]) -> T:
        return self._sim.call(function)

    def _call_async(self, function: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return self._sim.call_async(function)

    def set_fault(self, name: str, **params: float) -> None:
        """Switch a fault mode on, e.g. ``set_fault("latency", ms=300)``.

        :raises ValueError: for an unknown fault or parameter.
        """

        async def apply() -> None:
            self.faults.set(name, **params)
            if name in LISTENER_FAULTS:
                await self._sync_doors()

        self._call_async(apply)

    def clear_fault(self, name: str) -> None:
        """Switch one fault mode off."""

        async def apply() -> None:
            self.faults.clear(name)
            if name in LISTENER_FAULTS:
                await self._sync_doors()

        self._call_async(apply)

    def clear_faults(self) -> None:
        """Switch every fault mode off."""

        async def apply() -> None:
            self.faults.clear()
            await self._sync_doors()

        self._call_async(apply)

    def active_faults(self) -> dict[str, dict[str, float]]:
        """The fault modes switched on, with their parameters."""
        return self._call(self.faults.active)

    def set_service_disabled(self, service: str, disabled: bool = True) -> None:
        """Disable or enable an /ip/service entry (api, api-ssl, www, www-ssl) and open or close its door."""
        self._call(lambda: self.state.execute("/ip/service/set",
                                              {".id": service, "disabled": "true" if disabled else "false"}))

    def execute(self, command: str, args: Mapping[str, str | None] | None = None) -> list[dict[str, str]]:
        """Run a command directly on the state; keys starting with ``?`` are query words.

        Returns the ``!re`` rows followed by the ``!done`` attributes when there are any
        (``add`` gives ``[{"ret": "*A"}]``).

        :raises CommandError: with the router's message when it refuses.
        """
        plain: dict[str, str] = {}
        query: list[str] = []
        for key, value in (args or {}).items():
            if key.startswith("?"):
                query.append(key if value is None or key.startswith("?#") else f"{key}={value}")
            else:
                plain[key] = "" if value is None else value

        def run() -> list[dict[str, str]]:
            reply = self.state.execute(command, plain, query)
            return reply.rows + ([reply.done] if reply.done else [])

        return self._call(run)

    def add_user(self, name: str, password: str, group: str = "full") -> str:
        """Add a /user (group ``read`` makes a read-only one); return its id.

        :raises CommandError: if the router refuses (duplicate name, unknown group).
        """
        return self.execute("/user/add", {"name": name, "password": password, "group": group})[0]["ret"]

    def hotspot_login(self, user: str, password: str, mac: str = "AA:BB:CC:00:00:01",
                      address: str = "10.5.50.10") -> bool:
        """A simulated client logs in to the hotspot with a voucher; False when the router refuses it."""

        def run() -> bool:
            try:
                self.state.hotspot_login(user, password, mac, address)
            except CommandError:
                return False
            return True

        return self._call(run)

    def hotspot_logout(self, user: str) -> bool:
        """End the hotspot sessions of ``user``; False when it had none."""
        return self._call(lambda: self.state.hotspot_logout(user))

    def run_script(self, text: str) -> list[dict[str, str]]:
        """Paste ``text`` into the router's terminal: run it line by line as the admin; return the replies.

        :raises CommandError: at the first line the router refuses (earlier lines stay applied).
        """

        def run() -> list[dict[str, str]]:
            replies = run_script(self.state, text)
            return [row for reply in replies for row in (*reply.rows, *([reply.done] if reply.done else []))]

        return self._call(run)

    def read_file(self, name: str) -> str | None:
        """The whole contents of a file in /file (None when there is no such file)."""
        return self._call(lambda: read_file(self.state, name))

    def set_upgrade(self, latest: Mapping[str, str] | None = None, error: str | None = None) -> None:
        """What the upgrade server offers per channel (``{"stable": "7.16.3"}``), or an ``error`` status."""
        self._call(lambda: set_upgrade(self.state, latest, error))

    def add_traffic(self, seconds: float = 60.0) -> None:
        """Advance time by ``seconds``: uptime, interface and hotspot counters grow, limits expire sessions."""
        self._call(lambda: self.state.add_traffic(seconds))

    def reboot(self) -> None:
        """Reboot: uptime restarts near 0, counters reset, API sessions are dropped."""
        self._call(self.state.reboot)

    def uptime(self) -> float:
        """Seconds since the last (simulated) boot."""
        return self._call(self.state.uptime)

    def with_state(self, function: Callable[[RouterState], Any]) -> Any:
        """Run ``function(state)`` on the simulator's loop, for inspection in tests."""
        return self._call(lambda: function(self.state))
