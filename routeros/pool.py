"""A small thread-safe pool of logged-in clients, keyed by router and credentials."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from routeros.base import Client
from routeros.client import open_client
from routeros.config import RouterConfig
from routeros.connection import Deadline
from routeros.errors import RouterOSError


class ClientPool:
    """Reuse warm connections so repeated commands on one router skip TCP + TLS + login.

    A returned client is kept only if it is still usable (a transport failure, timeout or ``!fatal``
    marks it broken and it is closed instead). At most ``max_per_key`` idle clients are kept per
    router+credentials; ones idle longer than ``idle_timeout`` are closed. Before reuse every idle
    client gets a free local check (no unexpected bytes or EOF on the socket), and one idle longer
    than ``check_after`` seconds also gets a one-round-trip health check.
    """

    def __init__(
        self,
        max_per_key: int = 4,
        idle_timeout: float = 60.0,
        check_after: float = 15.0,
        opener: Callable[..., Client] = open_client,
    ) -> None:
        self.max_per_key = max_per_key
        self.idle_timeout = idle_timeout
        self.check_after = check_after
        self._opener = opener
        self._idle: dict[RouterConfig, list[tuple[float, Client]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def client(self, config: RouterConfig, deadline: Deadline | None = None) -> Iterator[Client]:
        """Lend a logged-in client for ``config`` for the ``with`` block, then take it back.

        ``deadline`` (a caller's deadline shared by several calls) bounds connecting and the health check.

        :raises RouterOSError: the errors of :func:`routeros.open_client` when a new client is needed.
        """
        client = self.acquire(config, deadline)
        try:
            yield client
        except RouterOSError:
            # A rejected command leaves the session fine; transport failures mark it unusable.
            self.release(config, client)
            raise
        except BaseException:
            # Interrupted mid-call (KeyboardInterrupt, a bug above): the stream may be out of step.
            client.close()
            raise
        self.release(config, client)

    def acquire(self, config: RouterConfig, deadline: Deadline | None = None) -> Client:
        """Take a healthy idle client for ``config`` or open a new one; give it back with :meth:`release`.

        :raises RouterOSError: the errors of :func:`routeros.open_client`.
        """
        while True:
            now = time.monotonic()
            expired: list[Client] = []
            candidate: tuple[float, Client] | None = None
            with self._lock:
                stack = self._idle.get(config)
                while stack:
                    last_used, client = stack.pop()
                    if now - last_used > self.idle_timeout:
                        expired.append(client)
                    else:
                        candidate = (last_used, client)
                        break
            for client in expired:
                client.close()
            if candidate is None:
                return self._opener(config, deadline) if deadline is not None else self._opener(config)
            last_used, client = candidate
            if self._healthy(client, now - last_used, config, deadline):
                return client
            client.close()

    def _healthy(self, client: Client, idle_for: float, config: RouterConfig, deadline: Deadline | None) -> bool:
        if not client.looks_alive():
            return False
        if idle_for <= self.check_after:
            return True
        try:
            limit = min(config.timeout, 5.0)
            if deadline is not None:
                limit = min(limit, deadline.remaining())
            client.ping(timeout=limit)
        except RouterOSError:
            return False
        return client.usable

    def release(self, config: RouterConfig, client: Client) -> None:
        """Return a client; it is kept for reuse only if still usable and there is room."""
        if self._closed or not client.usable:
            client.close()
            return
        surplus: Client | None = None
        with self._lock:
            stack = self._idle.setdefault(config, [])
            stack.append((time.monotonic(), client))
            if len(stack) > self.max_per_key:
                surplus = stack.pop(0)[1]
        if surplus is not None:
            surplus.close()

    def idle_count(self, config: RouterConfig | None = None) -> int:
        """How many idle clients are kept (for one router, or in all)."""
        with self._lock:
            if config is not None:
                return len(self._idle.get(config, ()))
            return sum(len(stack) for stack in self._idle.values())

    def prune(self) -> int:
        """Close idle clients past ``idle_timeout``; return how many were closed."""
        now = time.monotonic()
        expired: list[Client] = []
        with self._lock:
            for key, stack in list(self._idle.items()):
                keep = [(used, c) for used, c in stack if now - used <= self.idle_timeout]
                expired.extend(c for used, c in stack if now - used > self.idle_timeout)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
        for client in expired:
            client.close()
        return len(expired)

    def close(self) -> None:
        """Close every idle client; clients lent out are closed when they come back."""
        with self._lock:
            self._closed = True
            idle = [client for stack in self._idle.values() for _, client in stack]
            self._idle.clear()
        for client in idle:
            client.close()
