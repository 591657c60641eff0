"""Monitoring pages: the fleet overview, a router's graphs / interfaces / events, and the alert list.

Fragments (``monitoring/_graphs.html``, ``_interfaces.html``, ``_events.html``, ``_alerts.html``) have their
own endpoints and are included by the full pages. A refused interface toggle (the management interface)
answers 422 with the re-rendered interface table carrying the message, as validation errors do.
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from webapp.blueprints import query
from webapp.blueprints.dashboard.blueprint import bp
from webapp.blueprints.query import DEFAULT_RANGE, RANGES
from webapp.i18n import viewer_zone
from webapp.permissions import Capability, policy
from webapp.security import client_address
from webapp.services import alerts, interfaces, metrics, poller
from webapp.services.alerts import AlertFilters
from webapp.services.errors import Conflict, Invalid, RouterRejected, RouterTimeout, RouterUnreachable
from webapp.services.interfaces import InterfaceFilters
from webapp.services.routers import all_routers, get_router
from webapp.timeutil import utcnow

PER_PAGE = 20
EVENTS_PER_PAGE = 10
#: Traffic graphs are drawn for at most this many interfaces (the busiest running ones).
TRAFFIC_GRAPHS = 4


def _page() -> int:
    try:
        return max(1, int(request.args.get("page") or 1))
    except ValueError:
        return 1


def _range() -> str:
    return query.range_name(strict=False) or DEFAULT_RANGE


def _graphs_context(router_id: int) -> dict[str, Any]:
    router = get_router(current_user, router_id)
    chosen = _range()
    now = metrics.epoch(utcnow())
    start = now - RANGES[chosen]

    def series(name: str, subject: str = "") -> metrics.Series:
        return metrics.series(current_user, router_id, name, start=start, end=now, now=now, subject=subject)

    graphs: list[dict[str, Any]] = [
        {"id": "cpu", "title": gettext("CPU load"), "unit": "%", "max": 100, "series": [("CPU", series("cpu"))]},
        {
            "id": "memory",
            "title": gettext("Memory used"),
            "unit": "%",
            "max": 100,
            "series": [(gettext("Memory"), series("memory"))],
        },
    ]
    ports = interfaces.page_of_interfaces(
        current_user, router_id, InterfaceFilters(running=True, ordering="-rx_bps"), 1, TRAFFIC_GRAPHS
    ).items
    for port in ports:
        graphs.append(
            {
                "id": f"if-{port.name}",
                "title": gettext("Traffic %(interface)s", interface=port.name),
                "unit": "bit/s",
                "max": None,
                "series": [(gettext("in"), series("rx_bps", port.name)), (gettext("out"), series("tx_bps", port.name))],
            }
        )
    for graph in graphs:
        graph["has_data"] = any(result.points for _, result in graph["series"])
        graph["data"] = _uplot_data(graph["series"])
        graph["labels"] = [label for label, _ in graph["series"]]
        graph["source"] = graph["series"][0][1].source
    return {"router": router, "graphs": graphs, "range": chosen, "ranges": list(RANGES)}


def _uplot_data(series: list[tuple[str, metrics.Series]]) -> list[list[float | None]]:
    """uPlot's column format: one x array (Unix seconds) and one y array per series, aligned on x."""
    stamps = sorted({ts for _, result in series for ts, *_ in result.points})
    columns: list[list[float | None]] = [[float(ts) for ts in stamps]]
    for _, result in series:
        by_ts = {ts: avg for ts, avg, _, _ in result.points}
        columns.append([round(by_ts[ts], 3) if ts in by_ts else None for ts in stamps])
    return columns


def _interfaces_context(router_id: int, error: str | None = None) -> dict[str, Any]:
    router = get_router(current_user, router_id)
    filters = InterfaceFilters(
        type=request.args.get("type") or None, search=request.args.get("search") or None
    )
    page = interfaces.page_of_interfaces(current_user, router_id, filters, _page(), PER_PAGE)
    return {
        "router": router,
        "page": page,
        "error": error,
        "query": {k: v for k, v in (("type", filters.type), ("search", filters.search)) if v},
    }


def _events_context(router_id: int) -> dict[str, Any]:
    router = get_router(current_user, router_id)
    kind = request.args.get("kind") or None
    kind = kind if kind in alerts.EVENT_KINDS else None
    # RouterDeck's own configuration changes fill the feed; they are shown only when asked for.
    own = request.args.get("own") == "1"
    page = alerts.page_of_events(current_user, router_id, kind, _page(), EVENTS_PER_PAGE, include_own=own)
    return {"router": router, "events": page, "kind": kind, "own": own, "event_kinds": alerts.EVENT_KINDS}


