"""Typed service errors; each carries the HTTP status both faces answer with."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(ServiceError):
    """The input is wrong; ``fields`` maps field names to messages."""

    status = 400


class Unauthorized(ServiceError):
    """Credentials are missing or wrong."""

    status = 401


class Forbidden(ServiceError):
    """The actor may not do this."""

    status = 403


class NotFound(ServiceError):
    """No such object, or it belongs to someone else (the two are indistinguishable on purpose)."""

    status = 404


class Conflict(ServiceError):
    """The request clashes with current state (duplicate, needs confirmation)."""

    status = 409
