"""Migrations build the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tests import postgres
from tests.conftest import PASSWORD, make_config
from webapp import create_app
from webapp.extensions import db


def _assert_schema_matches_models(database_url: str, tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path / "unused.db", SQLALCHEMY_DATABASE_URI=database_url))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def test_sqlite_schema_matches_models(tmp_path: Path) -> None:
    _assert_schema_matches_models(f"sqlite:///{tmp_path / 'schema.db'}", tmp_path)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not postgres.available():
        pytest.fail("PostgreSQL server binaries are missing: `make test` installs Debian's postgresql")
    with postgres.cluster() as url:
        yield url


def test_postgresql_schema_matches_models(postgres_url: str, tmp_path: Path) -> None:
    _assert_schema_matches_models(postgres_url, tmp_path)


def test_postgresql_serves_the_api(postgres_url: str, tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path / "unused.db", SQLALCHEMY_DATABASE_URI=postgres_url))
    with app.app_context():
        upgrade()
    client = app.test_client()
    with app.app_context():
        from webapp.services import accounts

        accounts.create_user("pguser", PASSWORD)
    token = client.post("/users/login/", json={"username": "pguser", "password": PASSWORD}).get_json()["access"]
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(3):
        body = {"name": f"PG {i}", "host": f"10.1.0.{i + 1}", "username": "admin", "password": "pw"}
        assert client.post("/routers/", json=body, headers=headers).status_code == 201
    page = client.get("/routers/?page=1&page_size=2&search=pg&ordering=-name", headers=headers).get_json()
    assert page["count"] == 3 and [r["name"] for r in page["results"]] == ["PG 2", "PG 1"]
    assert client.get("/commands/?status=failed", headers=headers).get_json()["count"] == 0
    with app.app_context():
        downgrade(revision="base")
        db.engine.dispose()
