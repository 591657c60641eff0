"""Language, time zone and the way dates and money are shown: Flask-Babel wiring and the template filters.

Strings: ``from flask_babel import gettext as _`` in views (``lazy_gettext as _l`` at import time: form labels,
module constants); ``{{ _("Routers") }}`` or ``{% trans %}`` in templates. Times are stored naive UTC and shown
in the viewer's zone, 24-hour; the JSON API keeps UTC with ``Z`` (``webapp.timeutil.isoformat_z``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.numbers import format_decimal
from flask import Flask, g, has_request_context, request
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.extensions import babel, login_manager

#: Catalogue language -> the locale used to format dates and numbers (Kenyan conventions for both).
LANGUAGES = {"en": "en_KE", "sw": "sw_KE"}
#: Names shown in the language switch, each in its own language.
LANGUAGE_NAMES = {"en": "English", "sw": "Kiswahili"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIMEZONE = "Africa/Nairobi"
#: Cookie remembering the choice of someone not logged in (the login page, the customer portal).
LANGUAGE_COOKIE = "lang"
#: 24-hour, zero-padded, the same in both languages: sortable and unambiguous on a phone.
DATETIME_PATTERN = "%Y-%m-%d %H:%M"
TIME_PATTERN = "%H:%M"
#: Messages other libraries show, translated at display time (listed here so `make messages` extracts them).
EXTERNAL_MESSAGES = (
    _l("Please log in to continue."),  # flask-login's login_message, passed through localize_callback
)


#: States and kinds stored as English words in the database, shown translated (`{{ status_word(x) }}`).
STATUS_WORDS = {
    "online": _l("online"), "offline": _l("offline"), "up": _l("up"), "down": _l("down"),
    "unknown": _l("unknown"), "unused": _l("unused"), "active": _l("active"), "expired": _l("expired"),
    "revoked": _l("revoked"), "pending": _l("pending"), "pushed": _l("pushed"), "success": _l("success"),
    "failed": _l("failed"), "timeout": _l("timeout"), "running": _l("running"), "queued": _l("queued"),
    "done": _l("done"), "cancelled": _l("cancelled"), "acknowledged": _l("acknowledged"),
    "resolved": _l("resolved"), "critical": _l("critical"), "warning": _l("warning"), "info": _l("info"),
    "paid": _l("paid"), "refunded": _l("refunded"), "disabled": _l("disabled"), "enabled": _l("enabled"),
}


def status_word(value: str | None) -> str:
    """A stored state word in the reader's language (unknown words are shown as they are)."""
    if value is None:
        return "—"
    word = STATUS_WORDS.get(str(value).lower())
    return str(word) if word is not None else str(value)


