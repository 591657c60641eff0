"""Small htmx helpers shared by the dashboard's views."""

from __future__ import annotations

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
