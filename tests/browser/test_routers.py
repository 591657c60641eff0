"""Routers, device information and the command console in headless Chromium, against a simulated router."""

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
def lab() -> Iterator[Any]:
    """One simulated RouterOS 7 router serving the binary API on loopback."""
    with Simulator([RouterSpec(name="lab", version="7.16.1", username="admin", password="pw")]) as sim:
        yield sim.routers[0]


@pytest.fixture
def short_timeout(live_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A 2 s router deadline on the live app, so a blackholed router fails quickly."""
    before = live_server.app.config["ROUTER_TIMEOUT"]
    live_server.app.config["ROUTER_TIMEOUT"] = 2
    yield
    live_server.app.config["ROUTER_TIMEOUT"] = before


def add_router(page, live_server, lab, name: str) -> str:  # type: ignore[no-untyped-def]
    """Fill the add-router form for the simulated router; return the detail page's URL."""
    page.goto(live_server.url + "/dashboard/routers/new")
    page.fill("input[name=name]", name)
    page.fill("input[name=host]", "127.0.0.1")
    page.select_option("select[name=protocol]", "api")
    page.fill("input[name=port]", str(lab.api_port))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "pw")
    page.click("[data-testid=save-router]")
    page.wait_for_url(re.compile(r".*/dashboard/routers/\d+$"))
    return page.url


def run(page, command: str, method: str = "GET", data: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Type a command into the console (one data row per item, added with the + button) and run it."""
    console = page.locator("#console")
    console.locator("input[name=command]").fill(command)
    console.locator("select[name=method]").select_option(method)
    for index, (key, value) in enumerate((data or {}).items()):
        if index:
            console.locator("[data-testid=add-body-row]").click()
        console.locator("input[name=body-key]").nth(index).fill(key)
        console.locator("input[name=body-value]").nth(index).fill(value)
    console.locator("[data-testid=run-command]").click()


def test_add_router_shows_field_errors_in_place(page, live_server, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    page.click("nav >> text=Routers")
    page.click("[data-testid=add-router]")
    page.fill("input[name=name]", "broken")
    page.fill("input[name=host]", "not a host!")
    page.fill("input[name=username]", "admin")
    page.click("[data-testid=save-router]")  # 422: the fragment comes back with the errors beside the fields
    assert page.locator("#host-error").inner_text() == "an IP address or a DNS name"
    assert page.locator("#password-error").inner_text() == "required"
    assert page.url.endswith("/dashboard/routers/new")
    screenshot(page, "router-form-errors")


def test_router_device_info_console_and_history(page, live_server, login, lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    add_router(page, live_server, lab, "Lab router")
    assert page.locator("#flash").inner_text() == 'Router "Lab router" added.'
    # The device panel loads itself after the page (hx-trigger="load, every 15s").
    page.wait_for_selector("[data-testid=device-info]")
    assert page.locator("[data-testid=device-identity]").inner_text() == "lab"
    assert page.locator("[data-testid=device-version]").inner_text().startswith("7.16.1")
    page.click("[data-testid=test-connection]")
    page.wait_for_selector("[data-testid=test-ok]")
    assert page.locator(".status-bar .badge").inner_text() == "online"

    run(page, "ip/address/add", "POST", {"address": "10.9.9.1/24", "interface": "ether1"})
    page.wait_for_selector("[data-testid=command-result] >> text=POST ip/address/add")
    run(page, "ip/address")
    result = page.locator("[data-testid=result-table]")
    result.locator("td", has_text="10.9.9.1/24").wait_for()
    assert "address" in result.locator("thead").inner_text()
    page.locator("#console summary", has_text="Raw JSON").click()
    page.locator("[data-testid=raw-json]").wait_for(state="visible")
    assert "10.9.9.1/24" in page.locator("[data-testid=raw-json]").inner_text()

    history = page.locator("#history-rows [data-testid=history-row]")
    history.filter(has_text="GET ip/address").wait_for()  # refreshed by the HX-Trigger of the run
    assert history.count() == 2
    assert "POST ip/address/add" in history.nth(1).inner_text()
    history.first.locator("[data-testid=rerun]").click()  # the GET again, as a new history entry
    expect(page.locator("#history-rows [data-testid=history-row]")).to_have_count(3)
    assert page.locator("#console input[name=command]").input_value() == "ip/address"
    assert "10.9.9.1/24" in page.locator("[data-testid=result-table]").inner_text()

    page.locator("#history-filters select[name=method]").select_option("POST")
    expect(page.locator("#history-rows [data-testid=history-row]")).to_have_count(1)
    assert "ip/address/add" in history.first.inner_text()
    page.locator("#audit").get_by_text("POST ip/address/add").first.wait_for()
    screenshot(page, "router-detail-desktop")


def test_router_fault_shows_a_clear_error(page, live_server, login, lab, short_timeout, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    url = add_router(page, live_server, lab, "Flaky router")
    page.wait_for_selector("[data-testid=device-info]")
    lab.set_fault("refuse")
    try:
        page.click("[data-testid=test-connection]")
        error = page.locator(".status-bar [data-testid=status-error]")
        error.wait_for()
        assert error.inner_text().startswith("unreachable:")
        assert page.locator(".status-bar .badge").inner_text() == "offline"
        lab.set_fault("blackhole")
        page.goto(url)
        panel = page.locator("[data-testid=device-error]")
        panel.wait_for()
        assert page.locator("[data-testid=device-error-reason]").inner_text() in {"timeout", "unreachable"}
        assert page.locator("[data-testid=device-error-message]").inner_text() != ""
        screenshot(page, "router-down-desktop")
    finally:
        lab.clear_faults()
    page.click("[data-testid=test-connection]")
    page.wait_for_selector(".status-bar [data-testid=test-ok]")


def test_router_list_filters_and_test_all(page, live_server, login, lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    add_router(page, live_server, lab, "Filter me")
    page.goto(live_server.url + "/dashboard/routers")
    page.fill("input[name=search]", "filter m")
    page.wait_for_url(re.compile(r".*/dashboard/routers\?search=filter\+m$"))
    rows = page.locator("#router-rows tbody tr")
    assert rows.count() == 1
    assert "Filter me" in rows.first.inner_text()
    page.click("[data-testid=test-all]")
    rows.first.locator("[data-testid=test-ok]").wait_for()
    assert rows.first.locator(".badge").inner_text() == "online"
    page.reload()  # the pushed URL is the full page, filters included
    assert page.locator("input[name=search]").input_value() == "filter m"
    assert page.locator("#router-rows tbody tr").count() == 1
    screenshot(page, "router-list-desktop")


def test_router_pages_fit_a_phone(browser, live_server, login, lab, screenshot) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        login(tab)
        detail = add_router(tab, live_server, lab, "Phone router")
        tab.wait_for_selector("[data-testid=device-info]")
        run(tab, "interface")
        tab.wait_for_selector("[data-testid=result-table]")
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(tab, "router-detail-phone")
        tab.goto(live_server.url + "/dashboard/routers")
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(tab, "router-list-phone")
        tab.goto(detail + "/edit")
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(tab, "router-edit-phone")
    finally:
        context.close()
