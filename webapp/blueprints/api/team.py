"""``/team/members/``: the owner's staff accounts and their roles; ``/audit/``: the team's audit trail."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from webapp.blueprints.api.blueprint import bp
from webapp.blueprints.api.common import json_body, json_ok
from webapp.blueprints.api.presenters import page_out
from webapp.blueprints.api.schemas import (
    MessageResponse,
    TeamAuditPage,
    TeamMemberCreate,
    TeamMemberCreated,
    TeamMemberOut,
    TeamMemberUpdate,
)
from webapp.models import AuditEvent, User
from webapp.openapi import ID_SCHEMA, PAGINATION, Doc, ErrorResponse, Param, Tag, documented
from webapp.permissions import Capability, current_actor, policy
from webapp.security import client_address
from webapp.services import audit, teams
from webapp.services.pagination import page_numbers
from webapp.timeutil import isoformat_z

_TEAM = Tag("Team and audit", "The owner's staff accounts and roles, and the team's audit trail (owner only: staff get "
                               "403).")
_DATE: dict[str, Any] = {"type": "string", "format": "date"}
_TEXT = {"type": "string"}


def _actor() -> User:
    actor = current_actor()
    assert actor is not None  # the policy decorator has authenticated the request
    return actor


def member_out(member: User) -> dict[str, Any]:
    """A team member as JSON (never the password or invitation)."""
    return {
        "id": member.id,
        "username": member.username,
        "email": member.email,
        "role": member.role,
        "router_ids": [router.id for router in member.assigned_routers],
        "is_active": member.is_active_account,
        "invitation_pending": member.invitation_digest is not None,
        "created_at": isoformat_z(member.created_at),
    }


@bp.get("/team/members/")
@documented(Doc("List your team's staff accounts", _TEAM, {200: list[TeamMemberOut], 403: ErrorResponse},
               description="Roles: `operator`, `cashier`, `viewer`."))
@policy(Capability.TEAM)
def team_members() -> Response:
    return json_ok([member_out(member) for member in teams.list_members(_actor())])


@bp.post("/team/members/")
@documented(Doc(
    "Add a staff account", _TEAM, {201: TeamMemberCreated, 403: ErrorResponse, 409: ErrorResponse},
    request=TeamMemberCreate,
    description="With `password` you set the member's password; without it the answer carries a one-time "
                "`invitation_url` (7 days) where the member chooses one. `router_ids` are the routers a cashier "
                "works on.",
))
@policy(Capability.TEAM)
def team_member_create() -> Response:
    body = json_body(TeamMemberCreate)
    created = teams.create_member(_actor(), body.model_dump(), ip_address=client_address())
    out = member_out(created.member)
    if created.invitation_token:
        out["invitation_url"] = url_for("auth.invitation", token=created.invitation_token, _external=True)
        out["message"] = "Send the invitation link to the new member; it is shown only once and works for 7 days"
    return json_ok(out, 201)


@bp.get("/team/members/<int:member_id>/")
@documented(Doc("One staff account", _TEAM, {200: TeamMemberOut, 403: ErrorResponse}))
@policy(Capability.TEAM)
def team_member_detail(member_id: int) -> Response:
    return json_ok(member_out(teams.get_member(_actor(), member_id)))


@bp.patch("/team/members/<int:member_id>/")
@documented(Doc(
    "Change a staff account", _TEAM, {200: TeamMemberOut, 403: ErrorResponse}, request=TeamMemberUpdate,
    description="A new `role`, a `password` reset or `is_active: false` ends every session and token of the "
                "member at once.",
))
@policy(Capability.TEAM)
def team_member_update(member_id: int) -> Response:
    body = json_body(TeamMemberUpdate)
    member = teams.update_member(_actor(), member_id, body.model_dump(exclude_unset=True),
                                 ip_address=client_address())
    return json_ok(member_out(member))


@bp.delete("/team/members/<int:member_id>/")
@documented(Doc(
    "Remove a staff account", _TEAM, {200: MessageResponse, 403: ErrorResponse},
    description="Their sessions, tokens and API keys end; sales and the audit trail keep their name.",
))
@policy(Capability.TEAM)
def team_member_delete(member_id: int) -> Response:
    name = teams.delete_member(_actor(), member_id, ip_address=client_address())
    return json_ok({"message": f'"{name}" has been removed from the team; their sessions and keys are revoked'})


def event_out(event: AuditEvent) -> dict[str, Any]:
    """One audit event as JSON."""
    return {
        "id": event.id,
        "created_at": isoformat_z(event.created_at),
        "actor": event.actor_name,
        "actor_id": event.user_id,
        "role": event.actor_role,
        "action": event.action,
        "target": event.target,
        "router_id": event.router_id,
        "outcome": event.outcome,
        "ip_address": event.ip_address,
        "summary": event.summary,
        "details": event.details,
    }


@bp.get("/audit/")
@documented(Doc(
    "The team's audit trail", _TEAM, {200: TeamAuditPage, 403: ErrorResponse},
    query=(*PAGINATION,
           Param("actor", _TEXT, "Only this username's actions."),
           Param("action", _TEXT, "Actions starting with this, e.g. `auth.` or `router.update`."),
           Param("outcome", _TEXT, "`ok`, `denied`, `throttled` or `revoked`."),
           Param("router_id", ID_SCHEMA, "Only this router's events."),
           Param("since", _DATE, "From this ISO-8601 date (or moment, UTC)."),
           Param("until", _DATE, "Through this ISO-8601 date (or up to this moment, UTC).")),
    description="Every write and every login (also failed ones) of the owner and the staff.",
))
@policy(Capability.TEAM)
def audit_list() -> Response:
    page, page_size = page_numbers(request.args.get("page"), request.args.get("page_size"))
    result = audit.for_team(_actor(), audit.filters_from(request.args), page, page_size)
    return json_ok(page_out(result, [event_out(event) for event in result.items]))