@bp.get("/monitoring")
@policy(Capability.MONITOR)
def monitoring_overview() -> ResponseReturnValue:
    overview = poller.fleet_overview(current_user)
    recent = alerts.page_of_events(current_user, None, None, 1, EVENTS_PER_PAGE)
    open_alerts = alerts.page_of_alerts(current_user, AlertFilters(state="open"), 1, 10)
    return render_template(
        "monitoring/overview.html", overview=overview, recent=recent, open_alerts=open_alerts
    )


@bp.get("/routers/<int:router_id>/monitoring")
@policy(Capability.MONITOR)
def router_monitoring(router_id: int) -> ResponseReturnValue:
    context = _graphs_context(router_id)
    context.update(_interfaces_context(router_id))
    context.update(_events_context(router_id))
    return render_template("monitoring/router.html", **context)


@bp.get("/routers/<int:router_id>/monitoring/graphs")
@policy(Capability.MONITOR)
def router_graphs(router_id: int) -> ResponseReturnValue:
    return render_template("monitoring/_graphs.html", **_graphs_context(router_id))


@bp.get("/routers/<int:router_id>/monitoring/export.csv")
@policy(Capability.MONITOR)
def router_metrics_csv(router_id: int) -> Response:
    now = metrics.epoch(utcnow())
    name = request.args.get("name") or "cpu"
    result = metrics.series(
        current_user,
        router_id,
        name,
        start=now - RANGES[_range()],
        end=now,
        now=now,
        subject=request.args.get("interface") or "",
    )
    response = Response(metrics.series_csv(result, viewer_zone()), mimetype="text/csv")
    suffix = f"-{result.subject}" if result.subject else ""
    response.headers["Content-Disposition"] = f'attachment; filename="router-{router_id}-{name}{suffix}.csv"'
    return response


@bp.get("/routers/<int:router_id>/monitoring/interfaces")
@policy(Capability.MONITOR)
def router_interface_rows(router_id: int) -> ResponseReturnValue:
    return render_template("monitoring/_interfaces.html", **_interfaces_context(router_id))


@bp.post("/routers/<int:router_id>/monitoring/interfaces/<name>/toggle")
@policy(Capability.OPERATE)
def router_interface_toggle(router_id: int, name: str) -> ResponseReturnValue:
    disabled = request.form.get("disabled") == "true"
    try:
        interfaces.set_disabled(current_user, router_id, name, disabled, utcnow(), request.remote_addr)
    except (Conflict, Invalid, RouterRejected, RouterUnreachable, RouterTimeout) as exc:
        return render_template(
            "monitoring/_interfaces.html", **_interfaces_context(router_id, exc.message)
        ), 422
    return render_template("monitoring/_interfaces.html", **_interfaces_context(router_id))


@bp.get("/routers/<int:router_id>/monitoring/events")
@policy(Capability.MONITOR)
def router_event_rows(router_id: int) -> ResponseReturnValue:
    return render_template("monitoring/_events.html", **_events_context(router_id))


def _alerts_context() -> dict[str, Any]:
    state = request.args.get("state", "open")
    kind = request.args.get("kind") or None
    filters = AlertFilters(
        state=state if state in (*alerts.STATES, "open") else None,
        kind=kind if kind in alerts.DEFAULT_RULES else None,
        router_id=query.lenient_id("router_id"),
        search=request.args.get("search") or None,
    )
    page = alerts.page_of_alerts(current_user, filters, _page(), PER_PAGE)
    links = {
        k: v
        for k, v in (
            ("state", state),
            ("kind", filters.kind),
            ("router_id", filters.router_id),
            ("search", filters.search),
        )
        if v
    }
    return {
        "page": page,
        "filters": filters,
        "state": state,
        "query": links,
        "routers": all_routers(current_user),
        "kinds": alerts.DEFAULT_RULES,
    }


@bp.get("/alerts")
@policy(Capability.MONITOR)
def alerts_page() -> ResponseReturnValue:
    return render_template("monitoring/alerts.html", **_alerts_context())


@bp.get("/alerts/rows")
@policy(Capability.MONITOR)
def alert_rows() -> ResponseReturnValue:
    return render_template("monitoring/_alerts.html", **_alerts_context())


@bp.post("/alerts/<int:alert_id>/ack")
@policy(Capability.OPERATE)
def alert_acknowledge(alert_id: int) -> ResponseReturnValue:
    note = (request.form.get("note") or "").strip() or None
    try:
        alerts.acknowledge(current_user, alert_id, utcnow(), note, ip_address=client_address())
    except Conflict:
        pass  # resolved meanwhile: the refreshed list shows it so
    return render_template("monitoring/_alerts.html", **_alerts_context())
