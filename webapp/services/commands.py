"""Running commands on routers, with OpenWISP-style history and a guard on dangerous ones."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from webapp.extensions import db
from webapp.models import CommandRun, Router, User
from webapp.services import audit, gateway, routers
from webapp.services.errors import Conflict, Invalid, NotFound, RouterTimeout, ServiceError
from webapp.services.pagination import Page, paginate
from webapp.services.teams import router_scope
from webapp.timeutil import utcnow

METHODS = ("GET", "POST", "PUT", "DELETE")
STATUSES = ("running", "success", "failed", "timeout")
_COMMAND = re.compile(r"^/?[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9.-]*)*/?$")
_OUR_SERVICES = {"api", "api-ssl", "www", "www-ssl"}
_TRUE = {"yes", "true", "1", True}


class CommandFailed(ServiceError):
    """A command that reached the router (or tried to) and failed; the history row says how."""

    def __init__(self, run: CommandRun, cause: ServiceError) -> None:
        super().__init__(cause.message, reason=cause.reason)
        self.status = cause.status
        self.run = run


@dataclass
class CommandFilters:
    """What command history can be narrowed by."""

    router_id: int | None = None
    status: str | None = None
    method: str | None = None
    search: str | None = None
    started_gte: datetime | None = None
    started_lt: datetime | None = None


def normalise(command: str, method: str | None) -> tuple[str, str]:
    """Validate and normalise a command path and method.

    :raises Invalid: for an empty/malformed path or an unknown method.
    """
    text = (command or "").strip()
    errors: dict[str, str] = {}
    if not text or len(text) > 200 or not _COMMAND.match(text):
        errors["command"] = "a RouterOS menu path such as ip/hotspot or ip/address/add"
    verb = (method or "GET").upper()
    if verb not in METHODS:
        errors["method"] = f"one of {', '.join(METHODS)}"
    if errors:
        raise Invalid("Invalid command: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    return text.strip("/"), verb


def _check_mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 100:
        raise Invalid(f"{name} must be an object of at most 100 entries", fields={name: "object"})
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 100:
            raise Invalid(f"{name} keys must be non-empty strings", fields={name: "bad key"})
        if not (item is None or isinstance(item, str | int | float | bool | list)) or len(str(item)) > 4096:
            raise Invalid(f"{name}.{key} must be a string, number or boolean", fields={f"{name}.{key}": "scalar"})
    return dict(value)


def danger(command: str, method: str, data: dict[str, Any], params: dict[str, Any]) -> str | None:
    """Why a command needs ``"confirm": true`` (``None`` if it does not)."""
    path = command.lower()
    if path in {"system/reboot", "system/shutdown"}:
        return f"{path} takes the router (and every hotspot client on it) offline"
    if path.startswith("system/reset-configuration"):
        return "system/reset-configuration erases the router's whole configuration"
    if path in {"system/package/downgrade", "system/routerboard/upgrade"}:
        return f"{path} reboots the router into different software"
    if path == "user/remove" or (path == "user" and method == "DELETE"):
        return "removing a router user can lock everyone (including RouterDeck) out"
    if path.startswith("ip/service/"):
        targets = {str(v).lower() for v in (*data.values(), *params.values()) if isinstance(v, str)}
        touches_ours = bool(targets & _OUR_SERVICES) or any(t.startswith("*") for t in targets)
        disabling = path.endswith("/disable") or str(data.get("disabled", "")).lower() in {"yes", "true"}
        if disabling and touches_ours:
            return "disabling the API/REST service cuts RouterDeck off from this router"
    return None


def run_command(
    actor: User,
    router_id: int,
    command: str,
    method: str | None = "GET",
    params: Any = None,
    data: Any = None,
    *,
    confirm: bool = False,
    ip_address: str | None = None,
) -> CommandRun:
    """Execute a command on the actor's router and store it in the history.

    :raises NotFound: for someone else's router.
    :raises Invalid: for a malformed command, method, params or data.
    :raises Conflict: for a dangerous command without ``confirm``.
    :raises CommandFailed: when the router rejected it, was unreachable or timed out (status 400/502/504).
    """
    router = routers.get_router(actor, router_id)
    path, verb = normalise(command, method)
    params_in = _check_mapping("params", params)
    data_in = _check_mapping("data", data)
    why = danger(path, verb, data_in, params_in)
    if why and not confirm:
        raise Conflict(f'Confirmation required: {why}. Send "confirm": true to run it.',
                       fields={"confirm": "required for this command"})
    # History keeps no router secrets (user passwords, PPP secrets, keys): they are masked before storing.
    run = CommandRun(user_id=actor.id, router_id=router.id, command=path, method=verb,
                     params=audit.scrub(params_in, path), data=audit.scrub(data_in, path), status="running",
                     started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    started = time.perf_counter()
    failure: ServiceError | None = None
    try:
        with gateway.connect(router) as client:
            rows = client.run(path, verb, params_in, data_in)
            run.protocol = client.protocol
        run.status, run.status_code = "success", 200
        run.result = [audit.scrub(row, path) for row in rows]
        run.live_result = rows
        routers.mark_status(router, online=True, protocol=run.protocol)
    except ServiceError as exc:
        failure = exc
        run.status = "timeout" if isinstance(exc, RouterTimeout) else "failed"
        run.error, run.status_code = exc.message, exc.status
        if exc.status in (502, 504):
            routers.mark_status(router, online=False, reason=exc.reason, message=exc.message)
    run.finished_at = utcnow()
    run.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    if verb != "GET" or why:
        audit.record(actor, "command.run", f"{verb} {path} → {run.status}", router_id=router.id,
                     details={"command": path, "method": verb, "data": data_in, "params": params_in,
                              "command_id": run.id}, ip_address=ip_address, commit=False)
    db.session.commit()
    if failure is not None:
        raise CommandFailed(run, failure)
    return run


def _history(actor: User, filters: CommandFilters) -> Select[Any]:
    statement = select(CommandRun).join(Router).where(router_scope(actor))
    if filters.router_id is not None:
        statement = statement.where(CommandRun.router_id == filters.router_id)
    if filters.status:
        if filters.status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}", fields={"status": "unknown"})
        statement = statement.where(CommandRun.status == filters.status)
    if filters.method:
        if filters.method.upper() not in METHODS:
            raise Invalid(f"method must be one of {', '.join(METHODS)}", fields={"method": "unknown"})
        statement = statement.where(CommandRun.method == filters.method.upper())
    if filters.search:
        statement = statement.where(CommandRun.command.ilike(f"%{filters.search.strip()}%"))
    if filters.started_gte:
        statement = statement.where(CommandRun.started_at >= filters.started_gte)
    if filters.started_lt:
        statement = statement.where(CommandRun.started_at < filters.started_lt)
    return statement.order_by(CommandRun.started_at.desc(), CommandRun.id.desc())


def history(actor: User, filters: CommandFilters, page: int, page_size: int) -> Page[CommandRun]:
    """One page of the actor's command history, newest first.

    :raises NotFound: when filtering by someone else's router.
    :raises Invalid: for an unknown status or method.
    """
    if filters.router_id is not None:
        routers.get_router(actor, filters.router_id)
    return paginate(_history(actor, filters), page, page_size)


def get_command(actor: User, command_id: int) -> CommandRun:
    """One of the actor's history entries.

    :raises NotFound: when it does not exist or is someone else's.
    """
    run: CommandRun | None = db.session.scalar(_history(actor, CommandFilters()).where(CommandRun.id == command_id))
    if run is None:
        raise NotFound("Command not found")
    return run


def rerun(actor: User, command_id: int, *, confirm: bool = False, ip_address: str | None = None) -> CommandRun:
    """Run a history entry again, as a new entry.

    :raises NotFound: / :raises Conflict: / :raises CommandFailed: as :func:`run_command`.
    """
    previous = get_command(actor, command_id)
    stored = {**(previous.params or {}), **(previous.data or {})}
    if audit.MASK in stored.values():
        raise Invalid("This command carried secret values, which history does not keep: run it again from the "
                      "console with them", fields={"command_id": "has masked values"})
    return run_command(actor, previous.router_id, previous.command, previous.method, previous.params,
                       previous.data, confirm=confirm, ip_address=ip_address)
