"""Frozen terms: a voucher sells at the price printed on it, whatever happens to its package afterwards.

The issue's reproduction: "1 Hour" at KES 20 → batch → price changed to 30 → a customer logs in → sync. The sale,
the batch, the reprint and the CSV must all still say 20.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp.extensions import db
from webapp.models import Router, Sale, User, Voucher
from webapp.services import accounts, hotspot_settings, hotspot_sync, packages, routers, vouchers
from webapp.services.errors import Invalid, ServiceError

SIM_PASSWORD = "sim-pass-123"
T0 = datetime(2025, 8, 13, 9, 0, 0)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "money.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="hs-1", password=SIM_PASSWORD)], host="127.0.0.1", seed=5) as simulator:
        yield simulator.router("hs-1")


@pytest.fixture
def owner(app: Flask) -> Iterator[User]:
    with app.app_context():
        yield accounts.create_user("owner", "correct horse battery")


@pytest.fixture
def router_id(owner: User, sim: SimRouter) -> int:
    return routers.create_router(owner, {"name": "Kisumu Hotspot", "host": sim.host, "port": sim.api_port,
                                         "protocol": "api", "username": "admin", "password": SIM_PASSWORD}).id


def one_hour(**extra: Any) -> dict[str, Any]:
    return {"name": "1 Hour", "package_type": "hourly", "duration_hours": 1, "price": "20",
            "download_speed_mbps": 10, "upload_speed_mbps": 5, **extra}


def test_a_price_change_never_reaches_issued_vouchers(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, one_hour()).package
    assert package is not None
    batch = vouchers.generate_batch(owner, router_id, package.id, 3, now=T0)
    packages.update_package(owner, package.id, {"price": "30", "duration_hours": 3, "download_speed_mbps": 20,
                                                "name": "1 Hour Turbo"})
    hotspot_settings.update_owner_settings(owner, {"currency": "UGX"})  # a later currency switch changes nothing

    sold = batch.vouchers[0]
    assert sim.hotspot_login(sold.code, sold.password)
    now = T0 + timedelta(minutes=5)
    report = hotspot_sync.sync(owner, router_id, now)
    assert [v.code for v in report.activated] == [sold.code]

    sale = db.session.query(Sale).one()
    assert (sale.price, sale.currency, sale.package_name) == (Decimal("20.00"), "KES", "1 Hour")
    voucher = vouchers.get_voucher(owner, sold.id)
    # The duration it was sold with (1 hour), not the package's new 3 hours.
    assert voucher.expires_at is not None and voucher.activated_at is not None
    assert voucher.expires_at - voucher.activated_at == timedelta(hours=1)
    assert (voucher.price, voucher.currency, voucher.download_speed_mbps) == (Decimal("20.00"), "KES", 10)

    stored = vouchers.get_batch(owner, batch.batch.id)
    assert (stored.package_name, stored.price, stored.currency, stored.duration_minutes) == (
        "1 Hour", Decimal("20.00"), "KES", 60)
    sheet = vouchers.print_sheet(owner, batch.batch.id)
    assert (sheet.package_name, sheet.price, sheet.validity) == ("1 Hour", "KES 20.00", "1 hour")
    csv_lines = vouchers.vouchers_csv(owner, batch_id=batch.batch.id).splitlines()[1:]
    assert len(csv_lines) == 3 and all(",1 Hour,20.00,KES,1 hour," in line for line in csv_lines)

    # A batch made after the change carries the new terms.
    later = vouchers.generate_batch(owner, router_id, package.id, 1, now=now).batch
    assert (later.package_name, later.price, later.currency, later.duration_minutes) == (
        "1 Hour Turbo", Decimal("30.00"), "UGX", 180)


def test_router_limits_come_from_the_frozen_terms(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, one_hour(duration_hours=2)).package
    assert package is not None
    batch = vouchers.generate_batch(owner, router_id, package.id, 1, now=T0)
    packages.update_package(owner, package.id, {"duration_hours": 5})
    code = batch.vouchers[0].code
    sim.execute("/ip/hotspot/user/remove", {".id": code})  # the router lost it; the sync pushes it again
    db.session.execute(update(Voucher).values(on_router=False))
    db.session.commit()
    assert hotspot_sync.sync(owner, router_id, T0).pushed_vouchers == 1
    row = {r["name"]: r for r in sim.execute("/ip/hotspot/user/print")}[code]
    assert row["limit-uptime"] == "2h"


@pytest.mark.parametrize(("price", "ok"), [("0.01", False), ("0.00", False), ("0.02", True), ("20", True)])
def test_prices_must_be_greater_than_one_cent(owner: User, router_id: int, price: str, ok: bool) -> None:
    if ok:
        created = packages.create_package(owner, router_id, one_hour(price=price)).package
        assert created is not None and created.price == Decimal(price)
        return
    with pytest.raises(Invalid) as caught:
        packages.create_package(owner, router_id, one_hour(price=price))
    assert caught.value.fields["price"] == "Must be greater than 0.01."


def test_a_race_on_the_derived_profile_name_alone_draws_another(
    owner: User, router_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = packages.create_package(owner, router_id, one_hour(name="Cafe")).package
    assert first is not None and first.profile_name == "rd-cafe"
    # Another request derived "rd-cafe" for "Café" before this one's insert landed: the unique key answers,
    # and the second draw (which now sees the stored row) picks the next free name instead of a 409.
    real = packages.derive_profile_name
    draws = iter(["rd-cafe"])
    monkeypatch.setattr(packages, "derive_profile_name", lambda name, taken: next(draws, None) or real(name, taken))
    second = packages.create_package(owner, router_id, one_hour(name="Café")).package
    assert second is not None and second.profile_name == "rd-cafe-2"


def test_two_syncs_at_once_sell_a_voucher_once(app: Flask, owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, one_hour()).package
    assert package is not None
    codes = list(vouchers.generate_batch(owner, router_id, package.id, 5, now=T0).vouchers)
    for voucher in codes:
        assert sim.hotspot_login(voucher.code, voucher.password)
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def one_sync() -> None:
        with app.app_context():
            try:
                router = db.session.get(Router, router_id)
                assert router is not None
                barrier.wait(timeout=10)
                hotspot_sync.sync_router(router, T0 + timedelta(minutes=5))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=one_sync) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not [e for e in errors if not isinstance(e, ServiceError)], errors
    db.session.expire_all()
    sales = db.session.query(Sale).all()
    assert sorted(s.voucher_id for s in sales) == sorted(v.id for v in codes)  # each sold exactly once
    assert sum(s.price for s in sales) == Decimal("100.00")
