"""The user's own display preferences (language, time zone) and the language switch every page shows."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.blueprints.htmx import safe_next
from webapp.forms import LanguageForm, PreferencesForm
from webapp.i18n import LANGUAGE_COOKIE, LANGUAGES, zone_name_for
from webapp.permissions import Capability, policy
from webapp.services import preferences
from webapp.services.errors import ServiceError

bp = Blueprint("preferences", __name__)

#: A year: the switch's choice outlives the session (the login page and the portal use it too).
_COOKIE_AGE = 365 * 86400


@bp.post("/language")
@policy(Capability.PUBLIC)
def switch_language():  # type: ignore[no-untyped-def]
    """Set the language from the switch: stored for a logged-in user, a cookie for everyone."""
    form = LanguageForm()
    target = safe_next(request.form.get("next"), url_for("index"))
    if not form.validate_on_submit() or form.language.data not in LANGUAGES:
        return redirect(target, code=303)
    chosen = form.language.data
    if current_user.is_authenticated:
        preferences.update_preferences(current_user, {"language": chosen}, ip_address=request.remote_addr)
    response = make_response(redirect(target, code=303))
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=_COOKIE_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    return response


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
@policy(Capability.SELF)
def edit():  # type: ignore[no-untyped-def]
    """Language and time zone of the logged-in user."""
    form = PreferencesForm(obj=None)
    status = 200
    if request.method == "GET":
        form.language.data = current_user.locale or ""
        form.timezone.data = current_user.timezone or ""
    elif form.validate_on_submit():
        try:
            preferences.update_preferences(
                current_user,
                {"language": form.language.data or "", "timezone": form.timezone.data or ""},
                ip_address=request.remote_addr,
            )
        except ServiceError as exc:
            for name, message in exc.fields.items():
                getattr(form, name).errors = [message]
            status = 422
        else:
            flash(_("Preferences saved."), "success")
            return redirect(url_for("preferences.edit"), code=303)
    else:
        status = 422
    owner_zone = zone_name_for(_OwnerView(current_user))
    return render_template("preferences/edit.html", form=form, owner_zone=owner_zone), status


class _OwnerView:
    """The user as seen without their own zone: what "default" means on the form."""

    def __init__(self, user) -> None:  # type: ignore[no-untyped-def]
        self.id = user.id
        self.owner_id = getattr(user, "owner_id", None)
        self.timezone = None
