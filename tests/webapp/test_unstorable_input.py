"""NUL and unpaired surrogates are a 400 with a clear error everywhere, proven on PostgreSQL (which refuses them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade

from tests import postgres
from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db
from webapp.services import accounts


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not postgres.available():
        pytest.fail("PostgreSQL server binaries are missing: `make test` installs Debian's postgresql")
    with postgres.cluster() as url:
        yield url


def test_nul_and_surrogates_are_400_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path / "unused.db", SQLALCHEMY_DATABASE_URI=postgres_url))
    with app.app_context():
        upgrade()
        accounts.create_user("pgnul", PASSWORD)
    client = app.test_client()
    # Unauthenticated: the login username (was a 500 from the driver).
    login = client.post("/users/login/", json={"username": "pg\x00nul", "password": PASSWORD})
    assert login.status_code == 400 and "NUL" in login.get_json()["error"]
    surrogate = client.post("/users/login/", data='{"username": "\\ud800", "password": "x"}',
                            content_type="application/json")
    assert surrogate.status_code == 400
    headers = {"Authorization": "Bearer " + client.post(
        "/users/login/", json={"username": "pgnul", "password": PASSWORD}).get_json()["access"]}
    router = client.post("/routers/", headers=headers,
                         json={"name": "a\x00b", "host": "127.0.0.1", "username": "u", "password": "p"})
    assert router.status_code == 400
    assert client.post("/users/api-keys/", headers=headers, json={"name": "k\x00"}).status_code == 400
    assert client.get("/routers/?search=%00", headers=headers).status_code == 400
    form = client.post("/dashboard/login", data={"username": "x\x00", "password": "y"})
    assert form.status_code == 400
    # Ordinary text still works on the same database.
    assert client.get("/routers/?search=office", headers=headers).status_code == 200
    with app.app_context():
        db.engine.dispose()
