"""The console sends exactly what its form shows; dangerous commands ask in plain words; an expired session in
the middle of work leads to the login page and back; htmx errors show their reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from simulators.routeros import RouterSpec, Simulator
from tests.browser.conftest import LiveServer
from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import User
from webapp.services import gateway, routers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def core(live_server: LiveServer) -> Iterator[int]:
    with Simulator([RouterSpec(name="nairobi-core", version="7.16.1", password="core-pass")], seed=5) as sim:
        sim_router = sim.router("nairobi-core")
        with live_server.app.app_context():
            owner = db.session.scalar(db.select(User).where(User.username == "alice"))
            router = routers.create_router(owner, {"name": "nairobi-core", "host": sim_router.host,
                                                   "port": sim_router.api_port, "username": "admin",
                                                   "password": "core-pass", "protocol": "api"})
            router_id = router.id
        yield router_id
        gateway.close_pool()


def _run(page, command: str, method: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Fill command and method, press Run, and return the form fields the browser sent."""
    console = page.locator("#console")
    console.locator("input[name=command]").fill(command)
    console.locator("select[name=method]").select_option(method)
    with page.expect_request(re.compile(r".*/commands$")) as sent:
        console.locator("[data-testid=run-command]").click()
    page.wait_for_load_state("networkidle")
    return parse_qs(sent.value.post_data or "", keep_blank_values=True)


def _fill_rows(page, field: str, pairs: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    kv = page.locator(f"#console fieldset:has([name='{field}-key'])")
    for index, (key, value) in enumerate(pairs):
        if index:
            kv.locator(f"[data-testid=add-{field}-row]").click()
        kv.locator(f"input[name='{field}-key']").nth(index).fill(key)
        kv.locator(f"input[name='{field}-value']").nth(index).fill(value)


def _clear_rows(page, field: str) -> None:  # type: ignore[no-untyped-def]
    kv = page.locator(f"#console fieldset:has([name='{field}-key'])")
    while kv.locator("[data-kv-remove]").count() > 1:
        kv.locator("[data-kv-remove]").first.click()
    kv.locator("[data-kv-remove]").first.click()  # the last row is emptied, not removed


def _sent_pairs(form: dict[str, list[str]], field: str) -> dict[str, str]:
    return {k: v for k, v in zip(form.get(f"{field}-key", []), form.get(f"{field}-value", []), strict=False) if k}


def test_console_sends_exactly_the_visible_fields(page, live_server: LiveServer, login, core: int,  # type: ignore[no-untyped-def]
                                                  screenshot) -> None:
    login(page)
    page.goto(f"{live_server.url}/dashboard/routers/{core}")
    _fill_rows(page, "params", [("name", "ether1")])
    first = _run(page, "interface", "GET")
    assert _sent_pairs(first, "params") == {"name": "ether1"}
    assert "1 row" in page.locator("[data-testid=command-result] header").inner_text()

    # The filter stays visible after the run; once removed from the form it is not sent again.
    assert page.locator("#console input[name='params-value']").first.input_value() == "ether1"
    _clear_rows(page, "params")
    _fill_rows(page, "body", [("address", "10.9.9.1/24"), ("interface", "ether1")])
    added = _run(page, "ip/address/add", "POST")
    assert _sent_pairs(added, "params") == {}
    assert _sent_pairs(added, "body") == {"address": "10.9.9.1/24", "interface": "ether1"}

    _clear_rows(page, "body")
    listed = _run(page, "ip/address", "GET")
    assert _sent_pairs(listed, "params") == {} and _sent_pairs(listed, "body") == {}
    assert "10.9.9.1/24" in page.locator("[data-testid=result-table]").inner_text()
    newest = page.locator("[data-testid=history-row]").first
    expect(newest).to_contain_text("GET ip/address")
    assert "params" not in newest.inner_text()
    screenshot(page, "console-after-runs")


def test_dangerous_command_asks_in_plain_words(page, live_server: LiveServer, login, core: int) -> None:  # type: ignore[no-untyped-def]
    login(page)
    page.goto(f"{live_server.url}/dashboard/routers/{core}")
    _run(page, "system/reboot", "POST")
    question = page.locator("[data-testid=confirm-question]").inner_text()
    assert question.startswith("This reboots nairobi-core") and question.endswith("Run it?")
    assert "confirm" not in question.lower() and "true" not in question
    with page.expect_request(re.compile(r".*/commands$")) as sent:
        page.click("[data-testid=confirm-run]")
    assert parse_qs(sent.value.post_data or "")["confirm"] == ["1"]
    page.locator("[data-testid=command-result]").wait_for()


def test_expired_session_returns_to_the_page_after_login(page, live_server: LiveServer, login, core: int) -> None:  # type: ignore[no-untyped-def]
    login(page)
    router_page = f"{live_server.url}/dashboard/routers/{core}"
    page.goto(router_page)
    page.context.clear_cookies()
    page.click("[data-testid=test-connection]")
    page.wait_for_url(re.compile(r".*/dashboard/login\?next=.*"))
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(router_page)
    assert page.locator("h1").inner_text() == "nairobi-core"


def test_htmx_error_shows_the_servers_reason(page, live_server: LiveServer, login, core: int) -> None:  # type: ignore[no-untyped-def]
    login(page)
    page.goto(f"{live_server.url}/dashboard/routers/{core}")
    # Another tab deletes the router; this page's Test button then gets a 404 with a reason.
    with live_server.app.app_context():
        owner: Any = db.session.scalar(db.select(User).where(User.username == "alice"))
        gone = routers.create_router(owner, {"name": "short-lived", "host": "127.0.0.1", "port": 1,
                                             "username": "admin", "password": "x", "protocol": "api"})
        gone_id = gone.id
    page.goto(f"{live_server.url}/dashboard/routers/{gone_id}")
    with live_server.app.app_context():
        owner = db.session.scalar(db.select(User).where(User.username == "alice"))
        routers.delete_router(owner, gone_id)
    with page.expect_response(re.compile(r".*/test$")) as answered:
        page.click("[data-testid=test-connection]")
    assert answered.value.status == 404
    shown = page.locator("#flash .flash-error", has_text="(404)").first
    shown.wait_for()
    assert re.search(r"\(404\): .*not found", shown.inner_text(), re.IGNORECASE), shown.inner_text()
    # The device panel polling the same deleted router is a 404 too, never a server error.
    assert "(500)" not in page.locator("#flash").inner_text()
