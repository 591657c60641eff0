"""The REST client (RouterOS >= 7.1 over HTTP/HTTPS): one ``requests.Session`` per client.

Two things ``requests`` does not do are added at its documented extension point, the transport
adapter: a *total* deadline per call (every socket read is given only the time left, so a trickling
router still fails on time) and trust by pinned certificate fingerprint.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from routeros.base import Client, Command, Result
from routeros.config import RouterConfig
from routeros.connection import Deadline, open_socket
from routeros.errors import (
    AuthenticationFailed,
    CommandRejected,
    ConnectionLost,
    InvalidRequest,
    PermissionDenied,
    ProtocolError,
    RouterOSError,
    RouterTimeout,
    ServiceDisabled,
    TLSFailure,
    Unreachable,
)
from routeros.protocol import api_text
from routeros.values import Row, normalise_row

#: The deadline of the REST call running in this thread (``None`` outside a call).
_call_deadline: ContextVar[Deadline | None] = ContextVar("routeros_rest_call_deadline", default=None)

_PERMISSION_MARKERS = ("not enough permissions", "permission denied", "access denied")


def _time_left() -> float | None:
    deadline = _call_deadline.get()
    if deadline is None:
        return None
    left = deadline.expires - time.monotonic()
    if left <= 0:
        raise TimeoutError("the call's deadline passed")
    return left


class _DeadlineSocket(socket.socket):
    """A socket whose every read waits at most until the current call's deadline."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        left = _time_left()
        if left is not None:
            self.settimeout(left)
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        left = _time_left()
        if left is not None:
            self.settimeout(left)
        return super().recv_into(buffer, nbytes, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The TLS twin of :class:`_DeadlineSocket` (CPython bounds one TLS read by the socket timeout)."""

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        left = _time_left()
        if left is not None:
            self.settimeout(left)
        return super().recv(buflen, flags)

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        left = _time_left()
        if left is not None:
            self.settimeout(left)
        return super().recv_into(buffer, nbytes, flags)


def _adopt(sock: socket.socket) -> socket.socket:
    timeout = sock.gettimeout()
    adopted = _DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    adopted.settimeout(timeout)
    return adopted


def _connect_within_call(host: str, port: int, connect_timeout: object) -> socket.socket | None:
    """Resolve and connect within the current call's deadline (``None`` outside a call).

    urllib3's own connect resolves the name with an unbounded ``getaddrinfo``; this one does not,
    and raises the driver's typed errors directly.
    """
    deadline = _call_deadline.get()
    if deadline is None:
        return None
    limit = connect_timeout if isinstance(connect_timeout, int | float) else None
    return open_socket(host, port, deadline, limit)


class _DeadlineHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = _connect_within_call(self._dns_host, self.port, self.timeout)
        return _adopt(sock if sock is not None else super()._new_conn())


class _DeadlineHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = _connect_within_call(self._dns_host, self.port, self.timeout)
        return _adopt(sock if sock is not None else super()._new_conn())


class _InsecureHTTPSConnection(_DeadlineHTTPSConnection):
    def connect(self) -> None:
        super().connect()
        # The caller chose verify=False explicitly; urllib3's per-request warning would only repeat
        # that choice (and turns into an error under warnings-as-errors).
        self.is_verified = True


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _InsecureHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _InsecureHTTPSConnection


class _RouterAdapter(HTTPAdapter):
    """Adapter that applies one router's TLS trust choice and the per-call deadline sockets."""

    def __init__(self, config: RouterConfig) -> None:
        self._config = config
        self._context = config.ssl_context()
        self._context.sslsocket_class = _DeadlineSSLSocket
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create urllib3's pool manager with this driver's deadline-aware connection classes."""
        super().init_poolmanager(*args, **kwargs)
        insecure = self._config.verify is False and self._config.fingerprint is None
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPPool,
            "https": _InsecureHTTPSPool if insecure else _DeadlineHTTPSPool,
        }

    def _cert_reqs(self) -> str:
        return "CERT_NONE" if self._config.fingerprint or self._config.verify is False else "CERT_REQUIRED"

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Keep the pool's certificate settings to this config's trust choice."""
        # requests would point the pool at certifi's bundle here; trust lives in our context alone.
        conn.cert_reqs = self._cert_reqs()
        conn.ca_certs = None
        conn.ca_cert_dir = None

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        """urllib3 pool settings: this config's TLS context, and the fingerprint pin if any."""
        host_params, base_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs: dict[str, Any] = dict(base_kwargs)
        pool_kwargs.pop("ca_certs", None)
        pool_kwargs.pop("ca_cert_dir", None)
        pool_kwargs["ssl_context"] = self._context
        pool_kwargs["cert_reqs"] = self._cert_reqs()
        if self._config.fingerprint:
            pool_kwargs["assert_fingerprint"] = self._config.fingerprint
        return host_params, pool_kwargs


def _root_cause(exc: BaseException) -> BaseException:
    """The urllib3/socket error behind a requests exception (they nest in ``args[0]`` and ``.reason``)."""
    seen = exc
    for _ in range(8):
        inner: object = seen.args[0] if seen.args else None
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    return seen


def _error_from_body(status: int, body: Any, where: str) -> RouterOSError:
    message = body.get("message") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    text = str(detail or message or f"HTTP {status}")
    lowered = text.lower()
    if status == 401:
        return AuthenticationFailed(f"{where} refused the username or password ({text})")
    if status == 403 or any(marker in lowered for marker in _PERMISSION_MARKERS):
        return PermissionDenied(f"{text}; the user's group lacks the policy this command needs")
    return CommandRejected(text, None, detail=str(detail) if detail is not None else None)


class RestClient(Client):
    """A REST session with one router. Open it with :meth:`connect`."""

    #: Requests a :meth:`pipeline` keeps in flight (RouterOS answers REST one request at a time per session
    #: and allows few sessions); callers that share the router with others lower it.
    max_in_flight = 2

    def __init__(self, config: RouterConfig, *, https: bool) -> None:
        self.config = config
        self.protocol = "rest"
        self.https = https
        self._closed = False
        scheme = "https" if https else "http"
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.base_url = f"{scheme}://{host}:{config.port}/rest"
        session = requests.Session()
        # Routers sit on private networks: no proxies, .netrc or CA bundles from the environment.
        session.trust_env = False
        # As bytes, so a password outside Latin-1 is sent as UTF-8 instead of failing to encode.
        session.auth = HTTPBasicAuth(config.username.encode("utf-8"), config.password.encode("utf-8"))
        session.headers["Accept"] = "application/json"
        adapter = _RouterAdapter(config)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session

    @classmethod
    def connect(cls, config: RouterConfig, *, https: bool, deadline: Deadline | None = None) -> RestClient:
        """Open a session and prove the credentials with one cheap read.

        :raises RouterOSError: unreachable, timeout, TLS, authentication, service or protocol errors.
        """
        client = cls(config, https=https)
        try:
            client._request("GET", "system/identity", deadline=deadline or client._deadline(None))
        except BaseException:
            client.close()
            raise
        return client

    @property
    def usable(self) -> bool:
        """False once closed."""
        return not self._closed

    def looks_alive(self) -> bool:
        """REST is stateless; urllib3 already drops keep-alive sockets the router closed."""
        return not self._closed

    def close(self) -> None:
        """Close the session's connections (idempotent)."""
        if not self._closed:
            self._closed = True
            self.session.close()

    def _request(
        self, method: str, path: str, *, deadline: Deadline, json: Any = None, item: str | None = None
    ) -> Any:
        """One HTTP exchange within the deadline; the decoded JSON body (``None`` when empty)."""
        if self._closed:
            raise ConnectionLost(f"the REST client for {self.config.where} is closed; open a new one")
        url = f"{self.base_url}/{path}"
        if item is not None:
            url += "/" + quote(item, safe="*")
        left = deadline.remaining()
        connect = min(left, self.config.connect_timeout) if self.config.connect_timeout else left
        token = _call_deadline.set(deadline)
        try:
            response = self.session.request(
                method, url, json=json, timeout=(connect, left), allow_redirects=False
            )
            content = response.content
        except requests.exceptions.SSLError as exc:
            raise TLSFailure(self._tls_message(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, deadline) from None
        except (ValueError, UnicodeError) as exc:
            # Raised while preparing the request (a host or header requests cannot encode).
            raise InvalidRequest(f"cannot build the request to {self.config.where}: {exc}") from None
        finally:
            _call_deadline.reset(token)
        return self._decode(response, content)

    def _tls_message(self, exc: BaseException) -> str:
        cause = _root_cause(exc)
        text = str(cause)
        if "fingerprint" in text.lower():
            return (
                f"the certificate of {self.config.where} does not match the pinned fingerprint ({text}); "
                "if the router's certificate was renewed, update the pin"
            )
        if isinstance(cause, ssl.SSLCertVerificationError) or "certificate verify failed" in text:
            return (
                f"the certificate of {self.config.where} is not trusted ({text}); "
                "give its CA file, pin its SHA-256 fingerprint, or choose insecure explicitly"
            )
        return f"TLS with {self.config.where} failed: {text}; is this port really HTTPS?"

    def _transport_error(
        self, exc: requests.exceptions.RequestException, deadline: Deadline
    ) -> RouterOSError:
        where = self.config.where
        cause = _root_cause(exc)
        # urllib3's NewConnectionError (refused) subclasses ConnectTimeoutError, so it is tested first.
        if isinstance(cause, NameResolutionError):
            return Unreachable(f"cannot resolve {self.config.host!r}; check the router's address")
        if isinstance(cause, NewConnectionError):
            text = str(cause)
            reason = text.rpartition("new connection: ")[2] or text
            return Unreachable(
                f"cannot connect to {where}: {reason}; check the address, the port and that www is enabled"
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
            return RouterTimeout(f"connecting to {where} timed out")
        if isinstance(exc, requests.exceptions.Timeout) or isinstance(cause, ReadTimeoutError | TimeoutError):
            return deadline.timeout_error()
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.URLRequired):
            return InvalidRequest(f"cannot build a URL for {where}: {exc}")
        if time.monotonic() >= deadline.expires:
            return deadline.timeout_error()
        return ConnectionLost(f"connection to {where} lost during the HTTP exchange: {cause}")

    def _decode(self, response: requests.Response, content: bytes) -> Any:
        where = self.config.where
        status = response.status_code
        body: Any = None
        if content.strip():
            try:
                body = response.json()
            except ValueError:
                body = _NOT_JSON
        if status >= 400:
            raise self._http_error(status, body)
        if 300 <= status < 400:
            raise ProtocolError(
                f"{where} answered HTTP {status} (redirect to {response.headers.get('Location', '?')}): "
                "check http vs https and the port"
            )
        if body is _NOT_JSON:
            kind = response.headers.get("Content-Type", "unknown type")
            if kind.startswith("text/html"):
                # WebFig's page where REST should be: RouterOS before 7.1, or a web server that is not REST.
                raise ServiceDisabled(
                    f"{where} serves a web page, not the REST API: RouterOS before 7.1 has no REST "
                    "(use the api protocol), or this port is not the router's www/www-ssl service"
                )
            raise ProtocolError(f"{where} answered with {kind} that is not valid JSON")
        return body

    def _http_error(self, status: int, body: Any) -> RouterOSError:
        where = self.config.where
        if status >= 500:
            # The router failed rather than refused: nothing the command could change.
            detail = (
                body.get("detail") or body.get("message") if isinstance(body, dict) else "no JSON error body"
            )
            return ProtocolError(
                f"{where} failed with HTTP {status} ({detail}); the router's web server is in trouble"
            )
        if isinstance(body, dict):
            return _error_from_body(status, body, where)
        if status == 401:
            return AuthenticationFailed(f"{where} refused the username or password")
        if status == 404:
            return ServiceDisabled(
                f"{where} has no REST API (HTTP 404 without a JSON error): RouterOS before 7.1, "
                "or the www/www-ssl service is off or moved to another port"
            )
        return ProtocolError(f"{where} answered HTTP {status} without a JSON error body")

    def _rows(self, body: Any) -> list[Row]:
        if body is None:
            return []
        if isinstance(body, dict):
            return [normalise_row(body)]
        if isinstance(body, list) and all(isinstance(row, dict) for row in body):
            return [normalise_row(row) for row in body]
        raise ProtocolError(f"{self.config.where} sent a JSON {type(body).__name__} where rows were expected")

    def _row(self, body: Any) -> Row:
        rows = self._rows(body)
        return rows[0] if rows else {}

    def pipeline(self, commands: Sequence[Command], *, timeout: float | None = None) -> list[Result]:
        """Run ``commands`` with at most :attr:`max_in_flight` requests in flight, within one deadline.

        :raises RouterOSError: transport errors and timeouts (the first one met).
        """
        deadline = self._deadline(timeout)
        workers = max(1, min(self.max_in_flight, len(commands)))
        if workers == 1:
            return [self._run_command(command, deadline) for command in commands]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rest-pipeline") as executor:
            return list(executor.map(lambda command: self._run_command(command, deadline), commands))

    def _print(
        self, path: str, words: list[str], proplist: list[str] | None, deadline: Deadline
    ) -> list[Row]:
        if not words and proplist is None:
            return self._rows(self._request("GET", path, deadline=deadline))
        body: dict[str, object] = {}
        if words:
            body[".query"] = [word[1:] if word.startswith("?") else word for word in words]
        if proplist is not None:
            body[".proplist"] = proplist
        return self._rows(self._request("POST", f"{path}/print", deadline=deadline, json=body))

    def _add(self, path: str, data: Mapping[str, object], deadline: Deadline) -> Row:
        return self._row(self._request("PUT", path, deadline=deadline, json=_json_args(data)))

    def _set(self, path: str, item_id: str | None, data: Mapping[str, object], deadline: Deadline) -> Row:
        if item_id is None:
            # A single-item menu has no id for PATCH; its console "set" is the portable spelling.
            self._request("POST", f"{path}/set", deadline=deadline, json=_json_args(data))
            return self._row(self._request("GET", path, deadline=deadline))
        return self._row(self._request("PATCH", path, deadline=deadline, json=_json_args(data), item=item_id))

    def _remove(self, path: str, item_id: str, deadline: Deadline) -> None:
        self._request("DELETE", path, deadline=deadline, item=item_id)

    def _call(self, path: str, args: Mapping[str, object], deadline: Deadline) -> list[Row]:
        return self._rows(self._request("POST", path, deadline=deadline, json=_json_args(args)))


_NOT_JSON = object()


def _json_args(args: Mapping[str, object]) -> dict[str, object]:
    """Values as RouterOS strings (what the binary API sends too); ``.proplist``/``.query`` lists kept."""
    out: dict[str, object] = {}
    for key, value in args.items():
        if key == "_proplist":
            key = ".proplist"
        if key in (".proplist", ".query") and isinstance(value, list | tuple):
            out[key] = [str(item) for item in value]
        else:
            out[key] = api_text(value)
    return out
