"""``/api/openapi.json`` (the generated OpenAPI 3.1 document) and ``/api/docs`` (Swagger UI over it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template

from webapp.openapi import build_spec
from webapp.permissions import Capability, policy

bp = Blueprint("docs", __name__)

_CACHE_KEY = "routerdeck.openapi"


def _spec() -> dict[str, Any]:
    # Routes are fixed once the app serves requests, so the document is built once per app.
    cache: dict[str, dict[str, Any]] = current_app.extensions.setdefault(_CACHE_KEY, {})
    if "spec" not in cache:
        cache["spec"] = build_spec(current_app)
    return cache["spec"]


@bp.get("/api/openapi.json")
@policy(Capability.PUBLIC)
def openapi_json() -> Response:
    return jsonify(_spec())


@bp.get("/api/docs")
@policy(Capability.PUBLIC)
def swagger_ui() -> str:
    return render_template("docs/swagger.html")
