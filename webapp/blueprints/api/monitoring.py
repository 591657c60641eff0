"""Fleet monitoring over JSON: metrics (and CSV), interfaces, alerts (LibreNMS-style ack), rules, events."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Response, request
from flask_jwt_extended import current_user, jwt_required

from webapp.blueprints import query
from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.monitoring_schemas import (
    AlertAck,
    AlertOut,
    AlertPage,
    ChannelBody,
    ChannelOut,
    EventPage,
    FleetOverviewOut,
    InterfaceChange,
    InterfaceOut,
    InterfacePage,
    PollSettings,
    PollSettingsOut,
    RuleBody,
    RuleList,
    RuleOut,
    SeriesOut,
)
from webapp.blueprints.api.presenters import page_out
from webapp.blueprints.query import RANGES
from webapp.models import Alert, AlertRule, MonitoredInterface, MonitorEvent, NotificationChannel
from webapp.openapi import ID_SCHEMA, PAGINATION, Doc, ErrorResponse, Param, Tag, documented
from webapp.permissions import Capability, policy
from webapp.security import client_address
from webapp.services import alerts, interfaces, metrics, notify, poller
from webapp.services.alerts import DEFAULT_RULES, EVENT_KINDS, STATES, AlertFilters
from webapp.services.errors import Invalid
from webapp.services.interfaces import ORDERINGS, InterfaceFilters
from webapp.services.metrics import INTERFACE_METRICS, METRICS
from webapp.services.pagination import page_numbers
from webapp.services.routers import get_router
from webapp.timeutil import isoformat_z, utcnow

FORMATS = ("json", "csv")
#: Unix seconds of 0001-01-01 and 9999-12-31 23:59:59 UTC, what an ISO-8601 moment can name.
MIN_TIME, MAX_TIME = -62135596800, 253402300799

_METRICS = Tag("Monitoring: metrics and interfaces", "What the poller measured: metric series (JSON or CSV), "
                                                     "interfaces, poll intervals and the fleet at a glance.")
_ALERTS = Tag("Monitoring: alerts and notifications", "Alerts (acknowledge LibreNMS-style), their rules, the "
                                                      "event log and where notifications go.")
_ROUTER_ERRORS = {502: ErrorResponse, 504: ErrorResponse}
_FLAG = {"type": "boolean"}
_TIME = {
    "anyOf": [
        {"type": "integer", "minimum": MIN_TIME, "maximum": MAX_TIME},
        {"type": "string", "format": "date-time"},
    ]
}
_ROUTER_ID = Param("router_id", ID_SCHEMA, "Only this router's (404 if not yours).")
_PER_INTERFACE = ", ".join(f"`{name}`" for name in sorted(INTERFACE_METRICS))
_SECONDS = re.compile(r"-?[0-9]+", re.ASCII)


def time_arg(name: str, raw: str | None) -> int | None:
    """``from``/``to`` as Unix seconds or ISO-8601 (UTC when no offset is given).

    :raises Invalid: for anything else.
    """
    if raw is None or raw == "":
        return None
    if _SECONDS.fullmatch(raw):
        # str.isdigit() also passed "²" and "--5", which int() refused (a 500); far-off seconds overflowed SQL.
        seconds = int(raw)
        if not MIN_TIME <= seconds <= MAX_TIME:
            raise Invalid(f"{name} must be within years 1-9999", fields={name: "out of range"})
        return seconds
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"{name} must be Unix seconds or ISO-8601", fields={name: "Unix seconds or ISO-8601"}
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def series_window(args: Any, now: int) -> tuple[int, int, int | None]:
    """The (start, end, step) asked for: ``range=`` or ``from``/``to``, by default the last 24 h.

    :raises Invalid: for an unknown range or a bad time or step.
    """
    end = time_arg("to", args.get("to")) or now
    chosen = args.get("range")
    if chosen:
        if chosen not in RANGES:
            raise Invalid(f"range must be one of {', '.join(RANGES)}", fields={"range": "unknown"})
        start = end - RANGES[chosen]
    else:
        start = time_arg("from", args.get("from")) or end - RANGES["24h"]
    raw_step = args.get("step")
    try:
        step = int(raw_step) if raw_step not in (None, "") else None
    except ValueError:
        raise Invalid("step must be whole seconds", fields={"step": "whole seconds"}) from None
    return start, end, step


def series_out(result: metrics.Series) -> dict[str, Any]:
    """A series as JSON: points are ``[ts, avg, min, max]``."""
    return {
        "router_id": result.router_id,
        "name": result.name,
        "interface": result.subject or None,
        "unit": result.unit,
        "from": result.start,
        "to": result.end,
        "step": result.step,
        "source": result.source,
        "rows_read": result.rows_read,
        "points": [
            [ts, round(avg, 4), round(low, 4), round(high, 4)] for ts, avg, low, high in result.points
        ],
    }


def interface_out(interface: MonitoredInterface) -> dict[str, Any]:
    """One interface as last polled."""
    return {
        "name": interface.name,
        "id": interface.ros_id,
        "type": interface.type,
        "mac_address": interface.mac_address,
        "comment": interface.comment,
        "running": interface.running,
        "disabled": interface.disabled,
        "rx_bps": interface.rx_bps,
        "tx_bps": interface.tx_bps,
        "rx_bytes": int(interface.rx_counter) if interface.rx_counter else None,
        "tx_bytes": int(interface.tx_counter) if interface.tx_counter else None,
        "down_since": isoformat_z(interface.down_since),
        "last_seen": isoformat_z(interface.last_seen),
    }


def alert_out(alert: Alert) -> dict[str, Any]:
    """One alert."""
    return {
        "id": alert.id,
        "router_id": alert.router_id,
        "router_name": alert.router.name,
        "kind": alert.kind,
        "interface": alert.subject or None,
        "state": alert.state,
        "severity": alert.severity,
        "message": alert.message,
        "value": alert.value,
        "note": alert.note,
        "started_at": isoformat_z(alert.started_at),
        "acknowledged_at": isoformat_z(alert.acknowledged_at),
        "resolved_at": isoformat_z(alert.resolved_at),
    }


def rule_out(rule: AlertRule) -> dict[str, Any]:
    """One rule override."""
    return {
        "id": rule.id,
        "router_id": rule.router_id,
        "kind": rule.kind,
        "threshold": rule.threshold,
        "duration_minutes": rule.duration_minutes,
        "enabled": rule.enabled,
    }


def event_out(event: MonitorEvent) -> dict[str, Any]:
    """One event log line."""
    return {
        "id": event.id,
        "router_id": event.router_id,
        "kind": event.kind,
        "message": event.message,
        "details": event.details or {},
        "created_at": isoformat_z(event.created_at),
    }


def channel_out(channel: NotificationChannel) -> dict[str, Any]:
    """One notification channel."""
    return {
        "id": channel.id,
        "kind": channel.kind,
        "target": channel.target,
        "cooldown_minutes": channel.cooldown_minutes,
        "enabled": channel.enabled,
    }


@bp.get("/routers/<int:router_id>/metrics/")
@documented(Doc(
    "One metric of a router over time", _METRICS, {200: SeriesOut}, csv=True,
    query=(
        Param("name", {"type": "string", "enum": list(METRICS)}, "The metric. Default `cpu`."),
        Param("interface", {"type": "string"}, f"The interface of a per-interface metric ({_PER_INTERFACE})."),
        Param("range", {"type": "string", "enum": list(RANGES)}, "The last hour, day, week or month up to `to` "
                                                                 "(wins over `from`). Default 24h."),
        Param("from", _TIME, "Start: Unix seconds or an ISO-8601 moment (UTC when no offset)."),
        Param("to", _TIME, "End: Unix seconds or an ISO-8601 moment (UTC when no offset). Default now."),
        Param("step", {"type": "integer", "minimum": 1, "maximum": 31 * 86400},
              "Seconds per point (default: about 720 points over the range)."),
        Param("format", {"type": "string", "enum": list(FORMATS)}, "`csv` answers `text/csv`. Default json."),
    ),
    description=f"Points are `[ts, avg, min, max]`, read from raw samples or 5-minute/hourly roll-ups as the "
    f"range requires. Rules that relate parameters answer 400: {_PER_INTERFACE} need `interface`, `from` "
    "must be before `to` (`to` defaults to now) and a range spans at most 400 days.",
))
@jwt_required()
@policy(Capability.MONITOR)
def router_metrics(router_id: int) -> Response:
    now = metrics.epoch(utcnow())
    start, end, step = series_window(request.args, now)
    result = metrics.series(
        current_user,
        router_id,
        request.args.get("name") or "cpu",
        start=start,
        end=end,
        now=now,
        subject=request.args.get("interface") or "",
        step=step,
    )
    output = request.args.get("format") or "json"
    if output not in FORMATS:
        raise Invalid("format must be json or csv", fields={"format": "json or csv"})
    if output == "csv":
        response = Response(metrics.series_csv(result), mimetype="text/csv")
        suffix = f"-{result.subject}" if result.subject else ""
        response.headers["Content-Disposition"] = (
            f'attachment; filename="router-{router_id}-{result.name}{suffix}.csv"'
        )
        return response
    return json_ok(series_out(result))


@bp.get("/routers/<int:router_id>/interfaces/")
@documented(Doc(
    "A router's interfaces as last polled", _METRICS, {200: InterfacePage},
    query=(
        *PAGINATION,
        Param("type", {"type": "string"}, "Only this RouterOS interface type (ether, wlan, bridge...)."),
        Param("running", _FLAG, "Only running (`true`) or not running interfaces."),
        Param("disabled", _FLAG, "Only disabled (`true`) or enabled interfaces."),
        Param("search", {"type": "string"}, "Case-insensitive substring of the name, comment or MAC address."),
        Param("ordering", {"type": "string", "enum": [p + name for name in ORDERINGS for p in ("", "-")]},
              "Sort key; a leading `-` sorts descending. Default `name`."),
    ),
))
@jwt_required()
@policy(Capability.MONITOR)
def router_interfaces(router_id: int) -> Response:
    filters = InterfaceFilters(
        type=request.args.get("type") or None,
        running=query.flag("running"),
        disabled=query.flag("disabled"),
        search=request.args.get("search") or None,
        ordering=request.args.get("ordering") or "name",
    )
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = interfaces.page_of_interfaces(current_user, router_id, filters, number, size)
    return json_ok(page_out(page, [interface_out(i) for i in page.items]))


@bp.put("/routers/<int:router_id>/interfaces/<name>/")
@documented(Doc(
    "Enable or disable an interface", _METRICS, {200: InterfaceOut, 409: ErrorResponse, **_ROUTER_ERRORS},
    request=InterfaceChange,
    description="Refused (409) for the interface RouterDeck reaches the router through. A command the "
    "router refuses answers 400 with its message.",
))
@jwt_required()
@policy(Capability.OPERATE)
def router_interface_update(router_id: int, name: str) -> Response:
    body = json_body(InterfaceChange)
    interface = interfaces.set_disabled(
        current_user, router_id, name, body.disabled, utcnow(), request.remote_addr
    )
    return json_ok(interface_out(interface))


@bp.get("/routers/<int:router_id>/events/")
@documented(Doc(
    "A router's event log", _ALERTS, {200: EventPage},
    query=(*PAGINATION, Param("kind", {"type": "string", "enum": list(EVENT_KINDS)}, "Only this kind."),
           Param("include_own", _FLAG, "`false` leaves out the configuration changes made through RouterDeck "
                 "(default `true`).")),
))
@jwt_required()
@policy(Capability.MONITOR)
def router_events(router_id: int) -> Response:
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    include_own = (request.args.get("include_own") or "true").lower() not in ("false", "0", "no")
    page = alerts.page_of_events(current_user, router_id, request.args.get("kind") or None, number, size,
                                 include_own=include_own)
    return json_ok(page_out(page, [event_out(e) for e in page.items]))


@bp.put("/routers/<int:router_id>/monitoring/")
@documented(Doc(
    "Set a router's poll interval", _METRICS, {200: PollSettingsOut}, request=PollSettings,
    description="`null` makes the router follow the global interval again.",
))
@jwt_required()
@policy(Capability.OPERATE)
def router_poll_settings(router_id: int) -> Response:
    body = json_body(PollSettings)
    state = poller.set_interval(get_router(current_user, router_id), body.poll_interval, current_user,
                               ip_address=client_address())
    return json_ok(
        {
            "router_id": router_id,
            "poll_interval": state.interval_seconds,
            "next_poll_at": isoformat_z(state.next_poll_at),
        }
    )


@bp.get("/monitoring/overview/")
@documented(Doc("Your routers at a glance", _METRICS, {200: FleetOverviewOut}))
@jwt_required()
@policy(Capability.MONITOR)
def fleet_overview() -> Response:
    overview = poller.fleet_overview(current_user)
    return json_ok(
        {
            "routers": {
                "total": overview.total,
                "up": overview.up,
                "down": overview.down,
                "unknown": overview.unknown,
            },
            "open_alerts": overview.open_alerts,
            "busiest": [
                {"router_id": r.id, "name": r.name, "cpu_load": s.cpu_load, "memory_used": s.memory_used_pct}
                for r, s in overview.busiest
            ],
            "down": [
                {
                    "router_id": r.id,
                    "name": r.name,
                    "reason": r.last_error,
                    "down_since": isoformat_z(s.down_since if s else None),
                }
                for r, s in overview.down_routers
            ],
        }
    )


@bp.get("/alerts/")
@documented(Doc(
    "Your alerts", _ALERTS, {200: AlertPage},
    query=(
        *PAGINATION,
        Param("state", {"type": "string", "enum": [*STATES, "open"]},
              "Only alerts in this state; `open` is active or acknowledged."),
        _ROUTER_ID,
        Param("kind", {"type": "string", "enum": list(DEFAULT_RULES)}, "Only alerts of this rule."),
        Param("severity", {"type": "string"}, "Only alerts of this severity (`critical`, `warning`)."),
        Param("search", {"type": "string"}, "Case-insensitive substring of the message or router name."),
    ),
))
@jwt_required()
@policy(Capability.MONITOR)
def alert_list() -> Response:
    filters = AlertFilters(
        state=request.args.get("state") or None,
        router_id=query.id_arg("router_id"),
        kind=request.args.get("kind") or None,
        severity=request.args.get("severity") or None,
        search=request.args.get("search") or None,
    )
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = alerts.page_of_alerts(current_user, filters, number, size)
    return json_ok(page_out(page, [alert_out(a) for a in page.items]))


@bp.get("/alerts/<int:alert_id>/")
@documented(Doc("One alert", _ALERTS, {200: AlertOut}))
@jwt_required()
@policy(Capability.MONITOR)
def alert_detail(alert_id: int) -> Response:
    return json_ok(alert_out(alerts.get_alert(current_user, alert_id)))


@bp.put("/alerts/<int:alert_id>/")
@documented(Doc(
    "Acknowledge an alert", _ALERTS, {200: AlertOut, 409: ErrorResponse}, request=AlertAck,
    request_required=False,
    description="A bare PUT acknowledges (as LibreNMS does); a JSON body may carry a note. A resolved "
    "alert answers 409.",
))
@jwt_required()
@policy(Capability.OPERATE)
def alert_ack(alert_id: int) -> Response:
    # LibreNMS acknowledges with a bare PUT; a JSON body may carry a note.
    body = json_body(AlertAck) if request.content_length else AlertAck()
    return json_ok(alert_out(alerts.acknowledge(current_user, alert_id, utcnow(), body.note,
                                                      ip_address=client_address())))


@bp.get("/alert-rules/")
@documented(Doc(
    "Alert rules: the defaults and your overrides", _ALERTS, {200: RuleList}, query=(_ROUTER_ID,),
    extra_errors=(404,),
))
@jwt_required()
@policy(Capability.MONITOR)
def rule_list() -> Response:
    overrides = alerts.list_rules(current_user, query.id_arg("router_id"))
    defaults = [
        {
            "kind": d.kind,
            "threshold": d.threshold,
            "duration_minutes": d.duration_minutes,
            "severity": d.severity,
            "description": d.label,
        }
        for d in alerts.DEFAULT_RULES.values()
    ]
    return json_ok({"defaults": defaults, "results": [rule_out(r) for r in overrides]})


@bp.post("/alert-rules/")
@documented(Doc(
    "Create or replace an alert rule override", _ALERTS, {201: RuleOut, 404: ErrorResponse}, request=RuleBody,
    description="One override per kind fleet-wide and per router; saving again replaces it. Another user's "
    "router answers 404.",
))
@jwt_required()
@policy(Capability.OPERATE)
def rule_save() -> Response:
    body = json_body(RuleBody).model_dump(exclude_none=True)
    return json_ok(rule_out(alerts.save_rule(current_user, body, ip_address=client_address())), 201)


@bp.delete("/alert-rules/<int:rule_id>/")
@documented(Doc("Delete an alert rule override", _ALERTS, {204: None}))
@jwt_required()
@policy(Capability.OPERATE)
def rule_delete(rule_id: int) -> Response:
    alerts.delete_rule(current_user, rule_id, ip_address=client_address())
    return Response(status=204)


@bp.get("/notification-channels/")
@documented(Doc("Your notification channels", _ALERTS, {200: list[ChannelOut]}))
@jwt_required()
@policy(Capability.OPERATE)
def channel_list() -> Response:
    return json_ok([channel_out(c) for c in notify.list_channels(current_user)])


@bp.post("/notification-channels/")
@documented(Doc(
    "Add a notification channel", _ALERTS, {201: ChannelOut}, request=ChannelBody,
    description="Alerts are sent by e-mail or as a JSON POST to a webhook.",
))
@jwt_required()
@policy(Capability.OPERATE)
def channel_create() -> Response:
    return json_ok(channel_out(notify.create_channel(current_user, json_body(ChannelBody).model_dump(),
                                                            ip_address=client_address())), 201)


@bp.delete("/notification-channels/<int:channel_id>/")
@documented(Doc("Delete a notification channel", _ALERTS, {204: None}))
@jwt_required()
@policy(Capability.OPERATE)
def channel_delete(channel_id: int) -> Response:
    notify.delete_channel(current_user, channel_id, ip_address=client_address())
    return Response(status=204)
