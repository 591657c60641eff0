"""A throwaway Redis server on loopback (Debian's redis-server) for the scale-mode tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def available() -> bool:
    """True when Debian's redis-server is installed."""
    return shutil.which("redis-server") is not None


@contextmanager
def server() -> Iterator[str]:
    """Start redis-server on 127.0.0.1 with no persistence; yield its URL; stop it and delete its folder."""
    folder = Path(tempfile.mkdtemp(prefix="routerdeck-redis-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):  # until it accepts connections (at most ~5 s)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
