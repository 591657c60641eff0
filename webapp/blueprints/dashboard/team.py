"""Team pages for the owner: staff accounts and roles, and the team's audit trail (with CSV)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.dashboard.blueprint import bp
from webapp.forms import ConfirmForm, TeamMemberEditForm, TeamMemberForm
from webapp.models import Router
from webapp.permissions import Capability, policy
from webapp.security import client_address
from webapp.services import audit, routers, teams
from webapp.services.errors import ServiceError
from webapp.services.pagination import page_numbers


def _router_choices() -> list[tuple[int, str]]:
    router_list: list[Router] = routers.all_routers(current_user)
    return [(router.id, router.name) for router in router_list]


def _apply_errors(form: TeamMemberForm | TeamMemberEditForm, exc: ServiceError) -> None:
    placed = False
    for name, message in exc.fields.items():
        target = getattr(form, name, None)
        if target is not None:
            target.errors = [*target.errors, message]
            placed = True
    if not placed:
        flash(exc.message, "error")


@bp.route("/team", methods=["GET", "POST"])
@policy(Capability.TEAM)
def team_page():  # type: ignore[no-untyped-def]
    form = TeamMemberForm()
    form.router_ids.choices = _router_choices()
    invitation_url = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            data = {"username": form.username.data, "email": form.email.data or None,
                    "password": form.password.data or None, "role": form.role.data,
                    "router_ids": list(form.router_ids.data or [])}
            try:
                created = teams.create_member(current_user, data, ip_address=client_address())
            except ServiceError as exc:
                _apply_errors(form, exc)
                status = 422
            else:
                flash(_("%(name)s has joined the team as %(role)s.", name=created.member.username,
                        role=created.member.role), "success")
                if created.invitation_token:
                    invitation_url = url_for("auth.invitation", token=created.invitation_token, _external=True)
                form = TeamMemberForm(formdata=None)
                form.router_ids.choices = _router_choices()
        else:
            status = 422
    return render_template("team/members.html", form=form, members=teams.list_members(current_user),
                           invitation_url=invitation_url, confirm=ConfirmForm()), status


@bp.route("/team/<int:member_id>", methods=["GET", "POST"])
@policy(Capability.TEAM)
def team_member(member_id: int):  # type: ignore[no-untyped-def]
    member = teams.get_member(current_user, member_id)
    form = TeamMemberEditForm(obj=None if request.method == "POST" else member)
    form.router_ids.choices = _router_choices()
    if request.method == "GET":
        form.router_ids.data = [router.id for router in member.assigned_routers]
        form.is_active.data = member.is_active_account
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            data = {"role": form.role.data, "router_ids": list(form.router_ids.data or []),
                    "is_active": bool(form.is_active.data), "password": form.password.data or None}
            try:
                teams.update_member(current_user, member_id, data, ip_address=client_address())
            except ServiceError as exc:
                _apply_errors(form, exc)
                status = 422
            else:
                flash(_("%(name)s has been updated.", name=member.username), "success")
                return redirect(url_for("dashboard.team_page"), code=303)
        else:
            status = 422
    return render_template("team/member.html", form=form, member=member, confirm=ConfirmForm()), status


@bp.post("/team/<int:member_id>/delete")
@policy(Capability.TEAM)
def team_member_delete(member_id: int):  # type: ignore[no-untyped-def]
    if ConfirmForm().validate_on_submit():
        name = teams.delete_member(current_user, member_id, ip_address=client_address())
        flash(_("%(name)s has been removed from the team.", name=name), "success")
    return redirect(url_for("dashboard.team_page"), code=303)


@bp.get("/audit")
@policy(Capability.TEAM)
def audit_page():  # type: ignore[no-untyped-def]
    filters = audit.filters_from(request.args)
    number, size = page_numbers(request.args.get("page"), 50)
    page = audit.for_team(current_user, filters, number, size)
    members = [current_user, *teams.list_members(current_user)]
    return render_template("team/audit.html", page=page, filters=filters, members=members,
                           args=request.args.to_dict())


@bp.get("/audit.csv")
@policy(Capability.TEAM)
def audit_csv():  # type: ignore[no-untyped-def]
    lines = audit.team_csv(current_user, audit.filters_from(request.args))
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=routerdeck-audit.csv"
    return response
