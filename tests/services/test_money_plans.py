"""Plans the market sells: 30-minute, hourly, daily, weekly and monthly packages, data caps, devices per voucher,
a first-use window; the contract's ``duration_hours`` keeps its meaning (whole hours, 0 under an hour)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp.extensions import db
from webapp.models import Sale, User
from webapp.services import accounts, gateway, hotspot_sync, packages, routers, vouchers
from webapp.services.errors import Invalid, RouterUnreachable

SIM_PASSWORD = "sim-pass-123"
T0 = datetime(2025, 8, 13, 9, 0, 0)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "plans.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="hs-1", password=SIM_PASSWORD)], host="127.0.0.1", seed=9) as simulator:
        yield simulator.router("hs-1")


@pytest.fixture
def owner(app: Flask) -> Iterator[User]:
    with app.app_context():
        yield accounts.create_user("owner", "correct horse battery")


@pytest.fixture
def router_id(owner: User, sim: SimRouter) -> int:
    return routers.create_router(owner, {"name": "Kisumu Hotspot", "host": sim.host, "port": sim.api_port,
                                         "protocol": "api", "username": "admin", "password": SIM_PASSWORD}).id


def plan(name: str, package_type: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "package_type": package_type, "price": "50", "download_speed_mbps": 5,
            "upload_speed_mbps": 2, **extra}


GOOD = [
    ("minutes", {"duration_minutes": 30}, 30, 0, "30 minutes"),
    ("minutes", {"duration_minutes": 10}, 10, 0, "10 minutes"),
    ("minutes", {"duration_minutes": 90}, 90, 1, "90 minutes"),
    ("hourly", {"duration_hours": 1}, 60, 1, "1 hour"),
    ("hourly", {"duration_hours": 24}, 1440, 24, "24 hours"),
    ("hourly", {"duration_minutes": 180, "duration_hours": 3}, 180, 3, "3 hours"),
    ("daily", {}, 1440, 24, "1 day"),
    ("daily", {"duration_minutes": 3 * 1440}, 3 * 1440, 72, "3 days"),
    ("daily", {"duration_hours": 365 * 24}, 365 * 1440, 8760, "365 days"),
    ("weekly", {}, 10080, 168, "1 week"),
    ("weekly", {"duration_minutes": 2 * 10080}, 2 * 10080, 336, "2 weeks"),
    ("monthly", {}, 43200, 720, "1 month"),
    ("monthly", {"duration_hours": 720}, 43200, 720, "1 month"),
    ("monthly", {"duration_minutes": 12 * 43200}, 12 * 43200, 8640, "12 months"),
]


@pytest.mark.parametrize(("package_type", "duration", "minutes", "hours", "display"), GOOD)
def test_every_plan_type_within_its_range(owner: User, router_id: int, package_type: str, duration: dict[str, int],
                                          minutes: int, hours: int, display: str) -> None:
    created = packages.create_package(owner, router_id, plan("P", package_type, **duration)).package
    assert created is not None
    assert (created.duration_minutes, created.duration_hours) == (minutes, hours)
    assert packages.duration_display(created.duration_minutes, created.package_type) == display


BAD = [
    ("minutes", {"duration_minutes": 9}, "duration_minutes"),
    ("minutes", {"duration_minutes": 1441}, "duration_minutes"),
    ("minutes", {}, "duration_hours"),
    ("hourly", {"duration_hours": 25}, "duration_hours"),
    ("hourly", {"duration_minutes": 90}, "duration_minutes"),
    ("daily", {"duration_minutes": 1500}, "duration_minutes"),
    ("daily", {"duration_minutes": 366 * 1440}, "duration_minutes"),
    ("weekly", {"duration_minutes": 53 * 10080}, "duration_minutes"),
    ("weekly", {"duration_hours": 24}, "duration_hours"),
    ("monthly", {"duration_hours": 24}, "duration_hours"),
    ("monthly", {"duration_minutes": 13 * 43200}, "duration_minutes"),
    ("hourly", {"duration_minutes": 120, "duration_hours": 3}, "duration_hours"),
    ("hourly", {"duration_hours": 1, "data_limit_mb": 0}, "data_limit_mb"),
    ("hourly", {"duration_hours": 1, "validity_days": 366}, "validity_days"),
]


@pytest.mark.parametrize(("package_type", "duration", "field"), BAD)
def test_durations_outside_the_plan_are_refused(owner: User, router_id: int, package_type: str,
                                                duration: dict[str, int], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        packages.create_package(owner, router_id, plan("P", package_type, **duration))
    assert field in caught.value.fields, caught.value.fields


def test_a_data_capped_multi_device_plan_reaches_the_router(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, plan("1GB Daily", "daily", data_limit_mb=1024,
                                                             shared_users=3)).package
    assert package is not None
    profile = {r["name"]: r for r in sim.execute("/ip/hotspot/user/profile/print")}[package.profile_name]
    assert profile["shared-users"] == "3"
    batch = vouchers.generate_batch(owner, router_id, package.id, 2, now=T0)
    users = {r["name"]: r for r in sim.execute("/ip/hotspot/user/print")}
    for voucher in batch.vouchers:
        assert users[voucher.code]["limit-bytes-total"] == str(1024 * 1024 * 1024)
        assert users[voucher.code]["limit-uptime"] == "1d"
    assert batch.batch.data_limit_mb == 1024 and batch.vouchers[0].data_limit_mb == 1024


def test_an_unused_voucher_past_its_first_use_window_expires_unsold(owner: User, router_id: int,
                                                                    sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, plan("Week pass", "weekly", validity_days=7)).package
    assert package is not None
    batch = vouchers.generate_batch(owner, router_id, package.id, 2, now=T0)
    used, idle = batch.vouchers
    assert used.use_before == T0 + timedelta(days=7)
    assert sim.hotspot_login(used.code, used.password)
    hotspot_sync.sync(owner, router_id, T0 + timedelta(days=1))
    report = hotspot_sync.sync(owner, router_id, T0 + timedelta(days=7, minutes=1))
    assert [v.code for v in report.expired] == [idle.code]
    assert vouchers.get_voucher(owner, idle.id).state == "expired"
    assert vouchers.get_voucher(owner, used.id).state == "active"  # a week from its first use, not from issue
    assert idle.code not in {r["name"] for r in sim.execute("/ip/hotspot/user/print")}
    assert [s.voucher_id for s in db.session.query(Sale)] == [used.id]


def test_the_window_is_not_enforced_blind_while_the_router_is_offline(owner: User, router_id: int,
                                                                      sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, plan("Day", "daily", validity_days=1)).package
    assert package is not None
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1, now=T0).vouchers[0]
    assert sim.hotspot_login(voucher.code, voucher.password)  # used in time, not yet seen by any sync
    sim.set_fault("refuse")
    gateway.close_pool()
    with pytest.raises(RouterUnreachable):
        hotspot_sync.sync(owner, router_id, T0 + timedelta(days=2))
    assert vouchers.get_voucher(owner, voucher.id).state == "unused"
    sim.clear_faults()
    hotspot_sync.sync(owner, router_id, T0 + timedelta(days=2, minutes=1))
    assert vouchers.get_voucher(owner, voucher.id).state in ("active", "expired")
    assert db.session.query(Sale).count() == 1
