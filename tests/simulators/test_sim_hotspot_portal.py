"""The simulator's /tool/fetch, walled garden and default hotspot pages, through librouteros (a client we did not
write) and the simulator's own console."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import librouteros
import pytest
from librouteros.exceptions import TrapError
from librouteros.login import plain

from simulators.routeros import RouterSpec, SimRouter, Simulator

PAGE = "<html>$(mac) $(link-login-only)</html>"


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = PAGE.encode() if self.path.endswith("login.html") else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def router() -> Iterator[SimRouter]:
    with Simulator([RouterSpec(name="portal-sim", password="s3cret")], seed=2) as sim:
        yield sim.router("portal-sim")


def connect(router: SimRouter) -> Any:
    return librouteros.connect(host=router.host, port=router.api_port, username="admin", password="s3cret",
                               login_method=plain, timeout=5)


def test_the_hotspot_directory_holds_the_default_pages(router: SimRouter) -> None:
    names = {row["name"] for row in router.execute("/file/print")}
    assert {"hotspot/login.html", "hotspot/alogin.html", "hotspot/status.html"} <= names
    login = next(row for row in router.execute("/file/print") if row["name"] == "hotspot/login.html")
    assert "$(link-login-only)" in login["contents"]


def test_fetch_downloads_into_a_file_and_reports_finished(router: SimRouter, web: str) -> None:
    api = connect(router)
    try:
        target = {"dst-path": "hotspot/login.html"}
        (row,) = list(api("/tool/fetch", url=f"{web}/portal/x/hotspot/login.html", **target))
        assert row["status"] == "finished"
    finally:
        api.close()
    login = next(row for row in router.execute("/file/print") if row["name"] == "hotspot/login.html")
    assert login["contents"] == PAGE


def test_fetch_refuses_anything_but_loopback_and_reports_http_errors(router: SimRouter, web: str) -> None:
    api = connect(router)
    try:
        with pytest.raises(TrapError, match="could not connect"):
            list(api("/tool/fetch", url="http://example.com/login.html"))
        with pytest.raises(TrapError, match="404"):
            list(api("/tool/fetch", url=f"{web}/missing"))
    finally:
        api.close()


def test_walled_garden_entries_are_added_listed_and_removed(router: SimRouter) -> None:
    api = connect(router)
    try:
        garden = api.path("ip", "hotspot", "walled-garden")
        added = garden.add(**{"dst-host": "routerdeck.example.com", "comment": "routerdeck-portal"})
        by_ip = api.path("ip", "hotspot", "walled-garden", "ip")
        by_ip.add(**{"dst-address": "127.0.0.1", "action": "accept", "comment": "routerdeck-portal"})
        rows = list(garden)
        assert rows[0]["dst-host"] == "routerdeck.example.com" and rows[0]["action"] == "allow"
        assert next(iter(by_ip))["dst-address"] == "127.0.0.1"
        garden.remove(added)
        assert list(garden) == []
        with pytest.raises(TrapError):
            by_ip.add(**{"action": "maybe"})
    finally:
        api.close()
