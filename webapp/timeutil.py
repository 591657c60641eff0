"""One notion of "now": naive UTC datetimes in the database, ISO-8601 with ``Z`` on the wire."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime (the form stored in every table)."""
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat_z(moment: datetime | None) -> str | None:
    """Format a stored UTC datetime as ``2025-08-13T13:19:26Z`` (``None`` stays ``None``)."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"
