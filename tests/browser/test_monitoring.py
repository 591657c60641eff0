"""Chromium draws the router's graphs (uPlot) from polled data, switches range, and shows the fleet overview."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.browser.conftest import LiveServer
from webapp.extensions import db
from webapp.models import User
from webapp.services import gateway, metrics, routers
from webapp.services.poller import Poller
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def polled_router(live_server: LiveServer) -> Iterator[int]:
    """A simulated router polled every 5 minutes over the last hour (time injected, traffic advanced)."""
    with Simulator([RouterSpec(name="ridge", version="7.16.1", password="ridge-pass")], seed=9) as sim:
        ridge = sim.router("ridge")
        app = live_server.app
        with app.app_context():
            owner = db.session.scalar(db.select(User).where(User.username == "alice"))
            router = routers.create_router(owner, {"name": "ridge", "host": ridge.host, "port": ridge.api_port,
                                                   "username": "admin", "password": "ridge-pass",
                                                   "protocol": "api"})
            now = utcnow()
            with Poller(concurrency=2, timeout=2.0) as poller:
                for minutes_ago in range(60, -1, -5):
                    poller.cycle(now - timedelta(minutes=minutes_ago), force=True)
                    ridge.add_traffic(300)
            metrics.compact(metrics.epoch(now))  # as the poller loop does every 5 minutes: 7d/30d read rollups
            router_id = router.id
        yield router_id
        gateway.close_pool()


def test_router_graphs_render_with_data(page, live_server: LiveServer, login: Callable[..., None],  # type: ignore[no-untyped-def]
                                        screenshot: Callable[..., Path], polled_router: int) -> None:
    login(page)
    page.goto(f"{live_server.url}/dashboard/routers/{polled_router}/monitoring")
    page.wait_for_selector("[data-chart='cpu'] canvas")
    charts = page.locator("[data-chart] .uplot")
    assert charts.count() >= 3  # CPU, memory and at least one interface's traffic
    for chart_id in ("cpu", "memory", "if-ether1"):
        box = page.locator(f"[data-chart='{chart_id}'] canvas").bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["height"] > 100
    # The legend shows real numbers for the series (not the empty dash).
    legend = page.locator("[data-chart='if-ether1'] .u-legend").inner_text()
    assert "in" in legend
    assert "out" in legend
    assert page.locator("[data-interface='ether1'] td").nth(2).inner_text().endswith("bit/s")  # In
    screenshot(page, "monitoring-router")
    page.click("[data-testid=range-7d]")
    page.wait_for_selector("[data-testid=range-7d][aria-pressed=true]")
    page.wait_for_selector("[data-chart='cpu'] canvas")
    assert page.locator("[data-chart] .uplot").count() >= 3
    screenshot(page, "monitoring-router-7d")


def test_fleet_overview(page, live_server: LiveServer, login: Callable[..., None],  # type: ignore[no-untyped-def]
                        screenshot: Callable[..., Path], polled_router: int) -> None:
    login(page)
    page.click("nav >> text=Monitoring")
    page.wait_for_selector("[data-testid=fleet-counts]")
    assert page.locator("[data-testid=count-up]").inner_text() == "1"
    assert "ridge" in page.locator("main").inner_text()
    screenshot(page, "monitoring-overview")
