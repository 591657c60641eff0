"""The contract's Router Management endpoints: CRUD, defaults, partial PUT, isolation, lists, keys."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEvent, Router

CONTRACT_FIELDS = {
    "id", "name", "host", "port", "username", "use_https", "is_online", "last_checked", "created_at", "updated_at",
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
OFFICE = {
    "name": "Office Router", "host": "192.168.1.1", "port": 80, "username": "admin",
    "password": "your_password", "use_https": False,
}


@pytest.fixture
def headers(api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return api.headers()


def _create(client, headers, **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/routers/", json={**OFFICE, **overrides}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_matches_contract_response(client, headers) -> None:  # type: ignore[no-untyped-def]
    body = _create(client, headers)
    assert set(body) >= CONTRACT_FIELDS
    assert {k: body[k] for k in ("name", "host", "port", "username", "use_https", "is_online", "last_checked")} == {
        "name": "Office Router", "host": "192.168.1.1", "port": 80, "username": "admin", "use_https": False,
        "is_online": False, "last_checked": None,
    }
    assert ISO_Z.match(body["created_at"]) and ISO_Z.match(body["updated_at"])
    assert body["protocol"] == "auto"
    assert "password" not in body and "encrypted_password" not in body
    assert "your_password" not in str(body)


def test_contract_example_without_port_uses_defaults(client, headers) -> None:  # type: ignore[no-untyped-def]
    body = client.post(
        "/routers/",
        json={"name": "Home Router", "host": "192.168.1.1", "username": "admin", "password": "password123"},
        headers=headers,
    ).get_json()
    assert body["port"] == 80 and body["use_https"] is False


@pytest.mark.parametrize(
    ("extra", "port"),
    [({"protocol": "api"}, 8728), ({"protocol": "api-ssl"}, 8729), ({"use_https": True}, 443), ({}, 80)],
)
def test_missing_port_follows_the_protocol(client, headers, extra: dict[str, Any], port: int) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "R", "host": "10.0.0.1", "username": "admin", "password": "pw", **extra}
    assert client.post("/routers/", json=body, headers=headers).get_json()["port"] == port


def test_password_is_encrypted_at_rest(client, headers, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, headers)
    with app.app_context():
        row = db.session.get(Router, created["id"])
        assert b"your_password" not in row.encrypted_password
        key = app.config["ROUTER_PASSWORD_KEYS"][0]
        assert Fernet(key).decrypt(row.encrypted_password) == b"your_password"


def test_list_is_plain_list_for_len(client, headers) -> None:  # type: ignore[no-untyped-def]
    _create(client, headers, name="A")
    _create(client, headers, name="B")
    routers = client.get("/routers/", headers=headers).get_json()
    assert isinstance(routers, list) and len(routers) == 2
    assert [r["name"] for r in routers] == ["A", "B"]


def test_partial_put_as_contract_example_keeps_password(client, headers, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, headers)
    with app.app_context():
        before = db.session.get(Router, created["id"]).encrypted_password
    response = client.put(
        f"/routers/{created['id']}/", json={"name": "Updated Router Name", "port": 443, "use_https": True},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Updated Router Name" and body["port"] == 443 and body["use_https"] is True
    assert body["host"] == "192.168.1.1" and body["created_at"] == created["created_at"]
    with app.app_context():
        assert db.session.get(Router, created["id"]).encrypted_password == before
    blank = client.put(f"/routers/{created['id']}/", json={"password": ""}, headers=headers)
    assert blank.status_code == 200
    with app.app_context():
        key = app.config["ROUTER_PASSWORD_KEYS"][0]
        assert Fernet(key).decrypt(db.session.get(Router, created["id"]).encrypted_password) == b"your_password"


def test_delete_message_and_404_after(client, headers) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, headers, name="Test Router")
    response = client.delete(f"/routers/{created['id']}/", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"message": 'Router "Test Router" has been successfully deleted'}
    assert client.get(f"/routers/{created['id']}/", headers=headers).status_code == 404


def test_other_users_router_is_404_everywhere(client, api, other_user) -> None:  # type: ignore[no-untyped-def]
    mine = _create(client, api.headers())
    theirs = api.headers("mallory")
    rid = mine["id"]
    calls = [
        ("get", f"/routers/{rid}/", None),
        ("put", f"/routers/{rid}/", {"name": "pwned"}),
        ("delete", f"/routers/{rid}/", None),
        ("post", f"/routers/{rid}/test-connection/", None),
        ("post", f"/routers/{rid}/execute-command/", {"command": "system/identity"}),
        ("get", f"/routers/{rid}/device-info/", None),
        ("get", f"/routers/{rid}/commands/", None),
        ("get", f"/routers/{rid}/audit/", None),
    ]
    for method, path, body in calls:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(client, method)(path, headers=theirs, **kwargs)
        assert response.status_code == 404, (method, path, response.get_json())
        assert response.get_json() == {"error": "Router not found"}
    assert client.get("/routers/", headers=theirs).get_json() == []
    assert client.get(f"/routers/{rid}/", headers=api.headers()).get_json()["name"] == "Office Router"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**OFFICE, "port": 0}, "port"),
        ({**OFFICE, "port": 70000}, "port"),
        ({**OFFICE, "port": "80"}, "port"),
        ({**OFFICE, "use_https": "yes"}, "use_https"),
        ({**OFFICE, "name": "x" * 5000}, "name"),
        ({**OFFICE, "host": "not a host!"}, "host"),
        ({**OFFICE, "protocol": "telnet"}, "protocol"),
        ({k: v for k, v in OFFICE.items() if k != "password"}, "password"),
        ({k: v for k, v in OFFICE.items() if k != "host"}, "host"),
    ],
)
def test_bad_router_bodies_are_400_with_field(client, headers, body: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/routers/", json=body, headers=headers)
    assert response.status_code == 400
    payload = response.get_json()
    assert field in payload["error"] and field in payload["fields"]


def test_pagination_filters_and_ordering(client, headers, app) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        _create(client, headers, name=f"r{i}", host=f"10.0.0.{i + 1}", protocol="api" if i % 2 else "rest")
    with app.app_context():
        db.session.get(Router, 1).is_online = True
        db.session.commit()
    page = client.get("/routers/?page=1&page_size=2&ordering=-name", headers=headers).get_json()
    assert page["count"] == 5 and [r["name"] for r in page["results"]] == ["r4", "r3"]
    assert page["previous"] is None and "page=2" in page["next"]
    last = client.get("/routers/?page=3&page_size=2&ordering=-name", headers=headers).get_json()
    assert [r["name"] for r in last["results"]] == ["r0"] and last["next"] is None
    assert [r["name"] for r in client.get("/routers/?protocol=api", headers=headers).get_json()] == ["r1", "r3"]
    assert [r["name"] for r in client.get("/routers/?is_online=true", headers=headers).get_json()] == ["r0"]
    assert [r["name"] for r in client.get("/routers/?search=10.0.0.3", headers=headers).get_json()] == ["r2"]
    assert client.get("/routers/?created__gte=2000-01-01", headers=headers).get_json().__len__() == 5
    assert client.get("/routers/?created__lt=2000-01-01", headers=headers).get_json() == []
    for bad in ("page=0", "page_size=1000", "ordering=password", "is_online=maybe", "created__gte=yesterday"):
        response = client.get(f"/routers/?{bad}", headers=headers)
        assert response.status_code == 400, bad
        assert "error" in response.get_json()


def test_writes_are_audited_without_secrets(client, headers, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, headers)
    client.put(f"/routers/{created['id']}/", json={"password": "n3w-secret", "name": "Renamed"}, headers=headers)
    trail = client.get(f"/routers/{created['id']}/audit/", headers=headers).get_json()
    assert [e["action"] for e in trail["results"]] == ["router.update", "router.create"]
    assert trail["results"][0]["user"] == "alice" and trail["results"][0]["ip_address"] == "127.0.0.1"
    with app.app_context():
        dump = str([(e.summary, e.details) for e in db.session.scalars(select(AuditEvent))])
    assert "your_password" not in dump and "n3w-secret" not in dump


def test_rotate_keys_reencrypts_and_is_idempotent(client, headers, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, headers)
    old_key = app.config["ROUTER_PASSWORD_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    app.config["ROUTER_PASSWORD_KEYS"] = [new_key, old_key]
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["rotate-keys"])
        assert result.exit_code == 0, result.output
        assert "Re-encrypted 1 router password" in result.output
    app.config["ROUTER_PASSWORD_KEYS"] = [new_key]  # the old key can go now
    with app.app_context():
        token = db.session.get(Router, created["id"]).encrypted_password
    assert Fernet(new_key).decrypt(token) == b"your_password"
    app.config["ROUTER_PASSWORD_KEYS"] = [Fernet.generate_key().decode()]
    failed = runner.invoke(args=["rotate-keys"])
    assert failed.exit_code != 0 and "cannot be decrypted" in failed.output


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"command": "ip/hotspot", "method": "FETCH"}, 400, "method"),
        ({"command": "ip hotspot; rm -rf"}, 400, "command"),
        ({"command": 5}, 400, "command"),
        ({"command": "ip/hotspot", "params": ["?name"]}, 400, "params"),
        ({"command": "system/reboot", "method": "POST"}, 409, "confirm"),
        ({"command": "system/reset-configuration", "method": "POST"}, 409, "erases"),
        ({"command": "user/remove", "method": "DELETE", "data": {".id": "*1"}}, 409, "lock"),
        ({"command": "ip/service/disable", "method": "POST", "data": {"numbers": "api"}}, 409, "cuts RouterDeck off"),
    ],
)
def test_execute_command_rejects_bad_or_unconfirmed_input(client, headers, body, status, fragment) -> None:  # type: ignore[no-untyped-def]
    created = _create(client, headers)
    response = client.post(f"/routers/{created['id']}/execute-command/", json=body, headers=headers)
    assert response.status_code == status
    assert fragment in str(response.get_json())
