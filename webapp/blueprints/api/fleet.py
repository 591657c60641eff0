"""Fleet endpoints: ``/groups/`` and a router's configuration history (``/routers/{id}/config-versions/``)."""

from __future__ import annotations

from flask import Response, request
from flask_jwt_extended import current_user, jwt_required

from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.fleet_schemas import (
    AcknowledgedOut,
    AcknowledgeMany,
    AvailabilityOut,
    BulkAccepted,
    BulkCommandRequest,
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
    UpgradeOverviewOut,
    VersionRowOut,
)
from webapp.blueprints.api.presenters import page_out
from webapp.blueprints.api.schemas import MessageResponse
from webapp.models import RouterGroup
from webapp.openapi import ID_SCHEMA, PAGINATION, Doc, ErrorResponse, Param, Tag, documented
from webapp.permissions import Capability, policy
from webapp.services import (
    availability,
    bulk,
    configs,
    credentials,
    groups,
    incidents,
    notify,
    onboarding,
    routers,
    safe_changes,
    upgrades,
)
from webapp.services.errors import Invalid
from webapp.services.pagination import MAX_ID, page_numbers
from webapp.services.routers import RouterFilters
from webapp.timeutil import isoformat_z, utcnow

_GROUPS = Tag("Fleet: groups and tags", "Routers grouped by site, with tags; a group's poll interval, backup hour "
                                        "and credential profile apply to its routers.")
_CONFIGS = Tag("Fleet: configuration history", "Each router's exported configuration, versioned, with diffs "
                                               "between any two versions.")
_SAFE = Tag("Fleet: safe changes", "Changes that roll themselves back unless confirmed, and onboarding.")
_CREDS = Tag("Fleet: credential profiles", "Shared router credentials, stored encrypted and write-only.")
_ALERTS = "Monitoring: alerts and notifications"
_AVAIL = "Monitoring: metrics and interfaces"
_ROUTER_ERRORS = {502: ErrorResponse, 504: ErrorResponse}
_BULK = Tag("Fleet: mass commands", "One command on a group, a tag or a list of routers, as a job.")
_UPGRADES = Tag("Fleet: upgrades", "Installed versus available RouterOS per router and per group.")


def _tag() -> str | None:
    tag = request.args.get("tag") or None
    if tag is not None and len(tag) > 50:
        raise Invalid("tag must be at most 50 characters", fields={"tag": "at most 50 characters"})
    return tag


def group_out(group: RouterGroup, count: int) -> dict[str, object]:
    """A group as JSON."""
    return {
        "id": group.id, "name": group.name, "description": group.description,
        "poll_interval_seconds": group.poll_interval_seconds, "backup_hour_utc": group.backup_hour_utc,
        "router_count": count, "credential_profile_id": credentials.group_profile(group.id),
        "created_at": isoformat_z(group.created_at),
        "updated_at": isoformat_z(group.updated_at),
    }


@bp.get("/groups/")
@documented(Doc("Your router groups (sites)", _GROUPS, {200: list[GroupOut]}))
@jwt_required()
@policy(Capability.READ)
def group_list() -> Response:
    counts = groups.member_counts(current_user)
    return json_ok([group_out(g, counts.get(g.id, 0)) for g in groups.list_groups(current_user)])


@bp.post("/groups/")
@documented(Doc("Add a group", _GROUPS, {201: GroupOut, 404: ErrorResponse, 409: ErrorResponse}, request=GroupCreate,
                        description="Routers join a group with `group_id` on the router (POST/PUT/PATCH "
                        "`/routers/`); `GET /routers/?group=<id>&tag=<name>` lists a group's routers."))
@jwt_required()
@policy(Capability.OPERATE)
def group_create() -> Response:
    body = json_body(GroupCreate)
    group = groups.create_group(current_user, body.model_dump(), request.remote_addr)
    return json_ok(group_out(group, 0), 201)


@bp.get("/groups/<int:group_id>/")
@documented(Doc("One group", _GROUPS, {200: GroupOut}))
@jwt_required()
@policy(Capability.READ)
def group_detail(group_id: int) -> Response:
    group = groups.get_group(current_user, group_id)
    return json_ok(group_out(group, len(groups.group_router_ids(group.id))))


@bp.put("/groups/<int:group_id>/")
@documented(Doc("Change a group", _GROUPS, {200: GroupOut, 409: ErrorResponse}, request=GroupUpdate,
                        description="A new `poll_interval_seconds` applies to every router of the group."))
