"""Real processes for the job suites: the web app served by Werkzeug, the job worker, both on one SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]

_SERVE = """
import sys
from werkzeug.serving import make_server
from webapp import create_app
server = make_server("127.0.0.1", 0, create_app(), threaded=True)
print(server.port, flush=True)
server.serve_forever()
"""


def environment(config: dict[str, Any]) -> dict[str, str]:
    """``FLASK_*`` variables carrying ``config`` (values JSON-encoded, as ``from_prefixed_env`` reads them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    for key, value in config.items():
        if key == "TESTING":
            continue
        env[f"FLASK_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env["PYTHONPATH"] = str(ROOT)
    return env


@contextmanager
def web_server(config: dict[str, Any]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The app in a child process on ``127.0.0.1:0``; yields its base URL and the process."""
    process = subprocess.Popen([sys.executable, "-c", _SERVE], env=environment(config), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def worker(config: dict[str, Any]) -> Iterator[subprocess.Popen[str]]:
    """``flask --app wsgi worker`` in a child process."""
    flask = str(Path(sys.executable).with_name("flask"))
    process = subprocess.Popen([flask, "--app", "wsgi", "worker"], env=environment(config), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    """Terminate a child (kill it if it lingers)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def login(base: str, username: str, password: str) -> dict[str, str]:
    """Bearer headers for ``username``."""
    answer = requests.post(f"{base}/users/login/", json={"username": username, "password": password}, timeout=10)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def wait_until(predicate: Any, seconds: float = 60.0, pause: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (and return it); fail after ``seconds``."""
    give_up = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting after {seconds:g} s")
        time.sleep(pause)
