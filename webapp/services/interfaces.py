"""Interfaces ("ports"): what the poller last saw of each, and enabling/disabling one on the router.

The guard: the interface RouterDeck reaches the router through is never disabled. It is the interface
holding an address whose network contains the router's host; when no such address exists (the router is
reached through NAT, a tunnel or a route the API does not show) every interface carrying an IP address is
treated as a possible way in and protected.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select

from webapp.extensions import db
from webapp.models import MonitoredInterface, Router, User
from webapp.services import audit, gateway
from webapp.services.alerts import record_event
from webapp.services.errors import Conflict, Invalid, NotFound, ServiceError
from webapp.services.pagination import Page, paginate
from webapp.services.routers import get_router, mark_status

ORDERINGS = {
    "name": MonitoredInterface.name,
    "type": MonitoredInterface.type,
    "rx_bps": MonitoredInterface.rx_bps,
    "tx_bps": MonitoredInterface.tx_bps,
}


@dataclass
class InterfaceFilters:
    """What the interface list can be narrowed and ordered by."""

    type: str | None = None
    running: bool | None = None
    disabled: bool | None = None
    search: str | None = None
    ordering: str = "name"


def _statement(router: Router, filters: InterfaceFilters) -> Select[Any]:
    statement = select(MonitoredInterface).where(MonitoredInterface.router_id == router.id)
    if filters.type:
        statement = statement.where(MonitoredInterface.type == filters.type)
    if filters.running is not None:
        statement = statement.where(MonitoredInterface.running.is_(filters.running))
    if filters.disabled is not None:
        statement = statement.where(MonitoredInterface.disabled.is_(filters.disabled))
    if filters.search:
        pattern = f"%{filters.search.strip()}%"
        statement = statement.where(
            or_(
                MonitoredInterface.name.ilike(pattern),
                MonitoredInterface.comment.ilike(pattern),
                MonitoredInterface.mac_address.ilike(pattern),
            )
        )
    ordering = filters.ordering or "name"
    column = ORDERINGS.get(ordering.lstrip("-"))
    if column is None:
        raise Invalid(
            f"ordering must be one of {', '.join(ORDERINGS)} (prefix - for descending)",
            fields={"ordering": "unknown"},
        )
    primary = column.desc() if ordering.startswith("-") else column.asc()
    return statement.order_by(primary, MonitoredInterface.name)


def page_of_interfaces(
    actor: User, router_id: int, filters: InterfaceFilters, page: int, page_size: int
) -> Page[MonitoredInterface]:
    """One page of a router's interfaces as last polled.

    :raises NotFound: for someone else's router.
    :raises Invalid: for an unknown ordering.
    """
    router = get_router(actor, router_id)
    return paginate(_statement(router, filters), page, page_size)


def management_interfaces(host: str, addresses: list[dict[str, str]]) -> set[str]:
    """Interfaces that may carry RouterDeck's own connection to a router at ``host``."""
    carrying = {row.get("interface", "") for row in addresses if row.get("interface")}
    try:
        target = ipaddress.ip_address(host)
    except ValueError:
        return carrying
    for row in addresses:
        try:
            network = ipaddress.ip_interface(row.get("address", "")).network
        except ValueError:
            continue
        if target in network and row.get("interface"):
            return {row["interface"]}
    return carrying


def set_disabled(
    actor: User, router_id: int, name: str, disabled: bool, now: datetime, ip_address: str | None = None
) -> MonitoredInterface:
    """Enable or disable an interface on the router, refusing the one we manage it through.

    :raises NotFound: for someone else's router or an unknown interface.
    :raises Conflict: when the interface carries (or may carry) the management connection.
    :raises RouterUnreachable: / :raises RouterTimeout: / :raises RouterRejected: from the router.
    """
    router = get_router(actor, router_id)
    interface = db.session.scalar(
        select(MonitoredInterface).where(
            MonitoredInterface.router_id == router.id, MonitoredInterface.name == name
        )
    )
    if interface is None:
        raise NotFound("Interface not found")
    try:
        with gateway.connect(router) as client:
            if disabled:
                addresses = client.print("ip/address", proplist=["address", "interface"])
                protected = management_interfaces(router.host, addresses)
                if name in protected:
                    raise Conflict(
                        f"{name} may carry RouterDeck's connection to {router.name}; "
                        "disabling it would cut the router off",
                        fields={"name": "management interface"},
                    )
            row = client.set(
                "interface", interface.ros_id or name, {"disabled": "true" if disabled else "false"}
            )
    except Conflict:
        raise
    except ServiceError as exc:
        if exc.status in (502, 504):
            mark_status(router, online=False, reason=exc.reason, message=exc.message)
            db.session.commit()
        raise
    interface.disabled = row.get("disabled", "true" if disabled else "false") == "true"
    interface.running = row.get("running", "false") == "true" if "running" in row else interface.running
    interface.down_since = None
    verb = "Disabled" if disabled else "Enabled"
    audit.record(
        actor,
        "interface.disable" if disabled else "interface.enable",
        f"{verb} interface {name} on {router.name}",
        router_id=router.id,
        details={"interface": name},
        ip_address=ip_address,
        commit=False,
    )
    record_event(router, "config", f"{verb} interface {name} through RouterDeck", now, interface=name)
    db.session.commit()
    return interface