@bp.patch("/groups/<int:group_id>/")
@jwt_required()
@policy(Capability.OPERATE)
def group_update(group_id: int) -> Response:
    body = json_body(GroupUpdate)
    data = body.model_dump(exclude_unset=True)
    for key in ("name", "description"):
        if key in data and data[key] is None:
            raise Invalid(f"{key} cannot be null", fields={key: "cannot be null"})
    group = groups.update_group(current_user, group_id, data, request.remote_addr)
    return json_ok(group_out(group, len(groups.group_router_ids(group.id))))


@bp.delete("/groups/<int:group_id>/")
@documented(Doc("Delete a group (its routers stay, ungrouped)", _GROUPS, {200: MessageResponse}))
@jwt_required()
@policy(Capability.OPERATE)
def group_delete(group_id: int) -> Response:
    name = groups.delete_group(current_user, group_id, request.remote_addr)
    return json_ok({"message": f'Group "{name}" has been deleted; its routers are ungrouped'})


@bp.get("/routers/<int:router_id>/config-versions/")
@documented(Doc("A router's configuration versions, newest first", _CONFIGS,
                               {200: ConfigVersionPage}, query=PAGINATION))
@jwt_required()
@policy(Capability.OPERATE)
def config_version_list(router_id: int) -> Response:
    number, size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    page = configs.versions(current_user, router_id, number, size)
    return json_ok(page_out(page, [configs.version_out(v) for v in page.items]))


@bp.post("/routers/<int:router_id>/config-versions/")
@documented(Doc(
    "Export the router's configuration now", _CONFIGS, {201: SnapshotOut, 200: SnapshotOut, **_ROUTER_ERRORS},
    request=None, request_required=False,
    description="201 with a new version, or 200 with the latest one when nothing changed (the export's "
    "header lines do not count). Secrets are not exported.",
))
@jwt_required()
@policy(Capability.OPERATE)
def config_version_take(router_id: int) -> Response:
    snapshot = configs.take_snapshot(current_user, router_id, "manual")
    message = ("Configuration stored as a new version" if snapshot.created
               else "Configuration unchanged since the latest version")
    return json_ok({"created": snapshot.created, "message": message,
                    "version": configs.version_out(snapshot.version)}, 201 if snapshot.created else 200)


@bp.get("/routers/<int:router_id>/config-versions/<int:version_id>/")
@documented(Doc(
    "One configuration version with its text", _CONFIGS, {200: ConfigVersionDetail},
    query=(Param("format", {"type": "string", "enum": ["json", "rsc"]},
                 "`rsc` downloads the export as a `.rsc` file (text/plain)."),),
))
@jwt_required()
@policy(Capability.OPERATE)
def config_version_detail(router_id: int, version_id: int) -> Response:
    version = configs.get_version(current_user, router_id, version_id)
    fmt = request.args.get("format") or "json"
    if fmt == "rsc":
        router = routers.get_router(current_user, router_id)
        return Response(version.content, mimetype="text/plain", headers={
            "Content-Disposition": f'attachment; filename="{configs.rsc_filename(router, version)}"'})
    if fmt != "json":
        raise Invalid("format must be json or rsc", fields={"format": "json or rsc"})
    return json_ok(configs.version_out(version, content=True))


@bp.get("/routers/<int:router_id>/config-versions/<int:version_id>/diff/")
@documented(Doc(
    "Unified diff from another version (of this or another router) to this one", _CONFIGS, {200: DiffOut},
    query=(Param("against", ID_SCHEMA,
                 "The older version's id; any of your routers' versions (a diff between two routers). Left out: "
                 "the version before this one (itself for the first version: an empty diff)."),),
))
@jwt_required()
@policy(Capability.OPERATE)
def config_version_diff(router_id: int, version_id: int) -> Response:
    raw = request.args.get("against") or ""
    if raw and (not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID):
        raise Invalid("against must be a configuration version id", fields={"against": "integer"})
    against = int(raw) if raw else configs.previous_version_id(current_user, router_id, version_id)
    result = configs.diff_versions(current_user, router_id, version_id, against)
    return json_ok({
        "router_id": router_id, "version_id": version_id, "against": result.old.id,
        "against_router_id": result.old.router_id, "added": result.added, "removed": result.removed,
        "identical": not result.lines, "diff": result.text,
    })


