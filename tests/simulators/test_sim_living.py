"""Living data: uptime, counters, reboot, clock formats per version, hotspot sessions and their limits."""

from __future__ import annotations

import re
from collections.abc import Iterator

import librouteros
import pytest
from librouteros.exceptions import TrapError

from simulators.routeros import RouterSpec, SimRouter, Simulator
from simulators.routeros.values import parse_duration


@pytest.fixture(scope="module")
def town() -> Iterator[Simulator]:
    """Routers whose clocks and counters these tests move."""
    specs = [RouterSpec(name="alive", version="7.12.1"), RouterSpec(name="hs", version="7.16.1"),
             RouterSpec(name="legacy", version="6.48.6"), RouterSpec(name="pre710", version="7.9.2")]
    with Simulator(specs, seed=11) as simulator:
        yield simulator


@pytest.fixture
def alive(town: Simulator) -> SimRouter:
    return town.router("alive")


@pytest.fixture
def hs(town: Simulator) -> SimRouter:
    return town.router("hs")


def resource(router: SimRouter) -> dict[str, str]:
    return router.execute("/system/resource/print")[0]


def counters(router: SimRouter, name: str) -> dict[str, int]:
    row = router.execute("/interface/print", {"?name": name})[0]
    return {key: int(row[key]) for key in ("rx-byte", "tx-byte", "rx-packet", "tx-packet")}


def seconds(text: str) -> int:
    value = parse_duration(text)
    assert value is not None, text
    return value


def test_uptime_advances_and_reboot_restarts_it(alive):
    before = seconds(resource(alive)["uptime"])
    alive.add_traffic(seconds=3 * 3600)
    after = seconds(resource(alive)["uptime"])
    assert after - before >= 3 * 3600
    alive.reboot()
    assert seconds(resource(alive)["uptime"]) < 60


def test_reboot_resets_counters_and_drops_api_sessions(alive):
    api = librouteros.connect(alive.host, "admin", "admin", port=alive.api_port, timeout=5)
    try:
        alive.add_traffic(seconds=600)
        before = counters(alive, "ether1")["rx-byte"]
        alive.reboot()
        assert counters(alive, "ether1")["rx-byte"] < before
        with pytest.raises((librouteros.exceptions.ConnectionClosed, ConnectionError, OSError)):
            tuple(api.path("system", "identity"))
    finally:
        api.close()
    log = [row["message"] for row in alive.execute("/log/print")]
    assert "router rebooted" in log


def test_reboot_over_the_api_answers_then_closes(alive):
    api = librouteros.connect(alive.host, "admin", "admin", port=alive.api_port, timeout=5)
    try:
        assert tuple(api("/system/reboot")) == ()
        with pytest.raises((librouteros.exceptions.ConnectionClosed, ConnectionError, OSError)):
            tuple(api.path("system", "identity"))
    finally:
        api.close()
    assert seconds(resource(alive)["uptime"]) < 60


def test_interface_counters_grow_with_traffic(alive):
    first = counters(alive, "ether1")
    alive.add_traffic(seconds=60)
    second = counters(alive, "ether1")
    assert all(second[key] > first[key] for key in first)
    unplugged = counters(alive, "ether4")
    alive.add_traffic(seconds=60)
    assert counters(alive, "ether4") == unplugged


def test_disabled_interface_stops_counting(alive):
    alive.execute("/interface/disable", {"numbers": "ether2"})
    try:
        frozen = counters(alive, "ether2")
        alive.add_traffic(seconds=60)
        assert counters(alive, "ether2") == frozen
    finally:
        alive.execute("/interface/enable", {"numbers": "ether2"})


def test_reset_counters(alive):
    alive.add_traffic(seconds=600)
    before = counters(alive, "ether3")
    alive.execute("/interface/reset-counters", {"numbers": "ether3"})
    after = counters(alive, "ether3")
    assert all(after[key] < before[key] for key in before)


