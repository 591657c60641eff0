"""Query-string parsing for every blueprint: one answer to what a flag, an id, a moment, a day or a range is.

The JSON face is strict (a bad value is a 400 naming the parameter); the dashboard's links are lenient where a
stale or hand-edited URL should still show a page (:func:`lenient_id`). An empty value (``?x=``, what an HTML
form with a blank field sends) always means "not given".
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask import request

from webapp.services.errors import Invalid
from webapp.services.pagination import MAX_ID

TRUE = frozenset({"true", "1", "yes"})
FALSE = frozenset({"false", "0", "no"})
#: The monitoring ranges both faces offer, in seconds back from "now" (or from ``to``).
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
DEFAULT_RANGE = "24h"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _raw(name: str) -> str | None:
    raw = request.args.get(name)
    return raw if raw else None


def flag(name: str) -> bool | None:
    """``?name=true|1|yes`` → True, ``false|0|no`` → False (any case), absent or empty → None.

    :raises Invalid: for any other value.
    """
    raw = _raw(name)
    if raw is None:
        return None
    lowered = raw.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise Invalid(f"{name} must be true or false", fields={name: "true or false"})


def parse_id(raw: str | None) -> int | None:
    """An id as ASCII digits naming 1..MAX_ID, else None (no sign, no blanks, no other digits)."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 19 and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    return None


def id_arg(name: str) -> int | None:
    """``?name=<id>`` as an int; absent or empty → None.

    :raises Invalid: for anything but a whole number 1..MAX_ID (``0``, ``-3``, `` 7``, ``٣``, past BIGINT).
    """
    raw = _raw(name)
    if raw is None:
        return None
    value = parse_id(raw)
    if value is None:
        raise Invalid(f"{name} must be an id", fields={name: f"whole number 1-{MAX_ID}"})
    return value


def lenient_id(name: str) -> int | None:
    """The dashboard's reading of ``?name=<id>``: anything that is not an id is simply no filter."""
    return parse_id(_raw(name))


def moment(name: str) -> datetime | None:
    """``?name=`` as an ISO-8601 date or date-time, as the naive UTC the tables store (UTC when no offset).

    :raises Invalid: when it is not ISO-8601.
    """
    raw = _raw(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be an ISO-8601 date or date-time", fields={name: "ISO-8601"}) from None
    if parsed.tzinfo is None:
        return parsed
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # past datetime's ends in UTC: before (or after) anything stored
        return datetime.min if parsed.year == 1 else datetime.max  # noqa: DTZ901 - stored times are naive UTC


def day(name: str) -> date | None:
    """``?name=YYYY-MM-DD`` as a date (not the other forms ``fromisoformat`` takes, such as ``2025-W33-3``).

    :raises Invalid: for anything else.
    """
    raw = _raw(name)
    if raw is None:
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} must be a date such as 2025-08-13", fields={name: "YYYY-MM-DD"}) from None


def range_name(name: str = "range", *, strict: bool = True) -> str | None:
    """``?range=`` as one of :data:`RANGES`; absent → None. The lenient (dashboard) form falls back to 24h.

    :raises Invalid: (strict only) for an unknown range.
    """
    raw = _raw(name)
    if raw is None:
        return None if strict else DEFAULT_RANGE
    if raw in RANGES:
        return raw
    if not strict:
        return DEFAULT_RANGE
    raise Invalid(f"{name} must be one of {', '.join(RANGES)}", fields={name: "unknown"})