def incident_out(incident: incidents.Incident) -> dict[str, object]:
    """An incident as JSON."""
    return {
        "id": incident.id, "kind": incident.kind, "title": incident.title, "state": incident.state,
        "group_id": incident.group_id, "group_name": incident.group_name,
        "started_at": isoformat_z(incident.started_at), "routers": incident.routers,
        "alerts": [{"id": a.id, "router_id": a.router_id, "router_name": a.router.name, "state": a.state,
                    "severity": a.severity, "message": a.message, "started_at": isoformat_z(a.started_at)}
                   for a in incident.alerts],
    }


@bp.get("/incidents/")
@documented(Doc(
    "Incidents: alerts raised together", _ALERTS, {200: list[IncidentOut]},
    query=(Param("state", {"type": "string", "enum": ["open", "all"]}, "`all` includes resolved ones."),),
    description="Alerts of one kind on routers of one group (or all ungrouped) that started within 10 "
    "minutes of each other form one incident: a site going down is one incident listing its routers. "
    "An incident's id is its first alert's id.",
))
@jwt_required()
@policy(Capability.MONITOR)
def incident_list() -> Response:
    state = request.args.get("state") or "open"
    if state not in ("open", "all"):
        raise Invalid("state must be open or all", fields={"state": "open or all"})
    found = incidents.incidents(current_user, include_resolved=state == "all")
    return json_ok([incident_out(incident) for incident in found])


@bp.post("/alerts/acknowledge/")
@documented(Doc(
    "Acknowledge many alerts: ids, one incident, or all", _ALERTS, {200: AcknowledgedOut, 404: ErrorResponse},
    request=AcknowledgeMany, description="Give exactly one of `alert_ids`, `incident_id` or `all: true`. "
    "Alerts already acknowledged or resolved are skipped.",
))
@jwt_required()
@policy(Capability.OPERATE)
def alerts_acknowledge_many() -> Response:
    body = json_body(AcknowledgeMany)
    count = incidents.acknowledge(current_user, utcnow(), alert_ids=body.alert_ids, incident_id=body.incident_id,
                                  everything=body.all, note=body.note, ip_address=request.remote_addr)
    return json_ok({"acknowledged": count, "message": f"{count} alert(s) acknowledged"})


@bp.post("/notification-channels/<int:channel_id>/test/")
@documented(Doc("Send a test notification on a channel", _ALERTS, {200: ChannelTestOut}))
@jwt_required()
@policy(Capability.OPERATE)
def channel_test(channel_id: int) -> Response:
    error = notify.send_test(current_user, channel_id)
    return json_ok({"ok": error is None, "error": error})


@bp.get("/routers/<int:router_id>/safe-changes/")
@documented(Doc("A router's safe changes, newest first", _SAFE, {200: list[SafeChangeOut]}))
@jwt_required()
@policy(Capability.CONSOLE)
def safe_change_list(router_id: int) -> Response:
    return json_ok([safe_changes.change_out(c) for c in safe_changes.for_router(current_user, router_id)])


@bp.post("/routers/<int:router_id>/safe-changes/")
@documented(Doc(
    "Apply a change with an automatic rollback armed on the router", _SAFE,
    {201: SafeChangeOut, 409: ErrorResponse, 422: ErrorResponse, **_ROUTER_ERRORS}, request=SafeChangeRequest,
    description="A /system/scheduler entry that restores the previous values is added first; after the change "
    "RouterDeck connects again on a fresh connection and removes it (`confirmed`). When it cannot get in "
    "(`pending`), the router undoes the change itself after `rollback_minutes`. Only set, enable, disable "
    "and add (with a name or address) have a known undo; anything else is 422.",
))
@jwt_required()
@policy(Capability.CONSOLE)
def safe_change_apply(router_id: int) -> Response:
    body = json_body(SafeChangeRequest)
    change = safe_changes.apply(current_user, router_id, body.command, body.method, body.params, body.data,
                                rollback_minutes=body.rollback_minutes, confirm=body.confirm,
                                ip_address=request.remote_addr)
    return json_ok(safe_changes.change_out(change), 201)


@bp.post("/routers/<int:router_id>/safe-changes/<int:change_id>/check/")
@documented(Doc("Look at a pending safe change again", _SAFE, {200: SafeChangeOut},
                             request=None, request_required=False))
