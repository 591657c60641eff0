"""The HTML login, API keys and logout in headless Chromium."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser


def test_login_rejects_wrong_password_then_logs_in_and_out(page, live_server, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")
    assert page.url.endswith("/dashboard/login")
    screenshot(page, "login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong password")
    page.click("[data-testid=login-submit]")
    assert page.locator("[data-testid=login-error]").inner_text() == "Invalid username or password"
    login(page)
    assert page.locator("h1").inner_text() == "Overview"
    screenshot(page, "overview")
    page.click("[data-testid=logout]")
    page.wait_for_url(live_server.url + "/dashboard/login")
    page.goto(live_server.url + "/dashboard/")
    assert "/dashboard/login" in page.url


def test_api_key_created_with_htmx_is_shown_once(page, live_server, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page)
    page.goto(live_server.url + "/dashboard/api-keys")
    page.click("[data-testid=create-key]")  # empty name -> 422 fragment with the field error swapped in
    assert page.locator(".field-error").inner_text() != ""
    page.fill("input[name=name]", "billing-script")
    page.click("[data-testid=create-key]")
    private = page.locator("[data-testid=new-private-key]").inner_text()
    assert private.startswith("rdk_sec_")
    screenshot(page, "api-key-created")
    page.reload()
    assert page.locator("text=billing-script").count() == 1
    assert private not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Revoke")
    page.wait_for_selector("text=No API keys yet")


def test_login_page_fits_a_phone(browser, live_server, screenshot) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    tab = context.new_page()
    tab.goto(live_server.url + "/dashboard/login")
    scroll_width = tab.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"]
    screenshot(tab, "login-phone")
    context.close()
