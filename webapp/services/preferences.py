"""A user's own display preferences: dashboard language and time zone."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.i18n import LANGUAGES, is_valid_timezone
from webapp.models import User
from webapp.services import audit
from webapp.services.errors import Invalid


def update_preferences(actor: User, data: dict[str, Any], ip_address: str | None = None) -> User:
    """Set the actor's ``language`` (``en``/``sw``, blank = follow the browser) and/or ``timezone``.

    :raises Invalid: for an unknown language or time zone.
    """
    fields: dict[str, str] = {}
    language = data.get("language")
    zone = data.get("timezone")
    if language is not None:
        language = str(language).strip().lower() or None
        if language is not None and language not in LANGUAGES:
            fields["language"] = _("Choose English or Kiswahili.")
    if zone is not None:
        zone = str(zone).strip() or None
        if zone is not None and not is_valid_timezone(zone):
            fields["timezone"] = _("Unknown time zone; use a name such as Africa/Nairobi.")
    if fields:
        raise Invalid(_("Invalid preferences"), fields=fields)
    user = db.session.get(User, actor.id)
    if user is None:  # the session's user was deleted meanwhile
        raise Invalid(_("Invalid preferences"), fields={})
    if "language" in data:
        user.locale = language
    if "timezone" in data:
        user.timezone = zone
    audit.record(user, "user.preferences", "Display preferences changed",
                 details={"language": user.locale, "timezone": user.timezone}, ip_address=ip_address, commit=False)
    db.session.commit()
    return user
