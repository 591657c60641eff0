"""Model → JSON shapes of the contract (field names are a promise to existing clients)."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from sqlalchemy import Row

from webapp.models import AuditEvent, CommandRun, Router
from webapp.services import credentials, groups
from webapp.services.pagination import Page
from webapp.timeutil import isoformat_z

#: The contract's router fields first, then RouterDeck's additions; never the password.
ROUTER_FIELDS = (
    "id", "name", "host", "port", "username", "use_https", "is_online", "last_checked", "created_at", "updated_at",
    "protocol", "verify_tls", "tls_fingerprint", "routeros_version", "last_error", "last_error_message",
    "last_latency_ms",
)
_ROUTER_TIMES = ("last_checked", "created_at", "updated_at")


def router_out(router: Router) -> dict[str, Any]:
    """The router document of the contract plus RouterDeck's additions (``group_id`` and ``tags`` last)."""
    out = {name: getattr(router, name) for name in ROUTER_FIELDS}
    for name in _ROUTER_TIMES:
        out[name] = isoformat_z(out[name])
    return with_fleet_fields([out])[0]


def with_fleet_fields(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each router's ``group_id`` (or null) and ``tags`` (a sorted list) with two queries for the lot."""
    ids = [document["id"] for document in documents]
    group_ids = groups.groups_of(ids)
    tags = groups.tags_of(ids)
    profiles = credentials.profile_of(ids)
    for document in documents:
        document["group_id"] = group_ids.get(document["id"])
        document["tags"] = tags.get(document["id"], [])
        document["credential_profile_id"] = profiles.get(document["id"])
    return documents


def routers_out(rows: list[Row[Any]]) -> list[dict[str, Any]]:
    """Router documents from plain rows selected in :data:`ROUTER_FIELDS` order (lists of thousands)."""
    documents = []
    for row in rows:
        out = dict(zip(ROUTER_FIELDS, row, strict=True))
        for name in _ROUTER_TIMES:
            moment = out[name]
            if moment is not None:
                out[name] = moment.isoformat(timespec="seconds") + "Z"
        documents.append(out)
    return with_fleet_fields(documents)


def command_out(run: CommandRun) -> dict[str, Any]:
    """One command history entry."""
    return {
        "id": run.id,
        "router_id": run.router_id,
        "router_name": run.router.name,
        "user": run.user.username if run.user else None,
        "command": run.command,
        "method": run.method,
        "params": run.params or {},
        "data": run.data or {},
        "status": run.status,
        "status_code": run.status_code,
        "result": run.result,
        "error": run.error,
        "protocol": run.protocol,
        "started_at": isoformat_z(run.started_at),
        "finished_at": isoformat_z(run.finished_at),
        "duration_ms": run.duration_ms,
    }


def audit_out(event: AuditEvent) -> dict[str, Any]:
    """One audit trail entry."""
    return {
        "id": event.id,
        "action": event.action,
        "summary": event.summary,
        "details": event.details or {},
        "ip_address": event.ip_address,
        "user": event.user.username if event.user else None,
        "created_at": isoformat_z(event.created_at),
    }


def page_out(page: Page[Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenWISP-style page: ``count``, absolute ``next``/``previous`` links and ``results``."""

    def link(number: int) -> str:
        args = request.args.to_dict()
        args["page"] = str(number)
        args["page_size"] = str(page.page_size)
        return url_for(str(request.endpoint), **(request.view_args or {}), **args, _external=True)

    return {
        "count": page.total,
        "next": link(page.page + 1) if page.has_next else None,
        "previous": link(page.page - 1) if page.has_previous else None,
        "results": results,
    }
