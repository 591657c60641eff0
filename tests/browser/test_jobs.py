"""Jobs in headless Chromium: a voucher push's progress bar fills by itself (htmx polling), the jobs page lists
it, and Cancel stops a running push. The app runs its real embedded job runner; the router is 60 ms away."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from simulators.routeros import RouterSpec, Simulator
from tests.browser.conftest import PHONE, LiveServer
from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import User
from webapp.services import accounts, gateway, packages, routers, vouchers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def far_router() -> Iterator[Any]:
    with Simulator([RouterSpec(name="far", password="pw-far-123")], latency_ms=60, seed=2) as sim:
        yield sim.routers[0]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, far_router: Any) -> Iterator[LiveServer]:
    """The app with the embedded job runner (threads in the serving process), pushing 10 users per round."""
    folder: Path = tmp_path_factory.mktemp("jobs-live")
    app = create_app(make_config(folder / "live.db", JOBS_RUNNER="embedded", JOBS_POLL_INTERVAL=0.2,
                                 VOUCHER_PUSH_CHUNK=10))
    with app.app_context():
        upgrade()
        alice = accounts.create_user("alice", PASSWORD)
        router = routers.create_router(alice, {"name": "Far Hotspot", "host": far_router.host,
                                               "port": far_router.api_port, "protocol": "api",
                                               "username": "admin", "password": "pw-far-123"})
        packages.create_package(alice, router.id, {"name": "Hour", "package_type": "hourly", "duration_hours": 1,
                                                   "price": "10", "download_speed_mbps": 5, "upload_speed_mbps": 2})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        app.extensions["jobs_runner"].stop(2.0)
        gateway.close_pool()


def _new_batch(live_server: LiveServer, count: int) -> int:
    """Queue a batch as the dashboard's form would (the page under test is the batch page)."""
    with live_server.app.app_context():
        alice = db.session.scalar(db.select(User).where(User.username == "alice"))
        package = db.session.scalar(db.select(packages.Package))
        assert alice is not None and package is not None
        batch_id = vouchers.generate_batch(alice, package.router_id, package.id, count).batch.id
        db.session.remove()
        return batch_id


def test_the_progress_bar_fills_by_itself_and_the_jobs_page_lists_the_push(
    page, live_server, login, screenshot  # type: ignore[no-untyped-def]
) -> None:
    login(page)
    page.set_viewport_size(PHONE)
    batch_id = _new_batch(live_server, 300)
    page.goto(f"{live_server.url}/dashboard/batches/{batch_id}")
    progress = page.locator("[data-testid=job-progress]")
    assert progress.get_attribute("data-state") in ("queued", "running")
    screenshot(page, "job-progress-running-phone")
    page.wait_for_selector("[data-testid=job-progress][data-state=succeeded]", timeout=30_000)
    assert page.locator("[data-testid=job-count]").inner_text().startswith("300")
    assert page.locator("[data-testid=job-cancel]").count() == 0
    page.goto(f"{live_server.url}/dashboard/jobs")
    assert "Voucher push" in page.locator("[data-testid=jobs-table]").inner_text()
    screenshot(page, "jobs-page-phone")


def test_cancel_stops_a_running_push(page, live_server, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    batch_id = _new_batch(live_server, 300)
    page.goto(f"{live_server.url}/dashboard/batches/{batch_id}")
    page.wait_for_selector("[data-testid=job-progress][data-state=running]", timeout=15_000)
    page.click("[data-testid=job-cancel]")
    page.wait_for_selector("[data-testid=job-progress][data-state=cancelled]", timeout=15_000)
    screenshot(page, "job-cancelled-desktop")
    with live_server.app.app_context():
        states = set(db.session.scalars(db.select(vouchers.Voucher.state).where(
            vouchers.Voucher.batch_id == batch_id)))
        db.session.remove()
    assert "revoked" in states  # what was not pushed yet is withdrawn, never sold
