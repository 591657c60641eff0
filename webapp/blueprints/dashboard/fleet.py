"""Dashboard pages for fleet work: groups (sites) and a router's configuration history with diffs.

Validation policy as elsewhere in the dashboard: a form that fails answers 422 with the form re-rendered.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from webapp.blueprints.dashboard.blueprint import bp
from webapp.blueprints.htmx import navigate
from webapp.extensions import db
from webapp.forms_fleet import (
    BulkCommandForm,
    ChannelForm,
    GroupForm,
    OnboardingForm,
    ProfileForm,
    RuleForm,
    SafeChangeForm,
)
from webapp.models import ConfigVersion, Router
from webapp.permissions import Capability, policy
from webapp.services import (
    alerts,
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
from webapp.services.errors import Conflict, Invalid, NotFound, ServiceError
from webapp.services.routers import RouterFilters
from webapp.services.teams import router_scope
from webapp.timeutil import utcnow

VERSIONS_PER_PAGE = 20


def _form_errors(form: GroupForm | ChannelForm | ProfileForm, error: Invalid | Conflict) -> None:
    for name, message in error.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
    if not error.fields:
        form.form_errors.append(error.message)


@bp.get("/groups")
@policy(Capability.READ)
def groups_page():  # type: ignore[no-untyped-def]
    return _groups_page(GroupForm(formdata=None), 200)


def _groups_page(form: GroupForm, status: int):  # type: ignore[no-untyped-def]
    return render_template("fleet/groups.html", groups=groups.list_groups(current_user),
                           counts=groups.member_counts(current_user), tags=groups.all_tags(current_user),
                           form=form, group=None), status


@bp.post("/groups")
@policy(Capability.OPERATE)
def group_create():  # type: ignore[no-untyped-def]
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = groups.create_group(current_user, form.group_data(), request.remote_addr)
        except (Invalid, Conflict) as error:
            _form_errors(form, error)
        else:
            flash(_('Group "%(name)s" added.', name=group.name), "success")
            return navigate(url_for("dashboard.group_detail", group_id=group.id))
    return _groups_page(form, 422)


@bp.get("/groups/<int:group_id>")
@policy(Capability.READ)
def group_detail(group_id: int):  # type: ignore[no-untyped-def]
    group = groups.get_group(current_user, group_id)
    return _group_page(group, GroupForm(obj=group, formdata=None), 200)


def _group_page(group: Any, form: GroupForm, status: int, bulk_form: BulkCommandForm | None = None,
                bulk_error: str | None = None) -> ResponseReturnValue:
    members = routers.all_routers(current_user, RouterFilters(group_id=group.id))
    return render_template("fleet/group.html", group=group, form=form, members=members,
                           tags=groups.tags_of([r.id for r in members]),
                           versions=upgrades.overview(current_user, group_id=group.id),
                           bulk_form=bulk_form or BulkCommandForm(formdata=None), bulk_error=bulk_error), status


@bp.post("/groups/<int:group_id>/command")
@policy(Capability.CONSOLE)
def group_command(group_id: int):  # type: ignore[no-untyped-def]
    group = groups.get_group(current_user, group_id)
    form = BulkCommandForm()
    error = None
    if form.validate_on_submit():
        try:
            job = bulk.start(current_user, form.command.data or "", form.method.data, None, form.values(),
                             confirm=bool(form.confirm.data), group_id=group.id,
                             concurrency=form.concurrency.data or 4, ip_address=request.remote_addr)
        except ServiceError as failure:
            if failure.status == 404:
                raise
            error = failure.message
        else:
            return navigate(url_for("dashboard.job_page", job_id=job.id))
    return _group_page(group, GroupForm(obj=group, formdata=None), 422, form, error)


@bp.post("/groups/<int:group_id>")
@policy(Capability.OPERATE)
def group_update(group_id: int):  # type: ignore[no-untyped-def]
    group = groups.get_group(current_user, group_id)
    form = GroupForm()
    if form.validate_on_submit():
        try:
            groups.update_group(current_user, group_id, form.group_data(), request.remote_addr)
        except (Invalid, Conflict) as error:
            _form_errors(form, error)
        else:
            flash(_('Group "%(name)s" saved.', name=group.name), "success")
            return navigate(url_for("dashboard.group_detail", group_id=group_id))
    return _group_page(group, form, 422)


@bp.post("/groups/<int:group_id>/delete")
@policy(Capability.OPERATE)
def group_delete(group_id: int):  # type: ignore[no-untyped-def]
    name = groups.delete_group(current_user, group_id, request.remote_addr)
    flash(_('Group "%(name)s" deleted; its routers are ungrouped.', name=name), "success")
    return navigate(url_for("dashboard.groups_page"))


def _compare_choices(router: Router) -> list[tuple[int, str]]:
    """The latest version of each of the actor's other routers (to diff two routers)."""
    latest = (select(ConfigVersion.router_id, db.func.max(ConfigVersion.id).label("vid"))
              .join(Router, Router.id == ConfigVersion.router_id)
              .where(router_scope(current_user), Router.id != router.id)
              .group_by(ConfigVersion.router_id).subquery())
    rows = db.session.execute(select(Router.name, latest.c.vid).join(latest, latest.c.router_id == Router.id)
                              .order_by(Router.name))
    return [(vid, name) for name, vid in rows]


