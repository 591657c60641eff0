"""The OpenAPI 3.1 document of the JSON API, generated from the app's own routes and pydantic models.

Paths and methods come from Flask's ``url_map``; bodies and answers are the JSON Schemas of the models in
``webapp/blueprints/api/schemas.py`` (the request models are the ones ``json_body`` validates with); the
table :data:`OPERATIONS` only says which model goes where. Nothing here is hand-written schema text, so the
document cannot drift from the code without ``tests/webapp/test_openapi.py`` noticing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from werkzeug.routing import Rule

from webapp.blueprints.api.common import MAX_ID, MAX_PAGE
from webapp.blueprints.api.schemas import (
    AccessTokenResponse,
    ApiKeyCreated,
    ApiKeyCreateRequest,
    ApiKeyLoginRequest,
    ApiKeyOut,
    AuditPage,
    CommandOut,
    CommandPage,
    ConnectionTestResponse,
    DeleteResponse,
    DeviceInfoResponse,
    ErrorResponse,
    ExecuteCommandError,
    ExecuteCommandRequest,
    ExecuteCommandResponse,
    LoginRequest,
    MeResponse,
    MessageResponse,
    RerunRequest,
    RouterCreateRequest,
    RouterOut,
    RouterPage,
    RouterUpdateRequest,
    TokenResponse,
)
from webapp.services.commands import METHODS, STATUSES
from webapp.services.pagination import MAX_PAGE_SIZE
from webapp.services.routers import ORDERINGS, PROTOCOLS

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
BEARER = "bearerAuth"

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "Done; no content",
    400: "Invalid input: the message says what, `fields` maps each bad field to a message",
    401: "Missing, malformed, expired or revoked bearer token (or wrong credentials on the login endpoints)",
    404: "No such object, or it belongs to another user (the two are indistinguishable on purpose)",
    409: "The request clashes with current state, e.g. a dangerous command sent without `confirm: true`",
    413: "Request body larger than the server accepts",
    415: "The body is not declared as JSON: send `Content-Type: application/json`",
    429: "Too many attempts: the login rate limit was reached",
    502: "The router could not be reached or talked to (refused, TLS, login, garbage)",
    504: "The router did not answer within the deadline",
}


@dataclass(frozen=True)
class OneOf:
    """An answer that is exactly one of several shapes (e.g. a plain list or a page object)."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any) -> None:
        object.__setattr__(self, "choices", choices)


