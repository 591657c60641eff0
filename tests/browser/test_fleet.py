"""Groups, tags and configuration diffs in headless Chromium, against simulated routers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from simulators.routeros import RouterSpec, Simulator
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fleet() -> Iterator[Any]:
    with Simulator([RouterSpec(name="roof-1", password="pw"), RouterSpec(name="roof-2", password="pw")]) as sim:
        yield sim


def add_router(page, live_server, sim_router, group: str | None = None, tags: str = "") -> str:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/dashboard/routers/new")
    page.fill("input[name=name]", sim_router.name)
    page.fill("input[name=host]", "127.0.0.1")
    page.select_option("select[name=protocol]", "api")
    page.fill("input[name=port]", str(sim_router.api_port))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "pw")
    if group:
        page.select_option("select[name=group_id]", label=group)
    page.fill("input[name=tags]", tags)
    page.click("[data-testid=save-router]")
    page.wait_for_url(re.compile(r".*/dashboard/routers/\d+$"))
    return page.url


def test_group_a_site_filter_it_and_see_a_config_diff(page, live_server, login, fleet, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    page.goto(live_server.url + "/dashboard/groups")
    page.fill("input[name=name]", "Kawangware")
    page.fill("input[name=poll_interval_seconds]", "120")
    page.click("[data-testid=save-group]")
    page.wait_for_url(re.compile(r".*/dashboard/groups/\d+$"))
    detail = add_router(page, live_server, fleet.router("roof-1"), group="Kawangware", tags="solar, rooftop")
    add_router(page, live_server, fleet.router("roof-2"), tags="solar")

    page.goto(live_server.url + "/dashboard/routers")
    page.select_option("[data-testid=group-filter]", label="Kawangware")
    rows = page.locator("[data-testid=router-rows] tbody tr")
    rows.first.wait_for()
    expect(page.locator("[data-testid=router-rows] tbody tr")).to_have_count(1)
    assert "roof-1" in rows.first.inner_text() and "rooftop" in rows.first.inner_text()
    screenshot(page, "fleet-routers-filtered-by-group")

    page.goto(detail.rstrip("/") + "/configs")
    page.click("[data-testid=take-snapshot]")
    page.wait_for_selector("[data-testid=config-versions] tbody tr a")
    fleet.router("roof-1").execute("/ip/pool/add", {"name": "guests", "ranges": "10.77.0.2-10.77.0.250"})
    page.click("[data-testid=take-snapshot]")
    expect(page.locator("[data-testid=config-versions] tbody tr")).to_have_count(2)
    page.locator("[data-testid=config-versions] tbody tr a").first.click()
    diff = page.locator("[data-testid=config-diff]")
    diff.wait_for()
    assert "+add name=guests ranges=10.77.0.2-10.77.0.250" in diff.inner_text()
    screenshot(page, "fleet-config-diff")
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/dashboard/groups")
    assert "Kawangware" in page.locator("[data-testid=group-rows]").inner_text()
    screenshot(page, "fleet-groups-phone")


def test_incidents_acknowledge_all_on_a_phone(page, live_server, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Alert, Router, RouterGroup, RouterGroupMember, User
    from webapp.timeutil import utcnow

    login(page)
    with live_server.app.app_context():
        owner = db.session.scalar(select(User).where(User.username == "alice"))
        group = RouterGroup(user_id=owner.id, name="Githurai", description="")
        db.session.add(group)
        db.session.flush()
        for index in range(3):
            router = Router(user_id=owner.id, name=f"gh-{index}", host="127.0.0.1", username="a",
                            encrypted_password=b"x")
            db.session.add(router)
            db.session.flush()
            db.session.add(RouterGroupMember(router_id=router.id, group_id=group.id))
            db.session.add(Alert(user_id=owner.id, router_id=router.id, kind="offline", severity="critical",
                                 message="Router offline for 5 minutes",
                                 started_at=utcnow() - timedelta(minutes=20 - index)))
        db.session.commit()
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/dashboard/incidents")
    incident = page.locator("[data-testid=incident]", has_text="3 routers offline at Githurai")
    incident.wait_for()
    screenshot(page, "fleet-incidents-phone")
    page.click("[data-testid=ack-all]")
    page.wait_for_url(re.compile(r".*/dashboard/incidents$"))
    assert "acknowledged" in page.locator("[data-testid=incident]", has_text="Githurai").inner_text()
    page.goto(live_server.url + "/dashboard/alert-settings")
    page.locator("[data-testid=channel-form]").wait_for()
    screenshot(page, "fleet-alert-settings-phone")
