"""A customer buys WiFi in Chromium: portal → phone → simulated STK success → code shown → device online."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE
from tests.payments.conftest import Shop, shop  # noqa: F401 - the selling hotspot fixture
from tests.simulators.receiver import Receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def hotspot_login() -> Iterator[Receiver]:
    """Stands in for the hotspot's $(link-login-only): records what the customer's browser posts to it."""
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def phone_page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def buy(tab, shop: Shop, phone: str, query: str) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    tab.goto(f"{shop.url}/portal/{shop.slug}/{query}")
    tab.check(f"[data-testid=package-{shop.package_id}] input")
    tab.fill("[data-testid=phone]", phone)
    tab.click("[data-testid=pay]")
    tab.wait_for_selector("[data-testid=purchase][data-status=pending]")
    tab.wait_for_selector("[data-testid=voucher-code]")
    return tab.inner_text("[data-testid=voucher-code]").strip()


def test_customer_buys_and_the_device_is_online(phone_page, shop: Shop,  # type: ignore[no-untyped-def]  # noqa: F811
                                                screenshot: Callable[..., Path]) -> None:
    phone_page.goto(f"{shop.url}/portal/{shop.slug}/?mac=AA:BB:CC:10:00:01&ip=10.5.50.111")
    screenshot(phone_page, "portal-packages")
    code = buy(phone_page, shop, "0712 555 001", "?mac=AA:BB:CC:10:00:01&ip=10.5.50.111")
    screenshot(phone_page, "portal-paid")
    shop.wait_follow_ups()
    active = {row["user"]: row for row in shop.router.execute("/ip/hotspot/active/print")}
    assert active[code]["mac-address"] == "AA:BB:CC:10:00:01"


def test_router_unreachable_at_payment_the_browser_logs_in_through_the_hotspot(
        phone_page, shop: Shop, hotspot_login: Receiver) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    login_url = hotspot_login.url.replace("/hook", "/login")
    query = f"?mac=AA:BB:CC:10:00:02&ip=10.5.50.112&link-login-only={login_url}&link-orig=http://example.com/"
    shop.router.set_fault("refuse")
    try:
        code = buy(phone_page, shop, "0712 555 002", query)
        (posted,) = hotspot_login.wait_until(lambda body: True)
        shop.wait_follow_ups()
    finally:
        shop.router.clear_faults()
    assert posted["username"] == code and posted["dst"] == "http://example.com/"
    # What the hotspot does with that POST: the pool voucher was on the router before the payment.
    shop.router.execute("/ip/hotspot/active/login", {"user": posted["username"], "password": posted["password"],
                                                     "mac-address": "AA:BB:CC:10:00:02", "ip": "10.5.50.112"})
    assert code in {row["user"] for row in shop.router.execute("/ip/hotspot/active/print")}
