"""Vouchers keep working: every sync checks that each usable voucher is on the router with the right profile,
pushes back what a reset or replaced router lost, says so (event + alert), and notices a replaced device.
Also the free trial, which the sync applies when the router could not be reached at save time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp.extensions import db
from webapp.models import Alert, HotspotSite, MonitorEvent, Sale, User
from webapp.services import accounts, gateway, hotspot_sync, hotspot_trial, packages, routers, vouchers
from webapp.services.errors import Invalid, NotFound

SIM_PASSWORD = "sim-pass-123"
T0 = datetime(2025, 8, 13, 9, 0, 0)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "checks.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="kisumu", password=SIM_PASSWORD)], host="127.0.0.1", seed=11) as simulator:
        yield simulator.router("kisumu")


@pytest.fixture
def owner(app: Flask) -> Iterator[User]:
    with app.app_context():
        yield accounts.create_user("owner", "correct horse battery")


@pytest.fixture
def router_id(owner: User, sim: SimRouter) -> int:
    return routers.create_router(owner, {"name": "kisumu-hotspot", "host": sim.host, "port": sim.api_port,
                                         "protocol": "api", "username": "admin", "password": SIM_PASSWORD}).id


def users(sim: SimRouter) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in sim.execute("/ip/hotspot/user/print")}


def reset_hotspot(sim: SimRouter) -> None:
    """What a reset (or a replacement router configured by hand) leaves: no RouterDeck users or profiles."""
    for row in sim.execute("/ip/hotspot/user/print"):
        if row.get("comment", "").startswith("rd-batch-"):
            sim.execute("/ip/hotspot/user/remove", {".id": row[".id"]})
    for row in sim.execute("/ip/hotspot/user/profile/print"):
        if row["name"].startswith("rd-"):
            sim.execute("/ip/hotspot/user/profile/remove", {".id": row[".id"]})


def hour_package(owner: User, router_id: int) -> Any:
    package = packages.create_package(owner, router_id, {
        "name": "1 Hour", "package_type": "hourly", "duration_hours": 2, "price": "20",
        "download_speed_mbps": 10, "upload_speed_mbps": 5}).package
    assert package is not None
    return package


def test_a_reset_router_gets_its_vouchers_and_profiles_back(owner: User, router_id: int, sim: SimRouter) -> None:
    package = hour_package(owner, router_id)
    batch = vouchers.generate_batch(owner, router_id, package.id, 14, now=T0)
    sold = batch.vouchers[0]
    assert sim.hotspot_login(sold.code, sold.password)
    hotspot_sync.sync(owner, router_id, T0 + timedelta(minutes=30))
    assert vouchers.get_voucher(owner, sold.id).state == "active"

    reset_hotspot(sim)
    # Before: the batch said "on router", the sync pushed nothing and printed vouchers were refused.
    assert not sim.hotspot_login(batch.vouchers[1].code, batch.vouchers[1].password)
    now = T0 + timedelta(minutes=45)
    report = hotspot_sync.sync(owner, router_id, now)

    assert len(report.missing) == 14 and report.restored == 14
    assert report.missing_profiles == [package.profile_name]
    on_router = users(sim)
    assert {v.code for v in batch.vouchers} <= set(on_router)
    assert all(on_router[v.code]["profile"] == package.profile_name for v in batch.vouchers)
    # The sold voucher keeps what is left of its time (activated at T0+30: 1 h 45 min left), not 2 fresh hours.
    activated = vouchers.get_voucher(owner, sold.id).activated_at
    assert activated is not None
    left = activated + timedelta(hours=2) - now
    assert on_router[sold.code]["limit-uptime"] == vouchers.router_duration(-(-int(left.total_seconds()) // 60))
    assert sim.hotspot_login(batch.vouchers[1].code, batch.vouchers[1].password)

    message = "14 vouchers were missing on kisumu-hotspot and were restored"
    event = db.session.scalars(select(MonitorEvent).where(MonitorEvent.kind == "vouchers_restored")).one()
    alert = db.session.scalars(select(Alert).where(Alert.kind == "vouchers_missing")).one()
    assert event.message == message and alert.message == message and alert.state == "active"
    stored = vouchers.get_batch(owner, batch.batch.id)
    assert (stored.checked_at, stored.missing_at_check, stored.push_state) == (now, 14, "pushed")
    assert db.session.query(Sale).count() == 1  # restoring sells nothing

    quiet = hotspot_sync.sync(owner, router_id, now + timedelta(minutes=5))
    assert quiet.missing == [] and vouchers.get_batch(owner, batch.batch.id).missing_at_check == 0
    assert db.session.query(Alert).filter_by(kind="vouchers_missing").count() == 1


def test_a_voucher_user_with_the_wrong_profile_is_set_right(owner: User, router_id: int, sim: SimRouter) -> None:
    package = hour_package(owner, router_id)
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1, now=T0).vouchers[0]
    sim.execute("/ip/hotspot/user/set", {".id": voucher.code, "profile": "default"})
    report = hotspot_sync.sync(owner, router_id, T0)
    assert report.profile_fixed == 1 and report.missing == []
    assert users(sim)[voucher.code]["profile"] == package.profile_name


def test_a_replaced_router_is_flagged(owner: User, router_id: int, sim: SimRouter) -> None:
    hotspot_sync.sync(owner, router_id, T0)
    site = db.session.get(HotspotSite, router_id)
    assert site is not None and site.router_serial and site.replaced_at is None
    sim.execute("/system/identity/set", {"name": "MikroTik"})  # what a factory-fresh replacement calls itself
    report = hotspot_sync.sync(owner, router_id, T0 + timedelta(minutes=5))
    assert report.replaced is not None and "identity kisumu → MikroTik" in report.replaced
    site = db.session.get(HotspotSite, router_id)
    assert site is not None and site.replaced_at == T0 + timedelta(minutes=5)
    assert db.session.query(Alert).filter_by(kind="router_replaced").count() == 1
    assert hotspot_sync.sync(owner, router_id, T0 + timedelta(minutes=10)).replaced is None  # flagged once


def server_profile(sim: SimRouter) -> dict[str, str]:
    return {row["name"]: row for row in sim.execute("/ip/hotspot/profile/print")}["hsprof1"]


def test_the_free_trial_is_set_on_the_hotspot_server_profile(owner: User, router_id: int, sim: SimRouter) -> None:
    package = hour_package(owner, router_id)
    result = hotspot_trial.update_trial(owner, router_id, {"trial_enabled": True, "trial_minutes": 15,
                                                           "trial_reset_hours": 24, "trial_package_id": package.id})
    assert result.error is None and result.site.trial_sync_state == "synced"
    profile = server_profile(sim)
    assert "trial" in profile["login-by"].split(",") and "http-chap" in profile["login-by"].split(",")
    assert (profile["trial-uptime-limit"], profile["trial-uptime-reset"], profile["trial-user-profile"]) == (
        "15m", "1d", package.profile_name)
    assert hotspot_trial.update_trial(owner, router_id, {"trial_enabled": True}).commands == []  # idempotent

    hotspot_trial.update_trial(owner, router_id, {"trial_enabled": False})
    assert "trial" not in server_profile(sim)["login-by"].split(",")
    with pytest.raises(Invalid):
        hotspot_trial.update_trial(owner, router_id, {"trial_minutes": 0})
    with pytest.raises(NotFound):
        hotspot_trial.update_trial(owner, router_id, {"trial_package_id": 999})


def test_a_trial_saved_while_the_router_is_down_is_applied_by_the_sync(owner: User, router_id: int,
                                                                         sim: SimRouter) -> None:
    sim.set_fault("refuse")
    gateway.close_pool()
    result = hotspot_trial.update_trial(owner, router_id, {"trial_enabled": True})
    assert result.error is not None and result.site.trial_sync_state == "pending"
    sim.clear_faults()
    report = hotspot_sync.sync(owner, router_id, T0)
    assert report.trial_commands == 1
    assert "trial" in server_profile(sim)["login-by"].split(",")
    site = db.session.get(HotspotSite, router_id)
    assert site is not None and site.trial_sync_state == "synced"
