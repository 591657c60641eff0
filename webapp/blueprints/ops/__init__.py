"""Endpoints for machines: ``/healthz`` and ``/readyz`` for load balancers, ``/metrics/fleet`` for Prometheus."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from webapp.errors import error_response
from webapp.permissions import Capability, policy
from webapp.services import exposition, health

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@policy(Capability.PUBLIC)
def healthz() -> Response:
    """Alive: the process answers (touches nothing else, so a slow database never restarts a web node)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@policy(Capability.PUBLIC)
def readyz() -> Response:
    """Ready for traffic: database, broker and recent workers; 503 with the failing checks otherwise."""
    verdict = health.readiness()
    if verdict.ready:
        return jsonify({"status": "ready", "checks": verdict.checks, "workers": verdict.workers})
    failing = ", ".join(name for name, result in verdict.checks.items() if result not in ("ok", "skipped"))
    return error_response(503, f"not ready: {failing}", checks=verdict.checks, workers=verdict.workers)


@bp.get("/metrics/fleet")
@policy(Capability.PUBLIC)
def fleet_metrics() -> Response:
    """Every polled series of every router in Prometheus text format, for a bearer of ``METRICS_TOKEN``."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return error_response(404, "Fleet metrics are off: set METRICS_TOKEN to enable them")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), str(token).encode()):
        response = error_response(401, "A valid bearer token (METRICS_TOKEN) is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="routerdeck-metrics"'
        return response
    return Response(exposition.fleet_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
