"""Every dashboard page on a 390×844 phone: no link or button off-screen or on top of another.

Pages are discovered from the app's url_map (every GET rule under /dashboard that answers a full HTML page), so
pages added later are covered without touching this file. With ``ROUTERDECK_SCREENSHOTS=/dir`` each page is
also photographed at 390×844 and 1366×900.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from simulators.routeros import RouterSpec, Simulator
from tests.browser.conftest import PHONE, LiveServer
from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import Alert, Sale, User
from webapp.services import accounts, commands, gateway, metrics, packages, routers, vouchers
from webapp.services.poller import Poller
from webapp.timeutil import utcnow

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}

# Interactive things a thumb must reach. Hidden ones (collapsed menu, closed <details>) have no box and are skipped.
LAYOUT_PROBE = """
() => {
  const width = document.documentElement.clientWidth;
  const selector = 'a[href], button, [role="button"], input[type="submit"], input[type="button"], summary, select';
  const label = (el) => (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
  const name = (el) => el.tagName.toLowerCase() + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '')
      + ' "' + label(el).slice(0, 40) + '"';
  const boxes = [...document.querySelectorAll(selector)]
      // checkVisibility also drops what a closed <details> holds (Chromium lays it out under content-visibility).
      .filter((el) => el.checkVisibility({visibilityProperty: true}))
      .map((el) => ({el, r: el.getBoundingClientRect()}))
      .filter((b) => b.r.width > 0 && b.r.height > 0);
  const outside = boxes.filter((b) => b.r.left < -1 || b.r.right > width + 1)
      .map((b) => name(b.el) + ' spans x ' + Math.round(b.r.left) + '..' + Math.round(b.r.right));
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const dx = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const dy = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (dx > 2 && dy > 2) overlaps.push(name(a.el) + ' overlaps ' + name(b.el));
    }
  }
  return {outside, overlaps, scrollWidth: document.documentElement.scrollWidth, width};
}
"""


@dataclass
class Fleet:
    values: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
def fleet(live_server: LiveServer) -> Iterator[Fleet]:
    """A polled hotspot router with packages, vouchers, a client online, sales, an alert and a command run,
    plus a second router that is down (its long error must wrap, not widen the page)."""
    specs = [RouterSpec(name="nairobi-core", version="7.16.1", password="core-pass")]
    with Simulator(specs, seed=3) as sim:
        core = sim.router("nairobi-core")
        app = live_server.app
        seeded = Fleet()
        with app.app_context():
            owner = db.session.scalar(db.select(User).where(User.username == "alice"))
            assert owner is not None
            router = routers.create_router(owner, {"name": "nairobi-core", "host": core.host, "port": core.api_port,
                                                   "username": "admin", "password": "core-pass", "protocol": "api"})
            down = routers.create_router(owner, {"name": "Kisumu-Market-Hotspot-With-A-Long-Name",
                                                 "host": "127.0.0.1", "port": 1, "username": "admin",
                                                 "password": "x", "protocol": "api"})
            now = utcnow()
            with Poller(concurrency=2, timeout=2.0) as poller:
                for minutes_ago in (10, 5, 0):
                    poller.cycle(now - timedelta(minutes=minutes_ago), force=True)
                    core.add_traffic(300)
            metrics.compact(metrics.epoch(now))
            change = packages.create_package(owner, router.id, {
                "name": "Saa Moja", "duration_hours": 1, "price": "20", "download_speed_mbps": 10,
                "upload_speed_mbps": 5, "description": "One hour of internet"})
            batch = vouchers.generate_batch(owner, router.id, change.package.id, 5)
            code = batch.vouchers[0].code
            assert core.hotspot_login(code, batch.vouchers[0].password, mac="AA:BB:CC:00:00:21")
            db.session.add(Sale(user_id=owner.id, router_id=router.id, package_id=change.package.id,
                                batch_id=batch.batch.id, package_name="Saa Moja", price=Decimal("20.00"),
                                currency="KES", sold_at=now))
            alert = Alert(user_id=owner.id, router_id=down.id, kind="router_down", severity="critical",
                          message="Kisumu-Market-Hotspot-With-A-Long-Name has not answered for 5 minutes",
                          started_at=now)
            db.session.add(alert)
            db.session.commit()
            commands.run_command(owner, router.id, "system/resource", "GET")
            accounts.create_api_key(owner, "phone-test key")
            seeded.values = {"router_id": router.id, "package_id": change.package.id, "batch_id": batch.batch.id,
                             "alert_id": alert.id, "voucher_id": batch.vouchers[0].id}
        yield seeded
        gateway.close_pool()


def _pages(live_server: LiveServer, fleet: Fleet) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET page under /dashboard, with seeded ids for its arguments."""
    found = []
    for rule in live_server.app.url_map.iter_rules():
        if not rule.rule.startswith("/dashboard") or "GET" not in (rule.methods or ()):
            continue
        if rule.rule.endswith((".csv", ".json")):
            continue
        values = {name: fleet.values.get(name, 1) for name in rule.arguments}
        with live_server.app.test_request_context():
            from flask import url_for

            found.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return sorted(set(found))


def _logged_in(browser, live_server: LiveServer, viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.goto(f"{live_server.url}/dashboard/login")
    tab.fill("input[name=username]", "alice")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("[data-testid=login-submit]")
    tab.wait_for_url(f"{live_server.url}/dashboard/")
    return context, tab


def test_every_page_fits_a_phone(browser, live_server: LiveServer, fleet: Fleet, screenshot) -> None:  # type: ignore[no-untyped-def]
    context, tab = _logged_in(browser, live_server, PHONE)
    wide, desk = _logged_in(browser, live_server, WIDE)
    anonymous = browser.new_context(viewport=PHONE)
    problems: dict[str, Any] = {}
    try:
        full_pages = []
        for endpoint, path in _pages(live_server, fleet):
            answer = context.request.get(live_server.url + path, max_redirects=0)
            if answer.status == 200 and "<html" in answer.text()[:300]:
                full_pages.append((endpoint, path))
        endpoints = {endpoint for endpoint, _ in full_pages}
        # The core lists must be among them (so this test cannot pass by finding nothing).
        assert {"dashboard.home", "dashboard.routers_page", "dashboard.hotspot_vouchers", "dashboard.hotspot_sessions",
                "dashboard.router_monitoring", "dashboard.hotspot_sales", "dashboard.alerts_page",
                "dashboard.router_detail"} <= endpoints
        pages = [("auth.login", "/dashboard/login", anonymous.new_page()), *[(e, p, tab) for e, p in full_pages]]
        for endpoint, path, target in pages:
            target.goto(live_server.url + path, wait_until="networkidle")
            assert target.url.split("?")[0] == live_server.url + path.split("?")[0], f"{path} redirected"
            found = target.evaluate(LAYOUT_PROBE)
            if found["outside"] or found["overlaps"] or found["scrollWidth"] > found["width"] + 1:
                problems[path] = found
            name = endpoint.replace(".", "-")
            screenshot(target, f"phone-{name}")
            if target is tab:
                desk.goto(live_server.url + path, wait_until="networkidle")
                screenshot(desk, f"wide-{name}")
    finally:
        context.close()
        wide.close()
        anonymous.close()
    assert problems == {}, "\n".join(f"{path}: {found}" for path, found in problems.items())
