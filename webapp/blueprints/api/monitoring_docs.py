"""What the OpenAPI document says about the monitoring endpoints (merged into ``webapp.openapi.OPERATIONS``).

Imported when the API blueprint is registered, not when it is defined: ``webapp.openapi`` imports the API
package, so importing it from a module the package loads would be circular.
"""

from __future__ import annotations

from webapp.blueprints.api.common import MAX_ID
from webapp.blueprints.api.monitoring import FORMATS, MAX_TIME, MIN_TIME, RANGES
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
from webapp.blueprints.api.schemas import ErrorResponse
from webapp.openapi import OPERATIONS, PAGINATION, Doc, Param
from webapp.services.alerts import DEFAULT_RULES, EVENT_KINDS, STATES
from webapp.services.interfaces import ORDERINGS
from webapp.services.metrics import INTERFACE_METRICS, METRICS

_METRICS = "Monitoring: metrics and interfaces"
_ALERTS = "Monitoring: alerts and notifications"
_ROUTER_ERRORS = {502: ErrorResponse, 504: ErrorResponse}
_FLAG = {"type": "boolean"}
_TIME = {
    "anyOf": [
        {"type": "integer", "minimum": MIN_TIME, "maximum": MAX_TIME},
        {"type": "string", "format": "date-time"},
    ]
}
_ROUTER_ID = Param(
    "router_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "Only this router's (404 if not yours)."
)
_PER_INTERFACE = ", ".join(f"`{name}`" for name in sorted(INTERFACE_METRICS))

MONITORING_OPERATIONS: dict[str, Doc] = {
    "api.router_metrics": Doc(
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
    ),
    "api.router_interfaces": Doc(
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
    ),
    "api.router_interface_update": Doc(
        "Enable or disable an interface", _METRICS, {200: InterfaceOut, 409: ErrorResponse, **_ROUTER_ERRORS},
        request=InterfaceChange,
        description="Refused (409) for the interface RouterDeck reaches the router through. A command the "
        "router refuses answers 400 with its message.",
    ),
    "api.router_events": Doc(
        "A router's event log", _ALERTS, {200: EventPage},
        query=(*PAGINATION, Param("kind", {"type": "string", "enum": list(EVENT_KINDS)}, "Only this kind."),
               Param("include_own", _FLAG, "`false` leaves out the configuration changes made through RouterDeck "
                     "(default `true`).")),
    ),
    "api.router_poll_settings": Doc(
        "Set a router's poll interval", _METRICS, {200: PollSettingsOut}, request=PollSettings,
        description="`null` makes the router follow the global interval again.",
    ),
    "api.fleet_overview": Doc("Your routers at a glance", _METRICS, {200: FleetOverviewOut}),
    "api.alert_list": Doc(
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
    ),
    "api.alert_detail": Doc("One alert", _ALERTS, {200: AlertOut}),
    "api.alert_ack": Doc(
        "Acknowledge an alert", _ALERTS, {200: AlertOut, 409: ErrorResponse}, request=AlertAck,
        request_required=False,
        description="A bare PUT acknowledges (as LibreNMS does); a JSON body may carry a note. A resolved "
        "alert answers 409.",
    ),
    "api.rule_list": Doc(
        "Alert rules: the defaults and your overrides", _ALERTS, {200: RuleList}, query=(_ROUTER_ID,),
        extra_errors=(404,),
    ),
    "api.rule_save": Doc(
        "Create or replace an alert rule override", _ALERTS, {201: RuleOut, 404: ErrorResponse}, request=RuleBody,
        description="One override per kind fleet-wide and per router; saving again replaces it. Another user's "
        "router answers 404.",
    ),
    "api.rule_delete": Doc("Delete an alert rule override", _ALERTS, {204: None}),
    "api.channel_list": Doc("Your notification channels", _ALERTS, {200: list[ChannelOut]}),
    "api.channel_create": Doc(
        "Add a notification channel", _ALERTS, {201: ChannelOut}, request=ChannelBody,
        description="Alerts are sent by e-mail or as a JSON POST to a webhook.",
    ),
    "api.channel_delete": Doc("Delete a notification channel", _ALERTS, {204: None}),
}


def register() -> None:
    """Add the monitoring endpoints to the OpenAPI table (idempotent)."""
    OPERATIONS.update(MONITORING_OPERATIONS)
