"""Engine settings that depend on the database behind SQLAlchemy."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, Result, event
from sqlalchemy.engine import Engine

from webapp.extensions import db


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/INSERT/DELETE touched (0 where the driver cannot tell)."""
    # DML answers a CursorResult; the session's execute() is typed with the general Result.
    return max(cast("CursorResult[Any]", result).rowcount or 0, 0)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the poller write while pages read, and synchronous=NORMAL makes a commit a write, not an
    # fsync (still durable across application crashes; the last commits may be lost on power loss).
    # busy_timeout makes concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    """Tune each new SQLite connection; other databases keep their own defaults."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        return
    with app.app_context():
        engine: Engine = db.engine
    event.listen(engine, "connect", _tune_sqlite)
