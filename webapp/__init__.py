"""RouterDeck web application: the dashboard and the JSON API over one service layer."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from webapp.config import PLACEHOLDER_SECRETS, Defaults
from webapp.jsonprovider import OrjsonProvider

REQUIRED_SECRETS = ("SECRET_KEY", "JWT_SECRET_KEY", "ROUTER_PASSWORD_KEYS")
MIN_SECRET_LENGTH = 32
# Commands that must run before any secret exists (they are how the secrets get made).
_SECRETLESS_COMMANDS = frozenset({"init-instance"})


class MissingSecretsError(RuntimeError):
    """Raised by :func:`create_app` outside testing when a secret is missing or a placeholder."""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then ``FLASK_*`` variables, then ``test_config``.

    :raises MissingSecretsError: outside testing, when a secret is missing or left at a placeholder.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.json = OrjsonProvider(app)
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    _normalise_config(app)
    if not app.config.get("TESTING") and _invoked_command() not in _SECRETLESS_COMMANDS and not _asking_for_help():
        _require_secrets(app)

    from webapp import cli, database, errors, i18n, input_guard, jobs, permissions, security, session_expiry
    from webapp.blueprints import register_blueprints
    from webapp.extensions import csrf, db, jwt, limiter, login_manager, migrate

    db.init_app(app)
    database.init_app(app)
    jobs.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    jwt.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    permissions.init_app(app)
    input_guard.init_app(app)
    i18n.init_app(app)
    errors.register_error_handlers(app)
    session_expiry.init_app(app)
    register_blueprints(app)
    cli.init_app(app)
    if app.config.get("BROKER_URL"):
        from webapp.scale.celery import init_celery

        init_celery(app)
    return app


def _normalise_config(app: Flask) -> None:
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        database = Path(app.instance_path) / "routerdeck.db"
        _private_file(database)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(database)
    keys = app.config.get("ROUTER_PASSWORD_KEYS") or []
    if isinstance(keys, str):  # FLASK_ROUTER_PASSWORD_KEYS="k1,k2" as well as a JSON list
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    app.config["ROUTER_PASSWORD_KEYS"] = list(keys)
    kinds = app.config.get("READY_WORKER_KINDS") or []
    if isinstance(kinds, str):  # FLASK_READY_WORKER_KINDS="poller,worker" as well as a JSON list
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    app.config["READY_WORKER_KINDS"] = list(kinds)
    if app.config.get("BROKER_URL") and app.config.get("RATELIMIT_STORAGE_URI") == "memory://":
        # Scale mode runs several web processes: rate limits are counted in Redis, not per process.
        app.config["RATELIMIT_STORAGE_URI"] = app.config["BROKER_URL"]


def _private_file(path: Path) -> None:
    """Create the instance folder (0700) and an empty database file (0600) if they do not exist yet.

    The file holds encrypted router passwords, voucher codes and password hashes: only RouterDeck's user reads
    it. SQLite accepts an empty file as a new database and gives its -wal/-shm files the same mode.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # another process made it first
            pass


def _invoked_command() -> str | None:
    """Name of the ``flask`` sub-command being run, if this process is the flask CLI."""
    if not sys.argv or Path(sys.argv[0]).name not in {"flask", "__main__.py"}:
        return None
    args = sys.argv[1:]
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg in {"--app", "-A", "--env-file", "-e"}:
            skip_next = True
            continue
        if not arg.startswith("-"):
            return arg
    return None


def _asking_for_help() -> bool:
    """True when this process is ``flask ... --help``: help must work before ``init-instance`` has run."""
    return bool(sys.argv) and Path(sys.argv[0]).name in {"flask", "__main__.py"} and "--help" in sys.argv[1:]


def _require_secrets(app: Flask) -> None:
    problems = []
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = app.config.get(name)
        if not value or str(value).strip().lower() in PLACEHOLDER_SECRETS or len(str(value)) < MIN_SECRET_LENGTH:
            problems.append(f"{name} is missing, a placeholder or shorter than {MIN_SECRET_LENGTH} characters")
    if not app.config["ROUTER_PASSWORD_KEYS"]:
        problems.append("ROUTER_PASSWORD_KEYS is empty (a list of Fernet keys; the first one encrypts)")
    if problems:
        raise MissingSecretsError(
            "RouterDeck refuses to start without real secrets:\n  - "
            + "\n  - ".join(problems)
            + "\nFix: run `flask --app wsgi init-instance` (writes instance/config.py with fresh secrets), "
            "or set FLASK_SECRET_KEY, FLASK_JWT_SECRET_KEY and FLASK_ROUTER_PASSWORD_KEYS in the environment."
        )
