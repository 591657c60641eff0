"""The hotspot services against the simulator: packages as profiles, vouchers as users, activation, expiry, sales.

Each test gets its own simulated router (it starts in milliseconds), so router state never leaks between tests.
Times are passed in as ``now``; nothing here waits for the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.conftest import make_config
from webapp.extensions import db
from webapp.models import Package, Sale, User, Voucher
from webapp.services import accounts, gateway, hotspot_settings, hotspot_sync, packages, routers, sales, vouchers
from webapp.services.errors import Conflict, Invalid, NotFound, RouterUnreachable

SIM_PASSWORD = "sim-pass-123"
T0 = datetime(2025, 8, 13, 9, 0, 0)


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "hotspot.db", ROUTER_TIMEOUT=1.0)


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="hs-1", password=SIM_PASSWORD)], host="127.0.0.1", seed=3) as simulator:
        yield simulator.router("hs-1")


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


@pytest.fixture
def owner(ctx: None) -> User:
    return accounts.create_user("owner", "correct horse battery")


@pytest.fixture
def stranger(ctx: None) -> User:
    return accounts.create_user("stranger", "correct horse battery")


@pytest.fixture
def router_id(owner: User, sim: SimRouter) -> int:
    router = routers.create_router(owner, {"name": "Kibera Hotspot", "host": sim.host, "port": sim.api_port,
                                           "protocol": "api", "username": "admin", "password": SIM_PASSWORD})
    return router.id


def basic(**extra: Any) -> dict[str, Any]:
    return {"name": "Basic Hourly", "package_type": "hourly", "duration_hours": 1, "price": "2.50",
            "download_speed_mbps": 10, "upload_speed_mbps": 5, "description": "1 hour", **extra}


def profiles(sim: SimRouter) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in sim.execute("/ip/hotspot/user/profile/print")}


def hotspot_users(sim: SimRouter) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in sim.execute("/ip/hotspot/user/print")}


def test_rate_limit_is_written_from_the_routers_side(owner: User, router_id: int, sim: SimRouter) -> None:
    change = packages.create_package(owner, router_id, basic(download_speed_mbps=10, upload_speed_mbps=5))
    assert change.synced and change.package is not None
    profile = profiles(sim)[change.package.profile_name]
    # rx (what the router receives = the client's upload) first, tx (the client's download) second.
    assert profile["rate-limit"] == "5M/10M"
    assert profile["shared-users"] == "1"
    assert change.package.profile_name == "rd-basic-hourly"
    assert [c.text for c in change.commands] == [
        "/ip/hotspot/user/profile/add name=rd-basic-hourly rate-limit=5M/10M shared-users=1"]
    assert change.package.sync_state == "synced"


def test_profile_names_are_safe_and_unique(owner: User, router_id: int, sim: SimRouter) -> None:
    first = packages.create_package(owner, router_id, basic(name="Café 1h «VIP»")).package
    second = packages.create_package(owner, router_id, basic(name="Cafe 1h VIP")).package
    assert first is not None and second is not None
    assert first.profile_name == "rd-cafe-1h-vip" and second.profile_name == "rd-cafe-1h-vip-2"
    assert {"rd-cafe-1h-vip", "rd-cafe-1h-vip-2"} <= set(profiles(sim))


BAD_PACKAGES = [
    ({"price": "0.00"}, "price"),
    ({"price": "2.505"}, "price"),
    ({"price": "abc"}, "price"),
    ({"duration_hours": 25}, "duration_hours"),
    ({"duration_hours": 0}, "duration_hours"),
    ({"package_type": "monthly", "duration_hours": 24}, "duration_hours"),
    ({"package_type": "yearly"}, "package_type"),
    ({"download_speed_mbps": None}, "download_speed_mbps"),
    ({"upload_speed_mbps": ""}, "upload_speed_mbps"),
    ({"name": "  "}, "name"),
    ({"shared_users": 0}, "shared_users"),
]


def test_package_validation(owner: User, router_id: int) -> None:
    for data, field in BAD_PACKAGES:
        with pytest.raises(Invalid) as caught:
            packages.create_package(owner, router_id, basic(**data))
        assert field in caught.value.fields, data


def test_names_are_unique_per_router_and_monthly_defaults_to_720(owner: User, router_id: int) -> None:
    packages.create_package(owner, router_id, basic())
    with pytest.raises(Invalid) as caught:
        packages.create_package(owner, router_id, basic(name="basic hourly"))
    assert "name" in caught.value.fields
    monthly = packages.create_package(owner, router_id, basic(name="Monthly", package_type="monthly",
                                                              duration_hours=None, price="150")).package
    assert monthly is not None and monthly.duration_hours == 720 and monthly.price == Decimal("150.00")


def test_dry_run_sends_nothing_and_names_the_commands(owner: User, router_id: int, sim: SimRouter) -> None:
    preview = packages.create_package(owner, router_id, basic(), dry_run=True)
    assert preview.dry_run and preview.router_checked
    assert [c.action for c in preview.commands] == ["add"]
    assert "rd-basic-hourly" not in profiles(sim)
    assert db.session.query(Package).count() == 0

    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    preview = packages.update_package(owner, package.id, {"download_speed_mbps": 20}, dry_run=True)
    assert [c.text for c in preview.commands] == [
        '/ip/hotspot/user/profile/set [find name=rd-basic-hourly] rate-limit=5M/20M']
    assert profiles(sim)["rd-basic-hourly"]["rate-limit"] == "5M/10M"
    assert packages.get_package(owner, package.id).download_speed_mbps == 10


def test_edit_and_deactivate_update_the_router(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    packages.update_package(owner, package.id, {"upload_speed_mbps": 2, "shared_users": 3})
    assert profiles(sim)["rd-basic-hourly"]["rate-limit"] == "2M/10M"
    assert profiles(sim)["rd-basic-hourly"]["shared-users"] == "3"
    change = packages.update_package(owner, package.id, {"is_active": False})
    assert [c.action for c in change.commands] == ["remove"]
    assert "rd-basic-hourly" not in profiles(sim)
    _, active = packages.list_packages(owner, router_id)
    _, everything = packages.list_packages(owner, router_id, include_inactive=True)
    assert active == [] and [p.id for p in everything] == [package.id]


def test_offline_router_leaves_the_package_pending_then_sync_pushes_it(
    owner: User, router_id: int, sim: SimRouter
) -> None:
    sim.set_fault("refuse")
    change = packages.create_package(owner, router_id, basic())
    assert not change.synced and change.package is not None
    assert change.package.sync_state == "pending" and change.package.sync_error
    preview = packages.update_package(owner, change.package.id, {"price": "3.00"}, dry_run=True)
    assert not preview.router_checked and [c.action for c in preview.commands] == ["add"]
    with pytest.raises(RouterUnreachable):
        hotspot_sync.sync(owner, router_id, T0)
    sim.clear_faults()
    report = hotspot_sync.sync(owner, router_id, T0)
    assert report.pushed_packages == 1
    assert packages.get_package(owner, change.package.id).sync_state == "synced"
    assert profiles(sim)["rd-basic-hourly"]["rate-limit"] == "5M/10M"


def test_drift_and_reconcile_both_ways(owner: User, router_id: int, sim: SimRouter) -> None:
    kept = packages.create_package(owner, router_id, basic()).package
    gone = packages.create_package(owner, router_id, basic(name="Daily", duration_hours=24)).package
    assert kept is not None and gone is not None
    sim.execute("/ip/hotspot/user/profile/set", {".id": kept.profile_name, "rate-limit": "1M/1M"})
    sim.execute("/ip/hotspot/user/profile/remove", {".id": gone.profile_name})
    sim.execute("/ip/hotspot/user/profile/add", {"name": "weekend", "rate-limit": "4M/8M", "shared-users": "2"})

    _, items = packages.drift(owner, router_id)
    kinds = {item.profile: item.kind for item in items}
    assert kinds == {"rd-basic-hourly": "different", "rd-daily": "missing", "1h-2M": "extra", "weekend": "extra"}
    different = next(i for i in items if i.kind == "different")
    assert different.differences == {"rate-limit": ("5M/10M", "1M/1M")}

    sent, _ = packages.reconcile(owner, router_id, "push", ["rd-basic-hourly", "rd-daily"])
    assert sorted(c.action for c in sent) == ["add", "set"]
    assert profiles(sim)["rd-basic-hourly"]["rate-limit"] == "5M/10M" and "rd-daily" in profiles(sim)

    with pytest.raises(Invalid):
        packages.reconcile(owner, router_id, "pull", ["weekend"])
    _, imported = packages.reconcile(owner, router_id, "pull", ["weekend"], import_price="20")
    assert imported[0].name == "weekend" and not imported[0].is_active
    assert (imported[0].download_speed_mbps, imported[0].upload_speed_mbps, imported[0].shared_users) == (8, 4, 2)

    sim.execute("/ip/hotspot/user/profile/set", {".id": kept.profile_name, "rate-limit": "3M/6M"})
    packages.reconcile(owner, router_id, "pull", [kept.profile_name])
    adopted = packages.get_package(owner, kept.id)
    assert (adopted.download_speed_mbps, adopted.upload_speed_mbps) == (6, 3)

    packages.reconcile(owner, router_id, "push", ["1h-2M", "weekend"])
    remaining = {i.profile: i.kind for i in packages.drift(owner, router_id)[1]}
    assert "1h-2M" not in profiles(sim) and remaining == {}


def test_vouchers_are_unique_readable_and_pushed(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    sim.execute("/ip/hotspot/user/add", {"name": "KEEPME22", "password": "x"})
    result = vouchers.generate_batch(owner, router_id, package.id, 50, code_length=6, prefix="kb")
    assert result.error is None and result.pushed == 50 and result.batch.push_state == "pushed"
    codes = [v.code for v in result.vouchers]
    assert len(set(codes)) == 50
    assert all(c.startswith("KB") and len(c) == 8 for c in codes)
    assert not set("".join(c[2:] for c in codes)) & set("0O1lI")
    on_router = hotspot_users(sim)
    for voucher in result.vouchers:
        row = on_router[voucher.code]
        assert row["password"] == voucher.code and row["profile"] == "rd-basic-hourly"
        assert row["limit-uptime"] == "1h" and row["comment"] == f"rd-batch-{result.batch.id}"
    pin = vouchers.generate_batch(owner, router_id, package.id, 3, mode="pin", pin_length=5)
    assert all(v.password.isdigit() and len(v.password) == 5 and v.password != v.code for v in pin.vouchers)
    assert hotspot_users(sim)[pin.vouchers[0].code]["password"] == pin.vouchers[0].password
    with pytest.raises(Invalid):
        vouchers.generate_batch(owner, router_id, package.id, 1001)
    with pytest.raises(Invalid):
        vouchers.generate_batch(owner, router_id, package.id, 5, mode="nope", prefix="too-long!")


def test_a_code_already_on_the_router_is_withdrawn_never_sold(owner: User, router_id: int, sim: SimRouter,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    sim.execute("/ip/hotspot/user/add", {"name": "AAAA", "password": "x"})
    draws = iter(["AAAA", "BBBB"])
    monkeypatch.setattr(vouchers, "random_code", lambda length, prefix="": prefix + next(draws))
    result = vouchers.generate_batch(owner, router_id, package.id, 2, code_length=4)
    states = {v.code: vouchers.get_voucher(owner, v.id).state for v in result.vouchers}
    assert states == {"AAAA": "revoked", "BBBB": "unused"}
    assert result.job is not None and result.job.errors == [
        {"item": "AAAA", "error": "a router user with this name already exists"}]
    assert hotspot_users(sim)["AAAA"].get("password") == "x"  # the stranger's user is left alone


def test_offline_batch_is_pushed_by_the_next_sync(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    sim.set_fault("refuse")
    gateway.close_pool()  # "refuse" closes the listeners only; the warm pooled connection would still answer
    result = vouchers.generate_batch(owner, router_id, package.id, 5)
    assert result.pushed == 0 and result.batch.push_state == "pending"
    sim.clear_faults()
    report = hotspot_sync.sync(owner, router_id, T0)
    assert report.pushed_vouchers == 5
    assert {v.code for v in result.vouchers} <= set(hotspot_users(sim))
    assert vouchers.get_batch(owner, result.batch.id).push_state == "pushed"


def test_voucher_activates_sells_expires_and_is_removed_and_kicked(
    owner: User, router_id: int, sim: SimRouter
) -> None:
    package = packages.create_package(owner, router_id, basic(duration_hours=2, price="30")).package
    assert package is not None
    batch = vouchers.generate_batch(owner, router_id, package.id, 3, now=T0)
    first, second = batch.vouchers[0], batch.vouchers[1]
    assert hotspot_sync.sync(owner, router_id, T0).activated == []

    assert sim.hotspot_login(first.code, first.password, mac="AA:BB:CC:00:00:07")
    sim.add_traffic(seconds=600)
    now = T0 + timedelta(minutes=15)
    report = hotspot_sync.sync(owner, router_id, now)
    assert [v.code for v in report.activated] == [first.code]
    voucher = vouchers.get_voucher(owner, first.id)
    assert voucher.state == "active" and voucher.mac_address == "AA:BB:CC:00:00:07"
    assert voucher.activated_at == now - timedelta(seconds=600)
    assert voucher.expires_at == voucher.activated_at + timedelta(hours=2)
    sale = db.session.query(Sale).one()
    assert (sale.price, sale.currency, sale.package_name, sale.batch_id) == (
        Decimal("30.00"), "KES", "Basic Hourly", batch.batch.id)
    assert hotspot_sync.sync(owner, router_id, now + timedelta(minutes=1)).activated == []  # sold once

    # Logged out and never back: the wall clock still runs out.
    sim.hotspot_logout(first.code)
    assert sim.hotspot_login(first.code, first.password)  # back for more, still within time
    report = hotspot_sync.sync(owner, router_id, voucher.expires_at + timedelta(seconds=1))
    assert [v.code for v in report.expired] == [first.code] and report.cleaned == 1
    assert first.code not in hotspot_users(sim)
    assert all(s["user"] != first.code for s in sim.execute("/ip/hotspot/active/print"))
    assert vouchers.get_voucher(owner, first.id).state == "expired"
    assert vouchers.get_voucher(owner, second.id).state == "unused"


def test_expiry_can_disable_instead_of_remove(owner: User, router_id: int, sim: SimRouter) -> None:
    hotspot_settings.update_site(owner, router_id, {"expiry_action": "disable"})
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1, now=T0).vouchers[0]
    sim.hotspot_login(voucher.code, voucher.password)
    hotspot_sync.sync(owner, router_id, T0)
    hotspot_sync.sync(owner, router_id, T0 + timedelta(hours=1, seconds=1))
    assert hotspot_users(sim)[voucher.code]["disabled"] == "true"
    assert not sim.hotspot_login(voucher.code, voucher.password)


def test_expiry_is_recorded_while_the_router_is_offline(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1, now=T0).vouchers[0]
    sim.hotspot_login(voucher.code, voucher.password)
    hotspot_sync.sync(owner, router_id, T0)
    sim.set_fault("refuse")
    gateway.close_pool()
    with pytest.raises(RouterUnreachable):
        hotspot_sync.sync(owner, router_id, T0 + timedelta(hours=2))
    assert vouchers.get_voucher(owner, voucher.id).state == "expired"
    assert voucher.code in hotspot_users(sim)
    sim.clear_faults()
    assert hotspot_sync.sync(owner, router_id, T0 + timedelta(hours=2, minutes=5)).cleaned == 1
    assert voucher.code not in hotspot_users(sim)


def test_revoke_removes_the_user_and_kicks(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1).vouchers[0]
    sim.hotspot_login(voucher.code, voucher.password)
    vouchers.revoke(owner, voucher.id)
    assert voucher.code not in hotspot_users(sim) and sim.execute("/ip/hotspot/active/print") == []
    with pytest.raises(Conflict):
        vouchers.revoke(owner, voucher.id)


def test_package_with_usable_vouchers_keeps_its_profile_and_cannot_be_deleted(
    owner: User, router_id: int, sim: SimRouter
) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1).vouchers[0]
    packages.update_package(owner, package.id, {"is_active": False})
    assert "rd-basic-hourly" in profiles(sim)  # the unused voucher still needs it
    with pytest.raises(Conflict):
        packages.delete_package(owner, package.id)
    vouchers.revoke(owner, voucher.id)
    change = packages.delete_package(owner, package.id)
    assert [c.action for c in change.commands] == ["remove"] and "rd-basic-hourly" not in profiles(sim)


def test_sessions_and_kick(owner: User, router_id: int, sim: SimRouter) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    voucher = vouchers.generate_batch(owner, router_id, package.id, 1).vouchers[0]
    sim.hotspot_login(voucher.code, voucher.password, mac="AA:BB:CC:00:00:09", address="10.5.50.77")
    sim.add_traffic(seconds=120)
    _, sessions = hotspot_sync.active_sessions(owner, router_id)
    assert len(sessions) == 1
    session = sessions[0]
    assert (session.user, session.address, session.mac_address) == (voucher.code, "10.5.50.77", "AA:BB:CC:00:00:09")
    assert session.uptime_seconds == 120 and session.bytes_out > 0 and session.voucher is not None
    assert hotspot_sync.kick(owner, router_id, session.id) == voucher.code
    assert hotspot_sync.active_sessions(owner, router_id)[1] == []
    with pytest.raises(NotFound):
        hotspot_sync.kick(owner, router_id, session.id)


def _sale(owner: User, router_id: int, when: datetime, price: str) -> None:
    db.session.add(Sale(user_id=owner.id, router_id=router_id, package_name="P", price=Decimal(price),
                        currency="KES", sold_at=when))
    db.session.commit()


def test_sales_totals_follow_the_owners_days_and_months(owner: User, router_id: int) -> None:
    # Nairobi is UTC+3: 22:30 UTC on 31 December is already 1 January there.
    _sale(owner, router_id, datetime(2024, 12, 31, 20, 0), "100.00")
    _sale(owner, router_id, datetime(2024, 12, 31, 22, 30), "1400.00")
    _sale(owner, router_id, datetime(2025, 1, 1, 10, 0), "0.50")
    daily = sales.report(owner, period="daily", start=date(2024, 12, 31), end=date(2025, 1, 1))
    assert [(b.key, b.count, b.total) for b in daily.buckets] == [
        ("2024-12-31", 1, Decimal("100.00")), ("2025-01-01", 2, Decimal("1400.50"))]
    assert daily.show(daily.total) == "KES 1,500.50"
    monthly = sales.report(owner, period="monthly", end=date(2025, 1, 31), now=datetime(2025, 1, 31))
    assert len(monthly.buckets) == 12 and monthly.buckets[0].key == "2024-02"
    assert [(b.key, b.total) for b in monthly.buckets[-2:]] == [("2024-12", Decimal("100.00")),
                                                                ("2025-01", Decimal("1400.50"))]
    hotspot_settings.update_owner_settings(owner, {"timezone": "UTC"})
    assert sales.report(owner, period="monthly", start=date(2024, 12, 1), end=date(2025, 1, 1)).buckets[0].total \
        == Decimal("1500.00")
    assert monthly.routers[0].router_name == "Kibera Hotspot"
    text = sales.sales_csv(owner)
    assert text.splitlines()[0].startswith("sold_at_utc,") and "1400.00,KES" in text


def test_other_owners_objects_are_not_found(owner: User, stranger: User, router_id: int) -> None:
    package = packages.create_package(owner, router_id, basic()).package
    assert package is not None
    batch = vouchers.generate_batch(owner, router_id, package.id, 1)
    for call in (
        lambda: packages.get_package(stranger, package.id),
        lambda: packages.update_package(stranger, package.id, {"price": "1"}),
        lambda: packages.list_packages(stranger, router_id),
        lambda: vouchers.get_batch(stranger, batch.batch.id),
        lambda: vouchers.get_voucher(stranger, batch.vouchers[0].id),
        lambda: vouchers.revoke(stranger, batch.vouchers[0].id),
        lambda: vouchers.generate_batch(stranger, router_id, package.id, 1),
        lambda: sales.report(stranger, router_id=router_id),
        lambda: hotspot_sync.sync(stranger, router_id, T0),
    ):
        with pytest.raises(NotFound):
            call()
    assert vouchers.list_vouchers(stranger).total == 0
    assert db.session.query(Voucher).count() == 1


def test_the_poller_cycle_sells_and_expires_vouchers(owner: User, router_id: int, sim: SimRouter) -> None:
    from webapp.services.poller import Poller

    package = packages.create_package(owner, router_id, basic(duration_hours=1, price="20")).package
    assert package is not None
    code = vouchers.generate_batch(owner, router_id, package.id, 1, now=T0).vouchers[0]
    assert sim.hotspot_login(code.code, code.password, mac="AA:BB:CC:00:00:09")
    with Poller.from_config() as poller:
        report = poller.cycle(T0 + timedelta(minutes=5), force=True)
        assert report.online == 1 and report.hotspot_synced == 1
        assert vouchers.get_voucher(owner, code.id).state == "active"
        assert db.session.query(Sale).count() == 1
        poller.cycle(T0 + timedelta(hours=2), force=True)
    assert vouchers.get_voucher(owner, code.id).state == "expired"
    assert code.code not in hotspot_users(sim)
