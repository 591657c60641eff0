"""The console's path suggestions come from the router's own menus; its confirm step speaks plainly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import User
from webapp.services import console, routers

HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Any]:
    specs = [RouterSpec(name="seven", version="7.16.1", username="admin", password="pw"),
             RouterSpec(name="six", version="6.49.7", username="admin", password="pw")]
    with Simulator(specs) as sim:
        yield sim


@pytest.fixture
def owned(app: Flask, user, fleet) -> dict[str, int]:  # type: ignore[no-untyped-def]
    console._cache.clear()
    ids = {}
    with app.app_context():
        owner = db.session.get(User, user.id)
        for sim_router in fleet.routers:
            router = routers.create_router(owner, {"name": sim_router.name, "host": sim_router.host,
                                                   "port": sim_router.api_port, "username": "admin",
                                                   "password": "pw", "protocol": "api"})
            ids[sim_router.name] = router.id
    return ids


def _options(client: FlaskClient, router_id: int, typed: str) -> list[str]:
    answer = client.get(f"/dashboard/routers/{router_id}/console/menus", query_string={"command": typed}, headers=HX)
    assert answer.status_code == 200
    return re.findall(r'<option value="([^"]+)">', answer.get_data(as_text=True))


def test_suggestions_are_the_routers_own_menus(client: FlaskClient, html, owned: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    assert html.login().status_code == 302
    top = _options(client, owned["seven"], "")
    assert {"interface", "ip", "system"} <= set(top)
    under_ip = _options(client, owned["seven"], "ip/")
    assert "ip/address" in under_ip and "ip/hotspot" in under_ip and "ip/firewall" not in under_ip
    assert _options(client, owned["seven"], "ip/add") == ["ip/address"]
    assert "ip/address/add" in _options(client, owned["seven"], "ip/address/")


def test_router_without_inspect_gets_the_common_menus(client: FlaskClient, html, owned: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    assert html.login().status_code == 302
    offered = _options(client, owned["six"], "ip/hot")
    assert offered and all(path.startswith("ip/hot") for path in offered)


def test_suggestions_of_someone_elses_router_are_404(client: FlaskClient, html, other_user, owned) -> None:  # type: ignore[no-untyped-def]
    assert html.login("mallory").status_code == 302
    answer = client.get(f"/dashboard/routers/{owned['seven']}/console/menus", headers=HX)
    assert answer.status_code == 404


@pytest.mark.parametrize(("command", "words"), [
    ("system/reboot", "This reboots seven"),
    ("system/shutdown", "This shuts seven down"),
    ("user/remove", "This removes a user from seven"),
])
def test_confirm_step_says_what_happens_in_plain_words(client: FlaskClient, html, owned, command: str,  # type: ignore[no-untyped-def]
                                                       words: str) -> None:
    assert html.login().status_code == 302
    token = csrf_from(client.get("/dashboard/routers/new").get_data(as_text=True))
    answer = client.post(f"/dashboard/routers/{owned['seven']}/commands", headers={**HX, "X-CSRFToken": token},
                         data={"command": command, "method": "POST", "body-key": ".id", "body-value": "*99"})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422 and words in body and "Run it?" in body
    assert '"confirm": true' not in body and "Send" not in body


def test_routers_sort_by_name_ignoring_case(app: Flask, user) -> None:  # type: ignore[no-untyped-def]
    from webapp.services.routers import RouterFilters

    with app.app_context():
        owner = db.session.get(User, user.id)
        for name in ("nairobi-core", "Kisumu", "eldoret", "Mombasa"):
            routers.create_router(owner, {"name": name, "host": "10.0.0.1", "username": "admin", "password": "pw"})
        ordered = [r.name for r in routers.page_of_routers(owner, RouterFilters(ordering="name"), 1, 10).items]
        assert ordered == ["eldoret", "Kisumu", "Mombasa", "nairobi-core"]
        reverse = [r.name for r in routers.page_of_routers(owner, RouterFilters(ordering="-name"), 1, 10).items]
        assert reverse == ordered[::-1]