def test_resource_values_move_and_look_real(alive):
    row = resource(alive)
    assert 0 <= int(row["cpu-load"]) <= 100
    assert int(row["free-memory"]) < int(row["total-memory"])
    assert int(row["free-hdd-space"]) < int(row["total-hdd-space"])
    assert row["version"] == "7.12.1 (stable)"
    assert row["platform"] == "MikroTik"
    loads = set()
    for _ in range(20):
        alive.add_traffic(seconds=7)
        loads.add(resource(alive)["cpu-load"])
    assert len(loads) > 1


@pytest.mark.parametrize(("name", "pattern"), [
    ("alive", r"^\d{4}-\d{2}-\d{2}$"),
    ("pre710", r"^[a-z]{3}/\d{2}/\d{4}$"),
    ("legacy", r"^[a-z]{3}/\d{2}/\d{4}$"),
])
def test_clock_date_format_follows_the_version(town, name, pattern):
    clock = town.router(name).execute("/system/clock/print")[0]
    assert re.match(pattern, clock["date"])
    assert re.match(r"^\d{2}:\d{2}:\d{2}$", clock["time"])


def test_health_rows_on_v7_attributes_on_v6(town):
    rows = town.router("alive").execute("/system/health/print")
    assert {row["name"] for row in rows} >= {"voltage", "temperature"}
    assert all(set(row) == {".id", "name", "value", "type"} for row in rows)
    legacy = town.router("legacy").execute("/system/health/print")
    assert len(legacy) == 1 and set(legacy[0]) == {"voltage", "temperature"}


def test_routerboard_license_identity(town):
    router = town.router("alive")
    board = router.execute("/system/routerboard/print")[0]
    assert board["routerboard"] == "true" and board["model"] and len(board["serial-number"]) == 12
    assert board["board-name"] == resource(router)["board-name"]
    licence = router.execute("/system/license/print")[0]
    assert licence["nlevel"] in ("4", "6") and licence["level"] == licence["nlevel"]
    assert "upgradable-to" in town.router("legacy").execute("/system/license/print")[0]
    assert router.execute("/system/identity/print") == [{"name": "alive"}]


