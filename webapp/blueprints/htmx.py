"""Small htmx helpers shared by the HTML blueprints (dashboard, auth, preferences)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, redirect, request


def is_htmx() -> bool:
    """True when the request was made by htmx."""
    return request.headers.get("HX-Request") == "true"


def navigate(target: str) -> Response:
    """Send the browser to ``target``: ``HX-Redirect`` for htmx (a 303 would be swapped in), else a 303."""
    if is_htmx():
        response = Response(status=200)
        response.headers["HX-Redirect"] = target
    else:
        response = redirect(target, code=303)  # type: ignore[assignment]
    response.headers["Vary"] = "HX-Request"
    return response


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` when it is a path on this site, else ``fallback`` (no open redirects).

    Refuses absolute and scheme-relative URLs, backslashes and control characters: browsers drop tabs and
    newlines, so ``/\t/evil.example`` would become ``//evil.example``.
    """
    if not target or not target.startswith("/") or "\\" in target:
        return fallback
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return fallback
    return target
