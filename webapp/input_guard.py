"""One check on every request's input: characters a database refuses never reach it.

PostgreSQL's text types cannot hold NUL (``\\x00``), and a lone UTF-16 surrogate (``"\\ud800"`` in JSON) cannot
be encoded as UTF-8 at all; either raised deep in the driver and answered 500 (a login username, a router name,
an API key name, ``?search=``). Here they are a 400 with a clear message, on both faces, before any view runs.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request

from webapp.services.errors import Invalid

_REFUSED = re.compile("[\x00\ud800-\udfff]")
_MAX_DEPTH = 64


def _bad_text(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return _REFUSED.search(value) is not None
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return any(_bad_text(key, depth + 1) or _bad_text(item, depth + 1) for key, item in value.items())
    if isinstance(value, list):
        return any(_bad_text(item, depth + 1) for item in value)
    return False


def _where() -> str | None:
    fields: list[tuple[str, str, Any]] = [("path", key, value) for key, value in (request.view_args or {}).items()]
    fields += [("query", key, value) for key, value in request.args.items(multi=True)]
    fields += [("form", key, value) for key, value in request.form.items(multi=True)]
    for name, key, value in fields:
        if _bad_text(key) or _bad_text(value):
            return f"{name} field {key[:40]!r}".replace("\x00", "\\x00")
    if request.is_json:
        payload = request.get_json(silent=True)
        if _bad_text(payload):
            return "JSON body"
    return None


def _refuse_unstorable_text() -> None:
    place = _where()
    if place is not None:
        raise Invalid(f"Text may not contain NUL characters or unpaired surrogates ({place})",
                      fields={"body" if place == "JSON body" else place.split()[-1].strip("'\""): "invalid character"})


def init_app(app: Flask) -> None:
    """Check every request's path, query, form and JSON body before the views see them."""
    app.before_request(_refuse_unstorable_text)
