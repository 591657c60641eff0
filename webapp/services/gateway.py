"""The one door from services to routers: builds driver configs, pools clients, translates driver errors.

Blueprints never import :mod:`routeros`; every driver exception becomes a service error here, once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from flask import current_app

from routeros import Client, ClientPool, RouterConfig, open_client
from routeros import errors as ros
from webapp.models import Router
from webapp.services.errors import Invalid, RouterRejected, RouterTimeout, RouterUnreachable, ServiceError
from webapp.services.vault import decrypt_password

T = TypeVar("T")

_pool: ClientPool | None = None
_pool_lock = threading.Lock()


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
    """A logged-in client for ``router``; driver errors leave as service errors.

    :raises RouterUnreachable: refused, TLS, authentication, protocol garbage, lost connection (502).
    :raises RouterTimeout: the deadline passed (504).
    :raises RouterRejected: the router refused the command (400).
    """
    config = router_config(router, timeout)
    try:
        if pooled:
            with client_pool().client(config) as client:
                yield client
        else:
            with open_client(config) as client:
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
