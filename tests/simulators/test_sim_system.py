"""The administration menus (/export, /file, /system/script, /system/scheduler, /system/package/update) and
CHR/x86 installs, read through clients we did not write: librouteros on the binary API, plain requests on REST.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import librouteros
import pytest
import requests
from librouteros.exceptions import TrapError

from simulators.routeros import RouterSpec, SimRouter, Simulator
from tests.simulators.conftest import rest_url

PASSWORD = "adm1n-pass"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Simulator]:
    specs = [
        RouterSpec(name="chr7", version="7.16.1", board="CHR", password=PASSWORD),
        RouterSpec(name="x86-6", version="6.49.7", board="x86", password=PASSWORD),
        RouterSpec(name="rb7", version="7.16.1", board="RB4011iGS+5HacQ2HnD", password=PASSWORD),
        RouterSpec(name="rb6", version="6.49.7", board="hEX", password=PASSWORD),
        RouterSpec(name="old7", version="7.8", password=PASSWORD),
        RouterSpec(name="sched", version="7.16.1", password=PASSWORD),
        RouterSpec(name="upgrade", version="7.15.3", password=PASSWORD),
    ]
    with Simulator(specs, seed=3) as simulator:
        yield simulator


def connect(router: SimRouter) -> librouteros.api.Api:
    return librouteros.connect(router.host, router.username, router.password, port=router.api_port, timeout=5)


@contextmanager
def connected(router: SimRouter) -> Iterator[librouteros.api.Api]:
    api = connect(router)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def ros(fleet: Simulator) -> Iterator[dict[str, librouteros.api.Api]]:
    opened: dict[str, librouteros.api.Api] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, name: str) -> librouteros.api.Api:
            self[name] = opened[name] = connect(fleet.router(name))
            return self[name]

    yield Lazy()
    for api in opened.values():
        api.close()


def rest(router: SimRouter, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, rest_url(router, path), auth=(router.username, router.password),
                            timeout=5, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["chr7", "x86-6"])
def test_chr_and_x86_have_no_routerboard_and_no_health_menu(ros, name: str) -> None:  # type: ignore[no-untyped-def]
    for menu in ("/system/routerboard", "/system/health"):
        with pytest.raises(TrapError) as trap:
            list(ros[name].path(menu))
        assert trap.value.message == f"no such command or directory ({menu.rsplit('/', 1)[1]})"
    resource = next(iter(ros[name].path("/system/resource")))
    assert resource["architecture-name"] == "x86_64"
    assert next(iter(ros[name].path("/system/identity")))["name"] == name


def test_chr_licence_has_a_system_id_and_a_level(ros) -> None:  # type: ignore[no-untyped-def]
    licence = next(iter(ros["chr7"].path("/system/license")))
    assert licence["level"] == "p1" and licence["system-id"] and "software-id" not in licence


def test_chr_over_rest_answers_400_with_the_same_detail(fleet: Simulator) -> None:
    response = rest(fleet.router("chr7"), "GET", "system/routerboard")
    assert response.status_code == 400
    assert response.json()["detail"] == "no such command or directory (routerboard)"


def test_a_routerboard_still_has_both_menus(ros) -> None:  # type: ignore[no-untyped-def]
    board = next(iter(ros["rb7"].path("/system/routerboard")))
    assert board["model"] == "RB4011iGS+5HacQ2HnD"
    assert {row["name"] for row in ros["rb7"].path("/system/health")} >= {"temperature", "voltage"}


def _export(api: librouteros.api.Api, **flags: object) -> str:
    # Over the API /export answers a bare !done; the text has to be written to a file and read back.
    assert list(api("/export", **flags)) == []
    api_flags = {"file": "rd-export", **flags}
    list(api("/export", **api_flags))
    files = [row for row in api.path("/file") if row["name"] == "rd-export.rsc"]
    assert len(files) == 1
    return str(files[0]["contents"])


def test_v7_export_hides_secrets_unless_show_sensitive(ros, fleet: Simulator) -> None:  # type: ignore[no-untyped-def]
    api = ros["rb7"]
    hidden = _export(api)
    shown = _export(api, **{"show-sensitive": True})
    first = hidden.splitlines()[0]
    assert first.startswith("# ") and first.endswith("by RouterOS 7.16.1")
    assert "# model = RB4011iGS+5HacQ2HnD" in hidden and "# software id = " in hidden
    assert "password=vpn-secret-1" not in hidden and "name=vpn-office" in hidden
    assert "password=vpn-secret-1" in shown
    file_row = next(row for row in api.path("/file") if row["name"] == "rd-export.rsc")
    assert file_row["type"] == "script" and int(file_row["size"]) == len(shown.encode())
    with pytest.raises(TrapError):
        list(api("/export", **{"file": "x", "bogus": True}))


def test_v6_export_shows_secrets_unless_hide_sensitive(ros) -> None:  # type: ignore[no-untyped-def]
    api = ros["rb6"]
    shown = _export(api)
    hidden = _export(api, **{"hide-sensitive": True})
    assert "password=vpn-secret-1" in shown and "password=vpn-secret-1" not in hidden
    assert shown.splitlines()[0].split()[1].count("/") == 2  # v6 dates: dec/01/2026
    with pytest.raises(TrapError) as trap:
        list(api("/export", **{"show-sensitive": True}))
    assert "unknown parameter" in trap.value.message


def test_chr_export_header_has_no_model_or_serial(fleet: Simulator) -> None:
    router = fleet.router("chr7")
    router.execute("/export", {"file": "chr"})
    text = router.read_file("chr.rsc") or ""
    assert "# system id = " in text and "# model" not in text and "serial number" not in text


def test_export_follows_changes_and_never_holds_router_users(ros, fleet: Simulator) -> None:  # type: ignore[no-untyped-def]
    api = ros["rb7"]
    api.path("/ip/pool").add(name="fleet-pool", ranges="10.9.0.2-10.9.0.200", comment="added by a test")
    text = _export(api, **{"show-sensitive": True})
    assert 'add comment="added by a test" name=fleet-pool ranges=10.9.0.2-10.9.0.200' in text
    assert "/user\n" not in text and PASSWORD not in text


def test_an_export_runs_back_through_import(fleet: Simulator) -> None:
    source, target = fleet.router("rb7"), fleet.router("sched")
    source.execute("/ip/pool/add", {"name": "to-copy", "ranges": "10.8.0.2-10.8.0.9", "comment": "a \"quoted\" $x"})
    source.execute("/export", {"file": "copy", "show-sensitive": ""})
    text = source.read_file("copy.rsc") or ""
    section = [line for line in text.splitlines() if line == "/ip pool" or "name=to-copy" in line]
    assert len(section) == 2
    target.run_script("/file add name=copy.rsc")
    target.execute("/file/set", {"numbers": "copy.rsc", "contents": "\n".join(section)})
    target.execute("/import", {"file-name": "copy.rsc"})
    copied = next(row for row in target.execute("/ip/pool/print") if row.get("name") == "to-copy")
    assert copied["comment"] == 'a "quoted" $x' and copied["ranges"] == "10.8.0.2-10.8.0.9"


def test_file_add_exists_from_7_9_only(ros) -> None:  # type: ignore[no-untyped-def]
    ros["rb7"].path("/file").add(name="note.txt", contents="hello")
    row = next(r for r in ros["rb7"].path("/file") if r["name"] == "note.txt")
    assert row["contents"] == "hello" and row["size"] == 5
    with pytest.raises(TrapError):
        ros["old7"].path("/file").add(name="note.txt", contents="hello")


def test_file_contents_are_not_shown_past_the_version_limit(fleet: Simulator) -> None:
    router = fleet.router("rb6")
    router.run_script("/system script add name=big source=\"" + ":log info x; " * 400 + "\"")
    router.execute("/export", {"file": "big"})
    row = next(r for r in router.execute("/file/print") if r.get("name") == "big.rsc")
    assert int(row["size"]) > 4096 and "contents" not in row


def test_script_runs_commands_through_the_api_and_rest(ros, fleet: Simulator) -> None:  # type: ignore[no-untyped-def]
    api = ros["sched"]
    source = ':log info "hello from say"\n/ip pool add name=from-script ranges=10.7.0.2'
    api.path("/system/script").add(name="say", source=source)
    list(api("/system/script/run", number="say"))
    assert any(row["message"] == "hello from say" for row in api.path("/log"))
    assert any(row["name"] == "from-script" for row in api.path("/ip/pool"))
    router = fleet.router("sched")
    again = rest(router, "POST", "system/script/run", json={".id": "say"})
    assert again.status_code == 400 and again.json()["detail"] == "failure: already have such entry"
    script = rest(router, "GET", "system/script/say").json()
    assert script["run-count"] == "2" and script["owner"] == "admin"


def test_scheduler_fires_on_the_simulated_clock_even_with_the_api_disabled(fleet: Simulator) -> None:
    router = fleet.router("sched")
    router.execute("/system/scheduler/add", {
        "name": "undo", "interval": "2m",
        "on-event": "/ip service set api disabled=no; /system scheduler remove undo"})
    row = next(r for r in router.execute("/system/scheduler/print") if r["name"] == "undo")
    assert row["run-count"] == "0" and row["next-run"] and row["start-time"]
    router.set_service_disabled("api")
    router.add_traffic(60)
    assert router.execute("/ip/service/print", {"?name": "api"})[0]["disabled"] == "true"
    router.add_traffic(61)
    assert router.execute("/ip/service/print", {"?name": "api"})[0]["disabled"] == "false"
    assert not any(r["name"] == "undo" for r in router.execute("/system/scheduler/print"))
    with connected(router) as api:
        assert next(iter(api.path("/system/identity")))["name"] == "sched"


def test_startup_entries_run_after_a_reboot_and_reboots_reset_run_count(fleet: Simulator) -> None:
    router = fleet.router("sched")
    router.execute("/system/scheduler/add", {"name": "boot", "start-time": "startup",
                                             "on-event": ":log info booted-by-scheduler"})
    router.execute("/system/scheduler/add", {"name": "tick", "interval": "10s", "on-event": ":delay 1s"})
    router.add_traffic(25)
    assert next(r for r in router.execute("/system/scheduler/print") if r["name"] == "tick")["run-count"] == "2"
    router.reboot()
    router.add_traffic(4)
    rows = {r["name"]: r for r in router.execute("/system/scheduler/print")}
    assert rows["boot"]["run-count"] == "1" and rows["tick"]["run-count"] == "0"
    assert any(r["message"] == "booted-by-scheduler" for r in router.execute("/log/print"))


def test_a_failing_scheduled_script_is_logged_and_stops(fleet: Simulator) -> None:
    router = fleet.router("sched")
    event = "/ip pool add name=x; /nonsense go; /ip pool add name=y ranges=1"
    router.execute("/system/scheduler/add", {"name": "bad", "interval": "5s", "on-event": event})
    router.add_traffic(6)
    errors = [r["message"] for r in router.execute("/log/print") if "error" in r["topics"]]
    assert any("scheduler bad" in message for message in errors)
    assert not any(r.get("name") == "y" for r in router.execute("/ip/pool/print"))


def test_package_update_check_download_install(ros, fleet: Simulator) -> None:  # type: ignore[no-untyped-def]
    router = fleet.router("upgrade")
    api = ros["upgrade"]
    [checked] = list(api("/system/package/update/check-for-updates"))
    assert checked == {"channel": "stable", "installed-version": "7.15.3", "latest-version": "7.16.2",
                       "status": "New version is available"}
    list(api("/system/package/update/download"))
    assert any(row["name"] == "routeros-7.16.2-" + row.get("package-architecture", "") + ".npk"
               for row in api.path("/file") if row["type"] == "package")
    assert next(iter(api.path("/system/package/update")))["status"] == "Downloaded, please reboot router to upgrade it"
    router.reboot()  # the package is installed by the next boot
    with pytest.raises((librouteros.exceptions.ConnectionClosed, ConnectionError)):
        list(api.path("/system/identity"))
    with connected(router) as fresh:
        assert next(iter(fresh.path("/system/resource")))["version"].startswith("7.16.2")
        assert not [row for row in fresh.path("/file") if row["type"] == "package"]
        [again] = list(fresh("/system/package/update/check-for-updates"))
        assert again["status"] == "System is already up to date"
    assert router.version == "7.16.2"


def test_package_update_errors_and_channels_over_rest(fleet: Simulator) -> None:
    router = fleet.router("rb7")
    assert rest(router, "PATCH", "system/package/update", json={"channel": "long-term"}).status_code == 200
    body = rest(router, "POST", "system/package/update/check-for-updates").json()
    assert body[0]["channel"] == "long-term" and body[0]["status"] == "System is already up to date"
    router.set_upgrade(error="ERROR: could not resolve dns name")
    try:
        body = rest(router, "POST", "system/package/update/install").json()
        assert body[0]["status"] == "ERROR: could not resolve dns name"
        assert router.version == "7.16.1"
    finally:
        router.set_upgrade(error=None)
    assert rest(router, "PATCH", "system/package/update", json={"channel": "nightly"}).status_code == 400


def test_run_script_finds_items_with_quoted_find_expressions(fleet: Simulator) -> None:
    router = fleet.router("sched")
    router.execute("/system/scheduler/add", {"name": "to be removed"})
    router.run_script('/system scheduler remove [find name="to be removed"]\n/ip pool\nadd name=ctx ranges=10.3.0.2')
    assert not any(r["name"] == "to be removed" for r in router.execute("/system/scheduler/print"))
    assert any(r["name"] == "ctx" for r in router.execute("/ip/pool/print"))
    router.run_script("/ip pool remove [find name=does-not-exist]")  # matches nothing: the console does nothing
