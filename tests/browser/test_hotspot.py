"""The hotspot flow in headless Chromium: create a package, generate vouchers, print them, see a sale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def kiosk() -> Iterator[Any]:
    """One simulated RouterOS 7 hotspot router on loopback (its clients log in with our vouchers)."""
    with Simulator([RouterSpec(name="kiosk", version="7.16.1", username="admin", password="pw")]) as sim:
        yield sim.routers[0]


def add_router(page, live_server, kiosk) -> int:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/dashboard/routers/new")
    page.fill("input[name=name]", "Kiosk Hotspot")
    page.fill("input[name=host]", "127.0.0.1")
    page.select_option("select[name=protocol]", "api")
    page.fill("input[name=port]", str(kiosk.api_port))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "pw")
    page.click("[data-testid=save-router]")
    page.wait_for_url(re.compile(r".*/dashboard/routers/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_package_vouchers_print_and_sale(page, live_server, login, screenshot, kiosk) -> None:  # type: ignore[no-untyped-def]
    login(page)
    router_id = add_router(page, live_server, kiosk)

    page.click("nav >> text=Hotspot")
    page.click("[data-testid=open-packages]")
    form = page.locator("[data-testid=package-form]")
    form.locator("input[name=name]").fill("Basic Hourly")
    form.locator("input[name=duration]").fill("1")
    form.locator("input[name=price]").fill("0")
    form.locator("input[name=download_speed_mbps]").fill("10")
    form.locator("input[name=upload_speed_mbps]").fill("5")
    form.locator("input[name=description]").fill("An hour of browsing")
    page.click("[data-testid=save-package]")
    page.wait_for_selector("#id-price-error, small.field-error")
    assert "Must be greater than 0.01." in page.locator("#package-form").inner_text()

    page.locator("[data-testid=package-form] input[name=price]").fill("20")
    page.click("[data-testid=preview-package]")
    preview = page.locator("[data-testid=package-preview]")
    preview.wait_for()
    assert "rate-limit=5M/10M" in preview.inner_text()
    page.click("[data-testid=save-package]")
    page.wait_for_selector("[data-testid=package-card]")
    card = page.locator("[data-testid=package-card]").first
    assert "KES 20.00" in card.inner_text() and "1 hour of internet" in card.inner_text()
    screenshot(page, "hotspot-packages")

    page.goto(f"{live_server.url}/dashboard/routers/{router_id}/vouchers")
    page.fill("[data-testid=batch-form] input[name=count]", "10")
    page.click("[data-testid=generate-vouchers]")
    page.wait_for_url(re.compile(r".*/dashboard/batches/\d+$"))
    codes = page.locator("code.voucher-code").all_inner_texts()
    assert len(codes) == 10

    with page.context.expect_page() as opened:
        page.click("[data-testid=print-a4]")
    sheet = opened.value
    sheet.wait_for_load_state()
    assert sheet.locator("[data-testid=printed-voucher]").count() == 10
    assert sheet.locator("[data-testid=printed-voucher] svg").count() == 10
    screenshot(sheet, "hotspot-print-a4")
    sheet.goto(sheet.url.replace("layout=a4", "layout=58mm"))
    sheet.set_viewport_size({"width": 420, "height": 900})
    screenshot(sheet, "hotspot-print-58mm")
    sheet.close()

    assert kiosk.hotspot_login(codes[0], codes[0], mac="AA:BB:CC:00:00:10")
    kiosk.add_traffic(seconds=90)
    with page.expect_navigation():  # HX-Redirect back to this page with the result flashed
        page.click("[data-testid=sync-now]")
    assert "1 activated" in page.locator("#flash").inner_text()

    page.goto(f"{live_server.url}/dashboard/sales")
    assert page.locator("[data-testid=sales-total]").inner_text() == "KES 20.00"
    assert page.locator("[data-testid=sales-count]").inner_text() == "1"
    screenshot(page, "hotspot-sales")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/dashboard/routers/{router_id}/packages")
    screenshot(page, "hotspot-packages-phone")
