"""Routers: CRUD with isolation, connection tests and device information."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from routeros import values
from webapp.extensions import db
from webapp.models import Router, User
from webapp.services import audit, gateway, groups
from webapp.services.errors import Invalid, NotFound, ServiceError
from webapp.services.pagination import Page, paginate
from webapp.services.teams import router_scope
from webapp.services.vault import encrypt_password
from webapp.timeutil import utcnow

PROTOCOLS = ("auto", "rest", "api", "api-ssl")
# Names and hosts sort the way people read them ("kisumu" next to "Kisumu-2", not after every capital).
ORDERINGS: dict[str, Any] = {
    "name": func.lower(Router.name),
    "host": func.lower(Router.host),
    "created_at": Router.created_at,
    "last_checked": Router.last_checked,
    "id": Router.id,
}
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_EDITABLE = ("name", "host", "port", "username", "use_https", "protocol", "verify_tls", "tls_fingerprint")


@dataclass
class RouterFilters:
    """What the router list can be narrowed and ordered by."""

    is_online: bool | None = None
    protocol: str | None = None
    search: str | None = None
    created_gte: datetime | None = None
    created_lt: datetime | None = None
    ordering: str = "name"
    group_id: int | None = None
    tag: str | None = None


@dataclass
class ConnectionResult:
    """What a connection test found."""

    router: Router
    is_online: bool
    reason: str | None
    message: str
    latency_ms: float | None
    routeros_version: str | None
    protocol: str | None
    identity: str | None = None


def _owned(actor: User) -> Select[Any]:
    return select(Router).where(router_scope(actor))


def get_router(actor: User, router_id: int) -> Router:
    """The actor's router with this id.

    :raises NotFound: when it does not exist or belongs to someone else.
    """
    router: Router | None = db.session.scalar(_owned(actor).where(Router.id == router_id))
    if router is None:
        raise NotFound("Router not found")
    return router


def list_routers(actor: User, filters: RouterFilters | None = None) -> Select[Any]:
    """The statement listing the actor's routers, filtered and ordered.

    :raises Invalid: for an unknown ordering or protocol.
    """
    filters = filters or RouterFilters()
    statement = _owned(actor)
    if filters.is_online is not None:
        statement = statement.where(Router.is_online.is_(filters.is_online))
    if filters.protocol:
        if filters.protocol not in PROTOCOLS:
            raise Invalid(f"protocol must be one of {', '.join(PROTOCOLS)}", fields={"protocol": "unknown"})
        statement = statement.where(Router.protocol == filters.protocol)
    if filters.search:
        pattern = f"%{filters.search.strip()}%"
        statement = statement.where(or_(Router.name.ilike(pattern), Router.host.ilike(pattern)))
    if filters.created_gte:
        statement = statement.where(Router.created_at >= filters.created_gte)
    if filters.created_lt:
        statement = statement.where(Router.created_at < filters.created_lt)
    statement = groups.filter_statement(statement, filters.group_id, filters.tag)
    ordering = filters.ordering or "name"
    column = ORDERINGS.get(ordering.lstrip("-"))
    if column is None:
        raise Invalid(f"ordering must be one of {', '.join(ORDERINGS)} (prefix - for descending)",
                      fields={"ordering": "unknown"})
    primary = column.desc() if ordering.startswith("-") else column.asc()
    return statement.order_by(primary, Router.id.asc())


def all_routers(actor: User, filters: RouterFilters | None = None) -> list[Router]:
    """Every router of the actor matching ``filters``."""
    return list(db.session.scalars(list_routers(actor, filters)))


def router_rows(actor: User, filters: RouterFilters | None, columns: Sequence[str]) -> list[Row[Any]]:
    """The actor's routers as plain rows of ``columns`` (no ORM objects): fast for thousands.

    :raises Invalid: for an unknown ordering or protocol, or a column that is secret or unknown.
    """
    if "encrypted_password" in columns or not set(columns) <= set(Router.__table__.c.keys()):
        raise Invalid("unknown or secret router column requested")
    statement = list_routers(actor, filters).with_only_columns(*(Router.__table__.c[name] for name in columns))
    return list(db.session.execute(statement))


def page_of_routers(actor: User, filters: RouterFilters, page: int, page_size: int) -> Page[Router]:
    """One page of the actor's routers."""
    return paginate(list_routers(actor, filters), page, page_size)


