"""The one door from services to routers: builds driver configs, pools clients, translates driver errors.

Blueprints never import :mod:`routeros`; every driver exception becomes a service error here, once. Three rules
are enforced here for every caller (requests, jobs, the poller's hotspot sync):

- **One deadline per request.** Inside a web request every router call shares one :class:`Deadline` of
  ``ROUTER_TIMEOUT`` (started by the first call), so an endpoint that makes five calls still answers within the
  timeout, with a 504 when it cannot. Jobs and the CLI can open their own with :func:`deadline`.
- **A few sessions per router.** At most ``ROUTER_MAX_SESSIONS`` sessions to one router (host:port) at once in
  this process, across requests, jobs and the poller (:data:`sessions`). Waiting for a slot counts against the
  deadline. The limit is per process: a separate worker process has its own.
- **No database write transaction across router I/O.** With ``ROUTER_IO_GUARD`` on (the tests), a router call
  started while the session holds flushed, uncommitted writes raises :class:`WriteTransactionOpen`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from routeros import Client, ClientPool, RestClient, RouterConfig, open_client
from routeros import errors as ros
from routeros.connection import Deadline
from webapp.extensions import db
from webapp.models import Router
from webapp.services.errors import Invalid, RouterRejected, RouterTimeout, RouterUnreachable, ServiceError
from webapp.services.vault import decrypt_password

T = TypeVar("T")
log = logging.getLogger(__name__)

_pool: ClientPool | None = None
_pool_lock = threading.Lock()
_deadline: ContextVar[Deadline | None] = ContextVar("routerdeck_router_deadline", default=None)


class WriteTransactionOpen(RuntimeError):
    """A router call started while the database session held uncommitted writes (a lock across router I/O)."""


class SessionLimiter:
    """At most ``limit`` concurrent sessions per router key, shared by every thread of the process.

    A thread that already holds a slot for a key may nest another call on it without taking a second slot
    (a service that opens a client inside another's block must not deadlock against itself).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[str, int] = defaultdict(int)
        self._mine = threading.local()

    def _owned(self) -> dict[str, int]:
        owned = getattr(self._mine, "keys", None)
        if owned is None:
            owned = self._mine.keys = defaultdict(int)
        return owned

    def acquire(self, key: str, limit: int, until: float | None) -> bool:
        """Take a slot for ``key``, waiting until the monotonic time ``until`` (``None``: do not wait)."""
        owned = self._owned()
        if owned[key]:
            owned[key] += 1
            return True
        with self._cond:
            while self._held[key] >= max(1, limit):
                left = None if until is None else until - time.monotonic()
                if left is None or left <= 0:
                    return False
                self._cond.wait(left)
            self._held[key] += 1
        owned[key] = 1
        return True

    def release(self, key: str) -> None:
        """Give a slot back."""
        owned = self._owned()
        owned[key] -= 1
        if owned[key] > 0:
            return
        del owned[key]
        with self._cond:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]
            self._cond.notify_all()

    def in_use(self, key: str) -> int:
        """Slots taken for ``key`` right now."""
        with self._cond:
            return self._held.get(key, 0)


#: The process-wide per-router session limiter.
sessions = SessionLimiter()


def max_sessions() -> int:
    """``ROUTER_MAX_SESSIONS`` of the current app (2 outside one)."""
    return int(current_app.config.get("ROUTER_MAX_SESSIONS", 2)) if has_app_context() else 2


@contextmanager
def session_slot(key: str, until: float | None, what: str = "the router") -> Iterator[None]:
    """Hold one of the router's ``ROUTER_MAX_SESSIONS`` slots for the block.

    :raises RouterTimeout: when no slot frees up before ``until`` (reason ``busy``).
    """
    if not sessions.acquire(key, max_sessions(), until):
        raise RouterTimeout(f"{what} is busy: {max_sessions()} sessions to it are already open; try again shortly",
                            reason="busy")
    try:
        yield
    finally:
        sessions.release(key)


@contextmanager
def deadline(seconds: float | None = None, what: str = "the router") -> Iterator[Deadline]:
    """Make every router call in the block share one deadline (``ROUTER_TIMEOUT`` when ``seconds`` is None)."""
    shared = Deadline(float(seconds if seconds is not None else current_app.config["ROUTER_TIMEOUT"]), what)
    token = _deadline.set(shared)
    try:
        yield shared
    finally:
        _deadline.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline router calls share here: an explicit :func:`deadline` block, else the web request's own."""
    explicit = _deadline.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        shared: Deadline | None = g.get("router_deadline")
        if shared is None:
            shared = g.router_deadline = Deadline(float(current_app.config["ROUTER_TIMEOUT"]), "the router")
        return shared
    return None