def test_interfaces_have_the_expected_menu(alive):
    rows = alive.execute("/interface/print")
    assert [row["name"] for row in rows] == ["ether1", "ether2", "ether3", "ether4", "ether5", "wlan1", "bridge"]
    for row in rows:
        assert re.match(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$", row["mac-address"])
        assert row["mtu"] == "1500" and row["running"] in ("true", "false") and row["disabled"] == "false"


def test_services_report_the_ports_really_listened_on(alive):
    services = {row["name"]: row for row in alive.execute("/ip/service/print")}
    assert services["api"]["port"] == str(alive.api_port)
    assert services["www-ssl"]["port"] == str(alive.rest_tls_port)
    assert services["telnet"]["disabled"] == "true"


def test_log_info_and_login_lines(alive):
    api = librouteros.connect(alive.host, "admin", "admin", port=alive.api_port, timeout=5)
    try:
        tuple(api("/log/info", message="hello from test"))
        messages = [row["message"] for row in api.path("log")]
    finally:
        api.close()
    assert "hello from test" in messages
    assert any(m.startswith("user admin logged in from 127.0.0.1 via api") for m in messages)


def test_unset_and_enable_disable(alive):
    new = alive.execute("/ip/hotspot/user/add", {"name": "tmp", "limit-uptime": "1h"})[0]["ret"]
    assert alive.execute("/ip/hotspot/user/print", {".id": new})[0]["limit-uptime"] == "1h"
    alive.execute("/ip/hotspot/user/unset", {".id": new, "value-name": "limit-uptime"})
    alive.execute("/ip/hotspot/user/disable", {".id": new})
    row = alive.execute("/ip/hotspot/user/print", {".id": new})[0]
    assert "limit-uptime" not in row and row["disabled"] == "true"
    alive.execute("/ip/hotspot/user/remove", {".id": new})


def test_durations_are_normalised(alive):
    new = alive.execute("/ip/hotspot/user/add", {"name": "dur", "limit-uptime": "01:30:00"})[0]["ret"]
    assert alive.execute("/ip/hotspot/user/print", {".id": new})[0]["limit-uptime"] == "1h30m"
    alive.execute("/ip/hotspot/user/set", {".id": new, "limit-uptime": "9d"})
    assert alive.execute("/ip/hotspot/user/print", {".id": new})[0]["limit-uptime"] == "1w2d"
    alive.execute("/ip/hotspot/user/remove", {".id": new})


class TestHotspot:
    """Vouchers: activation, counters, limit-uptime expiry, shared-users, logout."""

    def test_menus_exist(self, hs):
        assert hs.execute("/ip/hotspot/print")[0]["name"] == "hotspot1"
        profile = hs.execute("/ip/hotspot/profile/print", {"?name": "hsprof1"})[0]
        assert profile["dns-name"].startswith("hotspot.")
        user_profile = hs.execute("/ip/hotspot/user/profile/print", {"?name": "1h-2M"})[0]
        assert user_profile["rate-limit"] == "2M/2M" and user_profile["shared-users"] == "1"

    def test_voucher_activates_counts_and_expires(self, hs):
        hs.execute("/ip/hotspot/user/add", {"name": "CODE1", "password": "CODE1", "limit-uptime": "10m"})
        assert hs.hotspot_login("CODE1", "CODE1", mac="AA:BB:CC:00:00:01", address="10.5.50.10")
        active = hs.execute("/ip/hotspot/active/print", {"?user": "CODE1"})
        assert len(active) == 1
        assert active[0]["address"] == "10.5.50.10" and active[0]["mac-address"] == "AA:BB:CC:00:00:01"
        hs.add_traffic(seconds=300)
        session = hs.execute("/ip/hotspot/active/print", {"?user": "CODE1"})[0]
        assert seconds(session["uptime"]) >= 300
        assert int(session["bytes-out"]) > 0 and int(session["bytes-in"]) > 0
        assert seconds(session["session-time-left"]) <= 300
        user = hs.execute("/ip/hotspot/user/print", {"?name": "CODE1"})[0]
        assert seconds(user["uptime"]) >= 300 and int(user["bytes-out"]) > 0
        hs.add_traffic(seconds=600)
        assert hs.execute("/ip/hotspot/active/print", {"?user": "CODE1"}) == []
        assert hs.execute("/ip/hotspot/user/print", {"?name": "CODE1"})[0]["uptime"] == "10m"
        assert not hs.hotspot_login("CODE1", "CODE1", mac="AA:BB:CC:00:00:01", address="10.5.50.10")
        log = [row["message"] for row in hs.execute("/log/print", {"?topics": "hotspot,account,info,debug"})]
        assert "CODE1 (10.5.50.10): logged in" in log
        assert "CODE1 (10.5.50.10): logged out: uptime limit reached" in log

    def test_rejections(self, hs):
        hs.execute("/ip/hotspot/user/add", {"name": "CODE2", "password": "pw2"})
        assert not hs.hotspot_login("CODE2", "wrong")
        assert not hs.hotspot_login("NOPE", "NOPE")
        assert hs.hotspot_login("CODE2", "pw2", mac="AA:BB:CC:00:00:02", address="10.5.50.11")
        assert not hs.hotspot_login("CODE2", "pw2", mac="AA:BB:CC:00:00:03", address="10.5.50.12")
        assert hs.hotspot_logout("CODE2")
        assert not hs.hotspot_logout("CODE2")
        assert hs.hotspot_login("CODE2", "pw2", mac="AA:BB:CC:00:00:03", address="10.5.50.12")
        hs.hotspot_logout("CODE2")

    def test_login_command_over_the_api_and_remove_logs_out(self, hs):
        hs.execute("/ip/hotspot/user/add", {"name": "CODE3", "password": "pw3", "profile": "1h-2M"})
        api = librouteros.connect(hs.host, "admin", "admin", port=hs.api_port, timeout=5)
        try:
            tuple(api("/ip/hotspot/active/login", user="CODE3", password="pw3", **{"mac-address": "AA:BB:CC:00:00:04",
                                                                                   "ip": "10.5.50.13"}))
            with pytest.raises(TrapError, match="no more sessions are allowed for user CODE3"):
                tuple(api("/ip/hotspot/active/login", user="CODE3", password="pw3",
                          **{"mac-address": "AA:BB:CC:00:00:05", "ip": "10.5.50.14"}))
            session = next(r for r in api.path("ip", "hotspot", "active") if r["user"] == "CODE3")
            api.path("ip", "hotspot", "active").remove(session[".id"])
        finally:
            api.close()
        assert hs.execute("/ip/hotspot/active/print", {"?user": "CODE3"}) == []

    def test_rate_limit_caps_traffic(self, hs):
        hs.execute("/ip/hotspot/user/add", {"name": "CODE4", "password": "pw4", "profile": "1h-2M"})
        assert hs.hotspot_login("CODE4", "pw4", mac="AA:BB:CC:00:00:06", address="10.5.50.15")
        hs.add_traffic(seconds=100)
        session = hs.execute("/ip/hotspot/active/print", {"?user": "CODE4"})[0]
        assert int(session["bytes-out"]) <= 2_000_000 / 8 * seconds(session["uptime"])
        hs.add_traffic(seconds=3600)
        assert hs.execute("/ip/hotspot/active/print", {"?user": "CODE4"}) == []

    def test_traffic_limit(self, hs):
        hs.execute("/ip/hotspot/user/add", {"name": "CODE5", "password": "pw5", "limit-bytes-total": "1000000"})
        assert hs.hotspot_login("CODE5", "pw5", mac="AA:BB:CC:00:00:07", address="10.5.50.16")
        hs.add_traffic(seconds=3600)
        user = hs.execute("/ip/hotspot/user/print", {"?name": "CODE5"})[0]
        assert int(user["bytes-in"]) + int(user["bytes-out"]) <= 1_000_000
        assert not hs.hotspot_login("CODE5", "pw5", mac="AA:BB:CC:00:00:07", address="10.5.50.16")


class TestPppAndUsers:
    """ppp/profile, ppp/secret, user and user/group."""

    def test_ppp(self, alive):
        assert {row["name"] for row in alive.execute("/ppp/profile/print")} >= {"default", "default-encryption"}
        new = alive.execute("/ppp/secret/add", {"name": "client1", "password": "x", "service": "pppoe"})[0]["ret"]
        with pytest.raises(Exception, match="input does not match any value of service"):
            alive.execute("/ppp/secret/set", {".id": new, "service": "carrier-pigeon"})
        alive.execute("/ppp/secret/remove", {".id": new})

    def test_groups_and_password_never_printed(self, alive):
        groups = {row["name"]: row["policy"] for row in alive.execute("/user/group/print")}
        assert set(groups) >= {"read", "write", "full"}
        assert "!write" in groups["read"].split(",") and "rest-api" in groups["full"].split(",")
        assert all("password" not in row for row in alive.execute("/user/print"))

    def test_user_group_must_exist(self, alive):
        with pytest.raises(Exception, match="input does not match any value of group"):
            alive.add_user("ghost", "pw", group="nonexistent")


def test_same_seed_same_router():
    spec = [RouterSpec(name="twin")]
    with Simulator(spec, seed=5) as first, Simulator(spec, seed=5) as second, Simulator(spec, seed=6) as third:
        def fingerprint(sim: Simulator) -> tuple[str, str, str]:
            router = sim.routers[0]
            board = router.execute("/system/routerboard/print")[0]
            mac = router.execute("/interface/print", {"?name": "ether1"})[0]["mac-address"]
            return board["serial-number"], board["model"], mac

        assert fingerprint(first) == fingerprint(second)
        assert fingerprint(first) != fingerprint(third)
