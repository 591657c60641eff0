"""A throwaway PostgreSQL cluster for the tests that prove the schema and queries are not SQLite-only."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def available() -> bool:
    """True when initdb and pg_ctl are installed (Debian's postgresql package)."""
    return bool(_binary("initdb") and _binary("pg_ctl"))


@contextmanager
def cluster() -> Iterator[str]:
    """Start a private cluster on 127.0.0.1 with trust auth; yield its SQLAlchemy URL; stop and delete it."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    assert initdb and pg_ctl
    # Not under pytest's tmp folder: that one is private to root, and the server runs as "postgres".
    folder = Path(tempfile.mkdtemp(prefix="routerdeck-pg-"))
    data = folder / "pgdata"
    data.mkdir(parents=True)
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "routerdeck", "-E", "UTF8"], **quiet)
    options = f"-p {port} -h 127.0.0.1 -k {folder} -F"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "pg.log"), "-w", "start"],
                   **quiet)
    try:
        yield f"postgresql+psycopg://routerdeck@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], **quiet)
        shutil.rmtree(folder, ignore_errors=True)