@dataclass(frozen=True)
class AnyOf:
    """An answer that matches at least one of several shapes (they may overlap)."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any) -> None:
        object.__setattr__(self, "choices", choices)


@dataclass(frozen=True)
class Param:
    """One query parameter: its name, JSON Schema and meaning."""

    name: str
    schema: Mapping[str, Any]
    description: str


@dataclass(frozen=True)
class Doc:
    """What the document says about one endpoint.

    Error answers follow from the rest: a JSON body adds 400/413/415, a query adds 400, authentication adds
    401, a path id adds 404. ``responses`` adds the success answers and anything else (409, 429, 502, 504).
    """

    summary: str
    tag: str
    responses: Mapping[int, Any]
    request: type[BaseModel] | None = None
    request_required: bool = True
    query: tuple[Param, ...] = ()
    auth: str | None = "access"  # "access", "refresh", "any" (either kind) or None (no token)
    description: str = ""
    extra_errors: tuple[int, ...] = ()
    csv: bool = False  # the success answer may be (with no model: is) ``text/csv``


_PAGE = Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "Page number, from 1.")
_PAGE_SIZE = Param(
    "page_size",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    f"Results per page, 1-{MAX_PAGE_SIZE}.",
)
_DATE_TIME = {"type": "string", "format": "date-time"}
_SEARCH = {"type": "string"}

PAGINATION = (_PAGE, _PAGE_SIZE)

ROUTER_QUERY = (
    Param("page", _PAGE.schema, "Page number, from 1. Giving `page` or `page_size` answers a page object."),
    Param("page_size", _PAGE_SIZE.schema, _PAGE_SIZE.description + " Implies a page object."),
    Param("is_online", {"type": "boolean"}, "Only routers whose last contact succeeded (`true`) or failed."),
    Param("protocol", {"type": "string", "enum": list(PROTOCOLS)}, "Only routers set to this protocol."),
    Param("search", _SEARCH, "Case-insensitive substring of the name or host."),
    Param("created__gte", _DATE_TIME, "Created at or after this ISO-8601 moment (UTC when no offset)."),
    Param("created__lt", _DATE_TIME, "Created before this ISO-8601 moment (UTC when no offset)."),
    Param(
        "ordering",
        {"type": "string", "enum": [prefix + name for name in ORDERINGS for prefix in ("", "-")]},
        "Sort key; a leading `-` sorts descending. Default `name`.",
    ),
    Param("group", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "Only the routers of this group."),
    Param("tag", {"type": "string", "maxLength": 50}, "Only the routers carrying this tag."),
)

COMMAND_QUERY = (
    *PAGINATION,
    Param("status", {"type": "string", "enum": list(STATUSES)}, "Only entries with this outcome."),
    Param("method", {"type": "string", "enum": list(METHODS)}, "Only entries run with this method."),
    Param("search", _SEARCH, "Case-insensitive substring of the command path."),
    Param("started__gte", _DATE_TIME, "Started at or after this ISO-8601 moment (UTC when no offset)."),
    Param("started__lt", _DATE_TIME, "Started before this ISO-8601 moment (UTC when no offset)."),
)

_ROUTER_FILTER = Param(
    "router",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "Only entries of this router (404 if it is not yours).",
)

_AUTH = "Accounts and tokens"
_ROUTERS = "Routers"
_OPERATIONS = "Router operations"
_HISTORY = "History"

#: Endpoint name → what the document says about it. Every ``api.*`` endpoint must have an entry.
OPERATIONS: dict[str, Doc] = {
    "api.login": Doc(
        "Log in with username and password",
        _AUTH,
        {200: TokenResponse, 429: ErrorResponse},
        request=LoginRequest,
        auth=None,
        extra_errors=(401,),
        description="Answers an access token and a refresh token of one login session. Rate limited.",
    ),
    "api.api_key_login": Doc(
        "Log in with an API key pair",
        _AUTH,
        {200: TokenResponse, 429: ErrorResponse},
        request=ApiKeyLoginRequest,
        auth=None,
        extra_errors=(401,),
        description="Both the public and the private key are required; answers the same tokens as a login.",
    ),
    "api.token_refresh": Doc(
        "New access token from a refresh token",
        _AUTH,
        {200: AccessTokenResponse},
        auth="refresh",
        description="Send the **refresh** token as the bearer token. The login session stays the same.",
    ),
    "api.logout": Doc(
        "Log out (revoke this login's tokens)",
        _AUTH,
        {200: MessageResponse},
        auth="any",
        description="Accepts the access or the refresh token; both tokens of the login session stop working.",
    ),
    "api.me": Doc("The logged-in account", _AUTH, {200: MeResponse}),
    "api.api_keys": Doc("List your API keys", _AUTH, {200: list[ApiKeyOut]}),
    "api.api_key_create": Doc(
        "Create an API key",
        _AUTH,
        {201: ApiKeyCreated},
        request=ApiKeyCreateRequest,
        description="The private key is in this answer only; it is stored hashed.",
    ),
    "api.api_key_revoke": Doc("Revoke an API key", _AUTH, {200: MessageResponse}),
    "api.router_list": Doc(
        "List your routers",
        _ROUTERS,
        {200: OneOf(list[RouterOut], RouterPage)},
        query=ROUTER_QUERY,
        description="A plain list (the contract's shape) unless `page` or `page_size` is given, then a page "
        "object with `count`, `next`, `previous` and `results`.",
    ),
    "api.router_create": Doc("Add a router", _ROUTERS, {201: RouterOut}, request=RouterCreateRequest),
    "api.router_detail": Doc("One router", _ROUTERS, {200: RouterOut}),
    "api.router_update": Doc(
        "Change a router's settings",
        _ROUTERS,
        {200: RouterOut},
        request=RouterUpdateRequest,
        description="Only the fields sent change; a missing, null or empty password keeps the stored one.",
    ),
    "api.router_delete": Doc("Delete a router", _ROUTERS, {200: DeleteResponse}),
    "api.router_test_connection": Doc(
        "Test the connection to a router",
        _OPERATIONS,
        {200: ConnectionTestResponse},
        description="Logs in on a fresh connection. An unreachable router is a 200 with `is_online: false` "
        "and the reason, so the status is recorded either way.",
    ),
    "api.router_device_info": Doc(
        "Read a router's device information",
        _OPERATIONS,
        {200: DeviceInfoResponse, 502: ErrorResponse, 504: ErrorResponse},
    ),
    "api.router_execute": Doc(
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
    ),
    "api.router_commands": Doc(
        "Command history of one router", _HISTORY, {200: CommandPage}, query=COMMAND_QUERY
    ),
    "api.command_list": Doc(
        "Your command history",
        _HISTORY,
        {200: CommandPage},
        query=(*COMMAND_QUERY, _ROUTER_FILTER),
        extra_errors=(404,),
    ),
    "api.command_detail": Doc("One command history entry", _HISTORY, {200: CommandOut}),
    "api.command_rerun": Doc(
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
    ),
    "api.router_audit": Doc("Audit trail of one router", _HISTORY, {200: AuditPage}, query=PAGINATION),
}

_TAGS = (
    (_AUTH, "Log in with a password or an API key pair, refresh and revoke tokens, manage API keys."),
    (_ROUTERS, "Create, read, update and delete your routers. Other users' routers answer 404."),
    (_OPERATIONS, "Talk to a router: connection test, device information, commands."),
    (_HISTORY, "What was run on your routers, and who changed what."),
)

_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "default": {"type": "string"},
    "string": {"type": "string"},
    "path": {"type": "string"},
}


def openapi_path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path template of a Flask rule and its path parameters."""
    parameters = []
    for match in _ARGUMENT.finditer(rule.rule):
        schema = _CONVERTER_SCHEMAS.get(match["converter"] or "default", {"type": "string"})
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": dict(schema)})
    return _ARGUMENT.sub(lambda match: "{" + match["name"] + "}", rule.rule), parameters