def _mark_write(session: Session, *_: object) -> None:
    session.info["wrote"] = True


def _clear_write(session: Session, *_: object) -> None:
    session.info.pop("wrote", None)


def _mark_orm_write(state: object) -> None:
    if getattr(state, "is_insert", False) or getattr(state, "is_update", False) or getattr(state, "is_delete", False):
        state.session.info["wrote"] = True  # type: ignore[attr-defined]


def install_write_tracking() -> None:
    """Track on every session whether its transaction has written (flush or DML) since it began."""
    if event.contains(Session, "after_flush", _mark_write):
        return
    event.listen(Session, "after_flush", _mark_write)
    event.listen(Session, "do_orm_execute", _mark_orm_write)
    event.listen(Session, "after_commit", _clear_write)
    event.listen(Session, "after_rollback", _clear_write)
    event.listen(Session, "after_soft_rollback", _clear_write)


def assert_no_write_transaction(what: str = "a router call") -> None:
    """Fail (``ROUTER_IO_GUARD``) or log when the session holds uncommitted writes while ``what`` starts.

    :raises WriteTransactionOpen: with the guard on.
    """
    if not has_app_context():
        return
    session = db.session()
    if not session.info.get("wrote") or not session.in_transaction():
        return
    message = (f"{what} started while the database session holds uncommitted writes: commit before talking "
               "to a router (a write lock held across router I/O stalls every other writer)")
    if current_app.config.get("ROUTER_IO_GUARD"):
        raise WriteTransactionOpen(message)
    log.warning(message)


def client_pool() -> ClientPool:
    """The process-wide pool of warm router connections."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ClientPool(max_per_key=4, idle_timeout=60.0)
        return _pool


def router_config(router: Router, timeout: float | None = None) -> RouterConfig:
    """The driver's view of a stored router (the password is decrypted here and nowhere else)."""
    return RouterConfig(
        host=router.host,
        port=router.port,
        username=router.username,
        password=decrypt_password(router.encrypted_password),
        protocol=router.protocol,  # type: ignore[arg-type]
        use_https=router.use_https,
        timeout=timeout or float(current_app.config["ROUTER_TIMEOUT"]),
        verify=bool(router.verify_tls),
        fingerprint=router.tls_fingerprint or None,
    )


def translate(exc: ros.RouterOSError) -> ServiceError:
    """Map a driver error onto the service error (and HTTP status) both faces answer with."""
    if isinstance(exc, ros.RouterTimeout):
        return RouterTimeout(exc.message)
    if isinstance(exc, ros.InvalidRequest):
        return Invalid(exc.message)
    if isinstance(exc, ros.CommandRejected | ros.PermissionDenied):
        return RouterRejected(f"Bad Request: {exc.message}", reason=exc.kind)
    return RouterUnreachable(exc.message, reason=exc.kind)


@contextmanager
def connect(router: Router, *, pooled: bool = True, timeout: float | None = None) -> Iterator[Client]:
    """A logged-in client for ``router`` within the shared deadline and a session slot; driver errors leave
    as service errors.

    :raises RouterUnreachable: refused, TLS, authentication, protocol garbage, lost connection (502).
    :raises RouterTimeout: the deadline passed, or no session slot freed up in time (504).
    :raises RouterRejected: the router refused the command (400).
    :raises WriteTransactionOpen: with ``ROUTER_IO_GUARD``, when the session holds uncommitted writes.
    """
    assert_no_write_transaction(f"a call to router {router.id}")
    config = router_config(router, timeout)
    shared = current_deadline()
    until = shared.expires if shared is not None else time.monotonic() + config.timeout
    with session_slot(config.where, until, f"router {router.name}"):
        try:
            if pooled:
                with client_pool().client(config, shared) as client, client.within(shared):
                    if isinstance(client, RestClient):  # REST pipelines keep at most this many requests in flight
                        client.max_in_flight = max_sessions()
                    yield client
            else:
                with open_client(config, shared) as client, client.within(shared):
                    yield client
        except ros.RouterOSError as exc:
            raise translate(exc) from exc


def close_pool() -> None:
    """Close every pooled connection (tests, shutdown); the next call opens a fresh pool."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


def optional(read: Callable[[], T]) -> T | None:
    """Read a menu some routers lack (routerboard and health on CHR/x86): None where the router refuses it.

    Only the router's refusal (``!trap``, REST 400/403) reads as absent; a lost connection or a timeout
    still raises, as a service error, from the surrounding :func:`connect`.
    """
    try:
        return read()
    except (ros.CommandRejected, ros.PermissionDenied):
        return None
