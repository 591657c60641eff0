"""``/routers/...`` and ``/commands/...``: the contract's Router Management and Router Operations."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request
from flask_jwt_extended import current_user, jwt_required

from webapp.blueprints import query
from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.presenters import ROUTER_FIELDS, audit_out, command_out, page_out, router_out, routers_out
from webapp.blueprints.api.schemas import (
    AuditPage,
    CommandOut,
    CommandPage,
    ConnectionTestResponse,
    DeleteResponse,
    DeviceInfoResponse,
    ExecuteCommandError,
    ExecuteCommandRequest,
    ExecuteCommandResponse,
    RerunRequest,
    RouterCreateRequest,
    RouterOut,
    RouterPage,
    RouterUpdateRequest,
)
from webapp.models import CommandRun, User
from webapp.openapi import ID_SCHEMA, PAGINATION, AnyOf, Doc, ErrorResponse, OneOf, Param, Tag, documented
from webapp.permissions import Capability, policy
from webapp.services import audit, commands, routers
from webapp.services.commands import METHODS, STATUSES, CommandFailed, CommandFilters
from webapp.services.errors import Invalid
from webapp.services.pagination import MAX_ID, page_numbers
from webapp.services.routers import ORDERINGS, PROTOCOLS, RouterFilters
from webapp.timeutil import isoformat_z

_ROUTERS = Tag("Routers", "Create, read, update and delete your routers. Other users' routers answer 404.")
_OPERATIONS = Tag("Router operations", "Talk to a router: connection test, device information, commands.")
_HISTORY = Tag("History", "What was run on your routers, and who changed what.")

_DATE_TIME = {"type": "string", "format": "date-time"}
ROUTER_QUERY = (
    Param("page", PAGINATION[0].schema, "Page number, from 1. Giving `page` or `page_size` answers a page object."),
    Param("page_size", PAGINATION[1].schema, PAGINATION[1].description + " Implies a page object."),
    Param("is_online", {"type": "boolean"}, "Only routers whose last contact succeeded (`true`) or failed."),
    Param("protocol", {"type": "string", "enum": list(PROTOCOLS)}, "Only routers set to this protocol."),
    Param("search", {"type": "string"}, "Case-insensitive substring of the name or host."),
    Param("created__gte", _DATE_TIME, "Created at or after this ISO-8601 moment (UTC when no offset)."),
    Param("created__lt", _DATE_TIME, "Created before this ISO-8601 moment (UTC when no offset)."),
    Param(
        "ordering",
        {"type": "string", "enum": [prefix + name for name in ORDERINGS for prefix in ("", "-")]},
        "Sort key; a leading `-` sorts descending. Default `name`.",
    ),
    Param("group", ID_SCHEMA, "Only the routers of this group."),
    Param("tag", {"type": "string", "maxLength": 50}, "Only the routers carrying this tag."),
)
COMMAND_QUERY = (
    *PAGINATION,
    Param("status", {"type": "string", "enum": list(STATUSES)}, "Only entries with this outcome."),
    Param("method", {"type": "string", "enum": list(METHODS)}, "Only entries run with this method."),
    Param("search", {"type": "string"}, "Case-insensitive substring of the command path."),
    Param("started__gte", _DATE_TIME, "Started at or after this ISO-8601 moment (UTC when no offset)."),
    Param("started__lt", _DATE_TIME, "Started before this ISO-8601 moment (UTC when no offset)."),
)
_ROUTER_FILTER = Param("router", ID_SCHEMA, "Only entries of this router (404 if it is not yours).")


def _tag_arg() -> str | None:
    tag = request.args.get("tag") or None
    if tag is not None and len(tag) > 50:
        raise Invalid("tag must be at most 50 characters", fields={"tag": "at most 50 characters"})
    return tag


def _group_arg() -> int | None:
    raw = request.args.get("group")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise Invalid("group must be a group id", fields={"group": "integer"})
    return int(raw)


def _paged() -> bool:
    return "page" in request.args or "page_size" in request.args


def _client_ip() -> str | None:
    return request.remote_addr


@bp.get("/routers/")
@documented(Doc(
    "List your routers",
    _ROUTERS,
    {200: OneOf(list[RouterOut], RouterPage)},
    query=ROUTER_QUERY,
    description="A plain list (the contract's shape) unless `page` or `page_size` is given, then a page "
    "object with `count`, `next`, `previous` and `results`.",
))
@jwt_required()
@policy(Capability.READ)
def router_list() -> Response:
    filters = RouterFilters(
        is_online=query.flag("is_online"),
        protocol=request.args.get("protocol") or None,
        search=request.args.get("search") or None,
        created_gte=query.moment("created__gte"),
        created_lt=query.moment("created__lt"),
        ordering=request.args.get("ordering") or "name",
        group_id=_group_arg(),
        tag=_tag_arg(),
    )
    if not _paged():  # the contract's plain list; clients do len(routers)
        return json_ok(routers_out(routers.router_rows(current_user, filters, ROUTER_FIELDS)))
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = routers.page_of_routers(current_user, filters, number, size)
    return json_ok(page_out(page, [router_out(r) for r in page.items]))


@bp.post("/routers/")
@documented(Doc("Add a router", _ROUTERS, {201: RouterOut, 404: ErrorResponse}, request=RouterCreateRequest,
                description="404 when `group_id` or `credential_profile_id` names no group or profile of yours."))
@jwt_required()
@policy(Capability.OPERATE)
def router_create() -> Response:
    body = json_body(RouterCreateRequest)
    router = routers.create_router(current_user, body.model_dump(), _client_ip())
    return json_ok(router_out(router), 201)


@bp.get("/routers/<int:router_id>/")
@documented(Doc("One router", _ROUTERS, {200: RouterOut}))
@jwt_required()
@policy(Capability.READ)
def router_detail(router_id: int) -> Response:
    return json_ok(router_out(routers.get_router(current_user, router_id)))


@bp.put("/routers/<int:router_id>/")
@documented(Doc(
    "Change a router's settings",
    _ROUTERS,
    {200: RouterOut},
    request=RouterUpdateRequest,
    description="Only the fields sent change; a missing, null or empty password keeps the stored one.",
))
@bp.patch("/routers/<int:router_id>/")
@jwt_required()
@policy(Capability.OPERATE)
def router_update(router_id: int) -> Response:
    body = json_body(RouterUpdateRequest)
    data = body.model_dump(exclude_unset=True)
    router = routers.update_router(current_user, router_id, data, _client_ip())
    return json_ok(router_out(router))


@bp.delete("/routers/<int:router_id>/")
@documented(Doc("Delete a router", _ROUTERS, {200: DeleteResponse}))
@jwt_required()
@policy(Capability.OPERATE)
def router_delete(router_id: int) -> Response:
    name = routers.delete_router(current_user, router_id, _client_ip())
    return json_ok({"message": f'Router "{name}" has been successfully deleted'})


@bp.post("/routers/<int:router_id>/test-connection/")
@documented(Doc(
    "Test the connection to a router",
    _OPERATIONS,
    {200: ConnectionTestResponse},
    description="Logs in on a fresh connection. An unreachable router is a 200 with `is_online: false` "
    "and the reason, so the status is recorded either way.",
))
@jwt_required()
@policy(Capability.OPERATE)
def router_test_connection(router_id: int) -> Response:
    result = routers.test_connection(current_user, router_id)
    return json_ok(
        {
            "router_id": result.router.id,
            "is_online": result.is_online,
            "message": "Connection test completed",
            "reason": result.reason,
            "error_message": None if result.is_online else result.message,
            "latency_ms": result.latency_ms,
            "routeros_version": result.routeros_version,
            "protocol": result.protocol,
            "identity": result.identity,
            "last_checked": isoformat_z(result.router.last_checked),
        }
    )


@bp.get("/routers/<int:router_id>/device-info/")
@documented(Doc(
    "Read a router's device information",
    _OPERATIONS,
    {200: DeviceInfoResponse, 502: ErrorResponse, 504: ErrorResponse},
))
@jwt_required()
@policy(Capability.MONITOR)
def router_device_info(router_id: int) -> Response:
    info = routers.device_info(current_user, router_id)
    message = "Device information retrieved successfully"
    return json_ok({"router_id": router_id, "device_info": info, "message": message})


def _command_answer(run_call: Callable[[], CommandRun]) -> Response:
    try:
        run = run_call()
    except CommandFailed as failed:
        body = {
            "router_id": failed.run.router_id,
            "command": failed.run.command,
            "method": failed.run.method,
            "error": failed.message,
            "status_code": failed.status,
            "command_id": failed.run.id,
            "reason": failed.reason,
        }
        return json_ok(body, failed.status)
    return json_ok(
        {
            "router_id": run.router_id,
            "command": run.command,
            "method": run.method,
            "result": run.answer,
            "message": "Command executed successfully",
            "command_id": run.id,
            "protocol": run.protocol,
            "duration_ms": run.duration_ms,
        }
    )


@bp.post("/routers/<int:router_id>/execute-command/")
@documented(Doc(
    "Run a command on a router",
    _OPERATIONS,
    {
        200: ExecuteCommandResponse,
        400: AnyOf(ExecuteCommandError, ErrorResponse),
        409: ErrorResponse,
        502: ExecuteCommandError,
        504: ExecuteCommandError,
    },
    request=ExecuteCommandRequest,
    description="Every run is kept in the command history. A command the router refuses answers 400 with "
    "the router's message; dangerous commands (reboot, reset, removing users, disabling the API) need "
    "`confirm: true` and answer 409 without it.",
))
@jwt_required()
@policy(Capability.CONSOLE)
def router_execute(router_id: int) -> Response:
    body = json_body(ExecuteCommandRequest)
    actor: User = current_user
    return _command_answer(
        lambda: commands.run_command(actor, router_id, body.command, body.method, body.params, body.data,
                                     confirm=body.confirm, ip_address=_client_ip())
    )


def _command_filters(router_id: int | None) -> CommandFilters:
    router_arg = request.args.get("router")
    if router_id is None and router_arg:
        # isdigit() lets "²" through to int(), and an id past BIGINT overflows the driver: both were 500s.
        if not (router_arg.isascii() and router_arg.isdigit()) or int(router_arg) > MAX_ID:
            raise Invalid("router must be a router id", fields={"router": "integer"})
        router_id = int(router_arg)
    return CommandFilters(
        router_id=router_id,
        status=request.args.get("status") or None,
        method=request.args.get("method") or None,
        search=request.args.get("search") or None,
        started_gte=query.moment("started__gte"),
        started_lt=query.moment("started__lt"),
    )


def _command_page(router_id: int | None) -> Response:
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = commands.history(current_user, _command_filters(router_id), number, size)
    return json_ok(page_out(page, [command_out(run) for run in page.items]))


@bp.get("/routers/<int:router_id>/commands/")
@documented(Doc(
    "Command history of one router", _HISTORY, {200: CommandPage}, query=COMMAND_QUERY
))
@jwt_required()
@policy(Capability.CONSOLE)
def router_commands(router_id: int) -> Response:
    return _command_page(router_id)


@bp.get("/commands/")
@documented(Doc(
    "Your command history",
    _HISTORY,
    {200: CommandPage},
    query=(*COMMAND_QUERY, _ROUTER_FILTER),
    extra_errors=(404,),
))
@jwt_required()
@policy(Capability.CONSOLE)
def command_list() -> Response:
    return _command_page(None)


@bp.get("/commands/<int:command_id>/")
@documented(Doc("One command history entry", _HISTORY, {200: CommandOut}))
@jwt_required()
@policy(Capability.CONSOLE)
def command_detail(command_id: int) -> Response:
    return json_ok(command_out(commands.get_command(current_user, command_id)))


@bp.post("/commands/<int:command_id>/rerun/")
@documented(Doc(
    "Run a history entry again",
    _HISTORY,
    {
        200: ExecuteCommandResponse,
        400: AnyOf(ExecuteCommandError, ErrorResponse),
        409: ErrorResponse,
        502: ExecuteCommandError,
        504: ExecuteCommandError,
    },
    request=RerunRequest,
    request_required=False,
    description="The body is optional; send `{\"confirm\": true}` to re-run a dangerous command.",
))
@jwt_required()
@policy(Capability.CONSOLE)
def command_rerun(command_id: int) -> Response:
    confirm = json_body(RerunRequest).confirm if request.content_length else False
    actor: User = current_user
    return _command_answer(lambda: commands.rerun(actor, command_id, confirm=confirm, ip_address=_client_ip()))


@bp.get("/routers/<int:router_id>/audit/")
@documented(Doc("Audit trail of one router", _HISTORY, {200: AuditPage}, query=PAGINATION))
@jwt_required()
@policy(Capability.MONITOR)
def router_audit(router_id: int) -> Response:
    routers.get_router(current_user, router_id)
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = audit.for_router(router_id, number, size)
    return json_ok(page_out(page, [audit_out(event) for event in page.items]))