@bp.get("/routers/<int:router_id>/configs")
@policy(Capability.OPERATE)
def router_configs(router_id: int):  # type: ignore[no-untyped-def]
    router = routers.get_router(current_user, router_id)
    page_number = request.args.get("page", type=int) or 1
    page = configs.versions(current_user, router_id, max(page_number, 1), VERSIONS_PER_PAGE)
    return render_template("fleet/configs.html", router=router, page=page, others=_compare_choices(router),
                           error=None, safe_form=SafeChangeForm(formdata=None),
                           changes=safe_changes.for_router(current_user, router_id))


@bp.post("/routers/<int:router_id>/configs")
@policy(Capability.OPERATE)
def router_config_take(router_id: int):  # type: ignore[no-untyped-def]
    try:
        snapshot = configs.take_snapshot(current_user, router_id, "manual")
    except ServiceError as error:
        if error.status == 404:
            raise
        router = routers.get_router(current_user, router_id)
        page = configs.versions(current_user, router_id, 1, VERSIONS_PER_PAGE)
        return render_template("fleet/configs.html", router=router, page=page, others=_compare_choices(router),
                               error=error.message, safe_form=SafeChangeForm(formdata=None),
                               changes=safe_changes.for_router(current_user, router_id)), 502
    if snapshot.created:
        flash(_("Configuration stored as version %(id)s.", id=snapshot.version.id), "success")
    else:
        flash(_("No change since version %(id)s.", id=snapshot.version.id), "info")
    return navigate(url_for("dashboard.router_configs", router_id=router_id))


@bp.get("/routers/<int:router_id>/configs/<int:version_id>")
@policy(Capability.OPERATE)
def router_config_version(router_id: int, version_id: int):  # type: ignore[no-untyped-def]
    router = routers.get_router(current_user, router_id)
    version = configs.get_version(current_user, router_id, version_id)
    against = request.args.get("against", type=int)
    result = None
    if against is None:
        previous = db.session.scalar(select(ConfigVersion).where(ConfigVersion.router_id == router_id,
                                                                 ConfigVersion.id < version_id)
                                     .order_by(ConfigVersion.id.desc()).limit(1))
        against = previous.id if previous else None
    if against is not None:
        result = configs.diff_versions(current_user, router_id, version_id, against)
    own = list(db.session.scalars(select(ConfigVersion).where(ConfigVersion.router_id == router_id)
                                  .order_by(ConfigVersion.id.desc()).limit(50)))
    return render_template("fleet/config_version.html", router=router, version=version, diff=result,
                           own=own, others=_compare_choices(router), against=against)


