"""A router that usually sells and falls silent while online raises one alert; the next sale resolves it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.payments.conftest import Shop
from webapp.extensions import db
from webapp.models import Alert, Router, Sale
from webapp.services import sales_silence
from webapp.timeutil import utcnow


def test_silence_raises_one_alert_and_a_sale_resolves_it(shop: Shop) -> None:
    now = utcnow()

    def seed() -> None:
        router = db.session.get(Router, shop.router_id)
        router.is_online = True
        for hours in (30, 40, 50):
            db.session.add(Sale(user_id=shop.owner_id, router_id=shop.router_id, package_id=shop.package_id,
                                package_name="1 Hour", price=Decimal("20.00"), currency="KES",
                                sold_at=now - timedelta(hours=hours)))
        db.session.commit()

    shop.with_app(seed)
    assert shop.with_app(lambda: sales_silence.check(now)) == (1, 0)
    assert shop.with_app(lambda: sales_silence.check(now)) == (0, 0)
    alert = shop.with_app(lambda: db.session.scalar(select(Alert).where(Alert.kind == "sales_silence")))
    assert alert.state == "active" and "No sales on Kibera Shop for 6 hours" in alert.message

    def offline_router_is_not_silent() -> tuple[int, int]:
        db.session.get(Router, shop.router_id).is_online = False
        db.session.commit()
        return sales_silence.check(now)

    assert shop.with_app(offline_router_is_not_silent) == (0, 0)
    public_id = shop.buy("0712 000 401").json()["id"]
    assert shop.wait_settled(public_id)["status"] == "paid"
    assert shop.with_app(lambda: sales_silence.check(utcnow())) == (0, 1)
    resolved = shop.with_app(lambda: db.session.scalar(select(Alert).where(Alert.kind == "sales_silence")))
    assert resolved.state == "resolved"
