"""The :class:`Simulator`: many virtual routers served by one asyncio loop in a daemon thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, TypeVar

from simulators.routeros.router import RouterSpec, SimRouter
from simulators.routeros.tls import make_certificate

T = TypeVar("T")

#: How long a call from another thread waits for the loop before giving up.
CALL_TIMEOUT = 60.0
#: Routers opened at once while starting (each opens up to four listeners).
_START_BATCH = 100


class Simulator:
    """Serve routers on loopback; use as a context manager or call :meth:`start` and :meth:`stop`."""

    def __init__(self, specs: Iterable[RouterSpec] = (), host: str = "127.0.0.1", latency_ms: float = 0,
                 seed: int | str = 0) -> None:
        self.host = host
        self.latency_ms = float(latency_ms)
        self.seed = seed
        self.routers: list[SimRouter] = []
        self._pending = list(specs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def router(self, name: str) -> SimRouter:
        """The router called ``name``.

        :raises KeyError: if there is none.
        """
        for router in self.routers:
            if router.name == name:
                return router
        raise KeyError(name)

    def start(self) -> None:
        """Start the loop thread and every router given to the constructor."""
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="routeros-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        pending, self._pending = self._pending, []
        try:
            self.add_routers(pending)
        except BaseException:
            self.stop()
            raise

    def add_router(self, spec: RouterSpec) -> SimRouter:
        """Create and start one more router."""
        return self.add_routers([spec])[0]

    def add_routers(self, specs: Iterable[RouterSpec]) -> list[SimRouter]:
        """Create and start routers; their ports are bound when this returns.

        :raises ValueError: on a duplicate router name.
        """
        loop = self._loop
        if loop is None:
            raise RuntimeError("start the simulator first")
        names = {router.name for router in self.routers}
        created = []
        for spec in specs:
            if spec.name in names:
                raise ValueError(f"duplicate router name {spec.name!r}")
            names.add(spec.name)
            host = spec.host or self.host
            index = len(self.routers)
            router = SimRouter(self, spec, host, f"{self.seed}:{index}:{spec.name}",
                               make_certificate(spec.name, host), loop)
            self.routers.append(router)
            created.append(router)

        async def open_all() -> None:
            for first in range(0, len(created), _START_BATCH):
                await asyncio.gather(*(router.start() for router in created[first : first + _START_BATCH]))

        self.call_async(open_all)
        return created

    def stop(self) -> None:
        """Close every router and stop the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            await asyncio.gather(*(router.stop() for router in self.routers), return_exceptions=True)
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(CALL_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT)
        loop.close()
        self._loop = None
        self._thread = None

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the simulator's loop and return its result."""

        async def wrapper() -> T:
            return function()

        return self.call_async(wrapper)

    def call_async(self, function: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``function()`` on the simulator's loop and return its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the simulator is not running")
        if threading.current_thread() is self._thread:
            raise RuntimeError("call the simulator's blocking methods from another thread")
        return asyncio.run_coroutine_threadsafe(function(), loop).result(CALL_TIMEOUT)
