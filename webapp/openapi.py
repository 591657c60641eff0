"""The OpenAPI 3.1 document of the JSON API, generated from the app's own routes and pydantic models.

Paths and methods come from Flask's ``url_map``; each JSON view says which models go where with
``@documented(Doc(...))`` beside itself, and bodies and answers are the JSON Schemas of those pydantic models
(the request models are the ones ``json_body`` validates with). Nothing here is hand-written schema text, so
the document cannot drift from the code without ``tests/webapp/test_openapi.py`` noticing. This module sits
below the blueprints: it imports services and models only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

from flask import Flask
from pydantic import BaseModel, Field, TypeAdapter
from werkzeug.routing import Rule

from webapp.services.pagination import MAX_ID, MAX_PAGE, MAX_PAGE_SIZE

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
BEARER = "bearerAuth"

class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": "..."}`` plus ``fields`` for invalid input and ``reason`` for a router."""

    error: str
    fields: dict[str, str] | None = None
    reason: str | None = Field(default=None, description="Why, in one word (unreachable, timeout, tls, login...): "
                                                         "present on every error about a router or a provider")


_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted: the work runs as a job; poll `job.url` (also in the `Location` header) for its progress",
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
class Tag:
    """A group of operations in the document, with the sentence that introduces it."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class Doc:
    """What the document says about one endpoint.

    Error answers follow from the rest: a JSON body adds 400/413/415, a query adds 400, authentication adds
    401, a path id adds 404. ``responses`` adds the success answers and anything else (409, 429, 502, 504).
    """

    summary: str
    tag: Tag | str
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

PAGINATION = (_PAGE, _PAGE_SIZE)
#: The schema of an id in a query string (``?router=3``).
ID_SCHEMA: Mapping[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

_DOC_ATTRIBUTE = "openapi_doc"
ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def documented(doc: Doc) -> Callable[[ViewT], ViewT]:
    """Attach ``doc`` to a JSON view; put it right under the view's ``@bp.get(...)``/``@bp.post(...)`` line.

    The document is built from the views the app registered (:func:`build_spec`), so a view carries its own
    description and an unregistered one is never described.
    """

    def attach(view: ViewT) -> ViewT:
        # functools.wraps copies __dict__, so the mark survives decorators applied after this one.
        view.__dict__[_DOC_ATTRIBUTE] = doc
        return view

    return attach


def doc_of(view: Callable[..., Any] | None) -> Doc | None:
    """The :class:`Doc` attached to ``view`` by :func:`documented`, if any."""
    doc = getattr(view, _DOC_ATTRIBUTE, None)
    return doc if isinstance(doc, Doc) else None


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


def endpoint_docs(app: Flask) -> dict[str, Doc]:
    """Every ``api.*`` endpoint of ``app`` whose view carries a :func:`documented` description."""
    docs = {}
    for rule in documented_rules(app):
        doc = doc_of(app.view_functions.get(rule.endpoint))
        if doc is not None:
            docs[rule.endpoint] = doc
    return docs


def undocumented_endpoints(app: Flask) -> list[str]:
    """``api.*`` endpoints whose view has no ``@documented(...)`` (the drift test keeps this empty)."""
    return sorted({rule.endpoint for rule in documented_rules(app)} - endpoint_docs(app).keys())


def _tags(docs: Iterable[Doc]) -> list[dict[str, str]]:
    seen: dict[str, dict[str, str]] = {}
    for doc in docs:
        tag = doc.tag if isinstance(doc.tag, Tag) else Tag(doc.tag)
        entry = seen.setdefault(tag.name, {"name": tag.name})
        if tag.description:
            entry["description"] = tag.description
    return list(seen.values())


def build_spec(app: Flask) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document of ``app``'s JSON API.

    An endpoint without ``@documented(...)`` is left out rather than guessed at (and the docs page keeps
    working); ``tests/webapp/test_openapi.py`` fails until it is described.
    """
    docs = endpoint_docs(app)
    rules = [rule for rule in documented_rules(app) if rule.endpoint in docs]
    schemas = _Schemas()
    for rule in rules:
        doc = docs[rule.endpoint]
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
        doc = docs[rule.endpoint]
        path, path_parameters = openapi_path(rule)
        methods = _methods(rule)
        for method in methods:
            has_body = doc.request is not None and method in {"POST", "PUT", "PATCH"}
            operation: dict[str, Any] = {
                "tags": [doc.tag.name if isinstance(doc.tag, Tag) else doc.tag],
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
        "tags": _tags(docs[rule.endpoint] for rule in rules),
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

