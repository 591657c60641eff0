"""Browser harness: the real app served over HTTP on loopback, driven by Debian's headless Chromium.

Later suites reuse it: ``live_server`` (base URL + app), ``page`` (a fresh context per test), ``login``
(through the real form) and ``screenshot`` (PNG into a temporary folder, path returned).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.services import accounts, gateway

CHROMIUM = os.environ.get("ROUTERDECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a real SQLite file, served by a threaded WSGI server on 127.0.0.1 (random port)."""
    folder = tmp_path_factory.mktemp("live")
    app = create_app(make_config(folder / "live.db"))
    with app.app_context():
        upgrade()
        accounts.create_user("alice", PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        gateway.close_pool()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """One headless Chromium per test module.

    Not per session: Playwright's sync API keeps an asyncio loop running in the main thread while it is
    open, and later suites that call ``asyncio.run`` (the simulator's) must not find one.
    """
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Debian chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) at desktop size."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = os.environ.get("ROUTERDECK_SCREENSHOTS")
    if target:
        path = Path(target)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[..., Path]:
    """``screenshot(page, "name")`` writes a full-page PNG and returns its path."""

    def take(tab, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = screenshot_dir / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        return path

    return take


@pytest.fixture
def login(live_server: LiveServer) -> Callable[..., None]:
    """Log a page in through the real login form."""

    def do_login(tab, username: str = "alice", password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
        tab.goto(f"{live_server.url}/dashboard/login")
        tab.fill("input[name=username]", username)
        tab.fill("input[name=password]", password)
        tab.click("[data-testid=login-submit]")
        tab.wait_for_url(f"{live_server.url}/dashboard/")

    return do_login
