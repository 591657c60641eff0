"""One exception tree for everything that can go wrong talking to a router."""

from __future__ import annotations


class RouterOSError(Exception):
    """Base of every error raised by :mod:`routeros`; ``kind`` names it for callers (a JSON ``reason``)."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionFailure(RouterOSError):
    """The transport could not be used (base of the network-level errors)."""

    kind = "connection"


class Unreachable(ConnectionFailure):
    """Connection refused (a disabled service is refused too, as on RouterOS), no route, or no such name."""

    kind = "unreachable"


class RouterTimeout(ConnectionFailure):
    """The call's total deadline (connect + login + reply) passed."""

    kind = "timeout"


class TLSFailure(ConnectionFailure):
    """The TLS handshake failed or the certificate was not trusted."""

    kind = "tls"


class ConnectionLost(ConnectionFailure):
    """The router closed the connection in the middle of a reply."""

    kind = "connection_lost"


class AuthenticationFailed(RouterOSError):
    """The router refused the username or password."""

    kind = "auth"


class ServiceDisabled(RouterOSError):
    """The service answered, but not as the API: REST is not served here (a web page or a bare 404)."""

    kind = "service_disabled"


class PermissionDenied(RouterOSError):
    """The user's group policy does not allow the command."""

    kind = "permission"


class CommandRejected(RouterOSError):
    """The router answered ``!trap`` (or a REST error body) for a command."""

    kind = "rejected"

    def __init__(self, message: str, category: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.category = category
        self.detail = detail


class ProtocolError(RouterOSError):
    """The router sent bytes that do not follow the protocol (garbage, oversized word, bad JSON)."""

    kind = "protocol"


class BadValue(ProtocolError, ValueError):
    """A value from the router (or handed to :mod:`routeros.values`) is not in the expected format."""

    kind = "bad_value"


class InvalidRequest(RouterOSError, ValueError):
    """The caller asked for something the driver cannot send (unknown method, set without an id)."""

    kind = "invalid_request"


class FatalError(RouterOSError):
    """The router sent ``!fatal`` and closed the session."""

    kind = "fatal"
