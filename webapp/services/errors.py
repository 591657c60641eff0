"""Typed service errors; each carries the HTTP status both faces answer with."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises on purpose.

    ``reason`` is a short word for why (``unreachable``, ``timeout``, ``tls``, ``login``...), set by every error
    about a router or a provider and answered beside ``error`` in JSON and in the dashboard's error answers.
    """

    status = 400
    reason: str | None = None

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if reason is not None:
            self.reason = reason


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


class TooManyAttempts(ServiceError):
    """Too many tries: the caller must wait ``retry_after`` seconds (answered with a ``Retry-After`` header)."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RouterError(ServiceError):
    """Base of the errors about talking to a router; each always says why in ``reason``."""

    reason: str

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)


class RouterUnreachable(RouterError):
    """The router could not be reached or talked to (refused, TLS, login, garbage): a bad gateway."""

    status = 502


class RouterTimeout(RouterError):
    """The router did not answer within the deadline."""

    status = 504

    def __init__(self, message: str, *, reason: str = "timeout") -> None:
        super().__init__(message, reason=reason)


class RouterRejected(RouterError):
    """The router refused the command (``!trap`` / REST error); the contract answers 400 with its message."""

    status = 400

    def __init__(self, message: str, *, reason: str = "rejected") -> None:
        super().__init__(message, reason=reason)