def documented_rules(app: Flask) -> list[Rule]:
    """The JSON API's rules (``api.*`` endpoints), in a stable order."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))


def _methods(rule: Rule) -> list[str]:
    return sorted(method for method in rule.methods or () if method not in {"HEAD", "OPTIONS"})


class _Schemas:
    """Collects every type the document mentions and turns them into JSON Schema with shared components."""

    def __init__(self) -> None:
        self._inputs: list[tuple[Any, str, TypeAdapter[Any]]] = []
        self._adapters: dict[tuple[Any, str], int] = {}

    def want(self, annotation: Any, mode: str) -> None:
        if isinstance(annotation, OneOf | AnyOf):
            for choice in annotation.choices:
                self.want(choice, mode)
            return
        key = (repr(annotation), mode)
        if key not in self._adapters:
            self._adapters[key] = len(self._inputs)
            self._inputs.append((key, mode, TypeAdapter(annotation)))

    def build(self) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
        mapping, definitions = TypeAdapter.json_schemas(self._inputs, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
        return {key: value for (key, _mode), value in mapping.items()}, definitions.get("$defs", {})


def _schema_of(annotation: Any, mode: str, mapping: Mapping[Any, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(annotation, OneOf):
        return {"oneOf": [_schema_of(choice, mode, mapping) for choice in annotation.choices]}
    if isinstance(annotation, AnyOf):
        return {"anyOf": [_schema_of(choice, mode, mapping) for choice in annotation.choices]}
    return mapping[(repr(annotation), mode)]


def _answers(doc: Doc, *, has_body: bool, has_path_id: bool) -> dict[int, Any]:
    answers: dict[int, Any] = {}
    if has_body or doc.query:
        answers[400] = ErrorResponse
    if doc.auth is not None:
        answers[401] = ErrorResponse
    if has_path_id:
        answers[404] = ErrorResponse
    if has_body:
        answers[413] = ErrorResponse
        answers[415] = ErrorResponse
    for status in doc.extra_errors:
        answers[status] = ErrorResponse
    answers.update(doc.responses)
    return dict(sorted(answers.items()))


def _security(doc: Doc) -> list[dict[str, list[str]]]:
    return [] if doc.auth is None else [{BEARER: []}]


def _version() -> str:
    try:
        return metadata.version("routerdeck")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def undocumented_endpoints(app: Flask) -> list[str]:
    """``api.*`` endpoints the table does not describe (the drift test keeps this empty)."""
    return sorted({rule.endpoint for rule in documented_rules(app)} - OPERATIONS.keys())


def build_spec(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document of ``app``'s JSON API.

    An endpoint missing from :data:`OPERATIONS` is left out rather than guessed at (and the docs page keeps
    working); ``tests/webapp/test_openapi.py`` fails until it is described.
    """
    rules = [rule for rule in documented_rules(app) if rule.endpoint in OPERATIONS]
    schemas = _Schemas()
    for rule in rules:
        doc = OPERATIONS[rule.endpoint]
        if doc.request is not None:
            schemas.want(doc.request, "validation")
        for annotation in doc.responses.values():
            if annotation is not None:
                schemas.want(annotation, "serialization")
    schemas.want(ErrorResponse, "serialization")
    mapping, components = schemas.build()

    methods_per_endpoint: dict[str, int] = {}
    for rule in rules:
        methods_per_endpoint[rule.endpoint] = methods_per_endpoint.get(rule.endpoint, 0) + len(_methods(rule))
    paths: dict[str, dict[str, Any]] = {}
    for rule in rules:
        doc = OPERATIONS[rule.endpoint]
        path, path_parameters = openapi_path(rule)
        methods = _methods(rule)
        for method in methods:
            has_body = doc.request is not None and method in {"POST", "PUT", "PATCH"}
            operation: dict[str, Any] = {
                "tags": [doc.tag],
                "summary": doc.summary,
                "operationId": _operation_id(rule.endpoint, method, methods_per_endpoint[rule.endpoint]),
                "security": _security(doc),
            }
            if doc.description:
                operation["description"] = doc.description
            parameters = path_parameters + [_query_parameter(param) for param in doc.query]
            if parameters:
                operation["parameters"] = parameters
            if has_body:
                body_schema = _schema_of(doc.request, "validation", mapping)
                operation["requestBody"] = {
                    "required": doc.request_required,
                    "content": {"application/json": {"schema": body_schema}},
                }
            operation["responses"] = _responses(doc, has_body, bool(path_parameters), mapping)
            paths.setdefault(path, {})[method.lower()] = operation

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "RouterDeck API",
            "version": _version(),
            "description": "Manage MikroTik routers and run commands on them. Authenticate with "
            "`POST /users/login/` (or `/users/api-key-login/`) and send the `access` token as "
            "`Authorization: Bearer <token>`. Errors answer `{\"error\": \"...\"}` (plus `fields` for "
            "invalid input).",
        },
        "tags": [{"name": name, "description": text} for name, text in _TAGS],
        "security": [{BEARER: []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The `access` token from a login (the `refresh` token on "
                    "`/users/token/refresh/`).",
                }
            },
        },
    }


def _operation_id(endpoint: str, method: str, method_count: int) -> str:
    name = endpoint.removeprefix("api.")
    return f"{name}_{method.lower()}" if method_count > 1 else name


def _query_parameter(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": "query",
        "required": False,
        "description": param.description + " An empty value is the same as leaving it out.",
        # The endpoints read `?x=` as "no x" (what an HTML form with a blank field sends).
        "allowEmptyValue": True,
        "schema": dict(param.schema),
    }


def _responses(
    doc: Doc, has_body: bool, has_path_id: bool, mapping: Mapping[Any, dict[str, Any]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, annotation in _answers(doc, has_body=has_body, has_path_id=has_path_id).items():
        answer: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "Answer")}
        if annotation is not None:
            schema = _schema_of(annotation, "serialization", mapping)
            answer["content"] = {"application/json": {"schema": schema}}
        if doc.csv and 200 <= status < 300:
            answer.setdefault("content", {})["text/csv"] = {"schema": {"type": "string"}}
        out[str(status)] = answer
    return out