@bp.get("/routers/<int:router_id>/configs/<int:version_id>.rsc")
@policy(Capability.OPERATE)
def router_config_download(router_id: int, version_id: int) -> Response:
    router = routers.get_router(current_user, router_id)
    version = configs.get_version(current_user, router_id, version_id)
    return Response(version.content, mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="{configs.rsc_filename(router, version)}"'})


@bp.get("/incidents")
@policy(Capability.MONITOR)
def incidents_page() -> ResponseReturnValue:
    show_all = request.args.get("state") == "all"
    return render_template("fleet/incidents.html", incidents=incidents.incidents(current_user,
                                                                                 include_resolved=show_all),
                           show_all=show_all)


@bp.post("/incidents/acknowledge")
@policy(Capability.OPERATE)
def incidents_acknowledge() -> ResponseReturnValue:
    scope = request.form.get("scope", "selected")
    note = (request.form.get("note") or "").strip() or None
    try:
        if scope == "all":
            count = incidents.acknowledge(current_user, utcnow(), everything=True, note=note,
                                          ip_address=request.remote_addr)
        elif scope.startswith("incident:") and scope[9:].isdigit():
            count = incidents.acknowledge(current_user, utcnow(), incident_id=int(scope[9:]), note=note,
                                          ip_address=request.remote_addr)
        else:
            ids = [int(v) for v in request.form.getlist("alert_id") if v.isdigit()]
            if not ids:
                flash(_("Select at least one alert."), "error")
                return navigate(url_for("dashboard.incidents_page"))
            count = incidents.acknowledge(current_user, utcnow(), alert_ids=ids, note=note,
                                          ip_address=request.remote_addr)
    except Invalid as error:
        flash(error.message, "error")
        return navigate(url_for("dashboard.incidents_page"))
    flash(_("%(n)s alert(s) acknowledged.", n=count), "success")
    return navigate(url_for("dashboard.incidents_page"))


def _settings_page(rule_form: RuleForm, channel_form: ChannelForm, status: int,
                   tested: dict[int, str | None] | None = None) -> ResponseReturnValue:
    rule_form.router_id.choices = [SelectChoice("", _("All routers")),
                                   *(SelectChoice(str(r.id), r.name) for r in routers.all_routers(current_user))]
    names = {r.id: r.name for r in routers.all_routers(current_user)}
    return render_template("fleet/alert_settings.html", rules=alerts.list_rules(current_user),
                           defaults=alerts.DEFAULT_RULES, channels=notify.list_channels(current_user),
                           rule_form=rule_form, channel_form=channel_form, router_names=names,
                           tested=tested or {}), status


@bp.get("/alert-settings")
@policy(Capability.OPERATE)
def alert_settings() -> ResponseReturnValue:
    return _settings_page(RuleForm(formdata=None), ChannelForm(formdata=None), 200)


@bp.post("/alert-settings/rules")
@policy(Capability.OPERATE)
def alert_rule_save() -> ResponseReturnValue:
    form = RuleForm()
    form.router_id.choices = [SelectChoice("", "")] + [SelectChoice(str(r.id), r.name)
                                                       for r in routers.all_routers(current_user)]
    if form.validate_on_submit():
        try:
            alerts.save_rule(current_user, form.rule_data())
        except (Invalid, NotFound) as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Alert rule saved."), "success")
            return navigate(url_for("dashboard.alert_settings"))
    return _settings_page(form, ChannelForm(formdata=None), 422)


@bp.post("/alert-settings/rules/<int:rule_id>/delete")
@policy(Capability.OPERATE)
def alert_rule_delete(rule_id: int) -> ResponseReturnValue:
    alerts.delete_rule(current_user, rule_id)
    flash(_("Alert rule removed: the default applies again."), "success")
    return navigate(url_for("dashboard.alert_settings"))


@bp.post("/alert-settings/channels")
@policy(Capability.OPERATE)
def alert_channel_create() -> ResponseReturnValue:
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            notify.create_channel(current_user, form.channel_data())
        except Invalid as error:
            _form_errors(form, error)
        else:
            flash(_("Notification channel added."), "success")
            return navigate(url_for("dashboard.alert_settings"))
    return _settings_page(RuleForm(formdata=None), form, 422)


@bp.post("/alert-settings/channels/<int:channel_id>/delete")
@policy(Capability.OPERATE)
def alert_channel_delete(channel_id: int) -> ResponseReturnValue:
    notify.delete_channel(current_user, channel_id)
    flash(_("Notification channel removed."), "success")
    return navigate(url_for("dashboard.alert_settings"))


@bp.post("/alert-settings/channels/<int:channel_id>/test")
@policy(Capability.OPERATE)
def alert_channel_test(channel_id: int) -> ResponseReturnValue:
    error = notify.send_test(current_user, channel_id)
    return _settings_page(RuleForm(formdata=None), ChannelForm(formdata=None), 200, {channel_id: error})


@bp.post("/routers/<int:router_id>/safe-changes")
@policy(Capability.CONSOLE)
def router_safe_change(router_id: int) -> ResponseReturnValue:
    router = routers.get_router(current_user, router_id)
    form = SafeChangeForm()
    error = None
    if form.validate_on_submit():
        try:
            change = safe_changes.apply(current_user, router_id, form.command.data or "", form.method.data,
                                        None, form.values(), rollback_minutes=form.rollback_minutes.data or 5,
                                        confirm=bool(form.confirm.data), ip_address=request.remote_addr)
        except ServiceError as failure:
            if failure.status == 404:
                raise
            error = failure.message
        else:
            flash(change.message or change.state, "success" if change.state == "confirmed" else "info")
            return navigate(url_for("dashboard.router_configs", router_id=router_id))
    page = configs.versions(current_user, router_id, 1, VERSIONS_PER_PAGE)
    return render_template("fleet/configs.html", router=router, page=page, others=_compare_choices(router),
                           error=error, safe_form=form, changes=safe_changes.for_router(current_user, router_id)), 422


@bp.post("/routers/<int:router_id>/safe-changes/<int:change_id>/check")
@policy(Capability.CONSOLE)
def router_safe_change_check(router_id: int, change_id: int) -> ResponseReturnValue:
    routers.get_router(current_user, router_id)
    change = safe_changes.check(current_user, change_id)
    flash(change.message or change.state, "info")
    return navigate(url_for("dashboard.router_configs", router_id=router_id))


@bp.route("/routers/onboard", methods=["GET", "POST"])
@policy(Capability.OPERATE)
def router_onboard() -> ResponseReturnValue:
    form = OnboardingForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.routerdeck_address.data = request.remote_addr
    result = None
    status = 200
    if request.method == "POST":
        if form.validate():
            tunnel = None
            if form.wg_endpoint.data:
                tunnel = onboarding.WireGuard(form.wg_endpoint.data, form.wg_port.data or 51820,
                                              (form.wg_public_key.data or "").strip(), "10.99.0.2/24", "10.99.0.1")
            try:
                result = onboarding.generate(routerdeck_address=form.routerdeck_address.data or "",
                                             protocol=form.protocol.data or "api-ssl",
                                             routeros_major=int(form.routeros_major.data or 7),
                                             identity=form.identity.data or None, wireguard=tunnel)
            except Invalid as error:
                form.form_errors.append(error.message)
                status = 422
        else:
            status = 422
    response = Response(render_template("fleet/onboard.html", form=form, result=result), status=status)
    response.headers["Cache-Control"] = "no-store"  # the result holds a password
    return response


@bp.get("/availability")
@policy(Capability.MONITOR)
def availability_rows() -> ResponseReturnValue:
    router_id = request.args.get("router_id", type=int)
    group_id = request.args.get("group", type=int)
    tag = request.args.get("tag") or None
    if router_id is not None:
        chosen = [routers.get_router(current_user, router_id)]
    else:
        chosen = routers.all_routers(current_user, RouterFilters(group_id=group_id, tag=tag))
    return render_template("fleet/_availability.html", rows=chosen, found=availability.for_routers(chosen),
                           windows=list(availability.WINDOWS), single=router_id is not None,
                           groups=groups.list_groups(current_user), group_id=group_id, tag=tag)


@bp.get("/credentials")
@policy(Capability.OPERATE)
def credentials_page() -> ResponseReturnValue:
    return _credentials_page(ProfileForm(formdata=None), 200)


def _credentials_page(form: ProfileForm, status: int) -> ResponseReturnValue:
    profiles = credentials.list_profiles(current_user)
    return render_template("fleet/credentials.html", profiles=profiles, form=form,
                           users={p.id: len(credentials.users_of(p.id)) for p in profiles}), status


@bp.post("/credentials")
@policy(Capability.OPERATE)
def credentials_create() -> ResponseReturnValue:
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            credentials.create_profile(current_user, {"name": form.name.data, "username": form.username.data,
                                                      "password": form.password.data}, request.remote_addr)
        except (Invalid, Conflict) as error:
            _form_errors(form, error)
        else:
            flash(_("Credential profile added."), "success")
            return navigate(url_for("dashboard.credentials_page"))
    return _credentials_page(form, 422)


@bp.post("/credentials/<int:profile_id>/delete")
@policy(Capability.OPERATE)
def credentials_delete(profile_id: int) -> ResponseReturnValue:
    credentials.delete_profile(current_user, profile_id, request.remote_addr)
    flash(_("Credential profile deleted; its routers keep their credentials."), "success")
    return navigate(url_for("dashboard.credentials_page"))


@bp.post("/groups/<int:group_id>/upgrade-check")
@policy(Capability.OPERATE)
def group_upgrade_check(group_id: int) -> ResponseReturnValue:
    group = groups.get_group(current_user, group_id)
    errors = upgrades.check_many(current_user, upgrades.overview(current_user, group_id=group.id))
    failed = [str(rid) for rid, error in errors.items() if error]
    if failed:
        flash(_("%(n)s router(s) could not be asked.", n=len(failed)), "error")
    else:
        flash(_("Versions checked."), "success")
    return navigate(url_for("dashboard.group_detail", group_id=group_id))
