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


def test_ids_are_never_reused_and_the_rebuild_keeps_every_row(tmp_path: Path) -> None:
    from sqlalchemy import text

    app = create_app(make_config(tmp_path / "ids.db"))
    with app.app_context():
        upgrade(revision="0004_monitoring")
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO users (id, username, password_hash, is_active_account, created_at) "
                                    "VALUES (1, 'u', 'h', 1, '2026-01-01')"))
            for router_id in (1, 2):
                connection.execute(text(
                    "INSERT INTO routers (id, user_id, name, host, port, username, encrypted_password, use_https, "
                    "protocol, verify_tls, is_online, created_at, updated_at) VALUES "
                    "(:id, 1, 'r', '127.0.0.1', 8728, 'a', x'00', 0, 'api', 0, 0, '2026-01-01', '2026-01-01')"),
                    {"id": router_id})
            connection.execute(text("INSERT INTO audit_events (user_id, router_id, action, summary, details, "
                                    "created_at) VALUES (1, 2, 'x', 'y', '{}', '2026-01-01')"))
        upgrade()
        with db.engine.begin() as connection:
            ddl = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'routers'")).scalar_one()
            assert "AUTOINCREMENT" in ddl
            assert connection.execute(text("SELECT count(*) FROM audit_events WHERE router_id = 2")).scalar_one() == 1
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            connection.execute(text("DELETE FROM routers WHERE id = 2"))
            connection.execute(text(
                "INSERT INTO routers (user_id, name, host, port, username, encrypted_password, use_https, protocol, "
                "verify_tls, is_online, created_at, updated_at) VALUES "
                "(1, 'n', '127.0.0.1', 8728, 'a', x'00', 0, 'api', 0, 0, '2026-01-01', '2026-01-01')"))
            assert connection.execute(text("SELECT max(id) FROM routers")).scalar_one() == 3
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
        db.engine.dispose()
