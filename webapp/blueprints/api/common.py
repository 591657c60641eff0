"""Request parsing shared by the JSON endpoints: one place decides what a bad body is."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from webapp.services.errors import Invalid

ModelT = TypeVar("ModelT", bound=BaseModel)


def json_body(model: type[ModelT]) -> ModelT:
    """Validate the request's JSON object against ``model``.

    :raises UnsupportedMediaType: when the body is not declared as JSON (415).
    :raises Invalid: when it is not valid JSON, not an object, or fails validation (400 with fields).
    """
    if not request.is_json:
        raise UnsupportedMediaType()
    payload = request.get_json(silent=True)
    if payload is None:
        raise Invalid("Request body is not valid JSON")
    if not isinstance(payload, dict):
        raise Invalid("Request body must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise Invalid(_summary(exc), fields=_fields(exc)) from None


def _fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors():
        # pydantic names its validators in the location ("function-before[...]", "str", "int"...); clients
        # want the field path only.
        loc = err["loc"]
        parts = [str(part) for part in loc[:1]] + [str(part) for part in loc[1:] if not _is_validator_label(part)]
        fields.setdefault(".".join(parts) or "body", err["msg"])
    return fields


def _is_validator_label(part: object) -> bool:
    return isinstance(part, str) and ("[" in part or part in _TYPE_LABELS)


_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "decimal", "list", "dict", "none", "function-after",
                          "function-before", "function-wrap", "function-plain", "constrained-str"})


def _summary(exc: ValidationError) -> str:
    parts = [f"{name}: {message}" for name, message in _fields(exc).items()]
    return "Invalid request: " + "; ".join(parts)


def json_ok(body: Any, status: int = 200) -> Response:
    """Serialise ``body`` as a JSON response with ``status``."""
    response = jsonify(body)
    response.status_code = status
    return response
