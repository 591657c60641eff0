"""The dashboard face of routers and commands: pages, htmx fragments, forms with CSRF, isolation, secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulators.routeros import RouterSpec, Simulator
from tests.conftest import csrf_from
from webapp.extensions import db
from webapp.models import Router

HX = {"HX-Request": "true"}
ROUTER = {
    "name": "Office Router",
    "host": "192.168.88.1",
    "port": "8728",
    "protocol": "api",
    "username": "admin",
    "password": "s3cret-router-pw",
}


@pytest.fixture
def logged_in(client: FlaskClient, html, user) -> FlaskClient:  # type: ignore[no-untyped-def]
    assert html.login().status_code == 302
    return client


def _token(client: FlaskClient) -> str:
    return csrf_from(client.get("/dashboard/routers/new").get_data(as_text=True))


def _create(client: FlaskClient, **overrides: Any) -> int:
    response = client.post(
        "/dashboard/routers/new", data={**ROUTER, **overrides, "csrf_token": _token(client)}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.search(r"/dashboard/routers/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def _hx(client: FlaskClient) -> dict[str, str]:
    return {**HX, "X-CSRFToken": _token(client)}


def _is_fragment(body: str) -> bool:
    return "<html" not in body and "<body" not in body


def test_router_list_page_and_rows_fragment(logged_in: FlaskClient) -> None:
    empty = logged_in.get("/dashboard/routers")
    assert empty.status_code == 200
    page = empty.get_data(as_text=True)
    assert "<html" in page
    assert "No routers yet" in page
    assert 'id="router-rows"' in page
    assert 'hx-get="/dashboard/routers/rows"' in page
    assert 'hx-push-url="true"' in page
    assert 'hx-trigger="input delay:300ms, submit"' in page
    for i in range(3):
        _create(logged_in, name=f"r{i}", host=f"10.0.0.{i + 1}")
    rows = logged_in.get("/dashboard/routers/rows?search=10.0.0.2", headers=HX)
    body = rows.get_data(as_text=True)
    assert rows.status_code == 200
    assert _is_fragment(body)
    assert ">r1<" in body
    assert ">r0<" not in body
    assert ">r2<" not in body
    assert rows.headers["HX-Push-Url"] == "/dashboard/routers?search=10.0.0.2"
    assert "not checked" in logged_in.get("/dashboard/routers").get_data(as_text=True)
    offline = logged_in.get("/dashboard/routers/rows?status=online").get_data(as_text=True)
    assert "No router matches these filters" in offline
    assert ">r0<" in logged_in.get("/dashboard/routers/rows?protocol=api&ordering=-created_at").get_data(
        as_text=True
    )


def test_router_list_paginates(logged_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    for i in range(22):
        _create(logged_in, name=f"router-{i:02d}")
    first = logged_in.get("/dashboard/routers").get_data(as_text=True)
    assert "Page 1 of 2" in first
    assert "router-19" in first
    assert "router-20" not in first
    second = logged_in.get("/dashboard/routers/rows?page=2&search=router", headers=HX)
    body = second.get_data(as_text=True)
    assert "router-20" in body
    assert "router-21" in body
    assert "router-00" not in body
    assert second.headers["HX-Push-Url"] == "/dashboard/routers?search=router&page=2"
    assert "22 routers" in body


def test_create_shows_field_errors_in_place_with_422(logged_in: FlaskClient) -> None:
    bad = {**ROUTER, "host": "not a host!", "port": "99999", "password": "", "csrf_token": _token(logged_in)}
    response = logged_in.post("/dashboard/routers/new", data=bad, headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert _is_fragment(body)
    assert 'id="router-form"' in body
    assert "Number must be between 1 and 65535." in body
    assert 'aria-invalid="true"' in body
    # The service's own messages land next to their fields too.
    service_bad = {**ROUTER, "host": "not a host!", "password": "", "csrf_token": _token(logged_in)}
    answer = logged_in.post("/dashboard/routers/new", data=service_bad, headers=HX).get_data(as_text=True)
    assert "an IP address or a DNS name" in answer
    assert "required" in answer
    assert logged_in.get("/dashboard/routers").get_data(as_text=True).count("data-router-id") == 0
    # Without htmx the whole page comes back, still 422.
    plain = logged_in.post("/dashboard/routers/new", data={**service_bad, "csrf_token": _token(logged_in)})
    assert plain.status_code == 422
    assert "<html" in plain.get_data(as_text=True)


def test_create_over_htmx_navigates_with_hx_redirect(logged_in: FlaskClient) -> None:
    response = logged_in.post(
        "/dashboard/routers/new", data={**ROUTER, "csrf_token": _token(logged_in)}, headers=HX
    )
    assert response.status_code == 200
    assert re.fullmatch(r"/dashboard/routers/\d+", response.headers["HX-Redirect"])
    assert "HX-Request" in response.headers["Vary"]
    detail = logged_in.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Router &#34;Office Router&#34; added." in detail


def test_forms_refuse_missing_csrf(logged_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    assert logged_in.post("/dashboard/routers/new", data=ROUTER).status_code == 400
    router_id = _create(logged_in)
    for path in (
        f"/dashboard/routers/{router_id}/edit",
        f"/dashboard/routers/{router_id}/delete",
        f"/dashboard/routers/{router_id}/test",
        f"/dashboard/routers/{router_id}/commands",
    ):
        response = logged_in.post(path, data={"name": "forged", "command": "system/identity"}, headers=HX)
        assert response.status_code == 400, path
    with app.app_context():
        assert db.session.get(Router, router_id).name == "Office Router"


def test_password_is_write_only_and_blank_keeps_it(logged_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    router_id = _create(logged_in)
    with app.app_context():
        stored = db.session.get(Router, router_id).encrypted_password
    for path in (
        "/dashboard/routers",
        f"/dashboard/routers/{router_id}",
        f"/dashboard/routers/{router_id}/edit",
        f"/dashboard/routers/{router_id}/audit",
    ):
        assert "s3cret-router-pw" not in logged_in.get(path).get_data(as_text=True), path
    edit = logged_in.get(f"/dashboard/routers/{router_id}/edit").get_data(as_text=True)
    assert "leave blank to keep" in edit
    assert 'value="Office Router"' in edit
    password_input = re.search(r'<input[^>]*name="password"[^>]*>', edit).group(0)  # type: ignore[union-attr]
    assert not re.search(r'value="[^"]', password_input)
    data = {**ROUTER, "name": "Renamed", "password": "", "csrf_token": csrf_from(edit)}
    response = logged_in.post(f"/dashboard/routers/{router_id}/edit", data=data)
    assert response.status_code == 303
    with app.app_context():
        row = db.session.get(Router, router_id)
        assert row.name == "Renamed"
        assert row.encrypted_password == stored
    failed = logged_in.post(
        f"/dashboard/routers/{router_id}/edit",
        headers=HX,
        data={**data, "password": "typed-but-invalid", "port": "0"},
    )
    assert failed.status_code == 422
    assert "typed-but-invalid" not in failed.get_data(as_text=True)


def test_edit_errors_are_422_fragments(logged_in: FlaskClient) -> None:
    router_id = _create(logged_in)
    response = logged_in.post(
        f"/dashboard/routers/{router_id}/edit",
        headers=HX,
        data={**ROUTER, "name": "", "tls_fingerprint": "zz", "csrf_token": _token(logged_in)},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert _is_fragment(body)
    assert "This field is required." in body


def test_delete_redirects_and_removes(logged_in: FlaskClient) -> None:
    router_id = _create(logged_in)
    response = logged_in.post(f"/dashboard/routers/{router_id}/delete", headers=_hx(logged_in))
    assert response.headers["HX-Redirect"] == "/dashboard/routers"
    assert "Router &#34;Office Router&#34; deleted." in logged_in.get("/dashboard/routers").get_data(
        as_text=True
    )
    assert logged_in.get(f"/dashboard/routers/{router_id}").status_code == 404


def test_other_users_router_is_404_on_every_page_and_fragment(
    client: FlaskClient, html, user, other_user
) -> None:  # type: ignore[no-untyped-def]
    html.login()
    router_id = _create(client)
    client.post("/dashboard/logout", data={"csrf_token": _token(client)})
    html.login("mallory")
    gets = ["", "/edit", "/device-info", "/history", "/audit"]
    for suffix in gets:
        for headers in ({}, HX):
            assert (
                client.get(f"/dashboard/routers/{router_id}{suffix}", headers=headers).status_code == 404
            ), suffix
    token = _token(client)
    posts = {
        "/edit": {**ROUTER, "name": "pwned"},
        "/delete": {},
        "/test": {},
        "/commands": {"command": "user"},
    }
    for suffix, data in posts.items():
        response = client.post(
            f"/dashboard/routers/{router_id}{suffix}", data=data, headers={**HX, "X-CSRFToken": token}
        )
        assert response.status_code == 404, suffix
    assert "Office Router" not in client.get("/dashboard/routers").get_data(as_text=True)


def test_detail_page_wires_lazy_device_info_console_history_and_audit(logged_in: FlaskClient) -> None:
    router_id = _create(logged_in)
    page = logged_in.get(f"/dashboard/routers/{router_id}").get_data(as_text=True)
    assert f'hx-get="/dashboard/routers/{router_id}/device-info"' in page
    assert 'hx-trigger="load, every 15s"' in page
    assert '<datalist id="known-menus">' in page
    assert '<option value="ip/hotspot/user">' in page
    assert 'name="params-key"' in page
    assert 'name="body-value"' in page
    assert "No commands run yet." in page
    assert "Created router" in page  # the audit trail


def test_device_info_fragment_shows_clear_error_for_a_down_router(logged_in: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    app.config["ROUTER_TIMEOUT"] = 2
    with Simulator([RouterSpec(name="gone", username="admin", password="pw")]) as sim:
        port = sim.routers[0].api_port
    router_id = _create(
        logged_in, host="127.0.0.1", port=str(port), password="pw"
    )  # nothing listens there now
    response = logged_in.get(f"/dashboard/routers/{router_id}/device-info", headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert _is_fragment(body)
    assert 'data-testid="device-error"' in body
    assert 'data-reason="unreachable"' in body
    assert "badge-down" in body
    assert 'hx-swap-oob="true"' in body  # the status badge beside the title updates too


@pytest.fixture
def sim_router() -> Iterator[Any]:
    with Simulator([RouterSpec(name="lab", version="7.16.1", username="admin", password="pw")]) as sim:
        yield sim.routers[0]


def test_against_a_simulated_router(logged_in: FlaskClient, sim_router) -> None:  # type: ignore[no-untyped-def]
    router_id = _create(logged_in, host="127.0.0.1", port=str(sim_router.api_port), password="pw")
    tested = logged_in.post(f"/dashboard/routers/{router_id}/test", headers=_hx(logged_in)).get_data(
        as_text=True
    )
    assert _is_fragment(tested)
    assert "badge-up" in tested
    assert "7.16.1" in tested
    info = logged_in.get(f"/dashboard/routers/{router_id}/device-info", headers=HX).get_data(as_text=True)
    assert 'data-testid="device-info"' in info
    assert "7.16.1" in info

    token = _token(logged_in)
    added = logged_in.post(
        f"/dashboard/routers/{router_id}/commands",
        headers={**HX, "X-CSRFToken": token},
        data={
            "command": "ip/address/add",
            "method": "POST",
            "body-key": ["address", "interface", ""],
            "body-value": ["10.9.9.1/24", "ether1", ""],
        },
    )
    assert added.status_code == 200
    assert added.headers["HX-Trigger"] == "commands-changed"
    assert 'data-testid="command-result"' in added.get_data(as_text=True)
    printed = logged_in.post(
        f"/dashboard/routers/{router_id}/commands",
        headers={**HX, "X-CSRFToken": token},
        data={"command": "ip/address", "method": "GET"},
    )
    body = printed.get_data(as_text=True)
    assert _is_fragment(body)
    assert 'data-testid="result-table"' in body
    assert "<th>address</th>" in body
    assert "10.9.9.1/24" in body
    assert "Raw JSON" in body

    history = logged_in.get(f"/dashboard/routers/{router_id}/history?method=POST", headers=HX).get_data(
        as_text=True
    )
    assert _is_fragment(history)
    assert "ip/address/add" in history
    assert "GET ip/address<" not in history
    failed = logged_in.get(f"/dashboard/routers/{router_id}/history?status=failed").get_data(as_text=True)
    assert "No command matches these filters." in failed
    audit = logged_in.get(f"/dashboard/routers/{router_id}/audit", headers=HX).get_data(as_text=True)
    assert "POST ip/address/add" in audit

    rejected = logged_in.post(
        f"/dashboard/routers/{router_id}/commands",
        headers={**HX, "X-CSRFToken": token},
        data={
            "command": "ip/address/add",
            "method": "POST",
            "body-key": "address",
            "body-value": "not-an-address",
        },
    )
    assert rejected.status_code == 200
    assert 'data-testid="command-error"' in rejected.get_data(as_text=True)


def test_dangerous_command_asks_for_confirmation(logged_in: FlaskClient, sim_router) -> None:  # type: ignore[no-untyped-def]
    router_id = _create(logged_in, host="127.0.0.1", port=str(sim_router.api_port), password="pw")
    token = _token(logged_in)
    headers = {**HX, "X-CSRFToken": token}
    data = {"command": "user/remove", "method": "POST", "body-key": ".id", "body-value": "*99"}
    response = logged_in.post(f"/dashboard/routers/{router_id}/commands", headers=headers, data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'data-testid="confirm-needed"' in body
    assert 'name="confirm" value="1"' in body
    assert 'value="user/remove"' in body
    assert 'value="*99"' in body
    assert "No commands run yet." in logged_in.get(f"/dashboard/routers/{router_id}").get_data(as_text=True)
    confirmed = logged_in.post(
        f"/dashboard/routers/{router_id}/commands", headers=headers, data={**data, "confirm": "1"}
    )
    assert confirmed.status_code == 200
    assert 'data-testid="confirm-needed"' not in confirmed.get_data(as_text=True)
    assert "user/remove" in logged_in.get(f"/dashboard/routers/{router_id}/history").get_data(as_text=True)


def test_console_validation_errors_are_422_in_place(logged_in: FlaskClient) -> None:
    router_id = _create(logged_in)
    headers = _hx(logged_in)
    response = logged_in.post(
        f"/dashboard/routers/{router_id}/commands",
        headers=headers,
        data={"command": "ip address; rm -rf", "method": "GET"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert _is_fragment(body)
    assert 'id="console"' in body
    assert "a RouterOS menu path" in body
    missing_key = logged_in.post(
        f"/dashboard/routers/{router_id}/commands",
        headers=headers,
        data={"command": "ip/address", "params-key": "", "params-value": "orphan"},
    )
    assert missing_key.status_code == 422
    assert "every value needs a name" in missing_key.get_data(as_text=True)


def test_rerun_shows_result_in_console(logged_in: FlaskClient, sim_router) -> None:  # type: ignore[no-untyped-def]
    router_id = _create(logged_in, host="127.0.0.1", port=str(sim_router.api_port), password="pw")
    headers = _hx(logged_in)
    logged_in.post(
        f"/dashboard/routers/{router_id}/commands", headers=headers, data={"command": "system/identity"}
    )
    history = logged_in.get(f"/dashboard/routers/{router_id}/history").get_data(as_text=True)
    command_id = re.search(r"/dashboard/commands/(\d+)/rerun", history).group(1)  # type: ignore[union-attr]
    again = logged_in.post(f"/dashboard/commands/{command_id}/rerun", headers=headers)
    assert again.status_code == 200
    assert again.headers["HX-Trigger"] == "commands-changed"
    assert 'value="system/identity"' in again.get_data(as_text=True)
    assert "lab" in again.get_data(as_text=True)
    assert (
        logged_in.get(f"/dashboard/routers/{router_id}/history").get_data(as_text=True).count("history-row")
        == 2
    )


def test_pages_need_login_and_htmx_gets_hx_redirect(client: FlaskClient) -> None:
    assert client.get("/dashboard/routers").status_code == 302
    fragment = client.get("/dashboard/routers/rows", headers=HX)
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"] == "/dashboard/login"


def test_nav_links_to_routers(logged_in: FlaskClient) -> None:
    assert 'href="/dashboard/routers"' in logged_in.get("/dashboard/").get_data(as_text=True)
