"""A small aiohttp server run on its own asyncio loop in a daemon thread (shared by the provider simulators)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
#: How long a blocking call from another thread waits for the loop.
CALL_TIMEOUT = 30.0


class ThreadedServer:
    """Serve an aiohttp application on ``host:port`` (0 picks a free port) from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        """The application to serve (subclasses add their routes)."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Bind the port and start serving; returns once requests are accepted."""
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        ready.wait()

        async def open_site() -> None:
            runner = web.AppRunner(self.build_app(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            server = site._server
            if server is not None and server.sockets:  # type: ignore[attr-defined]
                self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            self._runner = runner

        self.call_async(open_site)

    def stop(self) -> None:
        """Stop serving and end the thread (pending timers are cancelled)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
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

    def call_async(self, function: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``function()`` on the server's loop and wait for its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(function(), loop).result(CALL_TIMEOUT)

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's loop (state is only touched there) and return its result."""

        async def wrapper() -> T:
            return function()

        return self.call_async(wrapper)


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` is http(s) to 127.0.0.1/localhost: the only place a simulator ever sends callbacks."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost")
