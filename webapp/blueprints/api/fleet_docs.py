"""What the OpenAPI document says about the fleet endpoints (merged into ``webapp.openapi.OPERATIONS``)."""

from __future__ import annotations

from webapp.blueprints.api.common import MAX_ID
from webapp.blueprints.api.fleet_schemas import (
    AcknowledgedOut,
    AcknowledgeMany,
    AvailabilityOut,
    ChannelTestOut,
    ConfigVersionDetail,
    ConfigVersionPage,
    DiffOut,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    IncidentOut,
    OnboardingOut,
    OnboardingRequest,
    ProfileCreate,
    ProfileOut,
    ProfileUpdate,
    SafeChangeOut,
    SafeChangeRequest,
    SnapshotOut,
)
from webapp.blueprints.api.schemas import ErrorResponse, MessageResponse
from webapp.openapi import OPERATIONS, PAGINATION, Doc, Param

_GROUPS = "Fleet: groups and tags"
_CONFIGS = "Fleet: configuration history"
_ROUTER_ERRORS = {502: ErrorResponse, 504: ErrorResponse}
_ALERTS = "Monitoring: alerts and notifications"
_SAFE = "Fleet: safe changes"
_CREDS = "Fleet: credential profiles"
_AVAIL = "Monitoring: metrics and interfaces"

FLEET_OPERATIONS: dict[str, Doc] = {
    "api.group_list": Doc("Your router groups (sites)", _GROUPS, {200: list[GroupOut]}),
    "api.group_create": Doc("Add a group", _GROUPS, {201: GroupOut, 409: ErrorResponse}, request=GroupCreate,
                            description="Routers join a group with `group_id` on the router (POST/PUT/PATCH "
                            "`/routers/`); `GET /routers/?group=<id>&tag=<name>` lists a group's routers."),
    "api.group_detail": Doc("One group", _GROUPS, {200: GroupOut}),
    "api.group_update": Doc("Change a group", _GROUPS, {200: GroupOut, 409: ErrorResponse}, request=GroupUpdate,
                            description="A new `poll_interval_seconds` applies to every router of the group."),
    "api.group_delete": Doc("Delete a group (its routers stay, ungrouped)", _GROUPS, {200: MessageResponse}),
    "api.config_version_list": Doc("A router's configuration versions, newest first", _CONFIGS,
                                   {200: ConfigVersionPage}, query=PAGINATION),
    "api.config_version_take": Doc(
        "Export the router's configuration now", _CONFIGS, {201: SnapshotOut, 200: SnapshotOut, **_ROUTER_ERRORS},
        request=None, request_required=False,
        description="201 with a new version, or 200 with the latest one when nothing changed (the export's "
        "header lines do not count). Secrets are not exported.",
    ),
    "api.config_version_detail": Doc(
        "One configuration version with its text", _CONFIGS, {200: ConfigVersionDetail},
        query=(Param("format", {"type": "string", "enum": ["json", "rsc"]},
                     "`rsc` downloads the export as a `.rsc` file (text/plain)."),),
    ),
    "api.config_version_diff": Doc(
        "Unified diff from another version (of this or another router) to this one", _CONFIGS, {200: DiffOut},
        query=(Param("against", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                     "The older version's id; any of your routers' versions (a diff between two routers)."),),
    ),
    "api.incident_list": Doc(
        "Incidents: alerts raised together", _ALERTS, {200: list[IncidentOut]},
        query=(Param("state", {"type": "string", "enum": ["open", "all"]}, "`all` includes resolved ones."),),
        description="Alerts of one kind on routers of one group (or all ungrouped) that started within 10 "
        "minutes of each other form one incident: a site going down is one incident listing its routers. "
        "An incident's id is its first alert's id.",
    ),
    "api.alerts_acknowledge_many": Doc(
        "Acknowledge many alerts: ids, one incident, or all", _ALERTS, {200: AcknowledgedOut},
        request=AcknowledgeMany, description="Give exactly one of `alert_ids`, `incident_id` or `all: true`. "
        "Alerts already acknowledged or resolved are skipped.",
    ),
    "api.channel_test": Doc("Send a test notification on a channel", _ALERTS, {200: ChannelTestOut}),
    "api.profile_list": Doc("Your credential profiles (never their passwords)", _CREDS, {200: list[ProfileOut]}),
    "api.profile_create": Doc("Add a credential profile", _CREDS, {201: ProfileOut, 409: ErrorResponse},
                              request=ProfileCreate,
                              description="Routers use it with `credential_profile_id`; a group's "
                              "`credential_profile_id` is given to routers that join it without one."),
    "api.profile_detail": Doc("One credential profile", _CREDS, {200: ProfileOut}),
    "api.profile_update": Doc("Change a credential profile", _CREDS, {200: ProfileOut, 409: ErrorResponse},
                              request=ProfileUpdate,
                              description="Every router using it gets the new username/password at once."),
    "api.profile_delete": Doc("Delete a credential profile (its routers keep their credentials)", _CREDS,
                              {200: MessageResponse}),
    "api.onboarding_script": Doc(
        "A script to paste into a new router so RouterDeck can manage it", _GROUPS, {200: OnboardingOut},
        request=OnboardingRequest,
        description="Creates a least-privilege user group and user with a random password (returned once, not "
        "stored), opens only the chosen service (API-SSL with a self-signed certificate, API, or REST over "
        "HTTPS) and only to RouterDeck's address, and optionally a WireGuard tunnel to RouterDeck (RouterOS 7).",
    ),
    "api.router_availability": Doc(
        "A router's availability: uptime % over 24h, 7d and 30d, and its average latency", _AVAIL,
        {200: AvailabilityOut},
        description="From the poller's down/up event lines (down from the first failed poll to the next good "
        "one); time before the router was added does not count; null before its first poll.",
    ),
    "api.fleet_availability": Doc(
        "Availability of every router (optionally of a group or a tag)", _AVAIL, {200: list[AvailabilityOut]},
        query=(Param("group", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "Only this group's routers."),
               Param("tag", {"type": "string", "maxLength": 50}, "Only routers with this tag.")),
    ),
    "api.safe_change_list": Doc("A router's safe changes, newest first", _SAFE, {200: list[SafeChangeOut]}),
    "api.safe_change_apply": Doc(
        "Apply a change with an automatic rollback armed on the router", _SAFE,
        {201: SafeChangeOut, 409: ErrorResponse, 422: ErrorResponse, **_ROUTER_ERRORS}, request=SafeChangeRequest,
        description="A /system/scheduler entry that restores the previous values is added first; after the change "
        "RouterDeck connects again on a fresh connection and removes it (`confirmed`). When it cannot get in "
        "(`pending`), the router undoes the change itself after `rollback_minutes`. Only set, enable, disable "
        "and add (with a name or address) have a known undo; anything else is 422.",
    ),
    "api.safe_change_check": Doc("Look at a pending safe change again", _SAFE, {200: SafeChangeOut},
                                 request=None, request_required=False),
}


def register() -> None:
    """Add the fleet endpoints to the OpenAPI table (idempotent)."""
    OPERATIONS.update(FLEET_OPERATIONS)