@jwt_required()
@policy(Capability.CONSOLE)
def safe_change_check(router_id: int, change_id: int) -> Response:
    routers.get_router(current_user, router_id)
    change = safe_changes.check(current_user, change_id)
    if change.router_id != router_id:
        raise Invalid("that safe change belongs to another router", fields={"change_id": "other router"})
    return json_ok(safe_changes.change_out(change))


@bp.post("/routers/onboarding-script/")
@documented(Doc(
    "A script to paste into a new router so RouterDeck can manage it", _GROUPS, {200: OnboardingOut},
    request=OnboardingRequest,
    description="Creates a least-privilege user group and user with a random password (returned once, not "
    "stored), opens only the chosen service (API-SSL with a self-signed certificate, API, or REST over "
    "HTTPS) and only to RouterDeck's address, and optionally a WireGuard tunnel to RouterDeck (RouterOS 7).",
))
@jwt_required()
@policy(Capability.OPERATE)
def onboarding_script() -> Response:
    body = json_body(OnboardingRequest)
    tunnel = None
    if body.wireguard is not None:
        tunnel = onboarding.WireGuard(body.wireguard.endpoint, body.wireguard.port, body.wireguard.public_key,
                                      "10.99.0.2/24", "10.99.0.1")
    result = onboarding.generate(routerdeck_address=body.routerdeck_address, protocol=body.protocol,
                                 username=body.username, routeros_major=body.routeros_major,
                                 identity=body.identity, wireguard=tunnel)
    response = json_ok({"script": result.script, "username": result.username, "password": result.password,
                        "protocol": result.protocol, "port": result.port, "host_hint": result.host_hint})
    response.headers["Cache-Control"] = "no-store"  # it holds a password
    return response


@bp.post("/routers/<int:router_id>/upgrade-check/")
@documented(Doc(
    "Ask the router which RouterOS its update channel offers", _UPGRADES, {200: VersionRowOut, **_ROUTER_ERRORS},
    description="Runs /system/package/update/check-for-updates (one read) and keeps the answer for the views.",
))
@jwt_required()
@policy(Capability.OPERATE)
def router_upgrade_check(router_id: int) -> Response:
    upgrades.check(current_user, router_id)
    row = next(r for r in upgrades.overview(current_user) if r.router.id == router_id)
    return json_ok(upgrades.row_out(row))


@bp.get("/upgrades/")
@documented(Doc(
    "Installed versus available RouterOS of every router (optionally of a group or a tag)", _UPGRADES,
    {200: UpgradeOverviewOut},
    query=(Param("group", ID_SCHEMA, "Only this group's routers."),
           Param("tag", {"type": "string", "maxLength": 50}, "Only routers with this tag.")),
    description="`available` is what the router's update channel offered at its last check (null: never checked).",
))
@jwt_required()
@policy(Capability.MONITOR)
def upgrade_overview() -> Response:
    raw_group = request.args.get("group") or ""
    if raw_group and not (raw_group.isascii() and raw_group.isdigit() and 1 <= int(raw_group) <= MAX_ID):
        raise Invalid("group must be a group id", fields={"group": "integer"})
    rows = upgrades.overview(current_user, int(raw_group) if raw_group else None, _tag())
    versions: dict[str, int] = {}
    for row in rows:
        versions[row.installed or "unknown"] = versions.get(row.installed or "unknown", 0) + 1
    return json_ok({"routers": [upgrades.row_out(r) for r in rows], "total": len(rows),
                    "behind": sum(1 for r in rows if r.behind),
                    "unchecked": sum(1 for r in rows if r.info is None), "installed_versions": versions})


@bp.get("/routers/<int:router_id>/availability/")
@documented(Doc(
    "A router's availability: uptime % over 24h, 7d and 30d, and its average latency", _AVAIL,
    {200: AvailabilityOut},
    description="From the poller's down/up event lines (down from the first failed poll to the next good "
    "one); time before the router was added does not count; null before its first poll.",
))
@jwt_required()
@policy(Capability.MONITOR)
def router_availability(router_id: int) -> Response:
    router = routers.get_router(current_user, router_id)
    return json_ok(availability.availability_out(availability.for_routers([router])[router.id], router))


