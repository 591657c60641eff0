"""Jinja filters shared by every template."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def format_datetime(moment: datetime | None) -> str:
    """Render a stored UTC datetime for people: ``2025-08-13 13:19 UTC``."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.jinja_env.filters["datetime"] = format_datetime
