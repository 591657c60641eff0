"""Fixtures shared by the web-facing suites: a fresh app on a real database per test.

The database is a SQLite file, or with ``ROUTERDECK_TEST_DATABASE=postgresql`` (``make test`` runs the
services, API and dashboard suites both ways) a fresh database on a throwaway PostgreSQL cluster, copied from
a template the migrations built once.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from tests import postgres
from webapp import create_app
from webapp.extensions import db
from webapp.services import accounts, gateway

ON_POSTGRES = os.environ.get("ROUTERDECK_TEST_DATABASE", "sqlite") == "postgresql"

PASSWORD = "correct horse battery"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "webapp" / "translations"


def pytest_configure(config: pytest.Config) -> None:
    """Compile the message catalogues (.mo files are build output, not committed) when missing or stale."""
    del config
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as target:
            write_mo(target, catalog)


def make_config(db_path: Path, **overrides: Any) -> dict[str, Any]:
    """Test configuration on a real SQLite file, with CSRF on and real secrets."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "JWT_SECRET_KEY": "test-jwt-secret-" + "y" * 32,
        "ROUTER_PASSWORD_KEYS": [Fernet.generate_key().decode()],
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "WTF_CSRF_ENABLED": True,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        # Jobs run in the thread that queued them (same claim/lease/handler path); the job suites use real
        # runners in real processes.
        "JOBS_RUNNER": "inline",
        "ROUTER_IO_GUARD": True,
        "LOGIN_IP_RATE_LIMIT": "1000 per minute",
    }
    if ON_POSTGRES and "SQLALCHEMY_DATABASE_URI" not in overrides:
        config["SQLALCHEMY_DATABASE_URI"] = _databases.fresh()
    config.update(overrides)
    return config


class _PostgresDatabases:
    """One cluster for the session; every test database is a copy of a template migrated once."""

    TEMPLATE = "routerdeck_template"

    def __init__(self) -> None:
        self._cluster: Any = None
        self._server = ""
        self._numbers = itertools.count(1)

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self._server.replace("postgresql+psycopg", "postgresql"), autocommit=True)

    def _start(self) -> None:
        if not postgres.available():
            pytest.fail("PostgreSQL server binaries are missing: `make test` installs Debian's postgresql")
        self._cluster = postgres.cluster()
        self._server = self._cluster.__enter__()
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {self.TEMPLATE}")
        url = self._server.rsplit("/", 1)[0] + f"/{self.TEMPLATE}"
        template_app = create_app(make_config(Path("unused.db"), SQLALCHEMY_DATABASE_URI=url))
        with template_app.app_context():
            upgrade()
            db.engine.dispose()

    def fresh(self) -> str:
        """A new, migrated, empty database's URL."""
        if self._cluster is None:
            self._start()
        name = f"test_{os.getpid()}_{next(self._numbers)}"
        with self._admin() as admin:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}")
        return self._server.rsplit("/", 1)[0] + f"/{name}"

    def drop(self, url: str) -> None:
        """Delete a test database (disconnecting whoever still holds it)."""
        name = url.rsplit("/", 1)[-1]
        if self._cluster is not None and url.startswith(self._server.rsplit("/", 1)[0]) and name.startswith("test_"):
            with self._admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.__exit__(None, None, None)
            self._cluster = None


_databases = _PostgresDatabases()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's PostgreSQL cluster, if one was started."""
    del config
    _databases.close()


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    """Override in a test module to change the app's configuration."""
    return make_config(tmp_path / "test.db")


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """A fresh app whose schema was built by the real migrations."""
    application = create_app(app_config)
    with application.app_context():
        upgrade()
    yield application
    gateway.close_pool()
    with application.app_context():
        db.engine.dispose()
    if ON_POSTGRES:
        _databases.drop(app_config["SQLALCHEMY_DATABASE_URI"])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def user(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        created = accounts.create_user("alice", PASSWORD, "alice@example.com")
        return SimpleNamespace(id=created.id, username=created.username)


@pytest.fixture
def other_user(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        created = accounts.create_user("mallory", PASSWORD)
        return SimpleNamespace(id=created.id, username=created.username)


class ApiAuth:
    """Logs in over the JSON API and builds bearer headers."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, username: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
        response = self._client.post("/users/login/", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def headers(self, username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(username, password)['access']}"}


@pytest.fixture
def api(client: FlaskClient, user: SimpleNamespace) -> ApiAuth:
    return ApiAuth(client)


_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Pull the CSRF token out of a rendered form."""
    match = _CSRF_RE.search(html)
    assert match, "no csrf_token in page"
    return match.group(1) or match.group(2)


class HtmlAuth:
    """Logs in through the real HTML form, CSRF token included."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, username: str = "alice", password: str = PASSWORD):  # type: ignore[no-untyped-def]
        page = self._client.get("/dashboard/login")
        token = csrf_from(page.get_data(as_text=True))
        return self._client.post(
            "/dashboard/login", data={"username": username, "password": password, "csrf_token": token}
        )


@pytest.fixture
def html(client: FlaskClient) -> HtmlAuth:
    return HtmlAuth(client)
