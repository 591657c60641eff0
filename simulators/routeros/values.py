"""How RouterOS writes values on the wire: ids, durations, booleans, versions and dates."""

from __future__ import annotations

import re
import time

_DURATION_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_DURATION_PART = re.compile(r"(\d+)(w|d|h|m|s|ms)")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

TRUE_WORDS = frozenset({"true", "yes"})
FALSE_WORDS = frozenset({"false", "no"})


def format_id(number: int) -> str:
    """Write an internal item number the way RouterOS does: ``*1``, ``*2A``."""
    return f"*{number:X}"


def parse_id(text: str) -> int | None:
    """Read ``*1A`` back to 26; ``None`` when the text is not an id."""
    if len(text) < 2 or text[0] != "*":
        return None
    try:
        return int(text[1:], 16)
    except ValueError:
        return None


def format_duration(seconds: float) -> str:
    """Write seconds as RouterOS does: ``2d20h12m20s``, ``1w2d3h``, ``0s``."""
    remaining = int(seconds)
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in _DURATION_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_duration(text: str) -> int | None:
    """Read ``1d2h``, ``00:30:00``, ``1d 02:00:00`` or plain seconds; ``None`` when unreadable."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    days = 0
    if " " in text:
        day_part, _, text = text.partition(" ")
        parsed_days = parse_duration(day_part)
        if parsed_days is None:
            return None
        days = parsed_days
    if ":" in text:
        pieces = text.split(":")
        if len(pieces) != 3 or not all(p.isdigit() for p in pieces):
            return None
        hours, minutes, secs = (int(p) for p in pieces)
        return days + hours * 3600 + minutes * 60 + secs
    total = 0
    pos = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        pos = match.end()
        count, unit = int(match.group(1)), match.group(2)
        total += count // 1000 if unit == "ms" else count * dict(_DURATION_UNITS)[unit]
    if pos != len(text):
        return None
    return days + total


def parse_bool(text: str) -> bool | None:
    """Read ``yes``/``true``/``no``/``false``; ``None`` when it is neither."""
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    return None


def format_bool(value: bool) -> str:
    """Booleans go over both doors as ``true``/``false``."""
    return "true" if value else "false"


def version_tuple(version: str) -> tuple[int, ...]:
    """``7.16.1`` -> ``(7, 16, 1)``; trailing text such as ``rc2`` is ignored."""
    numbers = []
    for piece in version.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        numbers.append(int(digits.group()))
    return tuple(numbers)


def format_date(epoch: float, iso: bool) -> str:
    """A date as the clock menu shows it: ``2023-07-14`` on v7.10+, ``jul/14/2023`` before."""
    tm = time.gmtime(epoch)
    if iso:
        return time.strftime("%Y-%m-%d", tm)
    return f"{_MONTHS[tm.tm_mon - 1]}/{tm.tm_mday:02d}/{tm.tm_year}"


def format_datetime(epoch: float, iso: bool) -> str:
    """A date and time such as ``2023-07-14 10:00:00`` or ``jul/14/2023 10:00:00``."""
    return f"{format_date(epoch, iso)} {time.strftime('%H:%M:%S', time.gmtime(epoch))}"


def format_time(epoch: float) -> str:
    """A time of day ``14:03:22``."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch))
