"""Normalised RouterOS values: rows as ``dict[str, str]`` and helpers to read durations and booleans.

The binary API speaks words and REST speaks JSON strings (or, on a misbehaving router, JSON numbers
and booleans). Both transports pass their rows through :func:`normalise_row` so callers always get
the same strings whichever protocol ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from routeros.errors import BadValue

Row = dict[str, str]

_TRUE = frozenset({"true", "yes", "on", "1", "enabled"})
_FALSE = frozenset({"false", "no", "off", "0", "disabled", ""})

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
_DURATION_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(ms|us|w|d|h|m|s)")
_CLOCK_TAIL = re.compile(r"(\d+):(\d{1,2}):(\d{1,2})(?:\.(\d+))?$")


def normalise_value(value: object) -> str:
    """Render one value as RouterOS prints it: strings as-is, ``true``/``false``, lists comma-joined."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(normalise_value(item) for item in value)
    return str(value)


def normalise_row(row: Mapping[str, object]) -> Row:
    """Return ``row`` with every key and value a string."""
    return {
        str(key): value if isinstance(value, str) else normalise_value(value) for key, value in row.items()
    }


def normalise_rows(rows: Iterable[Mapping[str, object]]) -> list[Row]:
    """Apply :func:`normalise_row` to every row."""
    return [normalise_row(row) for row in rows]


def to_bool(value: object) -> bool:
    """Read a RouterOS boolean (``true``/``false``, ``yes``/``no``, ``on``/``off``...).

    :raises BadValue: if the value is not a recognised boolean.
    """
    if isinstance(value, bool):
        return value
    text = normalise_value(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue(f"not a RouterOS boolean: {value!r}")


def parse_duration(text: str) -> int:
    """Parse a RouterOS duration (``2d20h12m20s``, ``1w3d``, ``1d02:03:04``, ``500ms``) to whole seconds.

    :raises BadValue: if the text is not a duration.
    """
    rest = text.strip()
    if not rest:
        raise BadValue("empty duration")
    total = 0.0
    clock = _CLOCK_TAIL.search(rest)
    if clock:
        hours, minutes, seconds, fraction = clock.groups()
        total += int(hours) * 3600 + int(minutes) * 60 + int(seconds)
        if fraction:
            total += float(f"0.{fraction}")
        rest = rest[: clock.start()]
    pos = 0
    for match in _DURATION_TOKEN.finditer(rest):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(rest):
        raise BadValue(f"not a RouterOS duration: {text!r}")
    return int(total)


def format_uptime(seconds: float) -> str:
    """Format seconds as ``"2d 15:30:45"`` (days always shown, so the width is predictable).

    :raises BadValue: if ``seconds`` is negative.
    """
    if seconds < 0:
        raise BadValue(f"negative duration: {seconds!r}")
    whole = int(seconds)
    days, rem = divmod(whole, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"


def to_int(value: object, default: int | None = None) -> int | None:
    """Read an integer value (``"134217728"``, ``"5%"``), or ``default`` when absent or empty.

    :raises BadValue: if the value is present but not an integer.
    """
    text = normalise_value(value).strip().rstrip("%")
    if not text:
        return default
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise BadValue(f"not an integer: {value!r}") from None