@bp.get("/monitoring/availability/")
@documented(Doc(
    "Availability of every router (optionally of a group or a tag)", _AVAIL, {200: list[AvailabilityOut]},
    query=(Param("group", ID_SCHEMA, "Only this group's routers."),
           Param("tag", {"type": "string", "maxLength": 50}, "Only routers with this tag.")),
))
@jwt_required()
@policy(Capability.MONITOR)
def fleet_availability() -> Response:
    raw_group = request.args.get("group") or ""
    if raw_group and not (raw_group.isascii() and raw_group.isdigit() and 1 <= int(raw_group) <= MAX_ID):
        raise Invalid("group must be a group id", fields={"group": "integer"})
    chosen = routers.all_routers(current_user, RouterFilters(group_id=int(raw_group) if raw_group else None,
                                                             tag=_tag()))
    found = availability.for_routers(chosen)
    return json_ok([availability.availability_out(found[r.id], r) for r in chosen])


@bp.get("/credential-profiles/")
@documented(Doc("Your credential profiles (never their passwords)", _CREDS, {200: list[ProfileOut]}))
@jwt_required()
@policy(Capability.OPERATE)
def profile_list() -> Response:
    return json_ok([credentials.profile_out(p) for p in credentials.list_profiles(current_user)])


@bp.post("/credential-profiles/")
@documented(Doc("Add a credential profile", _CREDS, {201: ProfileOut, 409: ErrorResponse},
                          request=ProfileCreate,
                          description="Routers use it with `credential_profile_id`; a group's "
                          "`credential_profile_id` is given to routers that join it without one."))
@jwt_required()
@policy(Capability.OPERATE)
def profile_create() -> Response:
    body = json_body(ProfileCreate)
    profile = credentials.create_profile(current_user, body.model_dump(), request.remote_addr)
    return json_ok(credentials.profile_out(profile), 201)


@bp.get("/credential-profiles/<int:profile_id>/")
@documented(Doc("One credential profile", _CREDS, {200: ProfileOut}))
@jwt_required()
@policy(Capability.OPERATE)
def profile_detail(profile_id: int) -> Response:
    return json_ok(credentials.profile_out(credentials.get_profile(current_user, profile_id)))


@bp.put("/credential-profiles/<int:profile_id>/")
@documented(Doc("Change a credential profile", _CREDS, {200: ProfileOut, 409: ErrorResponse},
                          request=ProfileUpdate,
                          description="Every router using it gets the new username/password at once."))
@bp.patch("/credential-profiles/<int:profile_id>/")
@jwt_required()
@policy(Capability.OPERATE)
def profile_update(profile_id: int) -> Response:
    data = json_body(ProfileUpdate).model_dump(exclude_unset=True)
    for key in ("name", "username"):
        if key in data and data[key] is None:
            raise Invalid(f"{key} cannot be null", fields={key: "cannot be null"})
    profile = credentials.update_profile(current_user, profile_id, data, request.remote_addr)
    return json_ok(credentials.profile_out(profile))


@bp.delete("/credential-profiles/<int:profile_id>/")
@documented(Doc("Delete a credential profile (its routers keep their credentials)", _CREDS,
                          {200: MessageResponse}))
@jwt_required()
@policy(Capability.OPERATE)
def profile_delete(profile_id: int) -> Response:
    name = credentials.delete_profile(current_user, profile_id, request.remote_addr)
    return json_ok({"message": f'Credential profile "{name}" deleted; its routers keep their credentials'})


@bp.post("/commands/bulk/")
@documented(Doc(
    "Run one command on many routers (a job)", _BULK, {202: BulkAccepted, 404: ErrorResponse, 409: ErrorResponse},
    request=BulkCommandRequest,
    description="The execute-command body plus exactly one of `router_ids`, `group_id` or `tag`. Answers 202 "
    "with the job (`GET /jobs/{id}/` for progress; the result maps each router to its outcome, and each "
    "router's run is in its command history). At most `concurrency` routers at once; dangerous commands "
    "need `confirm: true` as with execute-command.",
))
@jwt_required()
@policy(Capability.CONSOLE)
def bulk_command() -> Response:
    from webapp.blueprints.api.jobs import accepted

    body = json_body(BulkCommandRequest)
    job = bulk.start(current_user, body.command, body.method, body.params, body.data, confirm=body.confirm,
                     router_ids=body.router_ids, group_id=body.group_id, tag=body.tag,
                     concurrency=body.concurrency, ip_address=request.remote_addr)
    return accepted({"message": f"Running {body.method} {body.command} on {job.total} router(s)",
                     "routers": job.total}, job)
