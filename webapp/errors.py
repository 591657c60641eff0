"""Error answers in the right face: JSON ``{"error": ...}`` on API paths, an HTML page on the dashboard."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from webapp.extensions import db
from webapp.services.errors import ServiceError

#: Path prefixes served as HTML; everything else is the JSON API of the contract.
HTML_PREFIXES = ("/dashboard", "/static", "/api/docs")

_MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type: send JSON with Content-Type: application/json",
    429: "Too many requests",
    500: "Internal server error",
}


def wants_html() -> bool:
    """True when the current request belongs to the dashboard face."""
    path = request.path
    return path == "/" or path.startswith(HTML_PREFIXES)


def error_response(status: int, message: str | None = None, **extra: Any) -> Response:
    """Build the JSON error answer ``{"error": message, ...}`` with ``status``."""
    body: dict[str, Any] = {"error": message or _MESSAGES.get(status, "Error")}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def _html_error(status: int, message: str, reason: str | None = None) -> Response:
    page = render_template("errors/error.html", status=status, message=message, reason=reason)
    response = make_response(page, status)
    if request.headers.get("HX-Request") == "true":
        # htmx does not swap error pages; the message rides in a header that static/app.js shows
        # (percent-encoded UTF-8: headers are latin-1 and the message may be Kiswahili), the reason beside it.
        response.headers["X-Error-Message"] = quote(message, safe=" .,:;()'")
        if reason is not None:
            response.headers["X-Error-Reason"] = quote(reason)
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers that turn every error into the right face's answer."""

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> ResponseReturnValue:
        retry_after = getattr(error, "retry_after", None)
        if wants_html():
            page = _html_error(error.status, error.message, error.reason)
        else:
            extra: dict[str, Any] = {"fields": error.fields} if error.fields else {}
            if error.reason is not None:
                extra["reason"] = error.reason
            page = error_response(error.status, error.message, **extra)
        if retry_after:
            page.headers["Retry-After"] = str(retry_after)
        return page

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        if error.response is not None:  # a view or extension already built the answer (e.g. a form on 429)
            return error.response
        status = error.code or 500
        message = _MESSAGES.get(status) or error.description or error.name
        if status == 429:
            message = f"Too many requests: limit is {error.description}. Try again later."
        if wants_html():
            return _html_error(status, message)
        response = error_response(status, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(IntegrityError)
    def _unique_clash(error: IntegrityError) -> ResponseReturnValue:
        # Services turn the clashes they expect into 409s with a field; this is the net under a race they
        # did not foresee (two requests inserting the same key at once): a conflict, never a 500.
        db.session.rollback()
        app.logger.warning("integrity error on %s %s: %s", request.method, request.path, error.orig)
        message = gettext("This clashes with something that already exists (it may just have been created); "
                          "reload and retry.")
        if wants_html():
            return _html_error(409, message)
        return error_response(409, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_html():
            return _html_error(500, _MESSAGES[500])
        return error_response(500)