def language() -> str:
    """The catalogue language of this request: ``"en"`` or ``"sw"``."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE


def _select_language() -> str:
    # The user's stored choice, then the switch's cookie, then the browser's Accept-Language.
    chosen: str | None = getattr(g, "language_override", None)
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated:
        stored: str | None = getattr(current_user, "locale", None)
        if stored in LANGUAGES:
            return stored
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE


def _select_locale() -> str:
    return LANGUAGES[_select_language()] if has_request_context() else LANGUAGES[DEFAULT_LANGUAGE]


def is_valid_timezone(name: str) -> bool:
    """True for an IANA zone name this machine knows (``Africa/Nairobi``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    """Every IANA zone name, sorted, for the time-zone picker (Africa/Nairobi is among them)."""
    return sorted(name for name in available_timezones() if "/" in name and not name.startswith(("Etc/", "posix/")))


def zone_name_for(user: Any) -> str:
    """A user's time zone: their own choice, else their owner's (the hotspot settings), else Africa/Nairobi."""
    own = getattr(user, "timezone", None)
    if own and is_valid_timezone(own):
        return str(own)
    owner_id = getattr(user, "owner_id", None) or getattr(user, "id", None)
    if owner_id is not None:
        from webapp.services.hotspot_settings import owner_settings

        owner_zone = owner_settings(int(owner_id)).timezone
        if owner_zone and is_valid_timezone(owner_zone):
            return str(owner_zone)
    return DEFAULT_TIMEZONE


def viewer_zone() -> ZoneInfo:
    """The time zone of whoever is looking (cached for the request); Africa/Nairobi for anonymous pages."""
    if not has_request_context():
        return ZoneInfo(DEFAULT_TIMEZONE)
    cached: ZoneInfo | None = g.get("viewer_zone")
    if cached is None:
        user = current_user if current_user and current_user.is_authenticated else None
        cached = ZoneInfo(zone_name_for(user) if user is not None else DEFAULT_TIMEZONE)
        g.viewer_zone = cached
    return cached


def _select_timezone() -> str:
    return str(viewer_zone().key)


def to_local(moment: datetime, zone: ZoneInfo | None = None) -> datetime:
    """A stored UTC datetime (naive means UTC) as an aware datetime in ``zone`` (default: the viewer's)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(zone or viewer_zone())


def format_datetime(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """``2026-12-01 16:05`` in the viewer's zone, 24-hour; ``—`` for no time."""
    return to_local(moment, zone).strftime(DATETIME_PATTERN) if moment else "—"


def format_time(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """``16:05`` in the viewer's zone; ``—`` for no time."""
    return to_local(moment, zone).strftime(TIME_PATTERN) if moment else "—"


def format_date(value: date | datetime | None, style: str = "medium") -> str:
    """A day for people in the request's language (``1 Dec 2026`` / ``1 Des 2026``); datetimes are localised."""
    if value is None:
        return "—"
    day = to_local(value).date() if isinstance(value, datetime) else value
    return babel_format_date(day, format=style, locale=get_locale() or Locale.parse(LANGUAGES[DEFAULT_LANGUAGE]))


def format_money(amount: Decimal | int | float | str | None, currency: str = "KES") -> str:
    """``KES 1,250.00`` (always two decimals and the ISO code, the way receipts and M-Pesa show it)."""
    if amount is None:
        return "—"
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    locale = get_locale() or Locale.parse(LANGUAGES[DEFAULT_LANGUAGE])
    return f"{currency} {format_decimal(value, format='#,##0.00', locale=locale)}"


def format_number(value: int | float | Decimal | None, digits: int = 0) -> str:
    """A number with the locale's grouping (``12,500``); ``—`` for none."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=get_locale() or Locale.parse(LANGUAGES[DEFAULT_LANGUAGE]))


def format_duration(minutes: int | None, package_type: str | None = None) -> str:
    """A validity for people in the reader's language: ``30 minutes``/``dakika 30``, ``1 day``/``siku 1``.

    The largest unit that divides the duration evenly (a month is 30 days); an hourly package keeps counting
    hours, as ``webapp.services.packages.duration_display`` does for the API.
    """
    if minutes is None:
        return "—"
    units: tuple[tuple[int, Callable[[int], str]], ...] = (
        (30 * 24 * 60, lambda n: str(ngettext("%(num)s month", "%(num)s months", n))),
        (7 * 24 * 60, lambda n: str(ngettext("%(num)s week", "%(num)s weeks", n))),
        (24 * 60, lambda n: str(ngettext("%(num)s day", "%(num)s days", n))),
        (60, lambda n: str(ngettext("%(num)s hour", "%(num)s hours", n))),
    )
    for size, spell in units:
        if package_type == "hourly" and size > 60:
            continue
        if minutes and minutes % size == 0:
            return spell(minutes // size)
    return str(ngettext("%(num)s minute", "%(num)s minutes", minutes))


def format_uptime(seconds: int | None) -> str:
    """``15d 8h``, ``3h 20m``, ``12m`` (in the reader's language); ``—`` when unknown."""
    if seconds is None:
        return "—"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return str(gettext("%(days)sd %(hours)sh", days=days, hours=hours))
    if hours:
        return str(gettext("%(hours)sh %(minutes)sm", hours=hours, minutes=minutes))
    return str(gettext("%(minutes)sm", minutes=minutes))


def format_bitrate(value: float | None) -> str:
    """``1.35 Mbit/s`` (decimal prefixes, as RouterOS shows rates); ``—`` when unknown."""
    if value is None:
        return "—"
    for size, unit in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if value >= size:
            return f"{format_number(value / size, 2 if size > 1e3 else 1)} {unit}"
    return f"{format_number(value)} bit/s"


def zone_label() -> str:
    """The viewer's zone and its current abbreviation, for page footers: ``Africa/Nairobi (EAT)``."""
    zone = viewer_zone()
    return f"{zone.key} ({datetime.now(zone).strftime('%Z')})"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel (language and zone selectors) and register the filters every template uses."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[DEFAULT_LANGUAGE])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    login_manager.localize_callback = gettext  # "Please log in to continue." in the reader's language
    # {% trans %} blocks are whitespace-trimmed, so a re-indented template keeps its msgids.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["time"] = format_time
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["duration"] = format_duration
    app.jinja_env.filters["uptime"] = format_uptime
    app.jinja_env.filters["bitrate"] = format_bitrate
    app.jinja_env.globals.update(
        current_language=language,
        language_names=LANGUAGE_NAMES,
        zone_label=zone_label,
        format_money=format_money,
        status_word=status_word,
        viewer_zone_name=_select_timezone,
    )
