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


class RouterUnreachable(ServiceError):
    """The router could not be reached or talked to (refused, TLS, login, garbage): a bad gateway."""

    status = 502

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RouterTimeout(ServiceError):
    """The router did not answer within the deadline."""

    status = 504

    def __init__(self, message: str, *, reason: str = "timeout") -> None:
        super().__init__(message)
        self.reason = reason


class RouterRejected(ServiceError):
    """The router refused the command (``!trap`` / REST error); the contract answers 400 with its message."""

    status = 400

    def __init__(self, message: str, *, reason: str = "rejected") -> None:
        super().__init__(message)
        self.reason = reason
