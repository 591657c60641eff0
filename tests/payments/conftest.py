"""A selling hotspot on loopback: the app served over real HTTP, the Daraja and Africa's Talking simulators,
and a simulated router with one package, so callbacks and delivery reports arrive as they would in production."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from simulators.africastalking import SmsSimulator
from simulators.daraja import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaSimulator
from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import Payment, User
from webapp.services import accounts, gateway, packages, payments, portal, routers

SIM_PASSWORD = "s3cret"
PRICE = "20.00"


@dataclass
class Shop:
    url: str
    app: Flask
    daraja: DarajaSimulator
    sms: SmsSimulator
    router: SimRouter
    owner_id: int
    router_id: int
    package_id: int
    slug: str

    @property
    def purchases_url(self) -> str:
        return f"{self.url}/portal/{self.slug}/purchases/"

    def buy(self, phone: str, **extra: Any) -> requests.Response:
        body = {"package_id": self.package_id, "phone": phone, **extra}
        return requests.post(self.purchases_url, json=body, timeout=15)

    def payment(self, public_id: str) -> Payment:
        with self.app.app_context():
            found = db.session.query(Payment).filter_by(public_id=public_id).one()
            db.session.expunge(found)
            return found

    def wait_settled(self, public_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The customer's status answer once it is no longer pending (or the deadline passed)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = requests.get(f"{self.purchases_url}{public_id}/", timeout=5).json()
            if answer["status"] != "pending" or time.monotonic() > deadline:
                return answer
            time.sleep(0.05)

    def owner(self) -> User:
        user = db.session.get(User, self.owner_id)
        assert user is not None
        return user

    def wait_follow_ups(self) -> None:
        portal.wait_for_follow_ups()

    def with_app(self, function: Callable[[], Any]) -> Any:
        with self.app.app_context():
            return function()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    folder = tmp_path_factory.mktemp("shop")
    daraja = DarajaSimulator(approve_after=0.1, seed=5)
    sms = SmsSimulator(deliver_after=0.05, seed=5)
    routers_sim = Simulator([RouterSpec(name="shop", password=SIM_PASSWORD)], seed=5)
    daraja.start()
    sms.start()
    routers_sim.start()
    app = create_app(make_config(
        folder / "shop.db", MPESA_BASE_URL=daraja.base_url, SMS_BASE_URL=sms.base_url, SMS_USERNAME=sms.username,
        SMS_API_KEY=sms.api_key, PORTAL_LIMIT_PER_PHONE=1000, PORTAL_LIMIT_PER_MAC=1000, PORTAL_LIMIT_PER_IP=1000,
        ROUTER_TIMEOUT=3.0))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    sim = routers_sim.router("shop")
    with app.app_context():
        upgrade()
        owner = accounts.create_user("owner", PASSWORD)
        router = routers.create_router(owner, {"name": "Kibera Shop", "host": sim.host, "port": sim.api_port,
                                               "protocol": "api", "username": "admin", "password": SIM_PASSWORD})
        package = packages.create_package(owner, router.id, {
            "name": "1 Hour", "package_type": "hourly", "duration_hours": 1, "price": PRICE,
            "download_speed_mbps": 5, "upload_speed_mbps": 2}).package
        assert package is not None
        payments.update_settings(owner, {"consumer_key": daraja.consumer_key, "consumer_secret": daraja.consumer_secret,
                                         "passkey": SANDBOX_PASSKEY, "shortcode": SANDBOX_SHORTCODE})
        site = portal.site_for(router)
        site.pool_size = 3
        db.session.commit()
        portal.replenish_pool(router.id)
        from webapp.services.portal_links import sms_delivery_token

        with app.test_request_context():
            sms.set_delivery_url(f"{url}/sms/delivery/{sms_delivery_token()}/")
        ids = (owner.id, router.id, package.id, site.slug)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Shop(url, app, daraja, sms, sim, *ids)
    finally:
        portal.wait_for_follow_ups()
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        gateway.close_pool()
        routers_sim.stop()
        sms.stop()
        daraja.stop()
        with app.app_context():
            db.engine.dispose()
