"""An expired (or missing) login session, in every kind of request: back to the login page, then back here.

htmx requests get ``HX-Redirect`` (a 302 would be swapped into a table cell) to the login page with ``next``
set to the page the user was on (``HX-Current-URL``); plain requests get a redirect with ``next`` set to the
page itself (GET) or to the page the form was on (``Referer``, for a POST). A POST whose CSRF token no longer
matches because the session is gone is the same case, not a "400 Bad request" (except on the forms a
logged-out visitor posts on purpose: the login form, logout, the language switch and the captive portal).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Flask, Response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError


def _same_site_path(url: str | None) -> str | None:
    """The path and query of ``url`` when it points at this site, else None (never an open redirect)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in path):
        return None
    return path


def return_path() -> str | None:
    """Where the user should land after logging in again."""
    if request.headers.get("HX-Request") == "true":
        return _same_site_path(request.headers.get("HX-Current-URL"))
    if request.method == "GET":
        return _same_site_path(request.full_path.rstrip("?"))
    return _same_site_path(request.referrer)


def login_redirect() -> Response:
    """Send the user to the login page, remembering where they were."""
    target = return_path()
    login_url = url_for("auth.login", next=target) if target else url_for("auth.login")
    if request.headers.get("HX-Request") == "true":
        response = Response(status=401)
        response.headers["HX-Redirect"] = login_url
        response.headers["X-Error-Message"] = quote(_("Your session has expired; please log in again."), safe=" .;,")
        return response
    return redirect(login_url)  # type: ignore[return-value]


#: Forms a logged-out visitor legitimately posts: a bad token there is a plain 400, not an expired session.
_PUBLIC_FORMS = frozenset({"auth.login", "auth.logout", "preferences.switch_language"})


def _csrf_failed(error: CSRFError) -> Response:
    # The customers' captive portal has no login at all: a bad token there is a plain 400 too.
    if not current_user.is_authenticated and request.endpoint not in _PUBLIC_FORMS and request.blueprint != "portal":
        return login_redirect()
    from webapp.errors import error_response, wants_html

    message = _("This page has expired; reload it and try again.")
    if wants_html():
        from webapp.errors import _html_error

        return _html_error(400, message)
    return error_response(400, message)


def init_app(app: Flask) -> None:
    """Answer a failed CSRF check of a logged-out visitor with the login page instead of a 400."""
    app.register_error_handler(CSRFError, _csrf_failed)