def _validate(values_in: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "name" in values_in or creating:
        name = str(values_in.get("name") or "").strip()
        if not 1 <= len(name) <= 100:
            errors["name"] = "1-100 characters"
        clean["name"] = name
    if "host" in values_in or creating:
        host = str(values_in.get("host") or "").strip()
        if not _valid_host(host):
            errors["host"] = "an IP address or a DNS name"
        clean["host"] = host
    if "port" in values_in or creating:
        port = values_in.get("port")
        if port is None:
            port = default_port(values_in.get("protocol") or "auto", bool(values_in.get("use_https")))
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            errors["port"] = "a port number 1-65535"
        clean["port"] = port
    if "username" in values_in or creating:
        username = str(values_in.get("username") or "").strip()
        if not 1 <= len(username) <= 50:
            errors["username"] = "1-50 characters"
        clean["username"] = username
    if "protocol" in values_in:
        protocol = values_in.get("protocol") or "auto"
        if protocol not in PROTOCOLS:
            errors["protocol"] = f"one of {', '.join(PROTOCOLS)}"
        clean["protocol"] = protocol
    for flag in ("use_https", "verify_tls"):
        if flag in values_in and values_in[flag] is not None:
            clean[flag] = bool(values_in[flag])
    if "tls_fingerprint" in values_in:
        fingerprint = (values_in.get("tls_fingerprint") or "").strip().lower().replace(":", "")
        if fingerprint and not re.fullmatch(r"[0-9a-f]{64}", fingerprint):
            errors["tls_fingerprint"] = "a SHA-256 fingerprint (64 hex digits, colons allowed)"
        clean["tls_fingerprint"] = fingerprint or None
    password = values_in.get("password")
    if creating and not password and not values_in.get("credential_profile_id"):
        errors["password"] = "required"  # noqa: S105 - a form message
    if password is not None and len(str(password)) > 256:
        errors["password"] = "at most 256 characters"  # noqa: S105 - a form message
    if errors:
        raise Invalid("Invalid router: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    return clean


def default_port(protocol: str, use_https: bool) -> int:
    """The port a router listens on for ``protocol`` when none is given (the contract's default is 80)."""
    if protocol == "api":
        return 8728
    if protocol == "api-ssl":
        return 8729
    return 443 if use_https else 80


def _valid_host(host: str) -> bool:
    if not host or len(host) > 255:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host))
    return True


def create_router(actor: User, data: dict[str, Any], ip_address: str | None = None) -> Router:
    """Register a router for the actor (the password is encrypted before it touches the database).

    :raises Invalid: with per-field messages.
    """
    clean = _validate(data, creating=True)
    router = Router(
        user_id=actor.team_owner_id,
        # With a credential profile and no password, set_membership copies the profile's credentials in.
        encrypted_password=encrypt_password(str(data.get("password") or "")),
        use_https=clean.pop("use_https", False),
        protocol=clean.pop("protocol", "auto"),
        **clean,
    )
    db.session.add(router)
    db.session.flush()
    # On creation a null profile means "none given" (a group default may apply), not "stop following one".
    groups.set_membership(actor, router, {k: v for k, v in data.items()
                                          if not (k == "credential_profile_id" and v is None)})
    audit.record(actor, "router.create", f'Created router "{router.name}" ({router.host}:{router.port})',
                 router_id=router.id, details={k: v for k, v in data.items() if k != "password"},
                 ip_address=ip_address, commit=False)
    db.session.commit()
    return router


def update_router(actor: User, router_id: int, data: dict[str, Any], ip_address: str | None = None) -> Router:
    """Change some of a router's settings; a missing or blank password keeps the stored one.

    :raises NotFound: for someone else's router.
    :raises Invalid: with per-field messages.
    """
    router = get_router(actor, router_id)
    clean = _validate(data, creating=False)
    changed = {}
    for name in _EDITABLE:
        if name in clean and getattr(router, name) != clean[name]:
            changed[name] = clean[name]
            setattr(router, name, clean[name])
    if data.get("password"):
        router.encrypted_password = encrypt_password(str(data["password"]))
        changed["password"] = "changed"  # noqa: S105 - audit marker, never the value
    changed.update(groups.set_membership(actor, router, data))
    if changed:
        router.updated_at = utcnow()
        audit.record(actor, "router.update", f'Updated router "{router.name}": {", ".join(changed)}',
                     router_id=router.id, details=changed, ip_address=ip_address, commit=False)
    db.session.commit()
    return router


