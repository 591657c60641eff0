"""JSON login (password and API key pair), refresh, logout revocation, expiry, API keys, rate limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import select

from tests.conftest import PASSWORD, make_config
from webapp.extensions import db
from webapp.models import ApiKey

TOKEN_KEYS = {"access", "refresh", "token_type", "expires_in", "user"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_password_login_returns_contract_token_document(client, user, app) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/users/login/", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"] == {"id": user.id, "username": "alice", "role": "owner"}
    with app.app_context():
        access, refresh = decode_token(body["access"]), decode_token(body["refresh"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    assert client.get("/users/me/", headers=_bearer(body["access"])).get_json()["username"] == "alice"


@pytest.mark.parametrize(
    "body",
    [{"username": "alice", "password": "wrong password"}, {"username": "nobody", "password": PASSWORD}],
)
def test_bad_credentials_are_401_with_one_message(client, user, body: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/users/login/", json=body)
    assert response.status_code == 401
    assert response.get_json() == {"error": "Invalid username or password"}


def test_api_key_shown_once_hashed_at_rest_and_logs_in(client, api, app) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    created = client.post("/users/api-keys/", json={"name": "billing"}, headers=headers)
    assert created.status_code == 201
    key = created.get_json()
    assert key["private_key"].startswith("rdk_sec_") and key["public_key"].startswith("rdk_pub_")
    assert key["last_used_at"] is None
    listed = client.get("/users/api-keys/", headers=headers).get_json()
    assert [k["name"] for k in listed] == ["billing"]
    assert "private_key" not in listed[0]
    with app.app_context():
        row = db.session.scalar(select(ApiKey))
        assert key["private_key"] not in row.private_key_hash
        assert len(row.private_key_hash) == 64
    login = client.post(
        "/users/api-key-login/", json={"public_key": key["public_key"], "private_key": key["private_key"]}
    )
    assert login.status_code == 200
    assert set(login.get_json()) == TOKEN_KEYS
    assert login.get_json()["user"]["username"] == "alice"
    used = client.get("/users/api-keys/", headers=headers).get_json()[0]
    assert used["last_used_at"] is not None and used["last_used_at"].endswith("Z")


def test_api_key_wrong_private_key_and_revocation(client, api) -> None:  # type: ignore[no-untyped-def]
    headers = api.headers()
    key = client.post("/users/api-keys/", json={"name": "k"}, headers=headers).get_json()
    wrong = client.post("/users/api-key-login/", json={"public_key": key["public_key"], "private_key": "rdk_sec_x"})
    assert wrong.status_code == 401
    session = client.post(
        "/users/api-key-login/", json={"public_key": key["public_key"], "private_key": key["private_key"]}
    ).get_json()
    revoked = client.delete(f"/users/api-keys/{key['id']}/", headers=headers)
    assert revoked.status_code == 200
    assert revoked.get_json()["message"] == 'API key "k" has been revoked'
    again = client.post(
        "/users/api-key-login/", json={"public_key": key["public_key"], "private_key": key["private_key"]}
    )
    assert again.status_code == 401
    # Tokens obtained with the revoked key die with it.
    assert client.get("/users/me/", headers=_bearer(session["access"])).status_code == 401
    assert client.delete(f"/users/api-keys/{key['id']}/", headers=headers).status_code == 404


def test_api_keys_are_isolated_between_users(client, api, user, other_user) -> None:  # type: ignore[no-untyped-def]
    mine = client.post("/users/api-keys/", json={"name": "mine"}, headers=api.headers()).get_json()
    theirs = api.headers("mallory")
    assert client.get("/users/api-keys/", headers=theirs).get_json() == []
    assert client.delete(f"/users/api-keys/{mine['id']}/", headers=theirs).status_code == 404


def test_refresh_gives_new_access_token_and_rejects_access_token(client, user) -> None:  # type: ignore[no-untyped-def]
    tokens = client.post("/users/login/", json={"username": "alice", "password": PASSWORD}).get_json()
    refreshed = client.post("/users/token/refresh/", headers=_bearer(tokens["refresh"]))
    assert refreshed.status_code == 200
    new_access = refreshed.get_json()["access"]
    assert client.get("/users/me/", headers=_bearer(new_access)).status_code == 200
    wrong_kind = client.post("/users/token/refresh/", headers=_bearer(tokens["access"]))
    assert wrong_kind.status_code == 401
    assert "error" in wrong_kind.get_json()


def test_logout_revokes_access_and_refresh(client, user) -> None:  # type: ignore[no-untyped-def]
    tokens = client.post("/users/login/", json={"username": "alice", "password": PASSWORD}).get_json()
    other = client.post("/users/login/", json={"username": "alice", "password": PASSWORD}).get_json()
    assert client.post("/users/logout/", headers=_bearer(tokens["access"])).status_code == 200
    for token in (tokens["access"],):
        denied = client.get("/users/me/", headers=_bearer(token))
        assert denied.status_code == 401
        assert denied.get_json() == {"error": "Token has been revoked; log in again"}
    assert client.post("/users/token/refresh/", headers=_bearer(tokens["refresh"])).status_code == 401
    # Another login of the same user is untouched.
    assert client.get("/users/me/", headers=_bearer(other["access"])).status_code == 200


def test_expired_token_is_401(client, user, app) -> None:  # type: ignore[no-untyped-def]
    tokens = client.post("/users/login/", json={"username": "alice", "password": PASSWORD}).get_json()
    with app.app_context():
        sid = decode_token(tokens["access"])["sid"]
        expired = create_access_token(
            identity=str(user.id), additional_claims={"sid": sid}, expires_delta=timedelta(seconds=-5)
        )
    response = client.get("/users/me/", headers=_bearer(expired))
    assert response.status_code == 401
    assert response.get_json() == {"error": "Access token has expired"}


def test_missing_and_forged_tokens(client, user) -> None:  # type: ignore[no-untyped-def]
    missing = client.get("/users/api-keys/")
    assert missing.status_code == 401 and missing.get_json()["error"].startswith("Authentication required")
    forged = client.get("/users/api-keys/", headers=_bearer("a.b.c"))
    assert forged.status_code == 401 and "error" in forged.get_json()


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"data": "username=alice", "content_type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"json": ["alice", "pw"]}, 400, "JSON object"),
        ({"json": {"username": 5, "password": "x"}}, 400, "username"),
        ({"json": {"username": "alice"}}, 400, "password"),
        ({"json": {"username": "alice", "password": "x" * (1024 * 1024)}}, 413, "too large"),
    ],
)
def test_bad_bodies_get_clear_json_errors(client, user, kwargs: dict[str, Any], status: int, fragment: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/users/login/", **kwargs)
    assert response.status_code == status
    body = response.get_json()
    assert set(body) >= {"error"}
    assert fragment in body["error"] or fragment in str(body.get("fields"))


def test_json_error_shapes_for_unknown_path_and_method(client) -> None:  # type: ignore[no-untyped-def]
    missing = client.get("/users/nope/")
    assert missing.status_code == 404 and missing.get_json() == {"error": "Not found"}
    wrong_method = client.get("/users/login/")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json() == {"error": "Method not allowed"}
    assert "POST" in wrong_method.headers["Allow"]


class TestRateLimit:
    @pytest.fixture
    def app_config(self, tmp_path: Path) -> dict[str, Any]:
        return make_config(tmp_path / "t.db", LOGIN_RATE_LIMIT="3 per minute")

    def test_login_is_limited_per_ip_with_json_429(self, client, user) -> None:  # type: ignore[no-untyped-def]
        for _ in range(3):
            assert client.post("/users/login/", json={"username": "alice", "password": "bad"}).status_code == 401
        limited = client.post("/users/login/", json={"username": "alice", "password": PASSWORD})
        assert limited.status_code == 429
        assert limited.get_json()["error"].startswith("Too many requests")

    def test_guesses_from_many_addresses_do_not_lock_out_the_right_password(self, client, user) -> None:  # type: ignore[no-untyped-def]
        # Was: 3 wrong guesses from 3 addresses made the right password from a 4th address a 429 for a minute
        # (anyone could lock the owner out). Under the backoff threshold nothing waits.
        for i in range(3):
            env = {"REMOTE_ADDR": f"10.9.0.{i + 1}"}
            client.post("/users/login/", json={"username": "alice", "password": "bad"}, environ_base=env)
        fresh = client.post(
            "/users/login/", json={"username": "alice", "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.9.0.99"}
        )
        assert fresh.status_code == 200

    def test_api_key_login_is_limited(self, client) -> None:  # type: ignore[no-untyped-def]
        body = {"public_key": "rdk_pub_x", "private_key": "rdk_sec_y"}
        codes = [client.post("/users/api-key-login/", json=body).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]

    def test_html_login_form_is_limited_with_form_message(self, client, html, user) -> None:  # type: ignore[no-untyped-def]
        for _ in range(3):
            assert html.login(password="bad password").status_code == 401
        limited = html.login()
        assert limited.status_code == 429
        page = limited.get_data(as_text=True)
        assert "Too many login attempts" in page
        assert "<form" in page
