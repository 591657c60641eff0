"""Every error about a router says why: ``reason`` in JSON answers, and in the dashboard's (htmx) error answers.

The routers here are real sockets: a port nothing listens on any more (refused) and a simulator that swallows
every byte (timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import current_user

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import make_config
from webapp.permissions import Capability, policy
from webapp.services import routers

PASSWORD = "reason-pass-1"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator([RouterSpec(name="mute", username="admin", password=PASSWORD)], host="127.0.0.1") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def closed_port() -> int:
    with Simulator([RouterSpec(name="gone", username="admin", password=PASSWORD)], host="127.0.0.1") as gone:
        return gone.routers[0].api_port


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    return make_config(tmp_path / "reason.db", ROUTER_TIMEOUT=1)


def _add_router(client: FlaskClient, headers: dict[str, str], port: int) -> int:
    body = {"name": f"r{port}", "host": "127.0.0.1", "port": port, "protocol": "api", "username": "admin",
            "password": PASSWORD}
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_device_info_of_a_refusing_router_is_502_with_reason(client, api, closed_port: int) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    rid = _add_router(client, headers, closed_port)
    response = client.get(f"/routers/{rid}/device-info/", headers=headers)
    assert response.status_code == 502
    body = response.get_json()
    assert body["error"] and body["reason"] == "unreachable"


def test_device_info_of_a_silent_router_is_504_with_reason(client, api, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    mute = sim.routers[0]
    rid = _add_router(client, headers, mute.api_port)
    mute.set_fault("blackhole")
    try:
        response = client.get(f"/routers/{rid}/device-info/", headers=headers)
    finally:
        mute.clear_faults()
    assert response.status_code == 504
    assert response.get_json()["reason"] == "timeout"


def test_errors_without_a_reason_answer_without_one(client, api) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/routers/999999/device-info/", headers=api.headers())
    assert response.status_code == 404
    assert "reason" not in response.get_json()


@pytest.fixture
def probe_app(app: Flask) -> Flask:
    """The app plus one dashboard path that lets a router error reach the error handlers unhandled.

    (Dashboard views catch the router errors they expect; this is what any other view's answer looks like.)
    """

    @policy(Capability.MONITOR)  # every endpoint declares its policy, a test's one too
    def probe(router_id: int) -> str:
        routers.device_info(current_user, router_id)
        return "unreachable code: the router is down"

    app.add_url_rule("/dashboard/probe/<int:router_id>", "reason_probe", probe)
    return app


def test_dashboard_error_answers_carry_the_reason(probe_app: Flask, api, html, closed_port: int) -> None:  # type: ignore[no-untyped-def]
    client = probe_app.test_client()
    rid = _add_router(client, api.headers(), closed_port)
    assert type(html)(client).login().status_code == 302

    page = client.get(f"/dashboard/probe/{rid}")
    assert page.status_code == 502
    assert 'data-reason="unreachable"' in page.get_data(as_text=True)

    fragment = client.get(f"/dashboard/probe/{rid}", headers={"HX-Request": "true"})
    assert fragment.status_code == 502
    assert fragment.headers["X-Error-Reason"] == "unreachable"
    assert unquote(fragment.headers["X-Error-Message"])