def delete_router(actor: User, router_id: int, ip_address: str | None = None) -> str:
    """Delete a router (and its command history); return its name.

    :raises NotFound: for someone else's router.
    """
    router = get_router(actor, router_id)
    name = router.name
    audit.record(actor, "router.delete", f'Deleted router "{name}" ({router.host}:{router.port})',
                 router_id=None, details={"router_id": router.id, "name": name}, ip_address=ip_address,
                 commit=False)
    db.session.delete(router)
    db.session.commit()
    return name


def mark_status(router: Router, *, online: bool, reason: str | None = None, message: str | None = None,
                latency_ms: float | None = None, version: str | None = None, protocol: str | None = None) -> None:
    """Record what the last contact with a router showed."""
    router.is_online = online
    router.last_checked = utcnow()
    router.last_error = None if online else reason
    router.last_error_message = None if online else (message or "")[:500]
    if latency_ms is not None:
        router.last_latency_ms = round(latency_ms, 1)
    if version:
        router.routeros_version = version
    if protocol:
        router.resolved_protocol = protocol


def test_connection(actor: User, router_id: int) -> ConnectionResult:
    """Really log in to the router on a fresh connection and read its identity and version.

    :raises NotFound: for someone else's router.
    """
    router = get_router(actor, router_id)
    started = time.perf_counter()
    try:
        with gateway.connect(router, pooled=False) as client:
            identity = client.identity()
            version = client.resource().get("version")
            protocol = client.protocol
        latency = (time.perf_counter() - started) * 1000
    except ServiceError as exc:
        reason = exc.reason or "error"
        mark_status(router, online=False, reason=reason, message=exc.message)
        db.session.commit()
        return ConnectionResult(router, False, reason, exc.message, None, router.routeros_version, None)
    mark_status(router, online=True, latency_ms=latency, version=version, protocol=protocol)
    db.session.commit()
    return ConnectionResult(router, True, None, "Connection test completed", round(latency, 1), version, protocol,
                            identity)


def _optional(read: Any) -> dict[str, str]:
    """Menus some routers lack (routerboard on CHR/x86, health on VMs) read as empty, not as an error.

    The read runs inside ``gateway.connect``, so the driver's own refusal is what arrives here (catching the
    service-layer ``RouterRejected`` never matched: the CHR bug).
    """
    return gateway.optional(read) or {}


def _duration(text: str | None) -> int | None:
    # A router that lies about its uptime gets a null, not a 500.
    try:
        return values.parse_duration(text) if text else None
    except ValueError:
        return None


def _num(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def _commit_status(router_id: int) -> None:
    """Save a router's new status; a router deleted while it was being read (another tab) is gone: 404."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise NotFound("Router not found") from None


def device_info(actor: User, router_id: int) -> dict[str, Any]:
    """The contract's device information plus board, model, serial, licence, CPU and health where reported.

    :raises NotFound: for someone else's router.
    :raises RouterUnreachable: / :raises RouterTimeout: when the router cannot be read.
    """
    router = get_router(actor, router_id)
    try:
        with gateway.connect(router) as client:
            identity = client.identity()
            resource = client.resource()
            board = _optional(client.routerboard)
            licence = _optional(client.license)
            health = _optional(client.health)
            protocol = client.protocol
    except ServiceError as exc:
        mark_status(router, online=False, reason=exc.reason, message=exc.message)
        _commit_status(router_id)
        raise
    mark_status(router, online=True, version=resource.get("version"), protocol=protocol)
    _commit_status(router_id)
    uptime_seconds = _duration(resource.get("uptime"))
    cpu_load = resource.get("cpu-load")
    return {
        "identity": identity,
        "cpu_load": f"{cpu_load}%" if cpu_load not in (None, "") else None,
        "free_memory": resource.get("free-memory"),
        "total_memory": resource.get("total-memory"),
        "free_hdd_space": resource.get("free-hdd-space"),
        "total_hdd_space": resource.get("total-hdd-space"),
        "version": resource.get("version"),
        "uptime": values.format_uptime(uptime_seconds) if uptime_seconds is not None else None,
        "uptime_seconds": uptime_seconds,
        "board_name": resource.get("board-name"),
        "model": board.get("model"),
        "serial_number": board.get("serial-number"),
        "firmware": board.get("current-firmware"),
        "architecture": resource.get("architecture-name"),
        "platform": resource.get("platform"),
        "cpu": resource.get("cpu"),
        "cpu_count": _num(resource.get("cpu-count")),
        "cpu_frequency_mhz": _num(resource.get("cpu-frequency")),
        "license_level": licence.get("nlevel") or licence.get("level"),
        "temperature_c": health.get("temperature") or health.get("cpu-temperature"),
        "voltage_v": health.get("voltage"),
        "protocol": protocol,
    }
